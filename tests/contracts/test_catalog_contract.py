"""The Catalog contract, area by area, run on every catalog backend CATALOGS names (SQLite and
PostgreSQL): collections, documents, jobs (atomic claims, leases), chunks with the lexical index
(all-or-nothing documents, search in Chinese and English, repairs), conversations."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.catalog import CATALOGS, Catalog
from core.catalog.protocol import LeaseLost
from core.catalog.records import DocumentStatus, JobStage, JobState, Message, NewDocument
from core.errors import Conflict, NotFound
from core.lexical_tokens import lexical_tokens
from core.messages import Reason
from tests.catalog_steps import add, catalogs_on, doc_id, index, parse, together

# The database this suite runs each backend on, by its registry key; keys naming a class
# another key already runs (postgres, postgresql) are left out.
DATABASES: dict[str, Callable[[pytest.FixtureRequest], str | None]] = {
    "sqlite": lambda request: None,
    "postgresql": lambda request: request.getfixturevalue("postgres_url"),
}


@pytest.fixture(params=sorted(DATABASES))
def backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """(registry key, ZHIKU_DATABASE_URL) of the catalog under test."""
    key: str = request.param
    return key, DATABASES[key](request)


@pytest.fixture
def open_one(tmp_path: Path, backend: tuple[str, str | None]) -> Iterator[Callable[[], Catalog]]:
    with catalogs_on(tmp_path / "data", backend[1]) as build:
        yield build


@pytest.fixture
def catalog(open_one: Callable[[], Catalog]) -> Catalog:
    return open_one()


def test_the_suite_runs_every_catalog_backend() -> None:
    run = {CATALOGS.load(key) for key in DATABASES}
    registered = CATALOGS.keys()
    skipped = [key for key in registered if CATALOGS.load(key) not in run]
    assert not skipped, f"add the catalog backends of {skipped} to DATABASES"


# lifecycle -------------------------------------------------------------------------------------


def test_the_database_url_opens_the_registered_catalog(
    catalog: Catalog, backend: tuple[str, str | None]
) -> None:
    assert type(catalog) is CATALOGS.load(backend[0])
    catalog.ping()


def test_several_openers_can_create_a_fresh_database_at_once(
    open_one: Callable[[], Catalog],
) -> None:
    catalogs = together(4, lambda _: open_one())
    catalogs[0].create_collection("kb", "model", 200, 20)
    assert [c.name for c in catalogs[3].list_collections()] == ["kb"]


# collections -----------------------------------------------------------------------------------


def test_a_collection_is_found_by_name_and_id_until_deleted(catalog: Catalog) -> None:
    created = catalog.create_collection("kb", "model", 200, 20)
    assert (created.embedding_model, created.chunk_tokens, created.chunk_overlap_tokens) == (
        "model",
        200,
        20,
    )
    assert catalog.get_collection("kb") == catalog.collection_by_id(created.id) == created
    with pytest.raises(Conflict):
        catalog.create_collection("kb", "other-model", 100, 10)
    catalog.create_collection("archive", "model", 200, 20)
    assert [c.name for c in catalog.list_collections()] == ["archive", "kb"]

    assert catalog.delete_collection("kb") == created
    with pytest.raises(NotFound):
        catalog.get_collection("kb")
    with pytest.raises(NotFound):
        catalog.collection_by_id(created.id)
    with pytest.raises(NotFound):
        catalog.delete_collection("kb")


# documents -------------------------------------------------------------------------------------


def test_concurrent_adds_of_the_same_bytes_make_one_document_and_one_job(
    open_one: Callable[[], Catalog],
) -> None:
    catalogs = [open_one() for _ in range(4)]
    collection = catalogs[0].create_collection("kb", "model", 200, 20)
    items = [NewDocument(collection.id, doc_id(i), f"{i}.txt", "text/plain", 1) for i in range(5)]

    results = together(4, lambda i: catalogs[i].add_documents(items[::-1] if i % 2 else items))

    created = [(doc.id, job.id) for added in results for doc, job, new in added if new]
    assert sorted(d for d, _ in created) == sorted(i.document_id for i in items)
    jobs = {job.id for added in results for _, job, _ in added}
    assert len(jobs) == len(items)
    with pytest.raises(Conflict):
        catalogs[1].create_collection("kb", "model", 200, 20)


# jobs ------------------------------------------------------------------------------------------


def test_concurrent_claims_never_hand_a_job_to_two_workers(
    open_one: Callable[[], Catalog],
) -> None:
    catalogs = [open_one() for _ in range(4)]
    collection = catalogs[0].create_collection("kb", "model", 200, 20)
    jobs = add(catalogs[0], collection.id, 60)

    def claim_all(i: int) -> list[str]:
        mine: list[str] = []
        while claimed := catalogs[i].claim_jobs(JobStage.PARSE, f"w{i}", 60, 3, max_jobs=2):
            mine.extend(j.id for j in claimed)
        return mine

    taken = together(4, claim_all)

    every = [job for mine in taken for job in mine]
    assert sorted(every) == sorted(jobs)  # each job once: none twice, none left behind
    assert catalogs[1].count_jobs() == {"running": len(jobs)}
    for i, mine in enumerate(taken):
        assert all(catalogs[0].get_job(j).attempts == 1 for j in mine)
        assert catalogs[0].renew_leases(mine, f"w{i}", 60) == set()


def test_a_worker_whose_lease_was_taken_over_writes_nothing(catalog: Catalog) -> None:
    collection = catalog.create_collection("kb", "model", 200, 20)
    (job_id,) = add(catalog, collection.id, 1)
    assert catalog.claim_jobs(JobStage.PARSE, "slow", 0.05, 3)
    threading.Event().wait(0.2)
    (retaken,) = catalog.claim_jobs(JobStage.PARSE, "fast", 60, 3)
    assert retaken.id == job_id and retaken.attempts == 2

    with pytest.raises(LeaseLost):
        parse(catalog, job_id, "slow", ["迟到的结果"])
    with pytest.raises(LeaseLost):
        catalog.set_page_progress(job_id, "slow", 1, 2)
    assert catalog.document_chunks(collection.id, doc_id(0)) == []
    parse(catalog, job_id, "fast", ["按时的结果"])
    assert catalog.get_document(collection.id, doc_id(0)).status == DocumentStatus.SEARCHABLE


def test_cancel_and_failure_drop_chunks_and_lexical_entries(catalog: Catalog) -> None:
    cid, jobs = index(catalog, ["数据备份每晚进行。", "Nightly backups keep data safe."])
    assert catalog.lexical_rows(cid) == 2

    cancelled = catalog.claim_jobs(JobStage.EMBED, "w", 60, 3, max_chunks=1)
    assert [j.id for j in cancelled] == [jobs[0]]
    assert catalog.cancel_job(jobs[0]).state == JobState.CANCELLED
    catalog.fail_job(jobs[1], Reason("processing_failed", {"kind": "OSError"}))

    assert catalog.lexical_rows(cid) == 0
    assert catalog.lexical_search(cid, ["数据", "backups"], 5) == []
    for document in catalog.list_documents(cid):
        assert document.status == DocumentStatus.FAILED and document.chunks == 0
        assert catalog.document_chunks(cid, document.id) == []
    with pytest.raises(Conflict, match="only queued or running"):
        catalog.cancel_job(jobs[0])
    retried = catalog.retry_job(jobs[0], "application/x-refused")
    assert retried.state == JobState.QUEUED
    with pytest.raises(Conflict, match="only failed or cancelled"):
        catalog.retry_job(retried.id, "application/x-refused")
    with pytest.raises(Conflict, match="already retried"):
        catalog.retry_job(jobs[0], "application/x-refused")


# chunks and the lexical index ------------------------------------------------------------------


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
    cid, _ = index(catalog, texts)

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
    only = catalog.lexical_search(cid, ["数据"], 10, document_ids=[doc_id(1)])
    assert [h.chunk.text for h in only] == [texts[1]]


def test_query_text_cannot_break_the_lexical_query(catalog: Catalog) -> None:
    cid, _ = index(catalog, ["O'Neil's backslash \\ and quotes \" ' stay text."])
    hostile = ["o'neil", "\\", "'", '"', "a & b | !c", "部署:*", "(", "", "x" * 5000, "):"]
    assert catalog.lexical_search(cid, hostile, 5) == []
    hits = catalog.lexical_search(cid, [*hostile, "backslash"], 5)
    assert len(hits) == 1


def test_stored_chunks_keep_every_field_of_their_drafts(catalog: Catalog) -> None:
    cid, _ = index(catalog, ["数据备份每天晚上自动进行。"])
    (chunk,) = catalog.document_chunks(cid, doc_id(0))
    assert (chunk.collection_id, chunk.document_id, chunk.seq) == (cid, doc_id(0), 0)
    assert (chunk.text, chunk.page, chunk.heading_path) == (
        "数据备份每天晚上自动进行。",
        None,
        ("标题", "Title"),
    )
    assert (chunk.start, chunk.end, chunk.tokens) == (0, len(chunk.text), 5)
    assert catalog.live_chunk_ids(cid, [DocumentStatus.SEARCHABLE]) == {chunk.id: doc_id(0)}
    assert catalog.live_chunk_ids(cid, [DocumentStatus.READY]) == {}


def test_lexical_index_repairs_restore_what_was_lost(catalog: Catalog) -> None:
    cid, _ = index(catalog, ["数据备份每天晚上自动进行。", "Nightly backups."])
    chunks = [c for d in catalog.list_documents(cid) for c in catalog.document_chunks(cid, d.id)]
    catalog.repair_lexical(cid, [], [chunks[0].rowid])
    assert catalog.lexical_rows(cid) == 1

    missing, orphans = catalog.lexical_gaps(cid)
    assert [c.id for c in missing] == [chunks[0].id] and orphans == []
    catalog.repair_lexical(cid, [(c.rowid, " ".join(lexical_tokens(c.text))) for c in missing], [])
    assert catalog.lexical_gaps(cid) == ([], [])
    assert catalog.lexical_search(cid, ["备份"], 5)[0].chunk.id == chunks[0].id


def test_vectors_make_a_document_ready_and_deleting_removes_everything(catalog: Catalog) -> None:
    cid, jobs = index(catalog, ["数据备份每天晚上自动进行。"])
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


def test_passage_chunks_come_with_their_counts_of_the_query_terms(catalog: Catalog) -> None:
    collection = catalog.create_collection("kb", "model", 200, 20)
    jobs = add(catalog, collection.id, 2)
    catalog.claim_jobs(JobStage.PARSE, "w", 60, 3, max_jobs=2)
    texts = [
        "武穴酥糖很有名。",
        "武穴酥糖又香又脆。",
        "1983年获奖，1983年扩产。",
        "尾声。",
        "另一段。",
    ]
    parse(catalog, jobs[0], "w", texts)
    parse(catalog, jobs[1], "w", ["武穴酥糖"])

    terms = catalog.scored_terms(collection.id, lexical_tokens("1983年武穴酥糖获得什么奖"))
    assert terms["1983"] == 1 and terms["武穴"] == 3 and "什么" not in terms

    found = catalog.passage_chunks(collection.id, [(doc_id(0), 0, 3), (doc_id(1), 0, 3)], ["1983"])
    by_text = {p.chunk.text: p for p in found}
    assert sorted(by_text) == sorted([*texts[:4], "武穴酥糖"])
    assert by_text[texts[2]].counts == {"1983": 2}
    assert by_text[texts[0]].counts == {}
    assert all(p.length == len(lexical_tokens(f"标题\nTitle\n{p.chunk.text}")) for p in found)
    assert catalog.passage_chunks(collection.id, [], ["1983"]) == []
    assert [
        p.chunk.text for p in catalog.passage_chunks(collection.id, [(doc_id(0), 4, 7)], [])
    ] == [texts[4]]


# conversations ---------------------------------------------------------------------------------


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


def test_a_conversation_is_renamed_limited_and_its_last_answer_replaced(
    catalog: Catalog,
) -> None:
    kb = catalog.create_collection("kb", "model", 200, 20)
    other = catalog.create_collection("other", "model", 200, 20)
    conversations = catalog.conversations()
    started = conversations.create(kb.id, "where?", ["d1", "d2"])
    assert started.document_ids == ["d1", "d2"]
    conversations.append(
        kb.id,
        started.id,
        [Message("user", "q1"), Message("assistant", "a1"), Message("user", "q2")],
    )
    conversations.append(kb.id, started.id, [Message("assistant", "a2", [{"n": 1}])])

    conversations.replace_last_answer(kb.id, started.id, Message("assistant", "a2 again"))
    got = conversations.get(kb.id, started.id)
    assert [(m.role, m.content) for m in got.messages] == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", "a2 again"),
    ]
    assert got.messages[3].citations == []

    assert conversations.rename(kb.id, started.id, "  Where  it is ").title == "Where it is"
    assert conversations.limit_to(kb.id, started.id, None).document_ids is None
    assert conversations.in_collection(kb.id)[0].document_ids is None
    for change in (
        lambda: conversations.rename(other.id, started.id, "x"),
        lambda: conversations.limit_to(other.id, started.id, ["d1"]),
        lambda: conversations.replace_last_answer(other.id, started.id, Message("assistant", "x")),
    ):
        with pytest.raises(NotFound):
            change()
    assert conversations.get(kb.id, started.id).title == "Where it is"


def test_a_collection_is_renamed_and_keeps_its_settings(catalog: Catalog) -> None:
    kb = catalog.create_collection("kb", "model", 200, 20)
    catalog.create_collection("taken", "model", 200, 20)
    assert kb.settings == {}
    assert catalog.set_collection_settings("kb", {"top_k": 8}).settings == {"top_k": 8}

    renamed = catalog.rename_collection("kb", "知识库")
    assert (renamed.id, renamed.name, renamed.settings) == (kb.id, "知识库", {"top_k": 8})
    with pytest.raises(NotFound):
        catalog.get_collection("kb")
    with pytest.raises(Conflict):
        catalog.rename_collection("知识库", "taken")
    assert catalog.rename_collection("知识库", "知识库").id == kb.id
    with pytest.raises(NotFound):
        catalog.rename_collection("kb", "x")
    assert catalog.set_collection_settings("知识库", {}).settings == {}


def test_a_model_answer_holding_nul_is_stored_without_it(catalog: Catalog) -> None:
    kb = catalog.create_collection("kb", "model", 200, 20)
    conversations = catalog.conversations()
    started = conversations.create(kb.id, "q")
    conversations.append(kb.id, started.id, [Message("assistant", "a\x00b", [{"quote": "\x00"}])])
    got = conversations.get(kb.id, started.id).messages[0]
    assert got.content == "ab" and got.citations == [{"quote": "\x00"}]


def test_failures_charged_to_a_document_requeue_it_then_fail_it(catalog: Catalog) -> None:
    collection = catalog.create_collection("kb", "model", 200, 20)
    (job_id,) = add(catalog, collection.id, 1)
    crashed = Reason("parser_killed", {"signal": "SIGKILL"})
    assert catalog.claim_jobs(JobStage.PARSE, "w", 60, 2)
    with pytest.raises(LeaseLost):
        catalog.charge_failure(job_id, "other", crashed, 2)

    requeued = catalog.charge_failure(job_id, "w", crashed, 2)
    assert requeued.state == JobState.QUEUED and requeued.failures == 1
    assert requeued.error is None and requeued.error_code is None
    assert catalog.claim_jobs(JobStage.PARSE, "w", 60, 2)
    failed = catalog.charge_failure(job_id, "w", crashed, 2)
    assert failed.state == JobState.FAILED and failed.failures == 2 and failed.attempts == 2
    assert failed.error == (
        "the parser process died while reading the document (killed by SIGKILL) (2 times);"
        " it was given up"
    )
    assert failed.error_code == "parser_killed"
    assert failed.error_params == {"signal": "SIGKILL", "failures": 2}


def test_a_failure_keeps_its_code_and_parameters_beside_its_text_until_retried(
    catalog: Catalog,
) -> None:
    collection = catalog.create_collection("kb", "model", 200, 20)
    refused = Reason("file_too_large", {"size_mb": 12.5, "limit_mb": 10, "file": "大.pdf"})
    [(document, job, _)] = catalog.add_documents(
        [NewDocument(collection.id, doc_id(9), "大.pdf", "application/x-refused", 9, refused)]
    )
    for failed in (document, job, catalog.get_document(collection.id, doc_id(9))):
        assert failed.error == (
            "'大.pdf': the file is 12.5 MB, over the 10 MB limit (ZHIKU_MAX_UPLOAD_MB)"
        )
        assert failed.error_code == "file_too_large"
        assert failed.error_params == {"size_mb": 12.5, "limit_mb": 10, "file": "大.pdf"}
    with pytest.raises(Conflict) as refusal:
        catalog.retry_job(job.id, "application/x-refused")
    assert refusal.value.code == "retry_of_refused_file"
    assert refusal.value.params["reason_code"] == "file_too_large"

    (job_id,) = add(catalog, collection.id, 1)
    assert catalog.claim_jobs(JobStage.PARSE, "w", 60, 2)
    catalog.fail_job(job_id, Reason("parse_memory_limit", {"memory_mb": 512}), worker="w")
    failed_job = catalog.get_job(job_id)
    failed_document = catalog.get_document(collection.id, failed_job.document_id)
    for failed in (failed_job, failed_document):
        assert failed.error is not None and "more than 512 MB of memory" in failed.error
        assert failed.error_code == "parse_memory_limit"
        assert failed.error_params == {"memory_mb": 512}
    catalog.retry_job(job_id, "application/x-refused")
    cleared = catalog.get_document(collection.id, failed_job.document_id)
    assert (cleared.error, cleared.error_code, cleared.error_params) == (None, None, None)


def test_a_running_job_without_progress_is_reported_stalled(catalog: Catalog) -> None:
    collection = catalog.create_collection("kb", "model", 200, 20)
    (job_id,) = add(catalog, collection.id, 1)
    assert catalog.stalled_jobs(0.1) == []  # queued is not stalled
    assert catalog.claim_jobs(JobStage.PARSE, "w", 60, 3)
    assert catalog.stalled_jobs(60) == []
    threading.Event().wait(0.3)
    assert [j.id for j in catalog.stalled_jobs(0.2)] == [job_id]
    catalog.set_page_progress(job_id, "w", 1, 10)  # progress
    assert catalog.stalled_jobs(0.2) == []
