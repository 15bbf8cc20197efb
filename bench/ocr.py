"""OCR accuracy and speed on pages whose truth is known: text-layer pages of real PDFs are
rendered to pictures the way a scanned page is read (ingest/ocr/pictures.py: at most 2,000
pixels on the long side, about 170 dpi for A4), read by the OCR engine, and compared with the
page's text layer (pypdf). The character error rate is the edit distance over the length of
the truth, both with whitespace removed and NFKC-normalised (full-width and ligature forms
count as their plain letters); the order-free rate counts only characters missing or extra
whatever their order (a lower bound of the first), so that a reading order that differs from
the text layer's (columns, tables, figure labels) is told apart from misread characters. Per
language (the file name's zh-/en- prefix), with pages per
second on this machine; model loading is timed apart.

    python -m bench.ocr ../shared/data/pdfs/*.pdf --pages 3
    python -m bench.ocr --loader ../shared/data/pdfs/hostile/zh-garbled-text-layer.pdf
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import unicodedata
from collections import Counter
from pathlib import Path

from pypdf import PdfReader
from rapidfuzz.distance import Levenshtein

from ingest.loaders.pdf import PdfLoader
from ingest.ocr.engine import RapidOcr
from ingest.ocr.pictures import PdfPictures

# Pages with less text than this say little about accuracy (a title page, a figure).
_MIN_TRUTH_CHARS = 300


def squashed(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def order_free_errors(got: str, truth: str) -> int:
    """Characters missing from or extra in the reading, counted as a bag: the larger count."""
    have, want = Counter(got), Counter(truth)
    return max(sum((want - have).values()), sum((have - want).values()))


def sample_pages(reader: PdfReader, count: int) -> list[tuple[int, str]]:
    """Up to `count` pages spread over the document, each with enough text to judge by."""
    texts = [(i, squashed(page.extract_text())) for i, page in enumerate(reader.pages)]
    full = [(i, t) for i, t in texts if len(t) >= _MIN_TRUTH_CHARS]
    if len(full) <= count:
        return full
    step = len(full) / count
    return [full[int(k * step)] for k in range(count)]


def measure_file(path: Path, ocr: RapidOcr, count: int) -> list[dict[str, object]]:
    data = path.read_bytes()
    pictures = PdfPictures(data)
    rows: list[dict[str, object]] = []
    for index, truth in sample_pages(PdfReader(path), count):
        started = time.perf_counter()
        picture = pictures.page(index)
        rendered = time.perf_counter()
        got = squashed(ocr.read(picture))
        done = time.perf_counter()
        rows.append(
            {
                "file": path.name,
                "language": path.name[:2],
                "page": index + 1,
                "size": list(picture.size),
                "truth_chars": len(truth),
                "errors": Levenshtein.distance(got, truth),
                "cer": round(Levenshtein.distance(got, truth) / len(truth), 4),
                "order_free_errors": order_free_errors(got, truth),
                "render_s": round(rendered - started, 3),
                "ocr_s": round(done - rendered, 3),
            }
        )
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    pictures.close()
    return rows


def summary(rows: list[dict[str, object]]) -> dict[str, object]:
    errors = sum(int(str(r["errors"])) for r in rows)
    unordered = sum(int(str(r["order_free_errors"])) for r in rows)
    chars = sum(int(str(r["truth_chars"])) for r in rows)
    seconds = sum(float(str(r["render_s"])) + float(str(r["ocr_s"])) for r in rows)
    return {
        "pages": len(rows),
        "chars": chars,
        "cer": round(errors / max(chars, 1), 4),
        "order_free_cer": round(unordered / max(chars, 1), 4),
        "median_page_cer": statistics.median(float(str(r["cer"])) for r in rows),
        "pages_per_s": round(len(rows) / seconds, 3),
        "s_per_page": round(seconds / len(rows), 2),
    }


def read_whole(path: Path, ocr: RapidOcr) -> None:
    """What the PDF loader makes of a file with OCR on: each page's source and first words."""
    loader = PdfLoader()
    loader.use_ocr(ocr)
    started = time.perf_counter()
    document = loader.load(path.read_bytes(), lambda done, total: None)
    seconds = time.perf_counter() - started
    for section in document.sections:
        text = " ".join(section.text.split())
        print(
            json.dumps(
                {"page": section.page, "ocr": bool(section.flags), "text": text[:160]},
                ensure_ascii=False,
            )
        )
    print(json.dumps({"file": path.name, "pages": document.pages, "seconds": round(seconds, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pdfs", nargs="*", type=Path)
    parser.add_argument("--pages", type=int, default=3, help="pages measured per file")
    parser.add_argument("--loader", nargs="*", type=Path, default=[], help="files read whole")
    args = parser.parse_args()
    ocr = RapidOcr()
    started = time.perf_counter()
    ocr.load()
    print(json.dumps({"model_load_s": round(time.perf_counter() - started, 2)}))
    rows = [row for path in args.pdfs for row in measure_file(path, ocr, args.pages)]
    for language in sorted({str(r["language"]) for r in rows}):
        mine = [r for r in rows if r["language"] == language]
        print(json.dumps({"language": language, **summary(mine)}))
    if rows:
        print(json.dumps({"language": "all", **summary(rows)}))
    for path in args.loader:
        read_whole(path, ocr)


if __name__ == "__main__":
    main()
