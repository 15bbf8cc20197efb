"""Hostile files beside a batch of good ones: a .docx, a PDF and an HTML page built to inflate
when read (bench/hostile.py) are uploaded to a running `zhiku serve` with the good files of
shared/data/docs; prints one JSON line: how each hostile file ended, the seconds until every
good file was ready, and the peak memory of the service process and of its parse processes.

    python -m bench.hostile_ingest [--port 18310] [--data DIR] [--parse-memory-mb 2048]
        [--parse-processes 2] [--docs DIR] [--without-hostile]

`--without-hostile` uploads the good files alone: the time they take on their own, to compare.

Memory is read from /proc: the service's own high-water mark (VmHWM), and the resident size of
every process of its process group sampled five times a second (the parse processes' peaks)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.hostile import docx_bomb, html_bomb, pdf_bomb

REPO = Path(__file__).resolve().parents[1]
SAMPLE_S = 0.2
_MB = 1024 * 1024


def hostile_files() -> list[tuple[str, bytes]]:
    return [
        ("bomb.docx", docx_bomb()),
        ("bomb.pdf", pdf_bomb()),
        ("bomb.html", html_bomb()),
    ]


def good_files(folder: Path) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file()]


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _group(pgid: int) -> list[int]:
    """The processes of a process group (a service started in a session of its own)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[2]) == pgid:
            found.append(int(entry))
    return found


def measure(
    url: str,
    service_pid: int,
    hostile: Sequence[tuple[str, bytes]],
    good: Sequence[tuple[str, bytes]],
    collection: str = "hostile",
    timeout: float = 600,
) -> dict[str, Any]:
    """Upload the hostile files first, then the good ones (one request each), and wait until
    every job ended. `service_pid` leads the process group its parse processes are in."""
    client = httpx.Client(base_url=url, timeout=120)
    client.post("/api/collections", json={"name": collection})
    jobs: dict[str, str] = {}
    started = time.monotonic()
    for name, data in [*hostile, *good]:
        sent = client.post(
            f"/api/collections/{collection}/documents", files=[("files", (name, data))]
        )
        sent.raise_for_status()
        jobs[name] = sent.json()[0]["job"]["id"]
    ended: dict[str, dict[str, Any]] = {}
    good_ready_at: float | None = None
    child_peak_kb = 0
    tree_peak_kb = 0
    while len(ended) < len(jobs):
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"jobs still running after {timeout:g} s: {set(jobs) - set(ended)}")
        pids = _group(service_pid)
        rss = {pid: _status_kb(pid, "VmRSS") for pid in pids}
        tree_peak_kb = max(tree_peak_kb, sum(rss.values()))
        child_peak_kb = max([child_peak_kb, *(v for p, v in rss.items() if p != service_pid)])
        for name, job_id in jobs.items():
            if name not in ended:
                answer = client.get(f"/api/jobs/{job_id}")
                answer.raise_for_status()
                job = answer.json()
                if job["state"] in ("done", "failed", "cancelled"):
                    ended[name] = job
        if good_ready_at is None and all(n in ended for n, _ in good):
            good_ready_at = time.monotonic()
        time.sleep(SAMPLE_S)
    client.close()
    return {
        "hostile": {
            name: {"state": ended[name]["state"], "error": ended[name]["error"]}
            for name, _ in hostile
        },
        "good": len(good),
        "good_ready": sum(ended[n]["state"] == "done" for n, _ in good),
        "seconds_to_good_ready": round((good_ready_at or time.monotonic()) - started, 1),
        "service_peak_rss_mb": round(_status_kb(service_pid, "VmHWM") / 1024),
        "parse_process_peak_rss_mb": round(child_peak_kb / 1024),
        "all_processes_peak_rss_mb": round(tree_peak_kb / 1024),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=18310)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--parse-memory-mb", type=int, default=2048)
    parser.add_argument("--parse-processes", type=int, default=2)
    shared = Path(os.environ.get("SHARED_DATA_DIR", REPO.parent / "shared" / "data"))
    parser.add_argument("--docs", type=Path, default=shared / "docs")
    parser.add_argument("--without-hostile", action="store_true")
    args = parser.parse_args(argv)
    data = args.data or Path(tempfile.mkdtemp(prefix="zhiku-hostile-"))
    data.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "ZHIKU_DATA_DIR": str(data),
        "ZHIKU_PORT": str(args.port),
        "ZHIKU_HOST": "127.0.0.1",
        "ZHIKU_PARSE_MEMORY_MB": str(args.parse_memory_mb),
        "ZHIKU_PARSE_PROCESSES": str(args.parse_processes),
        # The benchmark polls every job twice a second, faster than the default limit allows.
        "ZHIKU_RATE_LIMIT": "0",
    }
    zhiku = str(Path(sys.executable).parent / "zhiku")
    with (data / "serve.log").open("wb") as log:
        service = subprocess.Popen(
            [zhiku, "serve"],
            cwd=data,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{args.port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or service.poll() is not None:
                raise SystemExit(f"the service did not start; see {data / 'serve.log'}")
            time.sleep(0.2)
        hostile = [] if args.without_hostile else hostile_files()
        result = measure(url, service.pid, hostile, good_files(args.docs))
        print(json.dumps({**result, "parse_memory_mb": args.parse_memory_mb}, ensure_ascii=False))
    finally:
        os.killpg(service.pid, signal.SIGKILL)
        service.wait()


if __name__ == "__main__":
    main()
