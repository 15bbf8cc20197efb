"""Parsing in a pool of real processes: results come back, and a parser process that dies
is charged to its document, not to the worker."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from core.catalog.records import DocumentStatus, JobState
from tests.nodes import Node


def test_pool_parses_several_documents_at_once(
    node_factory: Callable[..., Node], shared_data: Path
) -> None:
    node = node_factory(parse_processes=2)
    collection = node.operations.open_collection("kb")
    names = ["zh-java-naming-rules.md", "en-pypdf-extract-text.md", "zh-prompt-guide.gbk.txt"]
    added = [node.add_path(collection, shared_data / "docs" / n) for n in names]

    assert node.worker.run_once()  # all three in one claim, spread over the processes

    for result in added:
        document = node.catalog.get_document(collection.id, result.document.id)
        assert document.status == DocumentStatus.SEARCHABLE and document.chunks > 0
    hits = node.catalog.lexical_search(collection.id, ["驼峰"], 3)
    assert hits and hits[0].chunk.document_id == added[0].document.id


@pytest.mark.slow
def test_killed_parser_process_returns_the_job_to_the_queue(
    node_factory: Callable[..., Node], shared_data: Path
) -> None:
    node = node_factory(parse_processes=1)
    collection = node.operations.open_collection("kb")
    added = node.add_path(collection, shared_data / "pdfs" / "en-free-culture-lessig.pdf")
    node.parse_pool.start()
    worker = threading.Thread(target=node.worker.run_once)
    worker.start()
    deadline = time.monotonic() + 60
    while node.catalog.get_job(added.job.id).pages_done == 0:
        assert time.monotonic() < deadline, "the parser never reported a page"
        time.sleep(0.05)
    for child in multiprocessing.active_children():
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
    worker.join(timeout=60)

    job = node.catalog.get_job(added.job.id)
    assert job.state == JobState.QUEUED and job.attempts == 1 and job.failures == 1
    assert node.worker.run_once()  # a fresh pool parses it
    document = node.catalog.get_document(collection.id, added.document.id)
    assert document.status == DocumentStatus.SEARCHABLE and document.pages == 352
