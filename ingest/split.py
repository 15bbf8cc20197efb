"""Structure-first splitting, sized in the embedding model's word pieces so no chunk is
truncated: paragraphs, then lines, then sentences (CJK 。！？； as well as Latin), with overlap."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from core.answer.instructions import instruction_flags
from core.types import ChunkDraft, LoadedDocument, Section
from ingest.sanitize import sanitize_document

SEPARATORS = [
    "\n\n",
    "\n",
    "。",
    "！",
    "？",
    "；",
    ". ",
    "! ",
    "? ",
    "; ",
    "，",
    ", ",
    "、",
    " ",
    "",
]

CountTokens = Callable[[list[str]], list[int]]
TokenSpans = Callable[[str], list[tuple[int, int]]]


class Splitter:
    def __init__(
        self,
        count_tokens: CountTokens,
        token_spans: TokenSpans,
        chunk_tokens: int,
        overlap_tokens: int,
        max_tokens: int,
    ) -> None:
        self._count = count_tokens
        self._spans = token_spans
        self._max = max_tokens
        self._size = min(chunk_tokens, max_tokens)
        self._splitter = RecursiveCharacterTextSplitter(
            separators=SEPARATORS,
            keep_separator="end",
            chunk_size=self._size,
            chunk_overlap=overlap_tokens,
            # The splitter measures each piece when splitting and again when merging.
            length_function=lru_cache(maxsize=4096)(lambda text: count_tokens([text])[0]),
            strip_whitespace=True,
        )

    def split(self, document: LoadedDocument) -> list[ChunkDraft]:
        """Chunks of the document's sanitized text (ingest/sanitize.py: every loaded document
        passes here), each flagged when a sentence in it speaks as an instruction, and with the
        flags of its section (text read by OCR)."""
        cuts: list[tuple[Section, int, str, int | None]] = []
        for section in sanitize_document(document).sections:
            cursor = 0
            for text, tokens in self._split_section(section.text):
                start = section.text.find(text, cursor)
                if start < 0:
                    start = section.text.find(text)
                cursor = max(start, 0) + 1
                cuts.append((section, max(start, 0), text, tokens))
        unknown = iter(self._count([text for _, _, text, tokens in cuts if tokens is None]))
        pieces: list[tuple[Section, int, str, int | None]] = []
        for section, start, text, tokens in cuts:
            if tokens is None:
                tokens = next(unknown)
            if tokens <= self._max:
                pieces.append((section, start, text, tokens))
            else:
                pieces.extend((section, start + a, text[a:b], None) for a, b in self._fit(text))
        refit = iter(self._count([text for _, _, text, tokens in pieces if tokens is None]))
        return [
            ChunkDraft(
                seq=seq,
                text=text,
                page=section.page,
                heading_path=section.heading_path,
                start=section.offset + start,
                end=section.offset + start + len(text),
                tokens=next(refit) if tokens is None else tokens,
                flags=instruction_flags(text) | section.flags,
            )
            for seq, (section, start, text, tokens) in enumerate(pieces)
        ]

    def _split_section(self, text: str) -> list[tuple[str, int | None]]:
        """Pieces of a section, with their word pieces when already counted. A section that
        fits one chunk is one chunk: the splitter would measure each of its paragraphs and
        sentences only to merge them back (most of what parsing costs)."""
        stripped = text.strip()
        if not stripped:
            return []
        tokens = self._count([stripped])[0]
        if tokens <= self._size:
            return [(stripped, tokens)]
        return [(piece, None) for piece in self._splitter.split_text(text)]

    def _fit(self, text: str) -> list[tuple[int, int]]:
        """Cut a text the splitter left over the model's limit (a merge of pieces can tokenise
        longer than its parts) at word-piece boundaries, so nothing is truncated."""
        spans = self._spans(text)
        if len(spans) <= self._max:
            return [(0, len(text))]
        cuts: list[tuple[int, int]] = []
        first = 0
        while first < len(spans):
            # A cut can tokenise longer than its pieces did in place (a Chinese first character
            # takes a `▁` of its own in e5's tokenizer): such a window gives up its last piece.
            last = min(first + self._max, len(spans))
            while (
                last - first > 1
                and self._count([text[spans[first][0] : spans[last - 1][1]]])[0] > self._max
            ):
                last -= 1
            cuts.append((spans[first][0], spans[last - 1][1]))
            first = last
        return cuts
