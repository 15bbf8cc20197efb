"""The foundation's guarantees, against the real model, real Chroma and real files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.catalog.records import DocumentStatus, JobStage, JobState
from core.errors import EmbeddingModelMismatch
from core.retrieval.search import Searcher
from core.stores.protocol import VectorMeta
from tests.conftest import drain
from tests.nodes import Node

# Runs the test on SQLite and on PostgreSQL.
both_catalogs = pytest.mark.usefixtures("catalog_url")

MARKDOWN = """# 部署指南

## 部署方案

本系统支持单机部署。重跑gen-itgc后，索引会自动更新。所有数据保存在本地目录中。

## Backup

Back up the data directory nightly; restore it by copying the folder back.
"""


@both_catalogs
def test_same_bytes_added_twice_give_one_document_and_no_duplicate_chunks(node: Node) -> None:
    collection = node.operations.open_collection("kb")
    first = node.add_bytes(collection, "guide.md", MARKDOWN.encode())
    drain(node)
    second = node.add_bytes(collection, "copy-of-guide.md", MARKDOWN.encode())
    drain(node)

    assert first.created and not second.created
    assert second.document.id == first.document.id
    documents = node.catalog.list_documents(collection.id)
    assert [d.status for d in documents] == [DocumentStatus.READY]
    chunks = node.catalog.document_chunks(collection.id, first.document.id)
    assert len(chunks) == documents[0].chunks > 0
    assert len({c.id for c in chunks}) == len(chunks)
    assert node.store.ids(collection.id) == {c.id for c in chunks}
    assert node.catalog.lexical_rows(collection.id) == len(chunks)


@both_catalogs
def test_deleting_a_document_removes_it_from_chroma_lexical_index_and_catalog(
    node: Node,
) -> None:
    collection = node.operations.open_collection("kb")
    kept = node.add_bytes(collection, "keep.txt", b"Nightly backups keep data safe.")
    gone = node.add_bytes(collection, "guide.md", MARKDOWN.encode())
    drain(node)
    searcher = Searcher(node.catalog, node.store, node.embedder)
    assert searcher.lexical(collection, "部署", 5)

    node.operations.delete_document(collection.id, gone.document.id)

    assert not node.catalog.document_exists(collection.id, gone.document.id)
    assert node.catalog.document_chunks(collection.id, gone.document.id) == []
    assert searcher.lexical(collection, "部署", 5) == []
    remaining = {c.id for c in node.catalog.document_chunks(collection.id, kept.document.id)}
    assert node.store.ids(collection.id) == remaining
    assert node.catalog.lexical_rows(collection.id) == len(remaining)
    assert not (node.settings.blob_path / gone.document.id[:2] / gone.document.id).exists()


@both_catalogs
def test_job_failing_after_it_was_searchable_leaves_no_partial_chunks(node: Node) -> None:
    collection = node.operations.open_collection("kb")
    added = node.add_bytes(collection, "guide.md", MARKDOWN.encode())
    assert node.worker.run_once()  # parse: searchable
    assert node.catalog.get_document(collection.id, added.document.id).status == "searchable"
    # A vector collection left behind by another embedding model makes publishing fail for real.
    node.store.ensure_collection(collection.id, "some-other-model")

    drain(node)

    document = node.catalog.get_document(collection.id, added.document.id)
    job = node.catalog.get_job(added.job.id)
    assert document.status == DocumentStatus.FAILED and job.state == JobState.FAILED
    assert "some-other-model" in (document.error or "") and job.error == document.error
    assert node.catalog.document_chunks(collection.id, added.document.id) == []
    assert node.catalog.lexical_rows(collection.id) == 0
    assert node.store.ids(collection.id) == set()


@both_catalogs
def test_queries_see_a_document_whole_or_not_at_all(node: Node) -> None:
    collection = node.operations.open_collection("kb")
    added = node.add_bytes(collection, "guide.md", MARKDOWN.encode())
    searcher = Searcher(node.catalog, node.store, node.embedder)
    assert searcher.lexical(collection, "部署方案", 10) == []

    assert node.worker.run_once()  # parse only
    lexical = searcher.lexical(collection, "部署 backup", 10)
    all_chunks = node.catalog.document_chunks(collection.id, added.document.id)
    assert {h.chunk.id for h in lexical} == {c.id for c in all_chunks}
    # Half of the vectors reach Chroma, as when a worker dies while publishing: the dense side
    # must not show them until the document is ready.
    half = all_chunks[: max(1, len(all_chunks) // 2)]
    vectors = node.embedder.embed([c.text for c in half])
    node.store.ensure_collection(collection.id, node.embedder.model_id)
    node.store.upsert(
        collection.id,
        [c.id for c in half],
        vectors,
        [VectorMeta(c.document_id, c.page, c.seq) for c in half],
    )
    assert searcher.dense(collection, "how to back up the data", 10) == []

    drain(node)
    dense = searcher.dense(collection, "how to back up the data", 10)
    assert {h.chunk.id for h in dense} == {c.id for c in all_chunks}
    assert "Back up" in dense[0].chunk.text


def test_bad_files_fail_alone_with_readable_reasons(
    node_factory: Callable[..., Node], shared_data: Path
) -> None:
    # With OCR off, as a deployment that has turned it off: scans and garbled text layers are
    # refused (tests/test_ocr.py reads them with OCR on).
    node = node_factory(ocr=False)
    collection = node.operations.open_collection("kb")
    hostile = shared_data / "pdfs" / "hostile"
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    cases: dict[str, tuple[bytes, str | None]] = {
        "empty.txt": (b"", "empty"),
        "truncated.pdf": ((hostile / "truncated.pdf").read_bytes(), "corrupt"),
        "corrupted-trailer.pdf": ((hostile / "corrupted-trailer.pdf").read_bytes(), "corrupt"),
        "no-startxref.pdf": ((hostile / "corrupted-no-startxref.pdf").read_bytes(), "corrupt"),
        "encrypted.pdf": ((hostile / "encrypted.pdf").read_bytes(), "password"),
        "image-only.pdf": ((hostile / "image-only.pdf").read_bytes(), "no extractable text"),
        "garbled.pdf": ((hostile / "zh-garbled-text-layer.pdf").read_bytes(), "unreadable"),
        "picture.pdf": (png, "turned off"),
        "owner-only.pdf": ((hostile / "encrypted-owner-password-only.pdf").read_bytes(), None),
        "really-a-pdf.docx": (
            (shared_data / "pdfs" / "zh-elegantpaper-guide.pdf").read_bytes(),
            None,
        ),
        "../../etc/pass\x00wd\x07.md": (MARKDOWN.encode(), None),
    }
    results = {name: node.add_bytes(collection, name, data) for name, (data, _) in cases.items()}
    drain(node)

    for name, (_, reason) in cases.items():
        document = node.catalog.get_document(collection.id, results[name].document.id)
        job = node.catalog.get_job(results[name].job.id)
        if reason is None:
            assert document.status == DocumentStatus.READY, (name, document.error)
            assert document.filename == name  # stored as given
        else:
            assert document.status == DocumentStatus.FAILED, name
            assert reason in (document.error or "").lower(), (name, document.error)
            assert job.state == JobState.FAILED and job.error == document.error
            assert node.catalog.document_chunks(collection.id, document.id) == []
    pdf = node.catalog.get_document(collection.id, results["really-a-pdf.docx"].document.id)
    assert pdf.media_type == "application/pdf" and pdf.pages == 5
    # Blobs are named by content, never by the client's filename.
    assert all(len(p.name) == 64 for p in node.settings.blob_path.rglob("*") if p.is_file())


def test_file_over_the_size_limit_fails_with_the_limit_in_the_reason(
    node_factory: Callable[..., Node], tmp_path: Path
) -> None:
    node = node_factory(max_upload_mb=0.001)
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 1000)
    result = node.add_path(node.operations.open_collection("kb"), big)
    assert result.document.status == DocumentStatus.FAILED
    assert "ZHIKU_MAX_UPLOAD_MB" in (result.document.error or "")
    assert result.job.state == JobState.FAILED


def test_adding_to_a_collection_of_another_embedding_model_is_refused(node: Node) -> None:
    node.catalog.create_collection("old", "some-other-model", 200, 32)
    with pytest.raises(EmbeddingModelMismatch, match="ZHIKU_EMBEDDING_MODEL"):
        node.operations.open_collection("old")
    collection = node.catalog.get_collection("old")
    searcher = Searcher(node.catalog, node.store, node.embedder)
    with pytest.raises(EmbeddingModelMismatch):
        searcher.dense(collection, "anything", 3)


def test_identical_texts_are_embedded_once_and_vectors_are_kept_in_the_catalog(
    node: Node,
) -> None:
    collection = node.operations.open_collection("kb")
    text = "Zhiku keeps every chunk's vector in its catalog as float16."
    a = node.add_bytes(collection, "a.txt", text.encode())
    b = node.add_bytes(collection, "b.txt", (text + "\n").encode())
    drain(node)
    rows_a = node.catalog.document_vectors(collection.id, a.document.id)
    rows_b = node.catalog.document_vectors(collection.id, b.document.id)
    assert rows_a[0][1] == rows_b[0][1]
    vector = np.frombuffer(rows_a[0][1], dtype=np.float16).astype(np.float32)
    expected = node.embedder.embed([text])[0]
    assert float(vector @ expected) > 0.999


@both_catalogs
def test_expired_lease_lets_another_worker_take_the_job(
    node_factory: Callable[..., Node],
) -> None:
    node = node_factory(job_lease_seconds=0.5)
    collection = node.operations.open_collection("kb")
    added = node.add_bytes(collection, "guide.md", MARKDOWN.encode())
    s = node.settings
    dead = node.catalog.claim_jobs(JobStage.PARSE, "dead-worker", 0.5, s.job_max_attempts)
    assert [j.id for j in dead] == [added.job.id]
    assert node.catalog.claim_jobs(JobStage.PARSE, "other", 0.5, s.job_max_attempts) == []

    import time

    time.sleep(0.6)
    retaken = node.catalog.claim_jobs(JobStage.PARSE, "other", 30, s.job_max_attempts)
    assert [j.id for j in retaken] == [added.job.id] and retaken[0].attempts == 2
    assert node.catalog.renew_leases([added.job.id], "dead-worker", 30) == {added.job.id}


@both_catalogs
def test_a_job_whose_worker_keeps_dying_is_failed_with_a_reason(
    node_factory: Callable[..., Node],
) -> None:
    """Claims are capped at CLAIMS_PER_ATTEMPT times the attempts (core/catalog/sql/jobs.py):
    a stopped worker is not the document's fault, one that always dies with it is."""
    from core.catalog.sql.jobs import CLAIMS_PER_ATTEMPT

    node = node_factory(job_lease_seconds=0.01, job_max_attempts=1)
    collection = node.operations.open_collection("kb")
    added = node.add_bytes(collection, "guide.md", MARKDOWN.encode())
    import time

    for _ in range(CLAIMS_PER_ATTEMPT):
        assert node.catalog.claim_jobs(JobStage.PARSE, "doomed", 0.01, 1)
        time.sleep(0.02)
    assert node.catalog.claim_jobs(JobStage.PARSE, "next", 10, 1) == []
    job = node.catalog.get_job(added.job.id)
    assert job.state == JobState.FAILED and f"stopped {CLAIMS_PER_ATTEMPT} times" in (
        job.error or ""
    )
    assert job.failures == 0
    document = node.catalog.get_document(collection.id, added.document.id)
    assert document.status == DocumentStatus.FAILED


def test_catalog_runs_in_wal_mode_with_a_busy_timeout(node: Node) -> None:
    assert node.catalog.pragma("journal_mode") == "wal"
    assert node.catalog.pragma("busy_timeout") >= 5000


@both_catalogs
def test_check_rebuilds_a_lost_vector_store_and_lexical_index_from_the_catalog(
    node: Node,
) -> None:
    collection = node.operations.open_collection("kb")
    added = node.add_bytes(collection, "guide.md", MARKDOWN.encode())
    drain(node)
    expected = {c.id for c in node.catalog.document_chunks(collection.id, added.document.id)}
    assert node.operations.check(collection).consistent

    node.store.drop_collection(collection.id)
    node.catalog.repair_lexical(
        collection.id,
        [],
        [c.rowid for c in node.catalog.document_chunks(collection.id, added.document.id)][:2],
    )
    report = node.operations.check(collection)

    assert not report.consistent
    assert (report.vectors_restored, report.lexical_restored) == (len(expected), 2)
    assert node.store.ids(collection.id) == expected
    assert node.catalog.lexical_rows(collection.id) == len(expected)
    searcher = Searcher(node.catalog, node.store, node.embedder)
    assert {h.chunk.id for h in searcher.dense(collection, "back up the data", 10)} == expected
    assert node.operations.check(collection).consistent
