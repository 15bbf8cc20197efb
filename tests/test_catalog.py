"""The catalog beyond its contract (tests/contracts/test_catalog_contract.py): how a database
URL is refused, the SQL catalogs' candidate budget, and PostgreSQL's term counts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from core.catalog import Catalog, open_catalog
from core.catalog.postgres import PostgresCatalog
from core.catalog.records import JobStage
from core.catalog.sql import SqlCatalog
from core.errors import BackendUnavailable, ConfigError
from core.lexical_tokens import lexical_tokens
from core.messages import Reason
from tests.catalog_steps import add, catalogs_on, doc_id, index, parse, together
from tests.conftest import make_settings


@pytest.fixture
def catalog(tmp_path: Path, catalog_url: str | None) -> Iterator[Catalog]:
    with catalogs_on(tmp_path / "data", catalog_url) as build:
        yield build()


def test_unknown_scheme_or_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="postgresql"):
        open_catalog(make_settings(tmp_path, database_url="mysql://db/zhiku"))
    with pytest.raises(BackendUnavailable, match="ZHIKU_DATABASE_URL"):
        open_catalog(make_settings(tmp_path, database_url="postgresql://postgres@127.0.0.1:1/x"))


def test_terms_too_common_for_the_budget_pick_no_candidates(catalog: Catalog) -> None:
    texts = ["数据备份", "数据导出", "数据导出表格", "数据目录", "数据目录很大", "数据很重要"]
    cid, _ = index(catalog, texts)
    query = ["数据", "备份", "导出"]
    assert len(catalog.lexical_search(cid, query, 10)) == 6

    assert isinstance(catalog, SqlCatalog)
    catalog.lexical_budget = 3  # 备份 (1 chunk) and 导出 (2) fill it; 数据 (6) is left out
    hits = catalog.lexical_search(cid, query, 10)
    assert sorted(h.chunk.text for h in hits) == ["数据备份", "数据导出", "数据导出表格"]
    assert hits[0].chunk.text == "数据备份"
    assert catalog.lexical_search(cid, ["数据"], 10)  # the rarest term is always searched


# PostgreSQL's term counts (lexical_terms) ------------------------------------------------------


@pytest.fixture
def pg_open(tmp_path: Path, postgres_url: str) -> Iterator[Callable[[], PostgresCatalog]]:
    with catalogs_on(tmp_path / "data", postgres_url) as build:

        def build_postgres() -> PostgresCatalog:
            catalog = build()
            assert isinstance(catalog, PostgresCatalog)
            return catalog

        yield build_postgres


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
    cid, jobs = index(catalog, texts)
    counts = catalog.term_counts(cid)
    assert counts == _recounted(postgres_url, cid)
    assert counts["数据"] == 2 and counts["data"] == 2 and counts["backups"] == 1

    # Failed, retried and stored again: the old chunks' terms are taken back.
    catalog.fail_job(jobs[0], Reason("processing_failed", {"kind": "OSError"}))
    assert catalog.term_counts(cid) == _recounted(postgres_url, cid)
    assert catalog.term_counts(cid)["数据"] == 1
    retried = catalog.retry_job(jobs[0], "application/x-refused")
    assert catalog.claim_jobs(JobStage.PARSE, "w", 60, 3)
    parse(catalog, retried.id, "w", ["数据导出", "导出 data"])
    counts = catalog.term_counts(cid)
    assert counts == _recounted(postgres_url, cid)
    assert counts["数据"] == 2 and counts["导出"] == 2 and counts["data"] == 3

    catalog.delete_document(cid, doc_id(1))
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

    other, _ = index(catalog, ["数据在别处"], name="other")
    catalog.delete_collection("kb")
    assert catalog.term_counts(cid) == {}
    assert catalog.term_counts(other) == _recounted(postgres_url, other) != {}


def test_concurrent_adds_count_common_terms_exactly_without_deadlock(
    pg_open: Callable[[], PostgresCatalog], postgres_url: str
) -> None:
    catalogs = [pg_open() for _ in range(4)]
    collection = catalogs[0].create_collection("kb", "model", 200, 20)
    per_worker = 10
    jobs = add(catalogs[0], collection.id, 4 * per_worker)

    def store(i: int) -> None:
        mine = jobs[i * per_worker : (i + 1) * per_worker]
        for job_id in mine[::-1] if i % 2 else mine:
            text = f"数据 data common{job_id[:4]} 备份 words {i} rare{job_id}"
            parse(catalogs[i], job_id, "w", [text, "data 数据 again"])

    for job in catalogs[0].claim_jobs(JobStage.PARSE, "w", 60, 3, max_jobs=len(jobs)):
        assert job.id in jobs
    together(4, store)

    counts = catalogs[0].term_counts(collection.id)
    assert counts == _recounted(postgres_url, collection.id)
    assert counts["数据"] == counts["data"] == 2 * len(jobs) and counts["备份"] == len(jobs)
    hits = catalogs[1].lexical_search(collection.id, ["备份", f"rare{jobs[3]}"], 5)
    assert hits[0].chunk.document_id == doc_id(3)


def test_a_catalog_made_before_lexical_entries_and_term_counts_is_brought_up_to_date(
    pg_open: Callable[[], PostgresCatalog], postgres_url: str
) -> None:
    catalog = pg_open()
    cid, _ = index(catalog, ["数据备份每晚进行。", "Nightly backups keep data safe."])
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
