"""A question in one language over documents in the other, through the API with the default
(extractive) backend: answered from the passage the dense side found, cited, in the passage's
words; a question the documents cannot answer still abstains."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import service_with, upload_and_wait

POLICY = (
    b"# Expense policy\n\nTravel expenses must be submitted within 30 days of the trip. "
    b"Hotel costs above 200 euros per night need approval from a director.\n"
)
ROTA = (
    "# 值班制度\n\n运维团队实行7×24小时值班。夜班工程师每天晚上十点接班，第二天早上八点交班。\n"
).encode()


def test_a_chinese_question_is_answered_from_an_english_passage_and_cited(tmp_path: Path) -> None:
    with service_with(tmp_path, "kb", "policy.md", POLICY) as client:
        upload_and_wait(client, "kb", "rota.md", ROTA)
        answered = client.post(
            "/api/collections/kb/query", json={"question": "差旅费用要在多少天之内提交？"}
        ).json()
        assert not answered["abstained"], answered
        assert "30 days" in answered["answer"] and "[1]" in answered["answer"]
        assert answered["chunks"][0]["filename"] == "policy.md"
        assert answered["citations"] and answered["citations"][0]["filename"] == "policy.md"

        # Beside an English document that shares a few common words with the question.
        english = client.post(
            "/api/collections/kb/query",
            json={"question": "When does the night shift engineer take over?"},
        ).json()
        assert not english["abstained"], english
        assert "十点" in english["answer"]
        assert {c["filename"] for c in english["citations"]} == {"rota.md"}

        unrelated = client.post(
            "/api/collections/kb/query", json={"question": "秘鲁的首都是哪里？"}
        ).json()
        assert unrelated["abstained"], unrelated
