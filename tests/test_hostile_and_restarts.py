"""Against a real `zhiku serve` process: files built to inflate when read fail alone, with a
reason, while good files beside them become ready and the service's own memory stays bounded;
and a long PDF survives its service being SIGKILLed mid-parse three times, each restart
continuing past page 1, with no failure charged to it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from bench.hostile_ingest import good_files, hostile_files, measure
from tests.processes import ZhikuProcesses, wait_until

PORT = 18321
LONG_PDF = "en-free-culture-lessig.pdf"  # 352 pages


@pytest.mark.slow
def test_hostile_files_fail_alone_while_good_ones_become_ready(
    tmp_path: Path, shared_data: Path
) -> None:
    env = {"ZHIKU_PARSE_PROCESSES": "2", "ZHIKU_PARSE_MEMORY_MB": "1024"}
    with ZhikuProcesses() as processes:
        service = processes.service(
            "serve", env | {"ZHIKU_DATA_DIR": str(tmp_path)}, tmp_path, PORT
        )
        service.wait_ready()
        assert service.url is not None
        result = measure(
            service.url, service.pid, hostile_files(), good_files(shared_data / "docs")
        )
    print(result)
    for name, outcome in result["hostile"].items():
        assert outcome["state"] == "failed", (name, outcome)
    assert "needs more than 1024 MB of memory to read" in result["hostile"]["bomb.docx"]["error"]
    assert "needs more than 1024 MB" in result["hostile"]["bomb.html"]["error"]
    assert result["good_ready"] == result["good"]
    assert result["seconds_to_good_ready"] < 600
    # The service process holds the embedding model (about 1 GB), never a hostile document.
    assert result["service_peak_rss_mb"] < 2000
    # A parse process's own start (~300 MB, more with the slide, sheet and picture readers
    # loaded) plus the cap, never the 10 GB of issue 17: 1,624 MB seen once at the cap.
    assert result["parse_process_peak_rss_mb"] < 1024 + 700


def _job(url: str, job_id: str) -> dict[str, object]:
    job: dict[str, object] = httpx.get(f"{url}/api/jobs/{job_id}", timeout=10).json()
    return job


@pytest.mark.slow
def test_a_long_pdf_survives_three_sigkills_mid_parse(tmp_path: Path, shared_data: Path) -> None:
    env = {"ZHIKU_DATA_DIR": str(tmp_path), "ZHIKU_PARSE_PROCESSES": "1"}
    data = (shared_data / "pdfs" / LONG_PDF).read_bytes()
    with ZhikuProcesses() as processes:
        service = processes.service("serve0", env, tmp_path, PORT + 1).wait_ready()
        url = service.url
        assert url is not None
        httpx.post(f"{url}/api/collections", json={"name": "kb"}, timeout=10)
        sent = httpx.post(
            f"{url}/api/collections/kb/documents", files=[("files", (LONG_PDF, data))], timeout=60
        )
        job_id = sent.json()[0]["job"]["id"]
        reached = 0
        for restart in range(1, 4):
            target = reached + 15

            def past(target: int = target) -> bool:
                progress = _job(url, job_id)["progress"]
                assert isinstance(progress, dict)
                return int(progress["pages_done"]) >= target

            wait_until(past, 300, f"page {target}")
            reached = int(_job(url, job_id)["progress"]["pages_done"])  # type: ignore[index]
            service.kill_group()  # SIGKILL, parse processes and all
            service = processes.service(f"serve{restart}", env, tmp_path, PORT + 1).wait_ready()

        def ended() -> bool:
            return _job(url, job_id)["state"] in ("done", "failed")

        wait_until(ended, 900, "the PDF to be ready", every=1)
        job = _job(url, job_id)
        assert job["state"] == "done" and job["failures"] == 0, job
        logs = "".join(
            (tmp_path / f"serve{n}.log").read_text(errors="replace") for n in range(1, 4)
        )
    continued = [int(n) for n in re.findall(r"continued from page (\d+) of 352", logs)]
    print(f"reached page {reached} before the last kill; continued from pages {continued}")
    assert continued and all(n > 1 for n in continued), continued
