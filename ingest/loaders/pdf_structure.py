"""A PDF's pages (pdf_layout.py) as sections a reader would recognise: running headers,
footers and page numbers left out, lines joined into paragraphs, tables kept row by row, and
each section under its heading path, from the outline where the PDF has one, else from the
headings' larger or bold type. Runs once every page is read: which lines repeat, and which
size is the body text's, are facts about the whole document."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from core.answer.sentences import split_sentences
from core.types import Section
from ingest.loaders.pdf_layout import Line, PageLayout
from ingest.loaders.pdf_outline import MAX_LEVEL, OutlineEntry
from ingest.loaders.pdf_tables import find_tables
from ingest.loaders.running_lines import furniture
from ingest.loaders.tables import table_blocks

_TABLE_SEPARATOR = "\n\n"
# Type this much larger than the body text's, or bold, on a short line of its own, is a heading.
_HEADING_SIZE = 1.15
_HEADING_CHARS = 120
# A heading text seen this often is a label ("Note:", "反例："), not a section.
_HEADING_REPEATS = 3
_FONT_LEVELS = 4
_FIGURE_LABELS = 6
# "3.1.2 Hydro network": a section number, then the title.
_NUMBERED = re.compile(r"(\d{1,2}(?:\.\d{1,2})*)\.?\s+[^\W\d_]")
_NUMBERED_HEADINGS = 3
_SUBSECTION = re.compile(r"\d{1,2}(?:\.\d{1,2})+\.?\s+[^\W\d_][^.!?。！？:：]{0,60}$")
# Type this much larger than the body's is a title wherever it stands (centred, say).
_TITLE_SIZE = 1.5
# Paragraph starts are counted in steps of this many points; a margin holds this share of them.
_MARGIN_BUCKET = 4.0
_MARGIN_SHARE = 0.05
# Lines this many font sizes apart, or more, are in different paragraphs.
_LINE_STEP = 1.7
_MAX_LEADING = 3.0
_ENDS_SENTENCE = tuple(".!?。！？:：;；")
_LIST_ITEM = re.compile(
    r"(?:[•●○◦▪■□◆◇►▶‣⁃·*–—-]|\(?\d{1,3}[.)、]|\(?[a-zA-Z][.)]|[一二三四五六七八九十]+、|【)\s*"
)
_WIDE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
_NUMBER_ONLY = re.compile(r"[(（]?[\dA-Za-z]{1,3}(?:\.\d{1,3})*[.)）]?")
_HYPHEN_END = re.compile(r"(?<=[^\W\d_])[-\u00ad]$")
_TITLE_KEY = re.compile(r"[\W_]+")
_SECTION_NUMBER = re.compile(r"^[\d.]+|^[（(]?[一二三四五六七八九十]+[)）、]?")


@dataclass
class _Block:
    text: str
    line: Line | None
    """The block's first line (None for a table's second and later blocks)."""
    table: bool = False


def build_sections(pages: list[PageLayout], outline: list[OutlineEntry]) -> list[Section]:
    dropped = furniture(pages)
    blocks = [_page_blocks(page, drop) for page, drop in zip(pages, dropped, strict=True)]
    placed = _place_outline(blocks, outline) if outline else _font_headings(blocks)
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    for number, (page_blocks, starts) in enumerate(zip(blocks, placed, strict=True), start=1):
        offset = 0
        previous: _Block | None = None
        for index, block in enumerate(page_blocks):
            for level, title in starts.get(index, []):
                while path and path[-1][0] >= level:
                    path.pop()
                path.append((level, title))
            heading_path = tuple(title for _, title in path)
            separator = _separator(previous, block)
            offset += len(separator)
            last = sections[-1] if sections else None
            if last is not None and last.page == number and last.heading_path == heading_path:
                text = last.text + separator + block.text
                sections[-1] = Section(text, number, heading_path, last.offset)
            else:
                sections.append(Section(block.text, number, heading_path, offset))
            offset += len(block.text)
            previous = block
    return sections


def _separator(previous: _Block | None, block: _Block) -> str:
    """A sentence to a line, so that the splitter fills a chunk sentence by sentence and its
    overlap carries the sentences before (a paragraph's "he" keeps its "Armstrong"); a blank
    line around a table's blocks, where the splitter cuts first, so that each chunk of a
    table starts with its header row."""
    if previous is None:
        return ""
    return _TABLE_SEPARATOR if previous.table or block.table else "\n"


def page_text(page: PageLayout) -> str:
    """A page's text as the document will hold it, furniture included (for the checks on how
    much text there is and whether it is garbled)."""
    return "\n".join(line.text for line in page.lines)


def _page_blocks(page: PageLayout, drop: set[int]) -> list[_Block]:
    tables = {t.first: t for t in find_tables(page.lines, drop)} if page.positioned else {}
    right = _right_edges(page)
    leading = _leading(page)
    blocks: list[_Block] = []
    paragraph: list[Line] = []

    def close() -> None:
        if paragraph:
            text = _sentence_lines(_join(paragraph))
            blocks.append(_Block(text, paragraph[0]))
            paragraph.clear()

    index = 0
    while index < len(page.lines):
        table = tables.get(index)
        if table is not None:
            close()
            rendered = table_blocks(table.rows)
            blocks.extend(
                _Block(text, page.lines[index] if n == 0 else None, table=True)
                for n, text in enumerate(rendered)
            )
            index = table.last + 1
            continue
        line = page.lines[index]
        index += 1
        if index - 1 in drop:
            continue
        if paragraph and not _continues(paragraph[-1], line, right, leading, page.positioned):
            close()
        paragraph.append(line)
    close()
    return blocks


def _right_edges(page: PageLayout) -> dict[int, float]:
    """Where the full lines of each column end: lines are grouped by where they start."""
    ends: dict[int, list[float]] = {}
    for line in page.lines:
        ends.setdefault(round(line.x0 / 40), []).append(line.x1)
    return {key: sorted(xs)[int(0.8 * (len(xs) - 1))] for key, xs in ends.items()}


def _leading(page: PageLayout) -> dict[float, float]:
    """The usual step from a line to the next, for each font size on the page: Chinese text
    is often set with wide leading, two and a half times its size."""
    steps: dict[float, Counter[float]] = {}
    for previous, line in zip(page.lines, page.lines[1:], strict=False):
        step = previous.y - line.y
        if previous.size == line.size and 0 < step <= _MAX_LEADING * line.size:
            steps.setdefault(line.size, Counter())[round(step)] += 1
    return {size: float(counts.most_common(1)[0][0]) for size, counts in steps.items()}


def _continues(
    previous: Line,
    line: Line,
    right: dict[int, float],
    leading: dict[float, float],
    positioned: bool,
) -> bool:
    """Whether `line` goes on with the paragraph that `previous` ends."""
    if _LIST_ITEM.match(line.text) or not line.text or not previous.text:
        return False
    if not positioned:
        return not previous.text.endswith(_ENDS_SENTENCE) and bool(
            _WIDE.match(previous.text[-1]) and _WIDE.match(line.text[0])
        )
    size = max(previous.size, line.size)
    step = previous.y - line.y
    usual = leading.get(line.size, 0.0) * 1.15 if line.size == previous.size else 0.0
    if step <= 0 or step > max(_LINE_STEP * size, usual):
        return False
    if abs(previous.size - line.size) > 0.15 * size or previous.bold != line.bold:
        return False
    if line.x0 > previous.x0 + 0.8 * size and previous.text.endswith(_ENDS_SENTENCE):
        return False  # the first line of a paragraph, indented (not a list item's hanging indent)
    full = right.get(round(previous.x0 / 40), previous.x1)
    short = previous.x1 < full - 4 * size
    return not (short and previous.text.endswith(_ENDS_SENTENCE)) and not (
        short and len(previous.text) < 40
    )


def _sentence_lines(paragraph: str) -> str:
    """The paragraph a sentence to a line; a section's number ("2.1.") stays with its title."""
    lines: list[str] = []
    for sentence in split_sentences(paragraph):
        text = sentence.text.strip()
        if not text:
            continue
        if lines and _NUMBER_ONLY.fullmatch(lines[-1]):
            lines[-1] += " " + text
        else:
            lines.append(text)
    return "\n".join(lines)


def _join(lines: list[Line]) -> str:
    """A paragraph's lines as one line: Chinese joined without a space, English with one, a
    word hyphenated at a line's end mended where the next line goes on in lower case."""
    text = lines[0].text
    for line in lines[1:]:
        nxt = line.text
        if _HYPHEN_END.search(text) and nxt[:1].islower():
            text = text[:-1] + nxt
        elif _WIDE.match(text[-1]) and _WIDE.match(nxt[0]):
            text += nxt
        else:
            text += " " + nxt
    return text


def _font_headings(blocks: list[list[_Block]]) -> list[dict[int, list[tuple[int, str]]]]:
    """Headings told by type: a one-line paragraph, short, larger than the body text or bold.
    Larger type is a higher level; bold at body size the lowest."""
    sizes: Counter[float] = Counter()
    for page in blocks:
        for block in page:
            if block.line is not None:
                sizes[round(block.line.size * 2) / 2] += len(block.text)
    if not sizes:
        return [{} for _ in blocks]
    body = sizes.most_common(1)[0][0]
    margins = _margins(blocks)
    candidates: list[tuple[int, int, str, float]] = []
    for number, page in enumerate(blocks):
        for index, block in enumerate(page):
            line = block.line
            if line is None or len(line.cells) > 1 or len(block.text) > _HEADING_CHARS:
                continue
            if not re.search(r"[^\W\d_]", block.text) or block.text.endswith(_ENDS_SENTENCE[:3]):
                continue
            size = round(line.size * 2) / 2
            # A label inside a figure is larger or bold too, but not where text lines start.
            at_margin = round(line.x0 / _MARGIN_BUCKET) in margins or size >= _TITLE_SIZE * body
            # "3.1.2 Hydro network" in body type is still a heading: no list numbers so.
            subsection = _SUBSECTION.match(block.text) is not None and size >= body
            styled = size >= _HEADING_SIZE * body or (line.bold and size >= body) or subsection
            if at_margin and styled:
                candidates.append((number, index, block.text, size + (0.25 if line.bold else 0)))
    repeats = Counter(text for _, _, text, _ in candidates)
    # Many heading-like lines on one page are a figure's labels (a diagram drawn as text).
    per_page = Counter(number for number, *_ in candidates)
    numbered = [c for c in candidates if _NUMBERED.match(c[2])]
    first_numbered = (numbered[0][0], numbered[0][1]) if numbered else (len(blocks), 0)
    in_numbered = len(numbered) >= _NUMBERED_HEADINGS
    kept = [
        c
        for c in candidates
        if repeats[c[2]] < _HEADING_REPEATS
        and (
            _NUMBERED.match(c[2])
            or (
                per_page[c[0]] <= _FIGURE_LABELS
                # Once sections are numbered, an unnumbered heading is a figure's label.
                and (not in_numbered or (c[0], c[1]) < first_numbered)
            )
        )
    ]
    ranks = sorted({weight for *_, weight in kept}, reverse=True)
    placed: list[dict[int, list[tuple[int, str]]]] = [{} for _ in blocks]
    for number, index, text, weight in kept:
        if in_numbered:
            # A document that numbers its sections says their depth: "3.1.2" is at level 3;
            # its unnumbered headings (a preface, a title) stand at the top level.
            match = _NUMBERED.match(text)
            level = match.group(1).strip(".").count(".") + 1 if match else 1
        else:
            level = ranks.index(weight) + 1
        placed[number][index] = [(min(level, _FONT_LEVELS), text)]
    return placed


def _margins(blocks: list[list[_Block]]) -> set[int]:
    """Where the document's paragraphs start (in `_MARGIN_BUCKET` steps): a column's left
    edge, the indent of its paragraphs' first lines."""
    starts = Counter(
        round(block.line.x0 / _MARGIN_BUCKET)
        for page in blocks
        for block in page
        if block.line is not None
    )
    total = sum(starts.values())
    common = {bucket for bucket, n in starts.items() if n >= _MARGIN_SHARE * total}
    return common | {bucket + 1 for bucket in common} | {bucket - 1 for bucket in common}


def _place_outline(
    blocks: list[list[_Block]], outline: list[OutlineEntry]
) -> list[dict[int, list[tuple[int, str]]]]:
    """Each bookmark at the block on its page that starts with its title; failing that, at the
    first block below the height it opens at, else at the page's top."""
    placed: list[dict[int, list[tuple[int, str]]]] = [{} for _ in blocks]
    cursor = (-1, 0)
    for entry in outline:
        if entry.page >= len(blocks):
            continue
        page = blocks[entry.page]
        first = cursor[1] if cursor[0] == entry.page else 0
        index = _find_title(page, entry.title, first)
        if index is None and entry.top is not None:
            index = _below(page, entry.top, first)
        if index is None:
            index = first if page else 0
        placed[entry.page].setdefault(index, []).append((min(entry.level, MAX_LEVEL), entry.title))
        cursor = (entry.page, index)
    return placed


def _below(page: list[_Block], top: float, first: int) -> int | None:
    """The first block from `first` on that starts at or below the height `top`."""
    for index in range(first, len(page)):
        line = page[index].line
        if line is not None and line.y <= top + 2:
            return index
    return None


def _find_title(page: list[_Block], title: str, first: int) -> int | None:
    wanted = _title_key(title)
    bare = _title_key(_SECTION_NUMBER.sub("", title))
    if not wanted:
        return None
    for index in range(first, len(page)):
        key = _title_key(page[index].text[: len(title) + 20])
        if key.startswith(wanted) or (
            len(bare) >= 4
            and _title_key(_SECTION_NUMBER.sub("", page[index].text)).startswith(bare)
        ):
            return index
    return None


def _title_key(text: str) -> str:
    return _TITLE_KEY.sub("", text).lower()
