"""Structure-first splitting, sized in the embedding model's word pieces so no chunk is
truncated: paragraphs, then lines, then sentences (CJK 。！？； as well as Latin), with overlap."""

from __future__ import annotations

from collections.abc import Callable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from core.types import ChunkDraft, LoadedDocument, Section

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
        self._splitter = RecursiveCharacterTextSplitter(
            separators=SEPARATORS,
            keep_separator="end",
            chunk_size=min(chunk_tokens, max_tokens),
            chunk_overlap=overlap_tokens,
            length_function=lambda text: count_tokens([text])[0],
            strip_whitespace=True,
        )

    def split(self, document: LoadedDocument) -> list[ChunkDraft]:
        pieces: list[tuple[Section, int, str]] = []
        for section in document.sections:
            cursor = 0
            for text in self._splitter.split_text(section.text):
                start = section.text.find(text, cursor)
                if start < 0:
                    start = section.text.find(text)
                cursor = max(start, 0) + 1
                pieces.extend((section, max(start, 0) + a, text[a:b]) for a, b in self._fit(text))
        counts = self._count([text for _, _, text in pieces])
        return [
            ChunkDraft(
                seq=seq,
                text=text,
                page=section.page,
                heading_path=section.heading_path,
                start=section.offset + start,
                end=section.offset + start + len(text),
                tokens=tokens,
            )
            for seq, ((section, start, text), tokens) in enumerate(zip(pieces, counts, strict=True))
        ]

    def _fit(self, text: str) -> list[tuple[int, int]]:
        """Cut a text the splitter left over the model's limit (a merge of pieces can tokenise
        longer than its parts) at word-piece boundaries, so nothing is truncated."""
        spans = self._spans(text)
        if len(spans) <= self._max:
            return [(0, len(text))]
        cuts: list[tuple[int, int]] = []
        for first in range(0, len(spans), self._max):
            window = spans[first : first + self._max]
            cuts.append((window[0][0], window[-1][1]))
        return cuts
