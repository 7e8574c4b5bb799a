"""Structured logs: every daemon event is a name plus fields, as ``key=value`` text or JSON lines.

``log_event(log, "segment-committed", task=3, k=1, block=120)`` logs the message
``segment-committed task=3 k=1 block=120``; with :func:`setup_logging` ``json=True`` the same
record is written as ``{"ts": ..., "level": "info", "event": "segment-committed", "task": 3, ...}``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

FIELDS = "veritrain_fields"


def log_event(log: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``event`` with ``fields`` (kept on the record for the JSON formatter)."""
    if not log.isEnabledFor(level):
        return
    text = " ".join(f"{k}={_text(v)}" for k, v in fields.items())
    log.log(level, f"{event} {text}" if text else event, extra={FIELDS: {"event": event, **fields}})


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    s = str(value)
    return json.dumps(s) if (" " in s or not s) else s


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, event and the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                               "logger": record.name}
        fields = getattr(record, FIELDS, None)
        if fields:
            doc.update(
                {k: (("0x" + v.hex()) if isinstance(v, bytes) else v) for k, v in fields.items()}
            )
        else:
            doc["event"] = "message"
            doc["message"] = record.getMessage()
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%H:%M:%S", time.localtime(record.created))
        return f"{ts} {record.levelname.lower():7s} {record.name}: {record.getMessage()}"


def setup_logging(
    *, json_lines: bool = False, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Route ``node``/``ledger``/``store`` logs to ``stream`` (stderr) as text or JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_veritrain", False):
            root.removeHandler(h)
    handler._veritrain = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
