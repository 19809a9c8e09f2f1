"""The database gone, a handler held up far longer than a heartbeat, and a burst of 20,000
cases: each while the flow runs, each counted with the ledger."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import psycopg2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from contracts.inbound import GRID, HOTLINE, INBOUND_EXCHANGE, OPINION, PETITION
from tests.faults.harness import SERVICES, Ledger, count, first_grid, settle, stream
from tests.support.databases import temporary_postgres
from tests.support.harness import Processes, management_get, running_processes

pytestmark = [pytest.mark.broker, pytest.mark.faults]


# --- the database unavailable --------------------------------------------------------------


@pytest.fixture
def platform_on_postgres(tmp_path: Path) -> Iterator[Processes]:
    with (
        temporary_postgres() as url,
        running_processes(tmp_path, SERVICES, DATABASE_URL=url) as running,
    ):
        yield running


class Outage:
    """PostgreSQL refusing one database: new connections turned away, the open ones cut."""

    def __init__(self, url: str) -> None:
        self.name = url.rsplit("/", 1)[1]
        self.admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
        self.admin.autocommit = True

    def begin(self) -> None:
        with self.admin.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS false')
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (self.name,),
            )

    def end(self) -> None:
        with self.admin.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS true')
        self.admin.close()


def test_postgresql_unavailable_mid_stream_loses_nothing(
    platform_on_postgres: Processes, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every service's database gone for six seconds: intake answers 503 (never 500, never a
    202 it cannot keep), handlers hold their messages until it is back, nothing is parked."""
    platform = platform_on_postgres
    ledger = Ledger()
    sender = threading.Thread(target=stream, args=(platform, ledger))
    sender.start()
    time.sleep(2.0)
    outage = Outage(platform.env["DATABASE_URL"])
    outage.begin()
    time.sleep(6.0)
    outage.end()
    sender.join(timeout=180)
    figures = settle(platform, ledger, timeout=150)
    parked = parked_messages(platform)
    with capsys.disabled():
        print(f"\nledger, PostgreSQL down 6 s: {json.dumps(figures)} "
              f"intake answered {dict(ledger.answers)} parked {parked}")  # fmt: skip
    assert platform.dead() == []
    assert ledger.answers[503] > 0, ledger.answers  # the outage was met, and said so
    assert set(ledger.answers) <= {200, 202, 503}, ledger.answers
    assert figures["lost"] == 0 and figures["stored"] == figures["submitted"]
    assert figures["routed"] == figures["submitted"]
    assert figures["duplicate_cases"] == figures["duplicate_dispatches"] == 0
    assert figures["duplicate_clocks"] == figures["duplicate_sms"] == 0
    assert parked == 0


def parked_messages(platform: Processes) -> int:
    """Messages in every dead-letter queue of the vhost."""
    vhost = platform.env["AMQP_URI"].rsplit("/", 1)[1]
    queues = management_get(platform.env["AMQP_URI"], f"queues/{vhost}")
    return sum(
        int(queue.get("messages", 0))
        for queue in queues
        if queue["name"].endswith(".dlq") or queue["name"] == "civicflow.inbound.rejected"
    )


# --- heartbeats ----------------------------------------------------------------------------

HEARTBEAT = 5  # seconds, the shortest the settings take; the broker drops a peer after two


@pytest.fixture
def platform_with_short_heartbeats(tmp_path: Path) -> Iterator[Processes]:
    with running_processes(tmp_path, SERVICES, CIVICFLOW_AMQP_HEARTBEAT=str(HEARTBEAT)) as running:
        yield running


def long_lived_connections(uri: str, older_than: float) -> set[str]:
    """The services' connections (py-amqp's, not the test's own pika publisher, which closes
    when its stream ends) opened more than ``older_than`` seconds ago: the queue gauges'
    connections come and go every few seconds; the consumers' and relays' stay."""
    vhost = uri.rsplit("/", 1)[1]
    now_ms = time.time() * 1000
    return {
        connection["name"]
        for connection in management_get(uri, f"vhosts/{vhost}/connections")
        if now_ms - connection["connected_at"] > older_than * 1000
        and connection.get("client_properties", {}).get("product") == "py-amqp"
    }


def test_a_handler_held_up_for_many_heartbeats_keeps_its_connection(
    platform_with_short_heartbeats: Processes, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dispatch's and supervision's handlers wait twenty seconds (four heartbeat intervals) for
    a lock another process holds on their databases. The wait is green, so the hub goes on
    beating: not one connection of any service is dropped, and the flow resumes after."""
    platform = platform_with_short_heartbeats
    ledger = Ledger()
    sender = threading.Thread(target=stream, args=(platform, ledger))
    sender.start()
    time.sleep(3.0)
    before = long_lived_connections(platform.env["AMQP_URI"], older_than=2.5)
    locks = []
    for service in ("dispatch", "supervision"):
        lock = sqlite3.connect(platform.data / "var" / f"{service}.db", isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        locks.append(lock)
    time.sleep(4 * HEARTBEAT)
    for lock in locks:
        lock.execute("COMMIT")
        lock.close()
    sender.join(timeout=180)
    figures = settle(platform, ledger, timeout=150)
    after = long_lived_connections(platform.env["AMQP_URI"], older_than=0)
    logs = {service: (platform.data / f"{service}.log").read_text() for service in SERVICES}
    with capsys.disabled():
        kept = f"{len(before & after)}/{len(before)}"
        print(f"\nledger, handlers held {4 * HEARTBEAT} s with {HEARTBEAT} s heartbeats: "
              f"{json.dumps(figures)}; connections kept {kept}")  # fmt: skip
    assert len(before) >= len(SERVICES)  # every service's consumer at least
    assert before <= after, sorted(before - after)
    for service, log in logs.items():
        assert "heartbeat" not in log.lower(), (service, log[-2000:])
    assert platform.dead() == []
    assert figures["lost"] == 0 and figures["routed"] == figures["submitted"]
    assert figures["duplicate_cases"] == figures["duplicate_dispatches"] == 0


# --- a burst -------------------------------------------------------------------------------

BURST = int(os.environ.get("CIVICFLOW_FAULTS_BURST", "20000"))
RSS_LIMIT_MB = 250.0


def burst_messages(grid: str) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(routing key, source, external id, body): the four lines in turn, distinct callers."""
    for n in range(BURST):
        when = "2026-11-21T10:00:00+08:00"
        line = n % 4
        if line == 0:
            ticket_no = f"B-T-{n:06d}"
            yield HOTLINE.routing_key, "hotline", ticket_no, {
                "ticket_no": ticket_no, "received_at": when, "caller": {"phone": f"137{n:08d}"},
                "content": f"{n % 200 + 1}号楼楼下饭店油烟污染严重",
                "category": "environment.pollution",
            }  # fmt: skip
        elif line == 1:
            report_id = f"B-R-{n:06d}"
            yield GRID.routing_key, "gridapp", report_id, {
                "report_id": report_id, "reported_at": when, "grid_code": grid,
                "reporter_id": "W-1", "content": f"{n % 200 + 1}号楼邻里因占道堆放杂物争吵",
                "category": "dispute.neighbour",
            }  # fmt: skip
        elif line == 2:
            item_id = f"B-O-{n:06d}"
            yield OPINION.routing_key, "opinion", item_id, {
                "item_id": item_id, "platform": "weibo", "published_at": when,
                "url": f"https://weibo.example/{item_id}", "heat": 10,
                "content": f"网友反映{n % 200 + 1}号楼附近广场舞噪音扰民",
            }  # fmt: skip
        else:
            petition_no = f"B-P-{n:06d}"
            yield PETITION.routing_key, "petition", petition_no, {
                "petition_no": petition_no, "form": "letter", "filed_at": when,
                "petitioners": [{"name": "李女士", "phone": f"136{n:08d}"}],
                "content": f"反映{n % 200 + 1}号楼电梯长期故障", "category": "property.management",
            }  # fmt: skip


def publish_burst(platform: Processes, ledger: Ledger) -> None:
    """All of it at once, each publish confirmed by the broker before it counts as handed
    over."""
    connection = pika.BlockingConnection(pika.URLParameters(platform.env["AMQP_URI"]))
    channel = connection.channel()
    channel.confirm_delivery()
    for routing_key, source, external_id, body in burst_messages(first_grid(platform)):
        channel.basic_publish(
            INBOUND_EXCHANGE, routing_key, json.dumps(body, ensure_ascii=False).encode(),
            pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                 app_id=source, message_id=external_id),
            mandatory=True,
        )  # fmt: skip
        ledger.submitted.add(external_id)
    connection.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def queue_depths(url: str) -> dict[str, float]:
    """``civicflow_queue_messages`` by queue, from a service's own ``/metrics``."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {
        sample.labels["queue"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "civicflow_queue_messages"
    }


HOLD_DISPATCH_SECONDS = 12.0
"""Within SQLite's lock patience (30 s): dispatch waits, nothing is parked."""


class Watch(threading.Thread):
    """Each service's peak RSS and the deepest each queue got in its ``/metrics``, read every
    second from the first publish on: the backlog builds while the burst is still being
    published, and may be gone by the time the last publish is confirmed."""

    def __init__(self, platform: Processes) -> None:
        super().__init__(daemon=True)
        self.platform = platform
        self.peak_rss = dict.fromkeys(SERVICES, 0.0)
        self.deepest: dict[str, float] = {}
        self.unread = 0  # a /metrics that did not answer in time, under the burst's load
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(1.0):
            self.read()

    def stop(self) -> None:
        self._stopped.set()
        self.join()
        self.read()

    def read(self) -> None:
        for service in SERVICES:
            pid = self.platform.processes[service].pid
            self.peak_rss[service] = max(self.peak_rss[service], rss_mb(pid))
            try:
                depths = queue_depths(self.platform.service_urls(service)[0])
            except OSError:
                self.unread += 1
                continue
            for queue, depth in depths.items():
                self.deepest[queue] = max(self.deepest.get(queue, 0.0), depth)


def test_a_burst_of_20000_cases_drains_without_loss_in_bounded_memory(
    platform: Processes, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = Ledger()
    # dispatch held up by a lock on its database for the first seconds: a backlog the metrics
    # must show (a platform that keeps up with the publisher would build none to see)
    lock = sqlite3.connect(
        platform.data / "var" / "dispatch.db", isolation_level=None, check_same_thread=False
    )
    lock.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(HOLD_DISPATCH_SECONDS, lambda: lock.execute("COMMIT"))
    watch = Watch(platform)
    watch.start()
    release.start()
    started = time.monotonic()
    publish_burst(platform, ledger)
    published = time.monotonic() - started
    deadline = time.monotonic() + 1500
    while True:
        figures = count(platform, ledger)
        if figures["routed"] == BURST or time.monotonic() > deadline:
            break
        time.sleep(2.0)
    drained = time.monotonic() - started
    watch.stop()
    release.join()
    lock.close()
    figures = settle(platform, ledger, timeout=30)
    with capsys.disabled():
        print(f"\nledger, burst of {BURST}: {json.dumps(figures)}; published in {published:.0f} s, "
              f"routed in {drained:.0f} s ({BURST / drained:.0f} cases/s); "
              f"peak RSS MB {json.dumps({k: round(v) for k, v in watch.peak_rss.items()})}; "
              f"deepest queues {json.dumps(watch.deepest)}; "
              f"/metrics unanswered {watch.unread}")  # fmt: skip
    assert platform.dead() == []
    assert figures["submitted"] == BURST
    assert figures["lost"] == 0 and figures["stored"] == BURST
    assert figures["routed"] == BURST
    assert figures["duplicate_cases"] == figures["duplicate_dispatches"] == 0
    assert figures["duplicate_clocks"] == figures["duplicate_sms"] == 0
    assert max(watch.peak_rss.values()) < RSS_LIMIT_MB, watch.peak_rss
    # the backlog was there to see in the metrics while it lasted
    assert watch.deepest["dispatch.route_case"] >= BURST / 10, watch.deepest
