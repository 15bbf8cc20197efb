"""Check bench/data/multiturn/follow_ups.jsonl against the shared documents.

    python bench/data/multiturn/check.py [--data DIR] [--set FILE]

For every pair: the fields are well formed, the file exists (not under hostile/ or squad/) and its
language prefix matches, and each turn's answer is found in the document's extracted text, on the
stated page for PDFs (1-based), comparing after NFKC, case folding and removing all whitespace
(pypdf breaks Chinese sentences at line wraps). The follow-up's answer must differ from the
first. The follow-up carries a non-empty "standalone" (the hand-written rewrite) in the pair's
script (Chinese characters for zh, none for en) that does not contain its answer. Prints counts
per language, kind and split, and exits 1 on any failure.

Text sources: pypdf `extract_text()` per page for PDFs; python-docx paragraphs (and table cells)
for .docx; Zhiku's own HTML loader (`ingest.loaders.html`, what the service indexes) for .html;
the decoded file for .md and .txt (UTF-16 by its BOM, else UTF-8, else GB18030).

The shared data folder is `--data`, else `$SHARED_DATA_DIR`, else the first `shared/data` found
in a folder above this repository.
"""

from __future__ import annotations

import argparse
import codecs
import json
import logging
import os
import re
import sys
import unicodedata
from collections import Counter
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
KINDS = {"pronoun", "ellipsis", "short"}
SPLITS = {"tune", "test"}
LANGUAGES = {"zh", "en"}
_SPACE = re.compile(r"\s+")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def norm(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text).casefold())


def find_data(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    if os.environ.get("SHARED_DATA_DIR"):
        return Path(os.environ["SHARED_DATA_DIR"])
    for folder in REPO.parents:
        if (folder / "shared" / "data" / "MANIFEST.md").is_file():
            return folder / "shared" / "data"
    sys.exit("shared data folder not found: pass --data or set SHARED_DATA_DIR")


def decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


@cache
def pages_of(path: Path) -> list[str]:
    """The normalised text of each page (PDFs) or one entry holding the whole text."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        from pypdf import PdfReader

        logging.getLogger("pypdf").setLevel(logging.ERROR)
        return [norm(page.extract_text() or "") for page in PdfReader(path).pages]
    if suffix == ".docx":
        import docx

        document = docx.Document(str(path))
        parts = [p.text for p in document.paragraphs]
        parts += [
            cell.text for table in document.tables for row in table.rows for cell in row.cells
        ]
        return [norm("\n".join(parts))]
    if suffix in {".html", ".htm"}:
        sys.path.insert(0, str(REPO))
        from ingest.loaders.html import HtmlLoader

        loaded = HtmlLoader().load(path.read_bytes(), lambda done, total: None)
        return [norm("\n".join(section.text for section in loaded.sections))]
    return [norm(decode(path.read_bytes()))]


def check_pair(pair: dict, data: Path) -> list[str]:
    errors: list[str] = []
    for key in ("id", "language", "file", "kind", "split", "turns"):
        if key not in pair:
            errors.append(f"missing field {key!r}")
    if errors:
        return errors
    if pair["language"] not in LANGUAGES:
        errors.append(f"language {pair['language']!r}")
    if pair["kind"] not in KINDS:
        errors.append(f"kind {pair['kind']!r}")
    if pair["split"] not in SPLITS:
        errors.append(f"split {pair['split']!r}")
    file = pair["file"]
    if file.startswith(("pdfs/hostile/", "squad/")):
        errors.append(f"file {file} is not an allowed document")
    if not Path(file).name.startswith(pair["language"] + "-"):
        errors.append(f"file {file} does not match language {pair['language']}")
    path = data / file
    if not path.is_file():
        return [*errors, f"no file {path}"]
    turns = pair["turns"]
    if len(turns) != 2:
        return [*errors, f"{len(turns)} turns, want 2"]
    pages = pages_of(path)
    is_pdf = path.suffix.lower() == ".pdf"
    for n, turn in enumerate(turns, 1):
        question, answer, page = turn.get("question"), turn.get("answer"), turn.get("page", "?")
        if not question or not answer:
            errors.append(f"turn {n}: empty question or answer")
            continue
        if pair["language"] == "zh" and not _CJK.search(question):
            errors.append(f"turn {n}: a zh question without Chinese: {question!r}")
        if pair["language"] == "en" and _CJK.search(question):
            errors.append(f"turn {n}: an en question with Chinese: {question!r}")
        target = norm(answer)
        if is_pdf:
            if not isinstance(page, int) or not 1 <= page <= len(pages):
                errors.append(f"turn {n}: page {page!r} not in 1..{len(pages)}")
                continue
            if target not in pages[page - 1]:
                found = [i for i, text in enumerate(pages, 1) if target in text]
                errors.append(f"turn {n}: answer {answer!r} not on page {page} (found on {found})")
        else:
            if page is not None:
                errors.append(f"turn {n}: page {page!r} for a file without pages (want null)")
            if target not in pages[0]:
                errors.append(f"turn {n}: answer {answer!r} not in the document")
    standalone = turns[1].get("standalone")
    if not isinstance(standalone, str) or not standalone.strip():
        errors.append("turn 2: no standalone question")
    else:
        if pair["language"] == "zh" and not _CJK.search(standalone):
            errors.append(f"turn 2: a zh standalone without Chinese: {standalone!r}")
        if pair["language"] == "en" and _CJK.search(standalone):
            errors.append(f"turn 2: an en standalone with Chinese: {standalone!r}")
        if turns[1].get("answer") and norm(turns[1]["answer"]) in norm(standalone):
            errors.append(f"turn 2: the standalone gives the answer away: {standalone!r}")
    if "standalone" in turns[0]:
        errors.append("turn 1: a standalone belongs to the follow-up only")
    if norm(turns[0]["answer"]) == norm(turns[1]["answer"]):
        errors.append("the follow-up's answer repeats the first answer")
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="the shared data folder (holds MANIFEST.md)")
    parser.add_argument("--set", default=str(HERE / "follow_ups.jsonl"), help="the JSONL file")
    args = parser.parse_args()
    data = find_data(args.data)
    pairs = [json.loads(line) for line in Path(args.set).read_text("utf-8").splitlines() if line]

    failures = 0
    ids = Counter(pair.get("id") for pair in pairs)
    for dup in (i for i, n in ids.items() if n > 1):
        print(f"FAIL duplicate id {dup}")
        failures += 1
    for pair in pairs:
        for error in check_pair(pair, data):
            print(f"FAIL {pair.get('id')}: {error}")
            failures += 1

    print(f"{len(pairs)} pairs from {args.set}")
    for key in ("language", "kind", "split"):
        print(
            f"  {key}: "
            + ", ".join(f"{k}={v}" for k, v in sorted(Counter(p[key] for p in pairs).items()))
        )
    by = Counter((p["language"], p["kind"], p["split"]) for p in pairs)
    for language in sorted(LANGUAGES):
        cells = ", ".join(
            f"{k}/{s}={by[(language, k, s)]}" for k in sorted(KINDS) for s in sorted(SPLITS)
        )
        print(f"  {language}: {cells}")
    files = Counter(p["file"] for p in pairs)
    documents = sorted(
        str(p.relative_to(data))
        for folder in ("pdfs", "docs")
        for p in (data / folder).iterdir()
        if p.is_file()
    )
    for document in documents:
        splits = sorted({p["split"] for p in pairs if p["file"] == document})
        print(f"  {files[document]:3d}  {document}  {'/'.join(splits)}")
        if not files[document]:
            print(f"FAIL no pair over {document}")
            failures += 1
    if failures:
        print(f"{failures} failures")
        return 1
    print("all answers found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
