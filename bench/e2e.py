"""End to end: the whole platform (every service a ``civicflow run`` process, through
``tests.support.harness``) on SQLite or PostgreSQL, its throughput, its latency at a steady
offered rate, what each service spends, and one service scaled to more instances.

A case counts when dispatch has routed it: its ``case.dispatched`` (``civicflow.events``), or
for a case routing only suggests ``case.awaiting_dispatch`` or ``case.resolved_on_site``
(``dispatch.events``). Cases are matched to submissions by ``case.received`` (its ``source``
and ``external_id``), so grid reports published over AMQP count like answered HTTP tickets.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pika

from bench import log, postgres_database, quantiles
from bench.lines import HOTLINE_ONLY, MIX, Mix, SendPool, Sent, Submission, send_all, submissions
from bench.procstats import Meter, wait_quiet
from tests.support.harness import (
    ALL_SERVICES,
    BASE_AMQP_URI,
    REPO,
    Processes,
    running_processes,
    wait_for_consumers,
)

OUTCOMES = {  # event type: the exchange it is heard on
    "case.dispatched": "civicflow.events",
    "case.awaiting_dispatch": "dispatch.events",
    "case.resolved_on_site": "dispatch.events",
}
WORK_QUEUES = {  # a consumer per instance shows a service is consuming
    "intake": "civicflow.inbound.intake",
    "dispatch": "dispatch.route_case",
    "grid": "rpc-grid",
    "supervision": "supervision.follow_case",
    "notify": "notify.tell",
    "console": "console.count_for_the_screen",
}
LATENCY_CLIENTS = 64  # open loop: enough that none is waited for at 50/s


@dataclass
class Case:
    received_at: float  # the occurred_at of its case.received (wall clock)
    outcome: str | None = None
    decided_at: float = 0.0  # the occurred_at of its outcome: dispatch's decision
    heard_at: float = 0.0  # when the outcome reached the bench (wall clock)


class Listener(threading.Thread):
    """Hears ``case.received`` and each case's routing outcome on an exclusive queue."""

    def __init__(self, amqp_uri: str) -> None:
        super().__init__(daemon=True)
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        channel = self.connection.channel()
        queue = channel.queue_declare("", exclusive=True).method.queue
        for event_type, exchange in [("case.received", "civicflow.events"), *OUTCOMES.items()]:
            channel.exchange_declare(exchange, "topic", durable=True)
            channel.queue_bind(queue, exchange, event_type)
        channel.basic_consume(queue, self.heard, auto_ack=True)
        self.case_of: dict[tuple[str, str], str] = {}
        self.cases: dict[str, Case] = {}
        self.early: dict[str, tuple[str, float, float]] = {}  # an outcome before its case
        self.lock = threading.Lock()
        self.stopping = False
        self.start()

    def run(self) -> None:
        while not self.stopping:
            self.connection.process_data_events(time_limit=0.2)
        self.connection.close()

    def heard(self, _channel: Any, _method: Any, _properties: Any, body: bytes) -> None:
        event, heard_at = json.loads(body), time.time()
        case_id, occurred = event["case_id"], datetime.fromisoformat(event["occurred_at"])
        with self.lock:
            if event["type"] == "case.received":
                self.case_of[(event["data"]["source"], event["data"]["external_id"])] = case_id
                new = self.cases.setdefault(case_id, Case(occurred.timestamp()))
                if case_id in self.early:
                    new.outcome, new.decided_at, new.heard_at = self.early.pop(case_id)
            elif (case := self.cases.get(case_id)) is None:
                self.early.setdefault(case_id, (event["type"], occurred.timestamp(), heard_at))
            elif case.outcome is None:
                case.outcome, case.decided_at, case.heard_at = (
                    event["type"],
                    occurred.timestamp(),
                    heard_at,
                )

    def routed(self, key: tuple[str, str]) -> Case | None:
        case = self.cases.get(self.case_of.get(key, ""))
        return case if case is not None and case.outcome is not None else None

    def wait_for(self, keys: Sequence[tuple[str, str]], timeout: float) -> list[Case]:
        """The cases of ``keys`` once every one is routed (the phase ends at the last one
        heard, so polling costs the figure nothing)."""
        deadline, missing = time.monotonic() + timeout, set(keys)
        while missing:
            with self.lock:
                missing = {key for key in missing if self.routed(key) is None}
            if missing and time.monotonic() > deadline:
                raise TimeoutError(f"{len(missing)} of {len(keys)} not routed in {timeout:.0f}s")
            time.sleep(0.05)
        with self.lock:
            return [case for key in keys if (case := self.routed(key)) is not None]

    def stop(self) -> None:
        self.stopping = True
        self.join(5)


@dataclass(frozen=True)
class Phase:
    sent: list[Sent]
    cases: list[Case]
    seconds: float  # from the first submission to the last case routed
    retries: int

    @property
    def rate(self) -> float:
        return len(self.cases) / self.seconds


@dataclass
class Bench:
    """One running platform and the bench's ear on it."""

    platform: Processes
    listener: Listener
    grids: list[str]

    def pids(self) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        for name, process in self.platform.processes.items():
            groups.setdefault(name.split("#")[0], []).append(process.pid)
        return groups

    def quiet(self) -> None:
        wait_quiet([pid for pids in self.pids().values() for pid in pids])

    def phase(
        self,
        label: str,
        items: Sequence[Submission],
        clients: int,
        timeout: float,
        keep_alive: bool = True,
        rate: float | None = None,
    ) -> Phase:
        """Hand every item over, then wait until every case is routed."""
        how = f"at {rate:g}/s" if rate else f"from {clients} clients"
        log(
            f"{label}: {len(items)} submissions {how}" + ("" if keep_alive else ", new connections")
        )
        uri, intakes = self.platform.env["AMQP_URI"], self.platform.service_urls("intake")
        pool: SendPool = send_all(items, uri, intakes, clients, keep_alive, rate)
        if pool.errors:
            raise RuntimeError(f"{label}: {len(pool.errors)} failed, e.g. {pool.errors[:3]}")
        cases = self.listener.wait_for([sent.submission.key for sent in pool.sent], timeout)
        first = min(sent.started for sent in pool.sent)
        # perf_counter and the wall clock differ by a constant: the last case on the former
        last = max(case.heard_at for case in cases) - _wall_minus_perf()
        phase = Phase(pool.sent, cases, last - first, pool.retries)
        log(f"{label}: {len(cases)} routed in {phase.seconds:.2f}s ({phase.rate:.1f}/s)")
        return phase

    def throughput(
        self,
        label: str,
        mix: Mix,
        cases: int,
        clients: int,
        timeout: float,
        keep_alive: bool = True,
    ) -> dict[str, Any]:
        """A closed-loop batch, with what every service spent meanwhile."""
        items = submissions(mix, cases, self.grids)
        self.quiet()
        meter = Meter(self.pids())
        phase = self.phase(label, items, clients, timeout, keep_alive)
        spent = meter.read(phase.seconds, len(phase.cases))
        outcomes = Counter(case.outcome for case in phase.cases)
        if mix is HOTLINE_ONLY and outcomes["case.dispatched"] != len(phase.cases):
            raise RuntimeError(f"{label}: not every ticket was dispatched: {outcomes}")
        return {
            "cases_per_s": round(phase.rate, 1),
            "cases": len(phase.cases),
            "seconds": round(phase.seconds, 2),
            "submit_retries": phase.retries,
            "outcomes": dict(outcomes),
            **spent,
        }

    def latency(self, rate: float, seconds: float, timeout: float) -> dict[str, Any]:
        """Open loop at ``rate``: per case from its ``case.received``'s ``occurred_at`` to its
        outcome reaching the bench, and to dispatch's decision (the outcome's
        ``occurred_at``)."""
        items = submissions(MIX, round(rate * seconds), self.grids)
        self.quiet()
        phase = self.phase("latency", items, LATENCY_CLIENTS, timeout + seconds, rate=rate)
        lags = [(sent.started - sent.due) * 1000 for sent in phase.sent]
        return {
            "offered_per_s": rate,
            "received_to_routed_ms": quantiles(
                [(c.heard_at - c.received_at) * 1000 for c in phase.cases], (50, 95, 99)
            ),
            "received_to_decided_ms": quantiles(
                [(c.decided_at - c.received_at) * 1000 for c in phase.cases]
            ),
            "send_lag_p99_ms": quantiles(lags)["p99"],
        }


def _wall_minus_perf() -> float:
    return time.time() - time.perf_counter()


@contextmanager
def running_bench(
    database_url: str | None = None, code: Path = REPO, scale: tuple[str, int] | None = None
) -> Iterator[Bench]:
    """The platform in a temp dir and a vhost of its own, with ``scale``'s extra instances,
    every work queue consumed, and a listener bound; a warm-up batch of 100 through it."""
    database = {"DATABASE_URL": database_url} if database_url else {}
    with (
        tempfile.TemporaryDirectory(prefix="civicflow-bench-") as data,
        running_processes(Path(data), ALL_SERVICES, BASE_AMQP_URI, code, **database) as platform,
    ):
        if scale is not None:
            for instance in range(2, scale[1] + 1):
                platform.start(scale[0], instance)
        uri = platform.env["AMQP_URI"]
        for service, queue in WORK_QUEUES.items():
            count = scale[1] if scale and scale[0] == service else 1
            wait_for_consumers(uri, queue, count)
        grids = [
            str(row[0])
            for row in platform.rows(
                "grid", "SELECT code FROM units WHERE level = 'grid' ORDER BY code"
            )
        ]
        listener = Listener(uri)
        try:
            bench = Bench(platform, listener, grids)
            bench.phase("warm-up", submissions(MIX, 100, grids), 16, 120)
            yield bench
        finally:
            listener.stop()


@contextmanager
def postgres() -> Iterator[str | None]:
    """A scratch PostgreSQL database for the services (psycopg2, green), or None."""
    with postgres_database() as url:
        yield url.replace("postgresql://", "postgresql+psycopg2://", 1) if url else None


@dataclass(frozen=True)
class Sizes:
    cases: int = 3000
    clients: int = 16
    latency_rate: float = 50.0
    latency_seconds: float = 30.0
    timeout: float = 120.0


def e2e_sqlite(parts: Sequence[str], sizes: Sizes, code: Path = REPO) -> dict[str, Any]:
    """On SQLite, one platform: the four lines mixed, 12345 tickets alone over a new
    connection each, and the latency at a steady rate; the parts asked for."""
    figures: dict[str, Any] = {}
    with running_bench(code=code) as bench:
        if "e2e" in parts:
            figures["e2e_sqlite"] = bench.throughput(
                "four lines mixed", MIX, sizes.cases, sizes.clients, sizes.timeout
            )
        if "hotline" in parts:
            figures["e2e_hotline_http"] = bench.throughput(
                "12345 tickets alone",
                HOTLINE_ONLY,
                sizes.cases,
                sizes.clients,
                sizes.timeout,
                keep_alive=False,
            )
        if "latency" in parts:
            figures["latency"] = bench.latency(
                sizes.latency_rate, sizes.latency_seconds, sizes.timeout
            )
    return figures


def e2e_postgres(parts: Sequence[str], sizes: Sizes, scale_service: str) -> dict[str, Any]:
    """On PostgreSQL: the four lines mixed, then ``scale_service`` at 2 and 3 instances."""
    figures: dict[str, Any] = {}
    rows = []
    for instances in (1, 2, 3) if "scaling" in parts else (1,):
        with postgres() as url:
            if url is None:
                log("PostgreSQL does not answer: no figures on it")
                return figures
            scale = (scale_service, instances) if instances > 1 else None
            with running_bench(url, scale=scale) as bench:
                measured = bench.throughput(
                    f"PostgreSQL, {scale_service} x{instances}",
                    MIX,
                    sizes.cases,
                    sizes.clients,
                    sizes.timeout,
                )
        if instances == 1:
            figures["e2e_postgres"] = measured
        rows.append(
            {
                "instances": instances,
                "cases_per_s": measured["cases_per_s"],
                "service_cpu_percent": measured["per_service"][scale_service]["cpu_percent"],
            }
        )
    if "scaling" in parts:
        figures["scaling"] = {"service": scale_service, "database": "postgresql", "rows": rows}
    return figures


def lines_of(mix: Mix) -> dict[str, int]:
    return {line.channel: weight for line, _, weight in mix}
