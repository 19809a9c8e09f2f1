"""Break things on purpose while a steady stream of cases flows, then count with a ledger.

Every service runs as its own ``civicflow run`` process. Tickets come over HTTP (12345) and
grid reports over AMQP (the grid app), with the same id sent again whenever a send fails, as a
real source would. Mid-stream one service is killed with SIGKILL (no goodbye: whatever it held
mid-transaction is rolled back, whatever it had not acked is redelivered) and started again.
The ledger then checks that every accepted submission became exactly one case, every case was
dispatched, and no effect happened twice: no duplicate case, dispatch, clock or SMS.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pika
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port
from tests.support.broker import temporary_vhost
from tests.support.platform import CONFIG_DIR, http, signed_headers

pytestmark = [pytest.mark.broker, pytest.mark.faults]

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

    def db(self, service: str) -> sqlite3.Connection:
        return sqlite3.connect(self.data / "var" / f"{service}.db")


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


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    shutil.copytree(CONFIG_DIR, tmp_path / "config")
    with temporary_vhost(os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/")) as uri:
        env = {
            **{k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")},
            "AMQP_URI": uri, "CIVICFLOW_DATA_DIR": str(tmp_path / "var"),
            "CIVICFLOW_CONFIG_DIR": str(tmp_path / "config"), "CIVICFLOW_HTTP_HOST": "127.0.0.1",
            "CIVICFLOW_LOG_LEVEL": "WARNING",
            **{f"{name.upper()}_PORT": str(free_port()) for name in (*SERVICES, "console")},
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


def stream(platform: Platform, ledger: Ledger) -> None:
    """Tickets over HTTP and grid reports over AMQP, mixed, at a steady rate; each sent again
    until accepted, with the same id."""
    intakes = platform.service_urls("intake")
    publisher = _Publisher(platform.env["AMQP_URI"])
    grid = _first_grid(platform)
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


def _first_grid(platform: Platform) -> str:
    with platform.db("grid") as connection:
        row = connection.execute(
            "SELECT code FROM units WHERE level = 'grid' ORDER BY code"
        ).fetchone()
    return str(row[0])


def settle(platform: Platform, ledger: Ledger, timeout: float = 90) -> dict[str, int]:
    """Wait until every submission is a case that left routing; then the ledger's figures."""
    deadline = time.monotonic() + timeout
    while True:
        figures = count(platform, ledger)
        if figures["routed"] == len(ledger.submitted) or time.monotonic() > deadline:
            return figures
        time.sleep(0.5)


def count(platform: Platform, ledger: Ledger) -> dict[str, int]:
    with platform.db("intake") as intake:
        ids = [row[0] for row in intake.execute("SELECT external_id FROM submissions")]
    with platform.db("dispatch") as dispatch:
        statuses = Counter(row[0] for row in dispatch.execute("SELECT status FROM cases"))
        dispatches = Counter(row[0] for row in dispatch.execute(
            "SELECT case_id FROM case_history WHERE action = 'dispatch'"))  # fmt: skip
    with platform.db("supervision") as supervision:
        clocks = Counter(row for row in supervision.execute("SELECT owner, kind FROM clocks"))
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


@pytest.mark.parametrize("victim", ["intake", "dispatch", "supervision", "notify"])
def test_kill_9_mid_stream_loses_nothing_and_repeats_nothing(
    platform: Platform, victim: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = Ledger()
    sender = threading.Thread(target=stream, args=(platform, ledger))
    sender.start()
    time.sleep(2.5)  # well into the stream: the victim is busy
    platform.kill(victim)
    time.sleep(1.5)
    platform.start(victim)
    sender.join(timeout=120)
    figures = settle(platform, ledger)
    with capsys.disabled():
        print(f"\nledger, kill -9 {victim}: {json.dumps(figures)}")
    assert platform.dead() == []
    assert figures["submitted"] == TICKETS + REPORTS
    assert figures["lost"] == 0 and figures["stored"] == figures["submitted"]
    assert figures["duplicate_cases"] == 0
    assert figures["routed"] == figures["submitted"]
    assert figures["duplicate_dispatches"] == 0 and figures["duplicate_clocks"] == 0
    assert figures["duplicate_sms"] == 0


def test_two_instances_of_every_service_yield_one_effect_per_case(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    """Competing consumers everywhere; on SQLite the outbox relays and the clock scanner are
    singletons: the second instance of each stands by (and says so) instead of running twice."""
    for service in SERVICES:
        platform.start(service, instance=2)
    ledger = Ledger()
    stream(platform, ledger)
    figures = settle(platform, ledger)
    with capsys.disabled():
        print(f"\nledger, two instances of every service: {json.dumps(figures)}")
    assert platform.dead() == []
    assert figures["lost"] == 0 and figures["stored"] == figures["submitted"] == TICKETS + REPORTS
    assert figures["duplicate_cases"] == 0 and figures["routed"] == figures["submitted"]
    assert figures["duplicate_dispatches"] == 0 and figures["duplicate_clocks"] == 0
    assert figures["duplicate_sms"] == 0
    for service in ("intake", "dispatch", "supervision", "notify"):  # both took a share
        shares = [consumed(url) for url in platform.service_urls(service)]
        assert len(shares) == 2 and min(shares) > 0, (service, shares)
    for service in SERVICES:  # on SQLite one relay per database: the other instance waits
        relays = [
            http("GET", f"{url}/healthz").body["checks"].get("outbox_relay", "running")
            for url in platform.service_urls(service)
        ]
        assert sorted(relays) == ["running", "standby"], (service, relays)


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


POISON = {
    # (exchange, routing key): the queue that must park it
    ("civicflow.inbound", "grid.report"): "civicflow.inbound.rejected",
    ("intake.events", "case.received"): "dispatch.route_case.dlq",
    ("dispatch.events", "case.dispatched"): "supervision.follow_case.dlq",
}


def depth(uri: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        connection.close()


def test_poison_on_each_work_queue_is_parked_while_the_rest_flows(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = Ledger()
    sender = threading.Thread(target=stream, args=(platform, ledger))
    sender.start()
    time.sleep(1.5)
    uri = platform.env["AMQP_URI"]
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    for exchange, key in POISON:
        for body in (b"not json", b'{"type": "%s", "data": 7}' % key.encode(), b"\xff\xfe"):
            channel.basic_publish(exchange, key, body, pika.BasicProperties(app_id="gridapp"))
    connection.close()
    sender.join(timeout=120)
    figures = settle(platform, ledger)
    # routing has settled, but a consumer further down (supervision) may still be working
    # through its backlog, the poison among it
    deadline = time.monotonic() + 30
    while True:
        parked = {queue: depth(uri, queue) for queue in POISON.values()}
        if all(count >= 3 for count in parked.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    with capsys.disabled():
        print(f"\nledger, poison: {json.dumps(figures)} parked: {json.dumps(parked)}")
    assert all(count == 3 for count in parked.values()), parked
    assert platform.dead() == []
    assert figures["lost"] == 0 and figures["routed"] == figures["submitted"]
    assert figures["duplicate_cases"] == figures["duplicate_dispatches"] == 0


def test_a_broker_restart_mid_stream_loses_nothing(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which("rabbitmqctl") is None or os.geteuid() != 0:
        pytest.skip("restarting the broker needs rabbitmqctl as root (the local RabbitMQ)")
    ledger = Ledger()
    sender = threading.Thread(target=stream, args=(platform, ledger))
    sender.start()
    time.sleep(2.0)
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True)
    time.sleep(3.0)  # the outboxes hold what they cannot publish; the sources resend
    subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True)
    sender.join(timeout=180)
    figures = settle(platform, ledger, timeout=150)
    with capsys.disabled():
        print(f"\nledger, broker restart: {json.dumps(figures)}")
    assert platform.dead() == []  # a lost ack once took dispatch down with the connection
    assert figures["lost"] == 0 and figures["stored"] == figures["submitted"]
    assert figures["routed"] == figures["submitted"]
    assert figures["duplicate_cases"] == figures["duplicate_dispatches"] == 0
    assert figures["duplicate_clocks"] == 0 and figures["duplicate_sms"] == 0


def test_locked_databases_hold_work_back_without_losing_it(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    """Intake's and dispatch's databases locked for five seconds mid-stream (another process
    holds SQLite's write lock): requests and handlers wait for it, or fail and are tried again;
    nothing is acked before it is stored."""
    ledger = Ledger()
    sender = threading.Thread(target=stream, args=(platform, ledger))
    sender.start()
    time.sleep(2.0)
    locks = []
    for service in ("intake", "dispatch"):
        lock = sqlite3.connect(
            platform.data / "var" / f"{service}.db", timeout=30, isolation_level=None
        )
        lock.execute("BEGIN EXCLUSIVE")
        locks.append(lock)
    time.sleep(5.0)
    for lock in locks:
        lock.execute("COMMIT")
        lock.close()
    sender.join(timeout=180)
    figures = settle(platform, ledger, timeout=150)
    with capsys.disabled():
        print(f"\nledger, databases locked 5 s: {json.dumps(figures)}")
    assert platform.dead() == []
    assert figures["lost"] == 0 and figures["stored"] == figures["submitted"]
    assert figures["routed"] == figures["submitted"]
    assert figures["duplicate_cases"] == figures["duplicate_dispatches"] == 0
