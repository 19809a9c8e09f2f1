"""Log lines: one JSON object a line for the machines that collect them, plain text for a person
at a terminal.

A JSON line holds ``time``, ``level``, ``service``, ``logger`` and ``message``, and ``case_id``
and ``event_id`` when the line was written about a case or while handling an event: given with
``extra=``, or set for a whole piece of work with ``about``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

CONTEXT_FIELDS = ("case_id", "event_id")
_CONTEXT: dict[str, ContextVar[str | None]] = {
    name: ContextVar(name, default=None) for name in CONTEXT_FIELDS
}


@contextmanager
def about(case_id: str | None = None, event_id: str | None = None) -> Iterator[None]:
    """Every line logged inside names this case and event (each green thread has its own)."""
    tokens = [
        (_CONTEXT[name], _CONTEXT[name].set(value))
        for name, value in (("case_id", case_id), ("event_id", event_id))
        if value is not None
    ]
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


class ContextFilter(logging.Filter):
    """Puts the service's name and the current case and event on every record."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        for name in CONTEXT_FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, _CONTEXT[name].get())
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": getattr(record, "service", None),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = str(value)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class PlainText(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(service)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        about_what = [
            f"{name}={getattr(record, name)}"
            for name in CONTEXT_FIELDS
            if getattr(record, name, None) is not None
        ]
        return f"{text} [{' '.join(about_what)}]" if about_what else text


def configure(service: str, level: str = "INFO", stream: IO[str] | None = None) -> None:
    """Log at ``level`` to ``stream`` (standard output): JSON lines, or plain text when it is a
    terminal."""
    stream = sys.stdout if stream is None else stream
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter(service))
    handler.setFormatter(PlainText() if stream.isatty() else JsonLines())
    logging.basicConfig(level=level, handlers=[handler], force=True)
