"""The fault suite's harness: the platform as separate processes, a stream of cases, a ledger.

Every service runs as its own ``civicflow run`` process. Tickets come over HTTP (12345) and
grid reports over AMQP (the grid app), with the same id sent again whenever a send fails, as a
real source would. The ledger then checks that every accepted submission became exactly one
case, every case was dispatched, and no effect happened twice: no duplicate case, dispatch,
clock or SMS.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pika
import psycopg2
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port
from tests.support.broker import temporary_vhost
from tests.support.platform import CONFIG_DIR, http, signed_headers

REPO = Path(__file__).resolve().parents[2]
CIVICFLOW = REPO / ".venv" / "bin" / "civicflow"
SERVICES = ("intake", "grid", "dispatch", "supervision", "notify")
TICKETS, REPORTS, RATE = 120, 60, 25.0  # per second, both lines together
MORNING = "2026-11-21T09:00:00+08:00"


@dataclass
class Platform:
    env: dict[str, str]
    data: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, service: str, instance: int = 1) -> None:
        """Start a service; instance 2, 3… of it answer HTTP on a port of their own."""
        name = service if instance == 1 else f"{service}#{instance}"
        env = dict(self.env)
        if instance > 1:
            env[f"{service.upper()}_PORT"] = self.env.setdefault(
                f"{service.upper()}_PORT_{instance}", str(free_port())
            )
        log = (self.data / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [str(CIVICFLOW), "run", service], env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.wait_healthy(service, instance)

    def kill(self, service: str) -> None:
        process = self.processes.pop(service)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def service_urls(self, service: str) -> list[str]:
        ports = [v for k, v in self.env.items() if k.startswith(f"{service.upper()}_PORT")]
        return [f"http://127.0.0.1:{port}" for port in ports]

    def wait_healthy(self, service: str, instance: int = 1, timeout: float = 40) -> None:
        key = f"{service.upper()}_PORT" + ("" if instance == 1 else f"_{instance}")
        url = f"http://127.0.0.1:{self.env[key]}/healthz"
        name = service if instance == 1 else f"{service}#{instance}"
        deadline = time.monotonic() + timeout
        while not (_port_open(url) and http("GET", url).status == 200):
            assert time.monotonic() < deadline, (self.data / f"{name}.log").read_text()[-2000:]
            time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes.values():
            with _quiet():
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def dead(self) -> list[str]:
        """Services whose process exited: a fault must not take a survivor down with it."""
        return [name for name, process in self.processes.items() if process.poll() is not None]

    def log_lines(self, service: str, *words: str, last: int = 20) -> list[str]:
        """The last lines of a service's log that hold any of ``words``: what a failed check
        prints, so that a fault seen once in CI can be read afterwards."""
        path = self.data / f"{service}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return [line for line in text.splitlines() if any(w in line for w in words)][-last:]

    def rows(self, service: str, sql: str) -> list[tuple[Any, ...]]:
        """A query on a service's own database, SQLite file or PostgreSQL schema."""
        url = self.env.get("DATABASE_URL")
        if url is None:
            with closing(sqlite3.connect(self.data / "var" / f"{service}.db")) as connection:
                return connection.execute(sql).fetchall()
        with closing(psycopg2.connect(url)) as connection, connection.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{service}"')
            cursor.execute(sql)
            return list(cursor.fetchall())


class _quiet:
    """Swallow what a dead process or connection raises when it is closed again."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> bool:
        return exc[0] is not None and issubclass(
            exc[0], (ProcessLookupError, pika.exceptions.AMQPError, OSError, AttributeError)
        )


def _port_open(url: str) -> bool:
    import socket
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((parts.hostname or "127.0.0.1", parts.port or 80)) == 0


@contextmanager
def running_platform(tmp_path: Path, **settings: str) -> Iterator[Platform]:
    """Every service in a process of its own, on a vhost of its own; ``settings`` are extra
    environment (``DATABASE_URL`` for PostgreSQL, a shorter heartbeat…)."""
    shutil.copytree(CONFIG_DIR, tmp_path / "config")
    with temporary_vhost(os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/")) as uri:
        env = {
            **{k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")},
            "AMQP_URI": uri, "CIVICFLOW_DATA_DIR": str(tmp_path / "var"),
            "CIVICFLOW_CONFIG_DIR": str(tmp_path / "config"), "CIVICFLOW_HTTP_HOST": "127.0.0.1",
            "CIVICFLOW_LOG_LEVEL": "WARNING",
            **{f"{name.upper()}_PORT": str(free_port()) for name in (*SERVICES, "console")},
            **settings,
        }  # fmt: skip
        for step in (["migrate"], ["demo"]):
            subprocess.run([str(CIVICFLOW), *step], env=env, check=True, capture_output=True)
        running = Platform(env, tmp_path)
        try:
            for service in SERVICES:
                running.start(service)
            yield running
        finally:
            running.stop()


@dataclass
class Ledger:
    submitted: set[str] = field(default_factory=set)
    """External ids a source handed over and saw accepted (202/200, or a confirmed publish)."""
    resent: int = 0
    answers: Counter[int] = field(default_factory=Counter)
    """intake's HTTP answers by status (0: no answer at all)."""


def stream(platform: Platform, ledger: Ledger) -> None:
    """Tickets over HTTP and grid reports over AMQP, mixed, at a steady rate; each sent again
    until accepted, with the same id."""
    intakes = platform.service_urls("intake")
    publisher = _Publisher(platform.env["AMQP_URI"])
    grid = first_grid(platform)
    for n in range(TICKETS + REPORTS):
        started = time.monotonic()
        if n % 3 == 2:
            report = {
                "report_id": f"R-{uuid.uuid4().hex[:10]}", "reported_at": MORNING,
                "grid_code": grid, "reporter_id": "W-1", "content": "邻里因占道堆放杂物争吵",
                "category": "dispute.neighbour",
            }  # fmt: skip
            while not publisher.send("grid.report", report):
                ledger.resent += 1
                time.sleep(0.2)
            ledger.submitted.add(report["report_id"])
        else:
            ticket = {
                "ticket_no": f"T-{uuid.uuid4().hex[:10]}", "received_at": MORNING,
                "caller": {"phone": f"139{n:08d}"}, "content": "化工厂夜间排污",
                "category": "environment.pollution",
            }  # fmt: skip
            body = json.dumps(ticket).encode()
            while True:
                try:
                    intake = intakes[n % len(intakes)]  # a load balancer in front of them all
                    answer = http(
                        "POST", f"{intake}/api/v1/hotline/tickets", body, signed_headers(body)
                    )
                except OSError:
                    answer = None
                ledger.answers[answer.status if answer is not None else 0] += 1
                if answer is not None and answer.status in (200, 202):
                    break
                ledger.resent += 1
                time.sleep(0.2)
            ledger.submitted.add(ticket["ticket_no"])
        time.sleep(max(0.0, 1 / RATE - (time.monotonic() - started)))
    publisher.close()


class _Publisher:
    """The grid app: a confirming publisher that connects again after the broker went away."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.connection: Any = None
        self.channel: Any = None

    def send(self, routing_key: str, payload: dict[str, Any]) -> bool:
        try:
            if self.connection is None or not self.connection.is_open:
                self.connection = pika.BlockingConnection(pika.URLParameters(self.uri))
                self.channel = self.connection.channel()
                self.channel.confirm_delivery()
            self.channel.basic_publish(
                "civicflow.inbound", routing_key, json.dumps(payload).encode(),
                pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                     app_id="gridapp", message_id=payload["report_id"]),
                mandatory=True,
            )  # fmt: skip
        except (pika.exceptions.AMQPError, OSError):
            with _quiet():
                self.connection.close()
            self.connection = None
            return False
        return True

    def close(self) -> None:
        if self.connection is not None and self.connection.is_open:
            self.connection.close()


def first_grid(platform: Platform) -> str:
    [(code, *_)] = platform.rows(
        "grid", "SELECT code FROM units WHERE level = 'grid' ORDER BY code LIMIT 1"
    )
    return str(code)


def settle(platform: Platform, ledger: Ledger, timeout: float = 90) -> dict[str, int]:
    """Wait until every submission is a case that left routing; then the ledger's figures."""
    deadline = time.monotonic() + timeout
    while True:
        figures = count(platform, ledger)
        if figures["routed"] == len(ledger.submitted) or time.monotonic() > deadline:
            return figures
        time.sleep(0.5)


def count(platform: Platform, ledger: Ledger) -> dict[str, int]:
    ids = [row[0] for row in platform.rows("intake", "SELECT external_id FROM submissions")]
    statuses = Counter(row[0] for row in platform.rows("dispatch", "SELECT status FROM cases"))
    dispatches = Counter(row[0] for row in platform.rows(
        "dispatch", "SELECT case_id FROM case_history WHERE action = 'dispatch'"))  # fmt: skip
    clocks = Counter(platform.rows("supervision", "SELECT owner, kind FROM clocks"))
    sms_path = platform.data / "var" / "notify" / "sms.jsonl"
    lines = (
        [json.loads(line) for line in sms_path.read_text().splitlines()]
        if sms_path.exists()
        else []
    )
    sms = Counter(line["reference"] for line in lines)
    return {
        "submitted": len(ledger.submitted),
        "stored": len(ids),
        "lost": len(ledger.submitted - set(ids)),
        "duplicate_cases": len(ids) - len(set(ids)),
        "routed": sum(statuses.values()) - statuses.get("received", 0),
        "dispatched": statuses.get("dispatched", 0),
        "duplicate_dispatches": sum(n - 1 for n in dispatches.values() if n > 1),
        "duplicate_clocks": sum(n - 1 for n in clocks.values() if n > 1),
        "sms": len(lines),
        "duplicate_sms": sum(n - 1 for n in sms.values() if n > 1),
        "resent": ledger.resent,
    }


def consumed(url: str) -> float:
    """Messages an instance handled, from its own ``/metrics``."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "civicflow_messages_consumed_total"
    )


def depth(uri: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        connection.close()
