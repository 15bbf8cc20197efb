"""Load a web page's main text (no scripts, menus or footers) as sections by heading."""

from __future__ import annotations

import codecs
import re

import lxml.html
import trafilatura
from lxml import etree
from trafilatura.metadata import extract_metadata

from core.errors import LoadError
from core.types import LoadedDocument, Section
from ingest.loaders.html_hidden import drop_hidden
from ingest.loaders.markdown import split_markdown_sections
from ingest.loaders.protocol import PageProgress
from ingest.text_encoding import decode_text

MEDIA_TYPE = "text/html"

# Browsers read the charset from the first 1024 bytes; saved pages sometimes put it later.
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_META_WINDOW = 4096
# Labels that pages declare but mean something else, as the WHATWG Encoding standard maps
# them: GB2312 pages use GBK characters, "Latin-1" pages use Windows-1252, and a UTF-16 label
# on bytes without a BOM is a mistake for UTF-8.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "utf-16": "utf-8",
    "utf-16-le": "utf-8",
    "utf-16-be": "utf-8",
}
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# trafilatura's Markdown: **bold**, *italic*, ***both***, ~~struck~~, <sup>/<sub> kept as
# HTML, and backslash escapes. "#", "-", "+", "=", "<" and ">" stay escaped, since freeing
# them at a line start could make a heading, rule or HTML block out of text.
_HTML_INLINE = re.compile(r"</?(?:sup|sub|u|mark)>")
_EMPHASIS = re.compile(r"(?<![\\\w*~])(\*{1,3}|~~)(?=[^\s*~])(.+?)(?<=[^\s\\*~])\1(?![\w*~])")
_ESCAPE = re.compile(r"\\([\[\]*_~`()|!])")
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")
_NEVER_CONTENT = ("script", "style", "noscript", "template", "nav")
_BOILERPLATE = ("header", "footer", "aside", "form")


class HtmlLoader:
    def load(self, data: bytes, progress: PageProgress) -> LoadedDocument:
        sections = page_sections(decode_page(data))
        if not sections:
            raise LoadError("html_no_text")
        progress(1, 1)
        return LoadedDocument(media_type=MEDIA_TYPE, pages=1, sections=sections)


def page_sections(page: str, title_heading: bool = True) -> list[Section]:
    """A page's main text as sections by heading (none when it has no text). With
    `title_heading`, a <title> that the text does not start with becomes the top heading."""
    text = _main_text(page, title_heading)
    if not text:
        return []
    return split_markdown_sections(_drop_inline_markup(text))


def decode_page(data: bytes) -> str:
    """Decode with the page's declared charset; a BOM or an undecodable label wins over it."""
    if data.startswith(_BOMS):
        return decode_text(data)
    declared = _META_CHARSET.search(data, 0, _META_WINDOW)
    if declared is not None:
        try:
            name = codecs.lookup(declared.group(1).decode("ascii")).name
            return data.decode(_SUPERSETS.get(name, name))
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(data)


def _main_text(page: str, title_heading: bool) -> str:
    """trafilatura's main content as Markdown (headings survive), else the cleaned body."""
    # trafilatura drops boilerplate by itself on real pages, but on short ones it falls back
    # to keeping everything; scripts and menus are never content, so they go first.
    tree = _parse(page, _NEVER_CONTENT)
    if tree is None:
        return ""
    title = ""
    if title_heading:
        title = " ".join((extract_metadata(tree, extensive=False).title or "").split())
    extracted = trafilatura.extract(
        tree,
        output_format="markdown",
        include_comments=False,
        include_tables=True,
        favor_recall=True,
    )
    text = str(extracted or "").strip() or _body_text(page)
    if text and title and title not in text.split("\n", 1)[0]:
        # News pages keep their headline outside the article body; as the top heading it
        # names the page in every section's heading path.
        text = f"# {title}\n\n{text}"
    return text


def _drop_inline_markup(markdown: str) -> str:
    """Keep trafilatura's block structure (headings, lists, tables) but not its inline markup,
    which would sit inside every chunk and split words for the lexical index."""
    text = _HTML_INLINE.sub("", markdown)
    text = _EMPHASIS.sub(r"\2", text)
    return _ESCAPE.sub(r"\1", text)


def _body_text(page: str) -> str:
    # Parsed again: trafilatura may have pruned the first tree in place.
    tree = _parse(page, _NEVER_CONTENT + _BOILERPLATE)
    if tree is None:
        return ""
    body = tree.find("body")
    node = body if body is not None else tree
    lines = (" ".join(line.split()) for line in node.text_content().splitlines())
    return "\n".join(line for line in lines if line)


def _parse(page: str, drop: tuple[str, ...]) -> lxml.html.HtmlElement | None:
    try:
        # lxml refuses a str that declares its encoding: XHTML (saved pages, EPUB chapters).
        tree = lxml.html.document_fromstring(_XML_DECLARATION.sub("", page, count=1))
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    drop_hidden(tree)
    for element in list(tree.iter(*drop)):
        element.drop_tree()
    return tree
