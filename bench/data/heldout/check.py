"""Check bench/data/heldout/questions.jsonl and multiturn.jsonl against the held-out documents.

    python bench/data/heldout/check.py [--docs DIR]

The documents are not in the repository: `fetch.py` puts them in DIR (default
/tmp/heldout-docs). For every answerable question (and every answerable turn): the file exists,
its language prefix matches the question's script (Chinese characters for zh, none for en), the
answer lies inside the evidence and the evidence inside the extracted text of the stated page
(1-based, PDFs; null for Markdown), comparing after NFKC, case folding and removing all
whitespace (pypdf breaks Chinese sentences at line wraps). An unanswerable question has answer,
file, page and evidence all null. The set must hold at least 60 questions, at least a third of
them unanswerable, and at least four two-turn conversations. Prints counts per language and
document (never the questions), and exits 1 on any failure.

Text sources: pypdf `extract_text()` per page for PDFs; the decoded UTF-8 file for Markdown.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import unicodedata
from collections import Counter
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DOCS = Path("/tmp/heldout-docs")
_SPACE = re.compile(r"\s+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
FIELDS = ("answer", "file", "page", "evidence")


def norm(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text).casefold())


@cache
def pages_of(path: Path) -> list[str]:
    """The normalised text of each page (PDFs) or one entry holding the whole text."""
    if path.suffix.lower() == ".pdf":
        from pypdf import PdfReader

        logging.getLogger("pypdf").setLevel(logging.ERROR)
        return [norm(page.extract_text() or "") for page in PdfReader(path).pages]
    return [norm(path.read_text(encoding="utf-8"))]


def language_of(question: str) -> str:
    return "zh" if _CJK.search(question) else "en"


def check_item(item: dict, docs: Path) -> list[str]:
    question = item.get("question")
    if not isinstance(question, str) or not question.strip():
        return ["no question"]
    if item.get("answer") is None:
        present = [key for key in FIELDS if item.get(key) is not None]
        return [f"unanswerable with {key} set" for key in present]
    errors: list[str] = []
    answer, file, page, evidence = (item.get(key) for key in FIELDS)
    if not isinstance(file, str) or not isinstance(evidence, str):
        return ["an answerable question needs file and evidence"]
    if not file.startswith(language_of(question) + "-"):
        errors.append(f"file {file} does not match the question's language")
    if norm(answer) not in norm(evidence):
        errors.append("answer not inside evidence")
    path = docs / file
    if not path.is_file():
        return [*errors, f"no file {path} (run fetch.py)"]
    pages = pages_of(path)
    if path.suffix.lower() == ".pdf":
        if not isinstance(page, int) or not 1 <= page <= len(pages):
            return [*errors, f"page {page!r} not in 1..{len(pages)}"]
        if norm(evidence) not in pages[page - 1]:
            found = [n for n, text in enumerate(pages, 1) if norm(evidence) in text]
            errors.append(f"evidence not on page {page} of {file} (found on {found})")
    else:
        if page is not None:
            errors.append("a page for a file without pages (want null)")
        if norm(evidence) not in pages[0]:
            errors.append(f"evidence not in {file}")
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help="the fetched documents")
    args = parser.parse_args()

    def read(name: str) -> list[dict]:
        lines = (HERE / name).read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    questions = read("questions.jsonl")
    conversations = read("multiturn.jsonl")
    failures: list[str] = []
    for number, item in enumerate(questions, 1):
        failures += [f"questions.jsonl line {number}: {e}" for e in check_item(item, args.docs)]
    for number, conversation in enumerate(conversations, 1):
        turns = conversation.get("turns")
        if not isinstance(turns, list) or len(turns) != 2:
            failures.append(f"multiturn.jsonl line {number}: want a list of 2 turns")
            continue
        if turns[0].get("answer") is None:
            failures.append(f"multiturn.jsonl line {number}: the first turn must be answerable")
        for n, turn in enumerate(turns, 1):
            errors = check_item(turn, args.docs)
            failures += [f"multiturn.jsonl line {number} turn {n}: {e}" for e in errors]

    unanswerable = [q for q in questions if q.get("answer") is None]
    if len(questions) < 60:
        failures.append(f"{len(questions)} questions, want at least 60")
    if 3 * len(unanswerable) < len(questions):
        failures.append(f"{len(unanswerable)} unanswerable of {len(questions)}, want a third")
    if len(conversations) < 4:
        failures.append(f"{len(conversations)} conversations, want at least 4")

    kinds = Counter(
        (language_of(q["question"]), "answerable" if q.get("answer") else "unanswerable")
        for q in questions
    )
    print(f"{len(questions)} questions, {len(conversations)} two-turn conversations")
    for (language, kind), count in sorted(kinds.items()):
        print(f"  {language} {kind}: {count}")
    for file, count in sorted(Counter(q["file"] for q in questions if q.get("file")).items()):
        print(f"  {count:3d}  {file}")
    for failure in failures:
        print(f"FAIL {failure}")
    if failures:
        print(f"{len(failures)} failures")
        return 1
    print("all answers found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
