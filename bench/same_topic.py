"""Abstention on the question's own topic: a knowledge base that holds passages about what a
question asks but not its answer must say so, not answer with a sentence that merely shares the
question's words.

From a SQuAD-format file: of the paragraphs taken, every other one stays whole and its questions
are answerable; from the others every sentence holding an answer to one of their questions is
cut out (the paragraph keeps its topic, names and the rest of its facts), and their questions
are not answerable. SQuAD 2.0's own unanswerable questions (written against the paragraph to
look answerable) count as not answerable too. All go into one collection; each question is
asked once and its verdict printed as rates, by the kind of answer its question word asks for.

    python -m bench.same_topic ../shared/data/squad/cmrc2018_trial.json --skip 0 --paragraphs 150
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.retrieval import ingest_contexts, log
from core.answer.answer_type import expected_type
from core.answer.prompt import DEFAULT_SYSTEM
from core.answer.sentences import split_sentences
from core.answer.service import AnswerService
from core.answer.vocabulary import Prompt
from core.llm.extractive import ExtractiveLLM
from core.retrieval.retrieve import HybridRetriever
from core.retrieval.search import Searcher


@dataclass(frozen=True)
class Asked:
    question: str
    answerable: bool
    # Gold answers (for answerable questions: whether the answer given holds one).
    answers: tuple[str, ...]


def _without_answers(context: str, answers: list[str]) -> str:
    kept = [s.text for s in split_sentences(context) if not any(a in s.text for a in answers)]
    return "".join(kept).strip()


def build(path: Path, skip: int, count: int) -> tuple[list[str], list[Asked]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    paragraphs = [p for a in data["data"] for p in a["paragraphs"]][skip : skip + count]
    contexts: list[str] = []
    asked: list[Asked] = []
    for i, paragraph in enumerate(paragraphs):
        context: str = paragraph["context"]
        qas: list[dict[str, Any]] = paragraph["qas"]
        answered = [q for q in qas if q.get("answers") and not q.get("is_impossible")]
        if i % 2 == 0:
            contexts.append(context)
            asked += [
                Asked(q["question"], True, tuple(a["text"] for a in q["answers"])) for q in answered
            ]
            asked += [Asked(q["question"], False, ()) for q in qas if q.get("is_impossible")]
            continue
        cut = _without_answers(context, [a["text"] for q in answered for a in q["answers"]])
        if len(split_sentences(cut)) < 2:
            continue
        contexts.append(cut)
        asked += [Asked(q["question"], False, ()) for q in answered]
    return contexts, asked


async def _text(llm: ExtractiveLLM, prompt: Prompt) -> str:
    return "".join([delta async for delta in llm.stream(prompt)])


def run(path: Path, skip: int, count: int) -> list[dict[str, Any]]:
    contexts, asked = build(path, skip, count)
    log(f"{path.name}: {len(contexts)} paragraphs, {len(asked)} questions")
    with tempfile.TemporaryDirectory(prefix="zhiku-same-topic-") as tmp:
        zhiku = ingest_contexts(contexts, Path(tmp) / "data")
        retriever = HybridRetriever(
            Searcher(zhiku.resources.catalog, zhiku.resources.store, zhiku.resources.embedder)
        )
        llm = ExtractiveLLM(zhiku.resources.settings)
        service = AnswerService(zhiku.resources.catalog, retriever, llm, DEFAULT_SYSTEM)
        rows = []
        for a in asked:
            prepared = service.prepare(zhiku.collection, a.question, 5)
            text = "" if prepared.abstain else asyncio.run(_text(llm, prepared.prompt))
            rows.append(
                {
                    "question": a.question,
                    "answerable": a.answerable,
                    "kind": expected_type(a.question),
                    "abstained": prepared.abstain,
                    "evidence": round(prepared.evidence, 3),
                    "holds_answer": any(x in text for x in a.answers),
                }
            )
        retriever.close()
        zhiku.resources.close()
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def rates(part: list[dict[str, Any]]) -> dict[str, Any]:
        yes = [r for r in part if r["answerable"]]
        no = [r for r in part if not r["answerable"]]
        answered = sum(not r["abstained"] for r in yes) / len(yes) if yes else None
        abstained = sum(r["abstained"] for r in no) / len(no) if no else None
        return {
            "answerable": len(yes),
            "answered": None if answered is None else round(answered, 3),
            "answered_right": round(sum(r["holds_answer"] for r in yes) / len(yes), 3)
            if yes
            else None,
            "absent": len(no),
            "abstained": None if abstained is None else round(abstained, 3),
        }

    kinds = Counter(str(r["kind"]) for r in rows)
    return {
        "all": rates(rows),
        **{k: rates([r for r in rows if str(r["kind"]) == k]) for k in sorted(kinds)},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="abstention on the question's own topic")
    parser.add_argument("data", type=Path)
    parser.add_argument("--skip", type=int, default=0, help="paragraphs to pass over first")
    parser.add_argument("--paragraphs", type=int, default=150)
    parser.add_argument("--rows", type=Path, help="write each question's verdict here")
    args = parser.parse_args(argv)
    rows = run(args.data, args.skip, args.paragraphs)
    if args.rows:
        args.rows.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(json.dumps({"data": args.data.name, **summary(rows)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
