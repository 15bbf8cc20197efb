"""False positives of the instruction detector (core/answer/instructions.py) on ordinary text:
SQuAD-format contexts (CMRC 2018, SQuAD 2.0) and files read by the real loaders (PDFs,
Word, HTML, Markdown, text). Every flag on them is a false positive; the flagged sentences are
printed so a rule can be narrowed.

    python -m bench.instructions --squad ../shared/data/squad/cmrc2018_dev.json \
        ../shared/data/squad/squad_v2_dev.json --files ../shared/data/pdfs/*.pdf \
        ../shared/data/docs/*
"""

from __future__ import annotations

import argparse
import json
import mimetypes
from pathlib import Path

from core.answer.instructions import instruction_flags, is_instruction
from core.answer.sentences import split_sentences
from ingest.loaders import LOADERS
from ingest.sanitize import sanitize_document

_MEDIA = {".md": "text/markdown", ".txt": "text/plain"}


def squad_contexts(path: Path) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [p["context"] for article in data["data"] for p in article["paragraphs"]]


def file_sections(path: Path) -> list[str]:
    media = _MEDIA.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "text/plain"
    loaded = LOADERS.create(media).load(path.read_bytes(), lambda done, total: None)
    return [s.text for s in sanitize_document(loaded).sections]


def measure(name: str, texts: list[str]) -> dict[str, object]:
    sentences = [s.text for t in texts for s in split_sentences(t)]
    flagged = [s for s in sentences if is_instruction(s)]
    blocks = sum(1 for t in texts if instruction_flags(t))
    return {
        "corpus": name,
        "texts": len(texts),
        "texts_flagged": blocks,
        "sentences": len(sentences),
        "sentences_flagged": len(flagged),
        "sentence_fp_rate": round(len(flagged) / max(len(sentences), 1), 6),
        "examples": flagged[:10],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", nargs="*", type=Path, default=[])
    parser.add_argument("--files", nargs="*", type=Path, default=[])
    args = parser.parse_args()
    for path in args.squad:
        print(json.dumps(measure(path.name, squad_contexts(path)), ensure_ascii=False))
    files = [p for p in args.files if p.is_file()]
    if files:
        texts = [text for path in files for text in file_sections(path)]
        print(json.dumps(measure("files", texts), ensure_ascii=False))


if __name__ == "__main__":
    main()
