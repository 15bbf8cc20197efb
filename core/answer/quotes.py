"""A passage's sentences as an answer quotes them: without the page furniture a PDF's text
layer carries (page numbers, running headers and footers), each on one line with the line
breaks the PDF put inside it joined as the language writes them, and with the chunk offsets
they came from, so that a citation can point at the sentence it quotes. PDFs ingested now
arrive without their furniture, a sentence to a line (ingest/loaders/pdf_structure.py); the
chunks of PDFs stored before that hold the text as pypdf extracted it, and this is where an
answer makes those readable."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from core.answer.instructions import instruction_sentences
from core.answer.sentences import split_sentences
from core.answer.vocabulary import Passage
from core.types import ChunkDraft

# A line that is nothing but a page number: "7", "- 7 -", "vii" (front matter numbers are
# lower case; a line "I" is a word), "Page 7", "Page 7 of 51", "7/51", "第 7 页",
# "第 7 页 共 51 页".
_PAGE_NUMBER = re.compile(
    r"[-–—]?\s*\d{1,4}\s*[-–—]?"
    r"|(?-i:(?=[clxvi])c{0,3}(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3}))"
    r"|(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?"
    r"|\d{1,4}\s*/\s*\d{1,4}"
    r"|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?",
    re.IGNORECASE,
)
# The page number inside a running header ("INTRODUCTION 5", "GeoBase® iii"): what differs
# from page to page, so that the header's pages count as repeats of one line.
_NUMBERS = re.compile(r"\d+|\b(?:x{0,3})(?:ix|iv|v?i{1,3}|v|x)\b", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")
# Where a page's running lines are: a header is among its first lines; a printer's proof
# stacks several footer lines (proof stamp, file name, address) under the margin numbers.
_HEAD_LINES = 3
_FOOT_LINES = 6
# On this many pages a line at a page's edge is furniture. Fewer would take a table's header
# row continued over three pages, or a label such as "反例：" that happens to open three.
_RUNNING_PAGES = 4
_LABEL_ENDINGS = (":", "：")

# Between two of these a line break is no space: Chinese is written without spaces.
_WIDE = re.compile(r"[\u2e80-\u303f\u3040-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
# CJK punctuation takes no space on either side; curly quotes none next to Chinese.
_CJK_PUNCTUATION = re.compile(
    r"[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]"
)
_QUOTES = re.compile(r"[\u2018-\u201f]")
_HYPHENS = ("-", "\u2010", "\u2014")
_BREAK = re.compile(r"[ \t]*\n\s*")
# What makes the start of a line a Markdown block (CommonMark): an ATX heading, a block
# quote, a bullet, a thematic break, a code fence; an ordered list item is `_ORDERED`.
_BLOCK = re.compile(r"#{1,6}(?=\s|$)|>|[-+*](?=\s|$)|(?:[-*_][ \t]*){3,}$|`{3}|~{3}")
_ORDERED = re.compile(r"\d{1,9}(?=[.)](?:\s|$))")


@dataclass(frozen=True)
class Quote:
    text: str
    """The sentence on one line, as an answer shows it."""
    start: int
    """Where the sentence is in the chunk's text: from `start` to `end`."""
    end: int
    instruction: bool
    """It speaks as an instruction (instructions.py): never quoted, never evidence."""


def line_key(line: str) -> str:
    return _NUMBERS.sub("#", " ".join(line.split()))


def is_page_number(line: str) -> bool:
    return _PAGE_NUMBER.fullmatch(line.strip()) is not None


def running_lines(chunks: Iterable[ChunkDraft]) -> frozenset[str]:
    """The keys (`line_key`) of a paged document's running headers and footers: lines at the
    edge of `_RUNNING_PAGES` or more pages, page numbers aside. `chunks` in order; a chunk
    holds text of one page."""
    pages: dict[int, list[str]] = defaultdict(list)
    for chunk in chunks:
        if chunk.page is not None:
            pages[chunk.page].append(chunk.text)
    seen: Counter[str] = Counter()
    for texts in pages.values():
        first = _content_lines(texts[0])[:_HEAD_LINES]
        last = _content_lines(texts[-1])[-_FOOT_LINES:]
        seen.update(
            {
                line_key(line)
                for line in first + last
                if _LETTER.search(line) and not line.endswith(_LABEL_ENDINGS)
            }
        )
    return frozenset(key for key, pages_with in seen.items() if pages_with >= _RUNNING_PAGES)


def _content_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not is_page_number(line)]


_WORDY = re.compile(r"\w")


def quotes(text: str, paged: bool, running: frozenset[str] = frozenset()) -> list[Quote]:
    """The sentences of a chunk's text. In a paged document's (a PDF's) text, lines that are
    page numbers or running lines (keys of `running_lines`) are left out first: they are in
    no sentence."""
    kept, origins = _without_furniture(text, running) if paged else (text, None)
    withheld = {s.start for s in instruction_sentences(kept)}
    found: list[Quote] = []
    for s in split_sentences(kept):
        if not _WORDY.search(s.text):
            # A stray "。" or "•" that OCR or a layout left alone on a line says nothing.
            continue
        start, end = (
            (s.start, s.end) if origins is None else (origins[s.start], origins[s.end - 1] + 1)
        )
        found.append(Quote(one_line(s.text), start, end, s.start in withheld))
    return found


def passage_quotes(p: Passage) -> list[Quote]:
    """A numbered passage's sentences; its chunk has a page when its document is paged."""
    return quotes(p.chunk.text, p.chunk.page is not None, p.running)


def _without_furniture(text: str, running: frozenset[str]) -> tuple[str, list[int]]:
    """The text without its furniture lines, and the offset in `text` of each character kept."""
    kept: list[str] = []
    origins: list[int] = []
    position = 0
    for line in text.splitlines(keepends=True):
        content = line.strip()
        if not content or not (is_page_number(content) or line_key(content) in running):
            kept.append(line)
            origins.extend(range(position, position + len(line)))
        position += len(line)
    return "".join(kept), origins


def one_line(sentence: str) -> str:
    """The sentence with its line breaks joined: a space between words, none between Chinese
    characters nor next to CJK punctuation, none after a hyphen or dash that a word goes on
    from ("transaction-\\nbased")."""
    text = sentence.strip()

    def gap(m: re.Match[str]) -> str:
        before, after = text[m.start() - 1], text[m.end()]
        if before in _HYPHENS and text[m.start() - 2 : m.start() - 1].isalpha():
            return ""
        if _CJK_PUNCTUATION.match(before) or _CJK_PUNCTUATION.match(after):
            return ""
        wide = (
            _WIDE.match(before) or _QUOTES.match(before),
            _WIDE.match(after) or _QUOTES.match(after),
        )
        return "" if all(wide) else " "

    return _BREAK.sub(gap, text)


def as_text(line: str) -> str:
    """The line with a leading Markdown block marker escaped, so that a page which renders the
    answer as Markdown shows a quoted "# Title" or "1. Step" as text, not a heading or a list."""
    if _BLOCK.match(line):
        return "\\" + line
    ordered = _ORDERED.match(line)
    if ordered:
        return line[: ordered.end()] + "\\" + line[ordered.end() :]
    return line
