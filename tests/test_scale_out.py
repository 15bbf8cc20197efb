"""Scale-out end to end: `zhiku worker` and `zhiku serve` processes that share nothing but a
PostgreSQL schema, a Redis database, a `chroma run` server and a blob directory, each with a
data directory of its own."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from bench.chroma_server import free_port
from core.catalog.records import DocumentStatus, JobStage, JobState
from tests.conftest import make_settings
from tests.nodes import Node
from tests.processes import ScaleOut, ZhikuProcess, ZhikuProcesses, wait_until

# Five real PDFs: the first (19 pages, about 50 chunks) is embedded in a slice of its own or
# with others, which takes seconds: long enough to catch a worker in the middle of it.
PDFS = (
    "en-geobase-nhn-data-model.pdf",
    "zh-elegantnote-guide.pdf",
    "en-elegantpaper-guide.pdf",
    "zh-install-latex-guide.pdf",
    "en-google-doc-example.pdf",
)
LONG_PDF = PDFS[0]

# A short lease: a killed worker's job is taken again 3 s later, not a minute later.
WORKER_ENV = {
    "ZHIKU_JOB_LEASE_SECONDS": "3",
    "ZHIKU_WORKER_POLL_SECONDS": "0.5",
    "ZHIKU_PARSE_PROCESSES": "1",
}


@dataclass(frozen=True)
class Passage:
    title: str
    context: str
    question: str
    answer: str


def passages(path: Path, count: int) -> list[Passage]:
    """Distinct contexts of a SQuAD-format file with an answerable question each, one article
    after another (so neighbours differ in topic), then each article's next paragraph."""
    articles = json.loads(path.read_text(encoding="utf-8"))["data"]
    found: list[Passage] = []
    seen: set[str] = set()
    for depth in range(max(len(a["paragraphs"]) for a in articles)):
        for article in articles:
            if depth >= len(article["paragraphs"]):
                continue
            paragraph = article["paragraphs"][depth]
            answerable = [q for q in paragraph["qas"] if not q.get("is_impossible")]
            if not answerable or paragraph["context"] in seen:
                continue
            seen.add(paragraph["context"])
            qa = answerable[0]
            found.append(
                Passage(
                    article["title"], paragraph["context"], qa["question"], qa["answers"][0]["text"]
                )
            )
            if len(found) == count:
                return found
    raise AssertionError(f"{path} holds fewer than {count} answerable contexts")


def write_passages(folder: Path, prefix: str, items: list[Passage]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, item in enumerate(items):
        path = folder / f"{prefix}-{i:02d}.txt"
        path.write_text(item.context + "\n", encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture
def servers(tmp_path: Path, postgres_url: str, chroma_url: str, redis_url: str) -> ScaleOut:
    return ScaleOut(postgres_url, chroma_url, redis_url, tmp_path / "blobs")


@pytest.fixture
def observer(tmp_path: Path, servers: ScaleOut) -> Iterator[Node]:
    """The test's own view of the shared servers, through the same code the processes run."""
    node = Node(
        make_settings(
            tmp_path / "observer",
            database_url=servers.database_url,
            chroma_url=servers.chroma_url,
            queue_url=servers.queue_url,
            blob_dir=servers.blob_dir,
        )
    )
    yield node
    node.stop()


@dataclass(frozen=True)
class JobRow:
    state: str
    stage: str
    worker: str | None
    attempts: int


def job_rows(database_url: str) -> dict[str, JobRow]:
    """Each job as the catalog's row has it, with the name of the worker that holds it or
    last held it (not part of the Job record)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT id, state, stage, worker, attempts FROM jobs").fetchall()
    return {job_id: JobRow(*rest) for job_id, *rest in rows}


def pid_of(worker_name: str) -> int:
    """Worker names are host:pid:random."""
    return int(worker_name.rsplit(":", 2)[1])


def assert_ready_exactly_once(node: Node, collection_id: str, expected: int) -> None:
    documents = node.catalog.list_documents(collection_id)
    assert len(documents) == expected
    not_ready = [(d.filename, d.status, d.error) for d in documents if d.status != "ready"]
    assert not not_ready, not_ready
    every_chunk: list[str] = []
    for document in documents:
        chunks = node.catalog.document_chunks(collection_id, document.id)
        assert document.chunks == len(chunks) > 0, document.filename
        assert [c.seq for c in chunks] == list(range(len(chunks))), document.filename
        assert len(node.catalog.document_vectors(collection_id, document.id)) == len(chunks)
        every_chunk.extend(c.id for c in chunks)
    assert len(every_chunk) == len(set(every_chunk))
    assert node.catalog.lexical_rows(collection_id) == len(every_chunk)
    # Chroma keeps one vector per id, so a chunk stored twice would show as a count that
    # differs from the catalog's, or as ids the catalog does not know.
    assert node.store.ids(collection_id) == set(every_chunk)


@pytest.mark.slow
def test_two_workers_make_fifty_documents_ready_once_through_a_kill_and_a_redis_flush(
    tmp_path: Path, shared_data: Path, servers: ScaleOut, observer: Node
) -> None:
    texts = write_passages(
        tmp_path / "docs", "squad", passages(shared_data / "squad" / "squad_v2_dev.json", 30)
    ) + write_passages(
        tmp_path / "docs", "cmrc", passages(shared_data / "squad" / "cmrc2018_dev.json", 15)
    )
    pdfs = [shared_data / "pdfs" / name for name in PDFS]
    first_batch, second_batch = [*pdfs, *texts[:20]], texts[20:]
    assert len(first_batch) + len(second_batch) == 50

    with ZhikuProcesses() as processes:
        workers = [
            processes.worker(name, servers.env(tmp_path / name, **WORKER_ENV), tmp_path / name)
            for name in ("worker-a", "worker-b")
        ]
        for worker in workers:
            worker.wait_ready()
        kb = observer.operations.open_collection("kb")
        added = observer.operations.add_paths(kb, first_batch)
        long_job = next(r.job.id for r in added if r.document.filename == LONG_PDF)

        def long_job_embedding() -> bool:
            row = job_rows(servers.database_url)[long_job]
            return row.stage == JobStage.EMBED and row.state == JobState.RUNNING

        # Its embedding takes seconds: the kill cannot come after it ended.
        wait_until(long_job_embedding, 120, "a worker to embed the long PDF")
        holder = job_rows(servers.database_url)[long_job].worker
        assert holder is not None
        victim = next(w for w in workers if w.pid == pid_of(holder))
        victim.kill()
        survivor = next(w for w in workers if w is not victim)
        orphaned = {
            job_id
            for job_id, row in job_rows(servers.database_url).items()
            if row.worker == holder and row.state == JobState.RUNNING
        }
        assert long_job in orphaned

        # FLUSHDB of the test's own database: FLUSHALL would wipe the databases of other
        # tests sharing this Redis server. To the workers it is the same loss of every entry.
        with redis.Redis.from_url(servers.queue_url) as client:
            client.flushdb()
        added += observer.operations.add_paths(kb, second_batch)
        assert len({r.document.id for r in added}) == 50

        def taken_over() -> bool:
            if not survivor.running():
                raise AssertionError(f"the surviving worker exited:\n{survivor.log()}")
            row = job_rows(servers.database_url)[long_job]
            held = row.worker is not None and pid_of(row.worker) == survivor.pid
            return held and row.state == JobState.RUNNING

        wait_until(taken_over, 120, "the other worker to take the job once its lease ran out")
        # Stopped in the middle of that job, as a rolling update stops it: the survivor
        # finishes the slice in hand and exits 0 holding no job; a new worker does the rest.
        survivor.terminate()
        replacement = processes.worker(
            "worker-c", servers.env(tmp_path / "worker-c", **WORKER_ENV), tmp_path / "worker-c"
        )
        assert survivor.wait(120) == 0, survivor.log()
        rows = job_rows(servers.database_url)
        assert rows[long_job].state == JobState.DONE
        still_held = [r for r in rows.values() if r.worker and pid_of(r.worker) == survivor.pid]
        assert all(r.state == JobState.DONE for r in still_held), still_held

        def all_ended() -> bool:
            replacement.ready()
            statuses = [d.status for d in observer.catalog.list_documents(kb.id)]
            return all(s in (DocumentStatus.READY, DocumentStatus.FAILED) for s in statuses)

        wait_until(all_ended, 300, "every document to be ready or failed", every=0.5)
        # The killed worker's parse processes noticed and left by themselves.
        wait_until(lambda: not victim.group_alive(), 30, "the orphaned parse processes to exit")
        assert replacement.stop() == 0, replacement.log()

    assert_ready_exactly_once(observer, kb.id, 50)
    rows = job_rows(servers.database_url)
    assert set(rows) == {r.job.id for r in added}, "a document got a second job"
    for job_id, row in rows.items():
        assert row.state == JobState.DONE, (job_id, row)
        if job_id in orphaned:
            # Claimed by the victim, then once more by the survivor when the lease ran out.
            assert row.attempts == 2 and pid_of(str(row.worker)) == survivor.pid, row
        else:
            assert 1 <= row.attempts <= 2, row


def is_ready(url: str) -> bool:
    return httpx.get(f"{url}/readyz", timeout=5).status_code == 200


def jobs_gauge(url: str) -> dict[str, float]:
    """zhiku_jobs by state, as one replica's /metrics reports it."""
    text = httpx.get(f"{url}/metrics", timeout=30).text
    return {
        sample.labels["state"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "zhiku_jobs"
        for sample in family.samples
    }


def upload(url: str, collection: str, files: list[Path]) -> list[dict[str, Any]]:
    response = httpx.post(
        f"{url}/api/collections/{collection}/documents",
        files=[("files", (p.name, p.read_bytes())) for p in files],
        timeout=60,
    )
    assert response.status_code == 202, response.text
    accepted: list[dict[str, Any]] = response.json()
    return accepted


def ask(url: str, collection: str, question: str) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/api/collections/{collection}/query", json={"question": question}, timeout=60
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.slow
def test_upload_through_one_api_replica_and_ask_list_delete_through_another(
    tmp_path: Path, shared_data: Path, servers: ScaleOut, observer: Node
) -> None:
    english = passages(shared_data / "squad" / "squad_v2_dev.json", 3)
    chinese = passages(shared_data / "squad" / "cmrc2018_dev.json", 2)
    folder = tmp_path / "docs"
    files = [
        *write_passages(folder, "squad", english),
        *write_passages(folder, "cmrc", chinese),
        shared_data / "pdfs" / "en-google-doc-example.pdf",
    ]
    api_env = {"ZHIKU_SERVE_WORKER": "false"}
    worker_env = {"ZHIKU_WORKER_POLL_SECONDS": "0.5", "ZHIKU_PARSE_PROCESSES": "1"}

    def data_dir(name: str) -> Path:
        return tmp_path / name

    with ZhikuProcesses() as processes:
        started: list[ZhikuProcess] = [
            processes.service(n, servers.env(data_dir(n), **api_env), data_dir(n), free_port())
            for n in ("api-1", "api-2")
        ] + [
            processes.worker(n, servers.env(data_dir(n), **worker_env), data_dir(n))
            for n in ("worker-1", "worker-2")
        ]
        for process in started:
            process.wait_ready()
        api1, api2, worker1, worker2 = started
        one, two = str(api1.url), str(api2.url)
        # Ready before any question: a load balancer sends none to a replica that is not.
        wait_until(lambda: all(is_ready(url) for url in (one, two)), 60, "both replicas ready")

        created = httpx.post(f"{one}/api/collections", json={"name": "kb"}, timeout=30)
        assert created.status_code == 201, created.text
        accepted = upload(one, "kb", files)
        assert len(accepted) == len(files)

        def jobs_seen_by_the_other_replica() -> list[dict[str, Any]]:
            return [httpx.get(f"{two}/api/jobs/{a['job']['id']}").json() for a in accepted]

        wait_until(
            lambda: all(j["state"] in ("done", "failed") for j in jobs_seen_by_the_other_replica()),
            180,
            "the workers to finish every upload",
            every=0.5,
        )
        assert [j["state"] for j in jobs_seen_by_the_other_replica()] == ["done"] * len(files)

        listed = httpx.get(f"{two}/api/collections/kb/documents").json()
        assert sorted((d["filename"], d["status"]) for d in listed) == sorted(
            (p.name, "ready") for p in files
        )
        ids = {a["document"]["filename"]: a["document"]["id"] for a in accepted}
        pdf_id = ids["en-google-doc-example.pdf"]
        served = httpx.get(f"{two}/api/collections/kb/documents/{pdf_id}/file")
        assert served.content == files[-1].read_bytes()

        # SQuAD's first question of the Normans paragraph falls under the fitted English
        # abstention threshold; this one, of the same paragraph, does not.
        assert english[0].title == "Normans"
        normans = Passage("Normans", english[0].context, "Who was the Norse leader?", "Rollo")
        for item, path in [(normans, files[0]), (chinese[0], files[3])]:
            answer = ask(two, "kb", item.question)
            assert item.answer in answer["answer"], answer
            cited = answer["citations"][0]
            assert (cited["document_id"], cited["filename"]) == (ids[path.name], path.name)
            assert cited["verified"] and cited["quote"] in item.context

        target = ids[files[0].name]
        deleted = httpx.delete(f"{two}/api/collections/kb/documents/{target}")
        assert deleted.status_code == 204, deleted.text
        gone = httpx.get(f"{one}/api/collections/kb/documents/{target}")
        assert gone.status_code == 404 and gone.json()["error"]["code"]
        assert target not in {
            d["id"] for d in httpx.get(f"{one}/api/collections/kb/documents").json()
        }
        after = ask(one, "kb", normans.question)
        assert target not in {c["document_id"] for c in after["citations"]}
        assert target not in {c["document_id"] for c in after["chunks"]}
        assert not (servers.blob_dir / target[:2] / target).exists()

        # The same bytes through the other replica: the document that is there already.
        again = upload(two, "kb", [files[1]])[0]
        assert not again["created"] and again["document"]["id"] == ids[files[1].name]
        # Jobs are counted in the catalog at scrape time, so every replica reports the same.
        assert jobs_gauge(one) == jobs_gauge(two) == {**jobs_gauge(two), "done": len(files) - 1}

        kb = observer.catalog.get_collection("kb")
        assert_ready_exactly_once(observer, kb.id, len(files) - 1)
        dropped = httpx.delete(f"{one}/api/collections/kb")
        assert dropped.status_code == 204, dropped.text
        missing = httpx.post(f"{two}/api/collections/kb/query", json={"question": "Rollo?"})
        assert missing.status_code == 404 and missing.json()["error"]["code"]
        assert observer.store.ids(kb.id) == set()

        for process in (worker1, worker2):
            assert process.stop() == 0, process.log()
        for process in (api1, api2):
            # uvicorn shuts down cleanly, then exits by the signal it was sent.
            assert process.stop() in (0, -signal.SIGTERM), process.log()
            assert "Application shutdown complete" in process.log()

    # Only the workers ingested (the replicas run none), and each kept to its own data
    # directory: no blobs or Chroma files there.
    ingested_by = {row.worker for row in job_rows(servers.database_url).values()}
    assert {pid_of(name) for name in ingested_by if name} <= {worker1.pid, worker2.pid}
    for process in started:
        assert not (data_dir(process.name) / "blobs").exists()
        assert not (data_dir(process.name) / "chroma").exists()
