"""A job's pages read so far, kept on disk while it is parsed, so that a parse cut short (a
restart, a deploy, a killed worker) continues from the page it reached instead of page 0.

One file per job under the blob directory (shared by the API and the workers in scale-out,
so any worker can continue it): one JSON string per page, appended as each page is read, or
`{"ocr": text}` for a page read by OCR. A line cut short by a kill is dropped on reading. The
file goes when the job leaves parsing."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from ingest.loaders.protocol import PageCheckpoint


def checkpoint_dir(blob_path: Path) -> Path:
    """Beside the stored files, whose folders are two hex digits: no name is shared."""
    return blob_path / "checkpoints"


class DiskCheckpoint(PageCheckpoint):
    def __init__(self, folder: Path, job_id: str) -> None:
        super().__init__()
        self.path = folder / f"{job_id}.jsonl"
        self.pages = self._read()
        # Pages this parse did not have to read again.
        self.resumed = len(self.pages)

    def _read(self) -> list[str]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        pages: list[str] = []
        kept = 0
        for line in raw.split(b"\n"):
            try:
                page = json.loads(line)
            except ValueError:
                break  # the page being written when the process stopped
            if isinstance(page, dict) and isinstance(page.get("ocr"), str):
                self.ocr.add(len(pages))
                page = page["ocr"]
            if not isinstance(page, str):
                break
            pages.append(page)
            kept += len(line) + 1
        if kept != len(raw):
            with self.path.open("r+b") as file:
                file.truncate(kept)
        return pages

    def add(self, text: str, ocr: bool = False) -> None:
        """Record the next page; written through at once, so a SIGKILL loses at most it."""
        if not self.pages:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"ocr": text} if ocr else text, ensure_ascii=False)
        with self.path.open("ab") as file:
            file.write(line.encode() + b"\n")
        super().add(text, ocr)


def drop_checkpoint(folder: Path, job_id: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        (folder / f"{job_id}.jsonl").unlink()
