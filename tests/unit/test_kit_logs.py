import io
import json
import logging

import pytest

from kit import logs


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_lines_are_json_with_the_service_and_the_case_and_event_in_hand() -> None:
    out = io.StringIO()
    logs.configure("dispatch", "INFO", out)
    log = logging.getLogger("services.dispatch")
    log.info("no case yet")
    with logs.about(case_id="C-1", event_id="E-1"):
        log.warning("routed to %s", "城关街道")
    log.info("told", extra={"case_id": "C-2"})
    first, second, third = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["service"] == "dispatch" and first["level"] == "INFO"
    assert "case_id" not in first and "event_id" not in first
    assert first["time"].endswith("+00:00")
    assert second["message"] == "routed to 城关街道"
    assert (second["case_id"], second["event_id"]) == ("C-1", "E-1")
    assert third["case_id"] == "C-2" and "event_id" not in third


def test_an_error_carries_its_traceback_in_the_line() -> None:
    out = io.StringIO()
    logs.configure("notify", "INFO", out)
    try:
        raise ValueError("provider said no")
    except ValueError:
        logging.getLogger("x").exception("send failed")
    line = json.loads(out.getvalue())
    assert line["level"] == "ERROR" and "ValueError: provider said no" in line["error"]


def test_a_terminal_gets_plain_text() -> None:
    out = Terminal()
    logs.configure("grid", "INFO", out)
    with logs.about(case_id="C-9"):
        logging.getLogger("services.grid").info("located")
    text = out.getvalue()
    assert not text.startswith("{")
    assert " INFO grid services.grid located [case_id=C-9]" in text
