"""`zhiku serve` off loopback with no key refuses to start, saying how to make one; it starts
once a key exists in the catalog, and with ZHIKU_ALLOW_ANONYMOUS=true it starts with a
warning. Real processes: their exit status and output are what an operator sees."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from bench.chroma_server import free_port
from tests.processes import ZHIKU, ZhikuProcess, ZhikuProcesses


def _serve(processes: ZhikuProcesses, data_dir: Path, **env: str) -> ZhikuProcess:
    port = free_port()
    where = {"ZHIKU_HOST": "0.0.0.0", "ZHIKU_PORT": str(port), "ZHIKU_DATA_DIR": str(data_dir)}
    url = f"http://127.0.0.1:{port}"
    process = ZhikuProcess("service", ["serve"], {**where, **env}, data_dir, url)
    processes.started.append(process)
    return process


def _refused(processes: ZhikuProcesses, data_dir: Path, **env: str) -> str:
    process = _serve(processes, data_dir, **env)
    assert process.wait(60) != 0
    return process.log()


def test_serving_off_loopback_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    with ZhikuProcesses() as processes:
        message = _refused(processes, tmp_path / "data")
        assert "refusing to serve on 0.0.0.0" in message
        assert "zhiku keys create --admin" in message and "ZHIKU_API_KEYS" in message
        assert "Traceback" not in message
        # Explicitly off is not a way around it.
        assert "refusing" in _refused(processes, tmp_path / "data", ZHIKU_ALLOW_ANONYMOUS="false")


@pytest.mark.slow
def test_a_key_in_the_catalog_lets_it_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with ZhikuProcesses() as processes:
        env = {**os.environ, "ZHIKU_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
        made = subprocess.run([ZHIKU, "keys", "create", "--admin"], env=env, capture_output=True)
        assert made.returncode == 0
        service = _serve(processes, data_dir).wait_ready()
        assert service.stop() in (0, -signal.SIGTERM), service.log()


@pytest.mark.slow
def test_anonymous_access_off_loopback_starts_with_a_warning(tmp_path: Path) -> None:
    with ZhikuProcesses() as processes:
        service = _serve(processes, tmp_path / "data", ZHIKU_ALLOW_ANONYMOUS="true").wait_ready()
        log = service.log(20_000)
        assert "WARNING" in log and "ZHIKU_ALLOW_ANONYMOUS=true" in log
        assert service.stop() in (0, -signal.SIGTERM), log
