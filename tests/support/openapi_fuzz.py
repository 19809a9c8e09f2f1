"""Schemathesis against a live service's OpenAPI document, from a test.

Its pytest plugin is not used (schemathesis 4's plugin does not work under pytest 9): the
``st`` CLI runs in a subprocess (green under eventlet, so the services in this process keep
answering), configured by a ``schemathesis.toml`` written for the run, and its JSON report is
read back. Generation is deterministic, one worker, bounded examples: the same inputs each run.

Besides what schemathesis checks on each answer, ``CrashLog`` collects what no answer shows:
a worker's unexpected exception anywhere in the platform (a remote crash behind the console's
502, a consumer choking on what the fuzz put in)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, Sequence):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


@dataclass
class FuzzConfig:
    """What ``schemathesis.toml`` says for one run."""

    max_examples: int = 25
    request_timeout: float = 10.0
    auth: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per security scheme of the document: ``{"bearer": {"bearer": token}}``."""
    dictionaries: dict[str, list[str]] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    """``"path.case_id": {"dictionary": "cases", "probability": 0.5}`` and the like."""
    operations: list[dict[str, Any]] = field(default_factory=list)
    """Per-operation settings: ``include-path`` and what differs there."""

    def toml(self) -> str:
        lines = [
            "workers = 1",
            "max-stream-events = 1",
            f"request-timeout = {self.request_timeout!r}",
            "[generation]",
            f"max-examples = {self.max_examples}",
            "deterministic = true",
            'database = "none"',
            "[checks]",
            "enabled = false",
        ]
        for check in CHECKS:
            lines += [f"[checks.{check}]", "enabled = true"]
        for scheme, credentials in self.auth.items():
            lines.append(f"[auth.openapi.{scheme}]")
            lines += [f"{key} = {_toml(value)}" for key, value in credentials.items()]
        for name, words in self.dictionaries.items():
            lines += [f"[dictionaries.{name}]", f"values = {_toml(words)}"]
        if self.parameters:
            lines.append("[parameters]")
            lines += [f"{json.dumps(key)} = {_toml(v)}" for key, v in self.parameters.items()]
        for operation in self.operations:
            lines.append("[[operations]]")
            nested = {k: v for k, v in operation.items() if isinstance(v, Mapping)}
            lines += [f"{k} = {_toml(v)}" for k, v in operation.items() if k not in nested]
            for table, settings in nested.items():
                lines.append(f"[operations.{table}]")
                lines += [f"{k} = {_toml(v)}" for k, v in settings.items()]
        return "\n".join(lines) + "\n"


@dataclass
class FuzzReport:
    exit_code: int
    seconds: float
    report: dict[str, Any]
    output: str

    @property
    def operations(self) -> int:
        return int(self.report["operations"]["tested"])

    @property
    def test_cases(self) -> int:
        return int(self.report["test_cases"]["generated"])

    @property
    def failures(self) -> list[dict[str, Any]]:
        return list(self.report["failures"]) + list(self.report["errors"])

    def summary(self, name: str) -> str:
        found = "; ".join(
            f"{f.get('code', '?')} {f.get('title', f)} in {', '.join(f.get('operations', []))}"
            for f in self.failures
        )
        return (
            f"{name}: {self.operations} operations, {self.test_cases} test cases, "
            f"{len(self.failures)} kinds of failure, {self.seconds:.1f} s"
            + (f" — {found}" if found else "")
        )

    def details(self) -> str:
        """The CLI's account of the failures: each with a curl to reproduce it."""
        start = self.output.find("FAILURES")
        return self.output[start if start >= 0 else 0 :][-20_000:]


def run_schemathesis(
    location: str,
    config: FuzzConfig,
    workdir: Path,
    env: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
    timeout: float = 600.0,
) -> FuzzReport:
    """``st run location``; ``workdir`` takes the config, the report and schemathesis's own
    files, nothing lands in the repository."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "schemathesis.toml"
    config_file.write_text(config.toml(), encoding="utf-8")
    report_file = workdir / "report.json"
    st = Path(sys.executable).with_name("st")
    command = [
        str(st), "--config-file", str(config_file), "run", location, "--no-color",
        "--report", "json", "--report-json-path", str(report_file), *extra,
    ]  # fmt: skip
    started = time.monotonic()
    finished = subprocess.run(
        command,
        cwd=workdir,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
        check=False,
    )
    output = finished.stdout.decode(errors="replace")
    if not report_file.exists():
        raise AssertionError(f"schemathesis wrote no report ({finished.returncode}):\n{output}")
    report = json.loads(report_file.read_text(encoding="utf-8"))
    return FuzzReport(finished.returncode, time.monotonic() - started, report, output)


class CrashLog(logging.Handler):
    """Unexpected exceptions of any worker: nameko logs them at ERROR (expected ones are
    warnings), and the kit logs each 500 it answers. ``expected`` names exception types that
    are refusals, answered on purpose (the console's 404/409/422 from another service)."""

    LOGGERS = ("nameko.containers", "kit.web")

    def __init__(self, expected: frozenset[str]) -> None:
        super().__init__(logging.ERROR)
        self.expected = expected
        self.crashes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        kind = type(exc).__name__ if exc is not None else "no exception"
        if kind in self.expected:
            return
        self.crashes.append(f"{kind}: {record.getMessage()[:400]}")

    @contextmanager
    def watching(self) -> Iterator[CrashLog]:
        loggers = [logging.getLogger(name) for name in self.LOGGERS]
        for logger in loggers:
            logger.addHandler(self)
        try:
            yield self
        finally:
            for logger in loggers:
                logger.removeHandler(self)
