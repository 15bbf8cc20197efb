"""Logging for every process: text for a terminal or one JSON object per line for log
collectors (ZHIKU_LOG_FORMAT), each line carrying the id of the HTTP request it belongs to."""

from __future__ import annotations

import logging
import os
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

from core.settings import Settings

# Set in the context of each HTTP request to the id that asgi-correlation-id settled on
# (app/request_id.py); None elsewhere.
request_id: ContextVar[str | None] = ContextVar("zhiku_request_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def build_handler(log_format: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "{levelname}{name}{message}{request_id}",
                style="{",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",
                # Chinese stays readable in the collector.
                json_ensure_ascii=False,
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def configure_logging(settings: Settings) -> None:
    """Replace the root logger's handlers; uvicorn's loggers propagate to it (the service
    starts uvicorn with log_config=None)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(build_handler(settings.log_format))
    root.setLevel(settings.log_level.upper())
    if settings.log_format == "json":
        # Progress bars (the model's "Loading weights") would break one-object-per-line; set
        # before transformers is imported, and inherited by the parse processes.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
