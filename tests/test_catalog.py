"""The catalog contract, run on SQLite and on PostgreSQL: atomic job claims, leases, all-or-
nothing documents, lexical search in Chinese and English, conversations."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest

from core.catalog import Catalog, LeaseLost, open_catalog
from core.catalog.postgres import PostgresCatalog
from core.catalog.records import DocumentStatus, JobStage, JobState, Message, NewDocument
from core.catalog.sql import SqlCatalog
from core.catalog.sqlite import SqliteCatalog
from core.errors import BackendUnavailable, ConfigError, Conflict, NotFound
from core.lexical_tokens import lexical_tokens
from core.types import ChunkDraft
from tests.conftest import make_settings

T = TypeVar("T")


@pytest.fixture
def open_one(tmp_path: Path, catalog_url: str | None) -> Iterator[Callable[[], Catalog]]:
    """Opens catalogs on the test's database, as separate processes of a deployment would."""
    opened: list[Catalog] = []

    def build() -> Catalog:
        catalog = open_catalog(make_settings(tmp_path / "data", database_url=catalog_url))
        opened.append(catalog)
        return catalog

    yield build
    for catalog in opened:
        catalog.close()


@pytest.fixture
def catalog(open_one: Callable[[], Catalog]) -> Catalog:
    return open_one()


def _doc(i: int) -> str:
    """A document id (sha256-shaped); chunk ids take its first half."""
    return f"{i:032x}" * 2


def _add(catalog: Catalog, collection_id: str, count: int) -> list[str]:
    added = catalog.add_documents(
        [NewDocument(collection_id, _doc(i), f"f{i}.txt", "text/plain", 10) for i in range(count)]
    )
    return [job.id for _, job, _ in added]


def _parse(catalog: Catalog, job_id: str, worker: str, texts: list[str]) -> None:
    drafts = [ChunkDraft(i, t, None, ("标题", "Title"), 0, len(t), 5) for i, t in enumerate(texts)]
    lexical = [" ".join(lexical_tokens("\n".join((*d.heading_path, d.text)))) for d in drafts]
    hashes = [t.encode().ljust(32, b"\0")[:32] for t in texts]
    catalog.store_parsed(job_id, worker, 1, drafts, lexical, hashes)


def _index(catalog: Catalog, texts: list[str]) -> tuple[str, list[str]]:
    """A collection with one searchable document per text; returns its id and the jobs."""
    collection = catalog.create_collection("kb", "model", 200, 20)
    jobs = _add(catalog, collection.id, len(texts))
    claimed = catalog.claim_jobs(JobStage.PARSE, "w", 60, 3, max_jobs=len(texts))
    assert sorted(j.id for j in claimed) == sorted(jobs)
    for job_id, text in zip(jobs, texts, strict=True):
        _parse(catalog, job_id, "w", [text])
    return collection.id, jobs


def _together(workers: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(i)` in threads that all start at the same moment."""
    start = threading.Barrier(workers)
    results: list[Any] = [None] * workers
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_the_url_scheme_picks_the_catalog(catalog: Catalog, catalog_url: str | None) -> None:
    assert isinstance(catalog, SqliteCatalog if catalog_url is None else PostgresCatalog)


def test_unknown_scheme_or_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="postgresql"):
        open_catalog(make_settings(tmp_path, database_url="mysql://db/zhiku"))
    with pytest.raises(BackendUnavailable, match="ZHIKU_DATABASE_URL"):
        open_catalog(make_settings(tmp_path, database_url="postgresql://postgres@127.0.0.1:1/x"))


def test_concurrent_claims_never_hand_a_job_to_two_workers(
    open_one: Callable[[], Catalog],
) -> None:
    catalogs = [open_one() for _ in range(4)]
    collection = catalogs[0].create_collection("kb", "model", 200, 20)
    jobs = _add(catalogs[0], collection.id, 60)

    def claim_all(i: int) -> list[str]:
        mine: list[str] = []
        while claimed := catalogs[i].claim_jobs(JobStage.PARSE, f"w{i}", 60, 3, max_jobs=2):
            mine.extend(j.id for j in claimed)
        return mine

    taken = _together(4, claim_all)

    every = [job for mine in taken for job in mine]
    assert sorted(every) == sorted(jobs)  # each job once: none twice, none left behind
    assert catalogs[1].count_jobs() == {"running": len(jobs)}
    for i, mine in enumerate(taken):
        assert all(catalogs[0].get_job(j).attempts == 1 for j in mine)
        assert catalogs[0].renew_leases(mine, f"w{i}", 60) == set()


def test_concurrent_adds_of_the_same_bytes_make_one_document_and_one_job(
    open_one: Callable[[], Catalog],
) -> None:
    catalogs = [open_one() for _ in range(4)]
    collection = catalogs[0].create_collection("kb", "model", 200, 20)
    items = [NewDocument(collection.id, _doc(i), f"{i}.txt", "text/plain", 1) for i in range(5)]

    results = _together(4, lambda i: catalogs[i].add_documents(items[::-1] if i % 2 else items))

    created = [(doc.id, job.id) for added in results for doc, job, new in added if new]
    assert sorted(d for d, _ in created) == sorted(i.document_id for i in items)
    jobs = {job.id for added in results for _, job, _ in added}
    assert len(jobs) == len(items)
    with pytest.raises(Conflict):
        catalogs[1].create_collection("kb", "model", 200, 20)


def test_a_worker_whose_lease_was_taken_over_writes_nothing(catalog: Catalog) -> None:
    collection = catalog.create_collection("kb", "model", 200, 20)
    (job_id,) = _add(catalog, collection.id, 1)
    assert catalog.claim_jobs(JobStage.PARSE, "slow", 0.05, 3)
    threading.Event().wait(0.2)
    (retaken,) = catalog.claim_jobs(JobStage.PARSE, "fast", 60, 3)
    assert retaken.id == job_id and retaken.attempts == 2

    with pytest.raises(LeaseLost):
        _parse(catalog, job_id, "slow", ["迟到的结果"])
    with pytest.raises(LeaseLost):
        catalog.set_page_progress(job_id, "slow", 1, 2)
    assert catalog.document_chunks(collection.id, _doc(0)) == []
    _parse(catalog, job_id, "fast", ["按时的结果"])
    assert catalog.get_document(collection.id, _doc(0)).status == DocumentStatus.SEARCHABLE


def test_cancel_and_failure_drop_chunks_and_lexical_entries(catalog: Catalog) -> None:
    cid, jobs = _index(catalog, ["数据备份每晚进行。", "Nightly backups keep data safe."])
    assert catalog.lexical_rows(cid) == 2

    cancelled = catalog.claim_jobs(JobStage.EMBED, "w", 60, 3, max_chunks=1)
    assert [j.id for j in cancelled] == [jobs[0]]
    assert catalog.cancel_job(jobs[0]).state == JobState.CANCELLED
    catalog.fail_job(jobs[1], "broken")

    assert catalog.lexical_rows(cid) == 0
    assert catalog.lexical_search(cid, ["数据", "backups"], 5) == []
    for document in catalog.list_documents(cid):
        assert document.status == DocumentStatus.FAILED and document.chunks == 0
        assert catalog.document_chunks(cid, document.id) == []
    with pytest.raises(Conflict, match="only queued or running"):
        catalog.cancel_job(jobs[0])
    retried = catalog.retry_job(jobs[0], "application/x-refused")
    assert retried.state == JobState.QUEUED
    with pytest.raises(Conflict, match="already retried"):
        catalog.retry_job(jobs[0], "application/x-refused")


def test_lexical_search_finds_chinese_and_english_and_ranks_rare_words_first(
    catalog: Catalog,
) -> None:
    texts = [
        "知库把数据保存在本地目录，数据很重要。",
        "数据可以导出为表格。",
        "数据备份每天晚上自动进行。",
        "我们的部署方案分三步完成。",
        "Back up the data directory nightly; restore it by copying the folder back.",
        "The data directory holds the catalog.",
    ]
    cid, _ = _index(catalog, texts)

    def top(query: str) -> str:
        hits = catalog.lexical_search(cid, lexical_tokens(query), 3)
        assert all(h.score > 0 for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        return hits[0].chunk.text if hits else ""

    assert top("部署") == texts[3]  # a word inside 部署方案
    assert top("数据备份") == texts[2]  # 备份 is rare, 数据 is everywhere
    assert top("how do I restore the data") == texts[4]
    assert top("天气预报") == ""
    assert catalog.lexical_search(cid, lexical_tokens("数据"), 10, document_ids=[]) == []
    only = catalog.lexical_search(cid, ["数据"], 10, document_ids=[_doc(1)])
    assert [h.chunk.text for h in only] == [texts[1]]


def test_terms_too_common_for_the_budget_pick_no_candidates(catalog: Catalog) -> None:
    texts = ["数据备份", "数据导出", "数据导出表格", "数据目录", "数据目录很大", "数据很重要"]
    cid, _ = _index(catalog, texts)
    query = ["数据", "备份", "导出"]
    assert len(catalog.lexical_search(cid, query, 10)) == 6

    assert isinstance(catalog, SqlCatalog)
    catalog.lexical_budget = 3  # 备份 (1 chunk) and 导出 (2) fill it; 数据 (6) is left out
    hits = catalog.lexical_search(cid, query, 10)
    assert sorted(h.chunk.text for h in hits) == ["数据备份", "数据导出", "数据导出表格"]
    assert hits[0].chunk.text == "数据备份"
    assert catalog.lexical_search(cid, ["数据"], 10)  # the rarest term is always searched


def test_query_text_cannot_break_the_lexical_query(catalog: Catalog) -> None:
    cid, _ = _index(catalog, ["O'Neil's backslash \\ and quotes \" ' stay text."])
    hostile = ["o'neil", "\\", "'", '"', "a & b | !c", "部署:*", "(", "", "x" * 5000, "):"]
    assert catalog.lexical_search(cid, hostile, 5) == []
    hits = catalog.lexical_search(cid, [*hostile, "backslash"], 5)
    assert len(hits) == 1


def test_lexical_index_repairs_restore_what_was_lost(catalog: Catalog) -> None:
    cid, _ = _index(catalog, ["数据备份每天晚上自动进行。", "Nightly backups."])
    chunks = [c for d in catalog.list_documents(cid) for c in catalog.document_chunks(cid, d.id)]
    catalog.repair_lexical(cid, [], [chunks[0].rowid])
    assert catalog.lexical_rows(cid) == 1

    missing, orphans = catalog.lexical_gaps(cid)
    assert [c.id for c in missing] == [chunks[0].id] and orphans == []
    catalog.repair_lexical(cid, [(c.rowid, " ".join(lexical_tokens(c.text))) for c in missing], [])
    assert catalog.lexical_gaps(cid) == ([], [])
    assert catalog.lexical_search(cid, ["备份"], 5)[0].chunk.id == chunks[0].id


def test_vectors_make_a_document_ready_and_deleting_removes_everything(catalog: Catalog) -> None:
    cid, jobs = _index(catalog, ["数据备份每天晚上自动进行。"])
    (job,) = catalog.claim_jobs(JobStage.EMBED, "w", 60, 3, max_chunks=100)
    ((rowid, text, text_hash),) = catalog.chunks_without_vectors([job.id])
    assert catalog.mark_ready([job.id], "w") == [job.id]  # a vector is still missing
    catalog.store_vectors("w", [job.id], [(rowid, b"\x01\x02" * 4)])
    assert catalog.vectors_by_text("model", [text_hash]) == {text_hash: b"\x01\x02" * 4}
    assert catalog.vectors_by_text("other-model", [text_hash]) == {}
    assert catalog.mark_ready([job.id], "w") == []
    document_id = catalog.get_job(job.id).document_id
    (chunk_id, vector, _, _) = catalog.document_vectors(cid, document_id)[0]
    assert (
        vector == b"\x01\x02" * 4 and catalog.ready_chunks(cid, [chunk_id])[chunk_id].text == text
    )

    catalog.delete_document(cid, document_id)
    assert not catalog.document_exists(cid, document_id)
    assert catalog.lexical_rows(cid) == 0 and catalog.ready_chunks(cid, [chunk_id]) == {}
    with pytest.raises(NotFound):
        catalog.get_job(jobs[0])
    assert catalog.document_references(document_id) == 0


def test_conversations_keep_messages_in_order_per_collection(catalog: Catalog) -> None:
    kb = catalog.create_collection("kb", "model", 200, 20)
    other = catalog.create_collection("other", "model", 200, 20)
    conversations = catalog.conversations()
    started = conversations.create(kb.id, "  数据保存在\n哪里？ ")
    assert started.title == "数据保存在 哪里？" and started.messages == []

    conversations.append(kb.id, started.id, [Message("user", "数据保存在哪里？")])
    cited = [{"n": 1, "chunk_id": "c1"}]
    conversations.append(kb.id, started.id, [Message("assistant", "在本地目录 [1]。", cited)])

    got = conversations.get(kb.id, started.id)
    assert [(m.role, m.content) for m in got.messages] == [
        ("user", "数据保存在哪里？"),
        ("assistant", "在本地目录 [1]。"),
    ]
    assert got.messages[1].citations == cited
    assert [c.id for c in conversations.in_collection(kb.id)] == [started.id]
    with pytest.raises(NotFound):
        conversations.get(other.id, started.id)
    catalog.delete_collection("kb")
    with pytest.raises(NotFound):
        conversations.get(kb.id, started.id)


def test_several_openers_can_create_a_fresh_database_at_once(
    open_one: Callable[[], Catalog],
) -> None:
    catalogs = _together(4, lambda _: open_one())
    catalogs[0].create_collection("kb", "model", 200, 20)
    assert [c.name for c in catalogs[3].list_collections()] == ["kb"]


def test_a_model_answer_holding_nul_is_stored_without_it(catalog: Catalog) -> None:
    kb = catalog.create_collection("kb", "model", 200, 20)
    conversations = catalog.conversations()
    started = conversations.create(kb.id, "q")
    conversations.append(kb.id, started.id, [Message("assistant", "a\x00b", [{"quote": "\x00"}])])
    got = conversations.get(kb.id, started.id).messages[0]
    assert got.content == "ab" and got.citations == [{"quote": "\x00"}]


def test_passage_chunks_come_with_their_counts_of_the_query_terms(catalog: Catalog) -> None:
    collection = catalog.create_collection("kb", "model", 200, 20)
    jobs = _add(catalog, collection.id, 2)
    catalog.claim_jobs(JobStage.PARSE, "w", 60, 3, max_jobs=2)
    texts = [
        "武穴酥糖很有名。",
        "武穴酥糖又香又脆。",
        "1983年获奖，1983年扩产。",
        "尾声。",
        "另一段。",
    ]
    _parse(catalog, jobs[0], "w", texts)
    _parse(catalog, jobs[1], "w", ["武穴酥糖"])

    terms = catalog.scored_terms(collection.id, lexical_tokens("1983年武穴酥糖获得什么奖"))
    assert terms["1983"] == 1 and terms["武穴"] == 3 and "什么" not in terms

    found = catalog.passage_chunks(collection.id, [(_doc(0), 0, 3), (_doc(1), 0, 3)], ["1983"])
    by_text = {p.chunk.text: p for p in found}
    assert sorted(by_text) == sorted([*texts[:4], "武穴酥糖"])
    assert by_text[texts[2]].counts == {"1983": 2}
    assert by_text[texts[0]].counts == {}
    assert all(p.length == len(lexical_tokens(f"标题\nTitle\n{p.chunk.text}")) for p in found)
    assert catalog.passage_chunks(collection.id, [], ["1983"]) == []
    assert [p.chunk.text for p in catalog.passage_chunks(collection.id, [(_doc(0), 4, 7)], [])] == [
        texts[4]
    ]


# PostgreSQL's term counts (lexical_terms) ------------------------------------------------------


@pytest.fixture
def pg_open(tmp_path: Path, postgres_url: str) -> Iterator[Callable[[], PostgresCatalog]]:
    opened: list[PostgresCatalog] = []

    def build() -> PostgresCatalog:
        catalog = open_catalog(make_settings(tmp_path / "data", database_url=postgres_url))
        assert isinstance(catalog, PostgresCatalog)
        opened.append(catalog)
        return catalog

    yield build
    for catalog in opened:
        catalog.close()


def _recounted(url: str, collection_id: str) -> dict[str, int]:
    """Each term's chunks, counted from the lexical entries' tsvectors."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT t, count(*) FROM lexical_entries, unnest(tsvector_to_array(terms)) t"
            " WHERE collection_id=%s GROUP BY t",
            (collection_id,),
        ).fetchall()
    return {t: int(n) for t, n in rows}


def test_term_counts_follow_adds_retries_deletes_failures_and_repairs(
    pg_open: Callable[[], PostgresCatalog], postgres_url: str
) -> None:
    catalog = pg_open()
    texts = ["数据备份每晚进行。", "Nightly backups keep data safe.", "数据 data 数据"]
    cid, jobs = _index(catalog, texts)
    counts = catalog.term_counts(cid)
    assert counts == _recounted(postgres_url, cid)
    assert counts["数据"] == 2 and counts["data"] == 2 and counts["backups"] == 1

    # Failed, retried and stored again: the old chunks' terms are taken back.
    catalog.fail_job(jobs[0], "broken")
    assert catalog.term_counts(cid) == _recounted(postgres_url, cid)
    assert catalog.term_counts(cid)["数据"] == 1
    retried = catalog.retry_job(jobs[0], "application/x-refused")
    assert catalog.claim_jobs(JobStage.PARSE, "w", 60, 3)
    _parse(catalog, retried.id, "w", ["数据导出", "导出 data"])
    counts = catalog.term_counts(cid)
    assert counts == _recounted(postgres_url, cid)
    assert counts["数据"] == 2 and counts["导出"] == 2 and counts["data"] == 3

    catalog.delete_document(cid, _doc(1))
    assert catalog.term_counts(cid) == _recounted(postgres_url, cid)
    assert "backups" not in catalog.term_counts(cid)

    chunks = [c for d in catalog.list_documents(cid) for c in catalog.document_chunks(cid, d.id)]
    catalog.repair_lexical(cid, [], [chunks[0].rowid])
    assert catalog.term_counts(cid) == _recounted(postgres_url, cid)
    missing, _ = catalog.lexical_gaps(cid)
    catalog.repair_lexical(cid, [(c.rowid, " ".join(lexical_tokens(c.text))) for c in missing], [])
    # Repairing a row that is already indexed replaces its terms instead of adding them twice.
    catalog.repair_lexical(cid, [(chunks[1].rowid, "新 词")], [])
    counts = catalog.term_counts(cid)
    assert counts == _recounted(postgres_url, cid) and counts["新"] == 1

    # An entry whose chunk row is gone is an orphan; repairing removes it and its counts.
    with psycopg.connect(postgres_url) as conn:
        conn.execute("DELETE FROM chunks WHERE rowid=%s", (chunks[1].rowid,))
    assert catalog.lexical_gaps(cid) == ([], [chunks[1].rowid])
    catalog.repair_lexical(cid, [], [chunks[1].rowid])
    counts = catalog.term_counts(cid)
    assert counts == _recounted(postgres_url, cid) and "新" not in counts

    other, _ = _index_in(catalog, "other", ["数据在别处"])
    catalog.delete_collection("kb")
    assert catalog.term_counts(cid) == {}
    assert catalog.term_counts(other) == _recounted(postgres_url, other) != {}


def _index_in(catalog: Catalog, name: str, texts: list[str]) -> tuple[str, list[str]]:
    collection = catalog.create_collection(name, "model", 200, 20)
    jobs = _add(catalog, collection.id, len(texts))
    for job in catalog.claim_jobs(JobStage.PARSE, "w", 60, 3, max_jobs=len(texts)):
        _parse(catalog, job.id, "w", [texts[jobs.index(job.id)]])
    return collection.id, jobs


def test_concurrent_adds_count_common_terms_exactly_without_deadlock(
    pg_open: Callable[[], PostgresCatalog], postgres_url: str
) -> None:
    catalogs = [pg_open() for _ in range(4)]
    collection = catalogs[0].create_collection("kb", "model", 200, 20)
    per_worker = 10
    jobs = _add(catalogs[0], collection.id, 4 * per_worker)

    def store(i: int) -> None:
        mine = jobs[i * per_worker : (i + 1) * per_worker]
        for job_id in mine[::-1] if i % 2 else mine:
            text = f"数据 data common{job_id[:4]} 备份 words {i} rare{job_id}"
            _parse(catalogs[i], job_id, "w", [text, "data 数据 again"])

    for job in catalogs[0].claim_jobs(JobStage.PARSE, "w", 60, 3, max_jobs=len(jobs)):
        assert job.id in jobs
    _together(4, store)

    counts = catalogs[0].term_counts(collection.id)
    assert counts == _recounted(postgres_url, collection.id)
    assert counts["数据"] == counts["data"] == 2 * len(jobs) and counts["备份"] == len(jobs)
    hits = catalogs[1].lexical_search(collection.id, ["备份", f"rare{jobs[3]}"], 5)
    assert hits[0].chunk.document_id == _doc(3)


def test_a_catalog_made_before_lexical_entries_and_term_counts_is_brought_up_to_date(
    pg_open: Callable[[], PostgresCatalog], postgres_url: str
) -> None:
    catalog = pg_open()
    cid, _ = _index(catalog, ["数据备份每晚进行。", "Nightly backups keep data safe."])
    expected = catalog.term_counts(cid)
    before = catalog.lexical_search(cid, ["备份", "backups", "data"], 5)
    with psycopg.connect(postgres_url) as conn:
        # The earlier layout: each chunk's tsvector in chunk columns, and no counts.
        conn.execute(
            "ALTER TABLE chunks ADD COLUMN lexical TSVECTOR,"
            " ADD COLUMN lexical_len INTEGER NOT NULL DEFAULT 0"
        )
        conn.execute(
            "UPDATE chunks c SET lexical=e.terms, lexical_len=e.len FROM lexical_entries e"
            " WHERE e.rowid=c.rowid"
        )
        conn.execute("CREATE INDEX chunks_lexical ON chunks USING GIN (lexical)")
        # It predates recorded schema revisions too.
        conn.execute("DROP TABLE lexical_entries, lexical_terms, alembic_version")

    reopened = pg_open()
    assert reopened.lexical_rows(cid) == 2 and reopened.lexical_gaps(cid) == ([], [])
    assert reopened.term_counts(cid) == expected == _recounted(postgres_url, cid)
    assert reopened.lexical_search(cid, ["备份", "backups", "data"], 5) == before
    assert pg_open().lexical_rows(cid) == 2  # opened again: nothing moves twice
