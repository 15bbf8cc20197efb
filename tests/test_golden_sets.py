"""Golden sets read from JSON lines (the README's format), SQuAD JSON and CSV, and refused with
the line (or entry) and the problem when they cannot be read."""

from __future__ import annotations

import json

import pytest

from core.errors import InvalidInput
from core.evaluation.golden import GoldenItem, parse_golden

JSON_LINES = "\n".join(
    [
        '{"question": "What is better than ugly?", "answer": "Beautiful", "file": "pdfs/a.pdf",'
        ' "page": 1}',
        "",
        '{"question": "谁发明了纸？", "answer": null}',
        '{"turns": [{"question": "How long are backups kept?", "answer": "90 days"},'
        ' {"question": "And then?", "answer": "deleted"}]}',
    ]
)


def test_json_lines_with_an_unanswerable_question_and_a_conversation() -> None:
    items = parse_golden(JSON_LINES.encode(), "set.jsonl")
    assert len(items) == 3
    first, unanswerable, conversation = items
    assert (first.filename, first.page, first.answerable) == ("a.pdf", 1, True)
    assert unanswerable.answer is None and not unanswerable.answerable
    assert [t.question for t in conversation.asked] == ["How long are backups kept?", "And then?"]
    assert first.asked == [first]


def test_squad_answers_impossible_questions_and_contexts() -> None:
    squad = {
        "version": "v2.0",
        "data": [
            {
                "title": "Normans",
                "paragraphs": [
                    {
                        "context": "The Normans were the people who gave their name to Normandy.",
                        "qas": [
                            {
                                "question": "Who gave their name to Normandy?",
                                "answers": [{"text": "The Normans", "answer_start": 0}],
                                "is_impossible": False,
                            },
                            {
                                "question": "Who gave Normandy its king?",
                                "answers": [],
                                "plausible_answers": [{"text": "Normans"}],
                                "is_impossible": True,
                            },
                            # v1 has no is_impossible; no answer is none either.
                            {"question": "What is Normandy?", "answers": []},
                        ],
                    }
                ],
            }
        ],
    }
    items = parse_golden(json.dumps(squad).encode(), "dev.json")
    assert [i.answer for i in items] == ["The Normans", None, None]
    assert items[0].evidence == squad["data"][0]["paragraphs"][0]["context"]  # type: ignore[index]
    # An article's title is not a file the collection holds.
    assert all(i.file is None for i in items)


def test_csv_with_the_same_columns_and_conversations() -> None:
    text = (
        "\ufeffquestion,answer,file,page,evidence,conversation\n"
        'What is better than ugly?,Beautiful,a.pdf,1,"Beautiful is better than ugly.",\n'
        "员工有几天年假？,,,,,\n"
        "How long are backups kept?,90 days,b.md,,,c1\n"
        "And then?,deleted,b.md,,,c1\n"
        "Another one?,x,,,,c2\n"
    )
    items = parse_golden(text.encode(), "set.csv")
    assert len(items) == 4
    assert items[0] == GoldenItem(
        question="What is better than ugly?",
        answer="Beautiful",
        file="a.pdf",
        page=1,
        evidence="Beautiful is better than ugly.",
    )
    assert items[1].question == "员工有几天年假？" and items[1].answer is None
    assert [t.answer for t in items[2].asked] == ["90 days", "deleted"]
    # A conversation of one turn is still asked as one.
    assert items[3].turns is not None and len(items[3].asked) == 1


@pytest.mark.parametrize(
    ("data", "filename", "code", "params"),
    [
        (
            b'{"question": "ok?"}\n{"answer": "no question"}\n',
            "a.jsonl",
            "golden_line_invalid",
            {"line": 2},
        ),
        (
            b'{"question": "ok?"}\n\n{"question": "broken\n',
            "a.jsonl",
            "golden_line_invalid",
            {"line": 3},
        ),
        (b'{"question": "ok?", "page": "first"}\n', "a.jsonl", "golden_line_invalid", {"line": 1}),
        (
            b'{"turns": [{"turns": [{"question": "a"}]}]}\n',
            "a.jsonl",
            "golden_line_invalid",
            {"line": 1},
        ),
        (
            b'{"question": "a", "turns": [{"question": "b"}]}\n',
            "a.jsonl",
            "golden_line_invalid",
            {"line": 1},
        ),
        (b"question,answer\nok?,yes\n,no question\n", "a.csv", "golden_line_invalid", {"line": 3}),
        (b"query,answer\nok?,yes\n", "a.csv", "golden_csv_no_question", {}),
        (
            b'{"data": [{"title": "t", "paragraphs": [{"context": "c"}]}]}',
            "a.json",
            "golden_entry_invalid",
            {"where": "data[0].paragraphs[0]"},
        ),
        (b"\n\n", "a.jsonl", "golden_empty", {}),
        ("问题".encode("gbk"), "a.jsonl", "golden_not_text", {}),
    ],
)
def test_a_set_that_cannot_be_read_is_refused_saying_where_and_why(
    data: bytes, filename: str, code: str, params: dict[str, object]
) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_golden(data, filename)
    assert raised.value.code == code
    assert raised.value.params["source"] == filename
    assert params.items() <= raised.value.params.items()
    assert filename in raised.value.message
