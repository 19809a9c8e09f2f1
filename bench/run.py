"""civicflow benchmark: end-to-end case throughput and latency against a raw pika hop, a plain
nameko hop and a kit hop on the same broker, and the figures of each part of the platform.

Run from the repository root as ``.venv/bin/python bench/run.py`` (``make bench``). Prints ONE
JSON line on stdout (also written to ``bench/results/latest.json``); progress goes to stderr.
Every platform the run starts gets its own RabbitMQ vhost, its own database (SQLite files in a
temp data dir, or a scratch PostgreSQL database) and its own free HTTP ports, so it never
clashes with a running ``civicflow up``; all of it is removed at the end, on failure too.

Measured (``bench/README.md`` documents every key):

* ``raw_pika_hop_msgs_per_s``: one durable queue, a publisher with confirms sending persistent
  ~1 KB JSON messages, a consumer with manual acks (prefetch 100) on its own connection; from
  the first publish to the last ack.
* ``nameko_single_hop_events_per_s``, ``kit_single_hop_events_per_s``: the same publisher into
  a nameko service in a process of its own, handled by a plain ``nameko.events.event_handler``,
  and by the kit's ``on_event`` with ``Database`` and ``first_time`` (``bench/nameko_hop.py``).
* ``e2e_cases_per_s`` (= ``e2e_sqlite_cases_per_s``), ``e2e_postgres_cases_per_s``: the four
  lines mixed (40 % hotline tickets over HTTP, 30 % grid reports over AMQP, 15 % opinion items,
  15 % petitions over HTTP) into the whole platform, closed loop, until dispatch has routed every
  case (``bench/e2e.py``); ``e2e_by_line``; ``e2e_per_service``: CPU and peak RSS of each
  service meanwhile; ``ratio``: e2e over the raw hop.
* ``latency_at_50_per_s_ms``: on the SQLite platform, 50 cases a second for 30 s, open loop;
  per case from its ``case.received``'s ``occurred_at`` to its routing outcome.
* ``scaling``: the service with the most CPU per case at 1, 2 and 3 instances
  (``civicflow up --scale``), on PostgreSQL when it answers.
* ``intake_*``: intake alone, over HTTP and draining ``civicflow.inbound``; ``locate_*``,
  ``demo_import_s``: ``bench/grid.py``; ``routing_*``: ``bench/routing.py``; ``clock_scan_*``:
  ``bench/clocks.py``; ``notify_*``: ``bench/notify.py``.
* ``goals``: whether the figures meet the goals stated for them (null: the part did not run),
  and ``goal_figures``: each goal's figure, threshold and comparison.

``--profile DIR`` samples every service with py-spy during the SQLite e2e measure phase and
summarises where our code spends its time. ``--only PART`` (repeatable, or comma-separated)
runs some parts only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pika
from clocks import run_clock_scan_bench  # bench/clocks.py: bench/ is first on sys.path
from e2e import E2E_KEYS, E2eOptions, run_e2e_parts
from grid import run_grid_bench  # bench/grid.py
from harness import (
    BENCH_DIR,
    DEFAULT_AMQP_URI,
    HEALTH_TIMEOUT_S,
    LISTENER_READY_TIMEOUT_S,
    MAX_ERRORS_SHOWN,
    SERVICES,
    BenchError,
    BrokerTarget,
    amqp_channel,
    bench_vhost,
    child_pid,
    civicflow_up,
    cpu_seconds,
    free_ports,
    log,
    platform_env,
    queue_depth,
    random_mobiles,
    run_civicflow,
    tail,
    wait_for_consumer,
    wait_until_healthy,
)
from lines import Submission, hotline_submission, send_batch
from nameko_hop import run_hops
from notify import run_notify_bench  # bench/notify.py
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties
from routing import run_routing_bench  # bench/routing.py

RESULTS_PATH = BENCH_DIR / "results" / "latest.json"
RAW_MESSAGE_BYTES = 1024

# Intake alone, over HTTP and from civicflow.inbound.
INTAKE = "intake"
INBOUND_EXCHANGE = "civicflow.inbound"
INBOUND_QUEUE = "civicflow.inbound.intake"
INBOUND_REJECTED_QUEUE = "civicflow.inbound.rejected"
HOTLINE_SOURCE = "hotline"
HOTLINE_ROUTING_KEY = "hotline.ticket"
INTAKE_COMMAND = "civicflow run intake"  # the command line of the service child of `up`
INTAKE_PUBLISHERS = 4  # confirmed publishers (one connection each) filling the inbound queue
QUEUE_POLL_S = 0.02
STORED_WAIT_S = 30.0
STORED_QUERY = "SELECT count(*) FROM submissions WHERE transport = 'amqp'"


@dataclass(frozen=True)
class Goal:
    """A goal stated for a figure: ``figure op threshold`` must hold."""

    name: str
    figure: str
    op: str  # ">=", "<" or "<="
    threshold: float

    def met(self, value: float) -> bool:
        if self.op == ">=":
            return value >= self.threshold
        if self.op == "<=":
            return value <= self.threshold
        return value < self.threshold


GOALS: tuple[Goal, ...] = (
    Goal("e2e_250", "e2e_cases_per_s", ">=", 250.0),
    Goal("e2e_postgres_250", "e2e_postgres_cases_per_s", ">=", 250.0),
    Goal("e2e_quarter_of_raw", "ratio", ">=", 0.25),
    Goal("latency_p99_250ms", "latency_at_50_per_s_p99_ms", "<=", 250.0),
    Goal("rss_250mb", "e2e_max_rss_mb", "<=", 250.0),
    Goal("intake_http_500", "intake_http_per_s", ">=", 500.0),
    Goal("intake_amqp_1000", "intake_amqp_drain_per_s", ">=", 1000.0),
    Goal("locate_20000", "locate_points_per_s", ">=", 20000.0),
    Goal("locate_rpc_p99_10ms", "locate_rpc_p99_ms", "<", 10.0),
    Goal("routing_10000", "routing_decisions_per_s", ">=", 10000.0),
    Goal("clock_scan_sqlite_1s", "clock_scan_sqlite_find_ms", "<", 1000.0),
    Goal("clock_scan_postgresql_1s", "clock_scan_postgresql_find_ms", "<", 1000.0),
    Goal("notify_50", "notify_one_instance_per_s", ">=", 50.0),
    Goal("notify_scaling_2_4", "notify_scaling", ">=", 2.4),
)
GRID_FIELDS = (
    "locate_points_per_s",
    "locate_rpc_p50_ms",
    "locate_rpc_p99_ms",
    "locate_rpc_rate",
    "locate_rpc_calls",
    "demo_import_s",
)
HOP_FIELDS = (
    "nameko_single_hop_events_per_s",
    "kit_single_hop_events_per_s",
    "nameko_drain_events_per_s",
    "kit_drain_events_per_s",
    "kit_over_nameko",
)
PARTS = (
    "raw",
    "hop",
    "routing",
    "e2e",
    "latency",
    "e2e-postgres",
    "scaling",
    "intake-http",
    "intake-amqp",
    "grid",
    "clocks",
    "notify",
)
ONLY_CHOICES: dict[str, tuple[str, ...]] = {
    **{part: (part,) for part in PARTS},
    "intake": ("intake-http", "intake-amqp"),
    "platform": ("e2e", "latency", "e2e-postgres", "scaling"),
}


# --------------------------------------------------------------------------- raw pika baseline


@dataclass
class AckCounter:
    """What the baseline consumer thread reports back."""

    expected: int
    acked: int = 0
    last_ack: float = 0.0
    error: BaseException | None = None
    ready: threading.Event = field(default_factory=threading.Event)


def raw_body(seq: int) -> bytes:
    """A ~1 KB JSON message shaped like a public event envelope."""
    envelope: dict[str, Any] = {
        "event_id": f"bench-{seq:08d}",
        "type": "bench.raw",
        "occurred_at": "2026-11-21T10:00:00+08:00",
        "schema_version": 1,
        "case_id": f"CF261121-{seq:06d}",
        "data": {"content": "小区楼下饭店油烟污染严重,请尽快处理", "padding": ""},
    }
    size = len(json.dumps(envelope, ensure_ascii=False).encode())
    envelope["data"]["padding"] = "x" * max(0, RAW_MESSAGE_BYTES - size)
    return json.dumps(envelope, ensure_ascii=False).encode()


def consume_and_ack(
    params: pika.URLParameters, queue_name: str, counter: AckCounter, deadline: float
) -> None:
    """Consumer thread: manual ack of every message, prefetch 100, until all are acked."""
    try:
        connection = pika.BlockingConnection(params)
        try:
            channel = connection.channel()
            channel.basic_qos(prefetch_count=100)

            def on_message(
                ch: BlockingChannel, method: Basic.Deliver, _props: BasicProperties, _body: bytes
            ) -> None:
                ch.basic_ack(delivery_tag=method.delivery_tag)
                counter.acked += 1
                if counter.acked == counter.expected:
                    counter.last_ack = time.perf_counter()

            channel.basic_consume(queue_name, on_message, auto_ack=False)
            counter.ready.set()
            while counter.acked < counter.expected and time.monotonic() < deadline:
                connection.process_data_events(time_limit=0.2)
            connection.process_data_events(time_limit=0)  # flush the last acks
        finally:
            with contextlib.suppress(Exception):
                connection.close()
    except BaseException as exc:  # reported to the main thread
        counter.error = exc
        counter.ready.set()


def run_raw_baseline(amqp_uri: str, messages: int, timeout: float) -> float:
    """Messages per second through one durable queue: confirmed persistent publish → manual ack."""
    params = pika.URLParameters(amqp_uri)
    queue_name = f"bench.raw.{secrets.token_hex(4)}"
    bodies = [raw_body(seq) for seq in range(messages)]
    properties = BasicProperties(delivery_mode=2, content_type="application/json")
    log(f"raw baseline: {messages} persistent ~{len(bodies[0])} B messages via {queue_name}")
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.queue_declare(queue_name, durable=True)
        try:
            counter = AckCounter(expected=messages)
            deadline = time.monotonic() + timeout
            consumer = threading.Thread(
                target=consume_and_ack,
                args=(params, queue_name, counter, deadline),
                name="raw-consumer",
                daemon=True,
            )
            consumer.start()
            if not counter.ready.wait(LISTENER_READY_TIMEOUT_S) or counter.error:
                raise BenchError(f"raw baseline consumer did not start: {counter.error!r}")
            channel.confirm_delivery()
            started = time.perf_counter()
            for body in bodies:
                channel.basic_publish("", queue_name, body, properties)
            published = time.perf_counter()
            consumer.join(max(0.0, deadline - time.monotonic()) + 5)
            if counter.error:
                raise BenchError(f"raw baseline consumer failed: {counter.error!r}")
            if counter.acked < messages:
                raise BenchError(
                    f"raw baseline: only {counter.acked}/{messages} acked in {timeout:.0f}s"
                )
            elapsed = counter.last_ack - started
            log(
                f"raw baseline: published+confirmed in {published - started:.2f}s, "
                f"all acked after {elapsed:.2f}s"
            )
            return messages / elapsed
        finally:
            with contextlib.suppress(Exception):
                channel.queue_delete(queue_name)
    finally:
        with contextlib.suppress(Exception):
            connection.close()


# --------------------------------------------------------------------------- intake alone


@dataclass(frozen=True)
class IntakeHttpResult:
    """The measured batch of POSTs to intake alone."""

    requests: int
    created: int  # HTTP 202
    failed: int
    seconds: float
    cpu_ms_per_request: float | None

    @property
    def rate(self) -> float:
        return self.created / self.seconds


@dataclass(frozen=True)
class IntakeAmqpResult:
    """The inbound queue drained by intake alone."""

    messages: int
    seconds: float
    rejected: int
    stored: int | None

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


@dataclass(frozen=True)
class IntakeResult:
    """What the intake parts measured; None for a part that did not run."""

    http: IntakeHttpResult | None
    amqp: IntakeAmqpResult | None


def measure_intake_http(
    process: subprocess.Popen[bytes],
    port: int,
    items: Sequence[Submission],
    warmup: int,
    concurrency: int,
    timeout: float,
) -> IntakeHttpResult:
    """POST the first ``warmup`` tickets, then measure the rest: 202s over the batch's wall
    time, and the CPU the ``civicflow run intake`` child of ``process`` spent meanwhile."""
    if warmup:
        warm = send_batch(items[:warmup], "", [port], concurrency, time.monotonic() + timeout)
        if warm.errors:
            shown = "\n  ".join(warm.errors[:MAX_ERRORS_SHOWN])
            raise BenchError(f"intake warm-up: {len(warm.errors)} submissions failed:\n  {shown}")
    measured = items[warmup:]
    pid = child_pid(process.pid, INTAKE_COMMAND)
    if pid is None:
        log(f"warning: no `{INTAKE_COMMAND}` child of civicflow up found: no CPU figure")
    cpu_before = cpu_seconds(pid) if pid is not None else None
    log(f"intake http: submitting {len(measured)} tickets over {concurrency} connections")
    started = time.perf_counter()
    pool = send_batch(measured, "", [port], concurrency, time.monotonic() + timeout)
    finished = max((sent.accepted for sent in pool.sent), default=time.perf_counter())
    cpu_after = cpu_seconds(pid) if pid is not None else None
    seconds = finished - started
    if pool.errors:
        shown = "\n  ".join(pool.errors[:MAX_ERRORS_SHOWN])
        log(f"intake http: {len(pool.errors)} submissions failed, e.g.:\n  {shown}")
    created = sum(1 for sent in pool.sent if not sent.duplicate)
    if not created:
        raise BenchError("intake http: no ticket was answered 202")
    cpu_ms = (
        (cpu_after - cpu_before) * 1000.0 / len(measured)
        if cpu_before is not None and cpu_after is not None
        else None
    )
    result = IntakeHttpResult(
        requests=len(measured),
        created=created,
        failed=len(pool.errors),
        seconds=seconds,
        cpu_ms_per_request=cpu_ms,
    )
    cpu_note = f", {cpu_ms:.2f} ms CPU per request" if cpu_ms is not None else ""
    log(
        f"intake http: {result.created}/{result.requests} answered 202 in {seconds:.2f}s "
        f"({result.rate:.1f}/s){cpu_note}"
    )
    return result


def publish_tickets(amqp_uri: str, tickets: Sequence[tuple[str, bytes]], publishers: int) -> None:
    """Publish (ticket_no, body) pairs to ``civicflow.inbound`` as a hotline system does:
    persistent, confirmed, mandatory; ``publishers`` connections in parallel."""
    params = pika.URLParameters(amqp_uri)

    def publish(share: Sequence[tuple[str, bytes]]) -> None:
        connection = pika.BlockingConnection(params)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            for external_id, body in share:
                properties = BasicProperties(
                    content_type="application/json",
                    delivery_mode=2,
                    message_id=external_id,
                    app_id=HOTLINE_SOURCE,
                )
                channel.basic_publish(
                    INBOUND_EXCHANGE, HOTLINE_ROUTING_KEY, body, properties, mandatory=True
                )
        finally:
            with contextlib.suppress(Exception):
                connection.close()

    shares = [tickets[n::publishers] for n in range(publishers)]
    with ThreadPoolExecutor(max_workers=publishers, thread_name_prefix="inbound-pub") as pool:
        for future in [pool.submit(publish, share) for share in shares]:
            try:
                future.result()
            except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
                raise BenchError(f"publishing to {INBOUND_EXCHANGE}: {exc!r}") from None


def stored_from_amqp(db_path: Path) -> int | None:
    """Submissions intake stored from AMQP, read from its SQLite file (WAL: readers never block
    the writer); None if it cannot be read."""
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        ) as connection:
            row = connection.execute(STORED_QUERY).fetchone()
    except sqlite3.Error as exc:
        log(f"warning: cannot count intake's submissions in {db_path}: {exc}")
        return None
    return int(row[0])


def measure_intake_drain(
    amqp_uri: str,
    env: Mapping[str, str],
    log_path: Path,
    db_path: Path,
    bodies: Sequence[bytes],
    timeout: float,
) -> IntakeAmqpResult:
    """With intake stopped, fill its inbound queue with ``bodies``; start intake and time the
    queue from its first drop in depth to empty (a passive declare every 20 ms)."""
    expected = len(bodies)
    tickets = [(json.loads(body)["ticket_no"], body) for body in bodies]
    with amqp_channel(amqp_uri) as channel:
        left = queue_depth(channel, INBOUND_QUEUE)
        rejected_before = queue_depth(channel, INBOUND_REJECTED_QUEUE)
    if left or rejected_before:
        raise BenchError(
            f"{INBOUND_QUEUE} holds {left} and {INBOUND_REJECTED_QUEUE} {rejected_before} "
            "messages before the drain"
        )
    log(f"intake amqp: publishing {expected} tickets to {INBOUND_EXCHANGE}")
    started = time.perf_counter()
    publish_tickets(amqp_uri, tickets, INTAKE_PUBLISHERS)
    published = time.perf_counter() - started
    with amqp_channel(amqp_uri) as channel:
        depth = queue_depth(channel, INBOUND_QUEUE)
        log(f"intake amqp: published and confirmed in {published:.2f}s; queue depth {depth}")
        if depth != expected:
            raise BenchError(f"{INBOUND_QUEUE} holds {depth} messages, not {expected}")
        log("intake amqp: starting intake")
        with civicflow_up(env, log_path, [INTAKE]) as process:
            deadline = time.monotonic() + timeout
            first_drop: float | None = None
            next_poll = time.perf_counter()
            while True:
                depth = queue_depth(channel, INBOUND_QUEUE)
                now = time.perf_counter()
                if first_drop is None and depth < expected:
                    first_drop = now
                if depth == 0:
                    break
                if process.poll() is not None:
                    raise BenchError(
                        f"civicflow up exited with {process.returncode} while {depth} messages "
                        f"were left. Tail of {log_path}:\n{tail(log_path)}"
                    )
                if time.monotonic() > deadline:
                    raise BenchError(f"intake amqp: {depth}/{expected} left after {timeout:.0f}s")
                next_poll += QUEUE_POLL_S
                time.sleep(max(0.0, next_poll - time.perf_counter()))
            assert first_drop is not None  # depth went from `expected` to 0
            seconds = max(now - first_drop, QUEUE_POLL_S)
            log(f"intake amqp: queue drained in {seconds:.2f}s ({expected / seconds:.1f}/s)")
            # Depth 0 counts ready messages: up to a prefetch of them may still be in hand.
            rejected = queue_depth(channel, INBOUND_REJECTED_QUEUE)
            settle_by = time.monotonic() + STORED_WAIT_S
            stored = stored_from_amqp(db_path)
            while stored is not None and stored + rejected < expected:
                if time.monotonic() > settle_by:
                    break
                time.sleep(0.2)
                rejected = queue_depth(channel, INBOUND_REJECTED_QUEUE)
                stored = stored_from_amqp(db_path)
            log("intake amqp: stopping intake")
    if rejected:
        log(f"warning: {rejected} tickets were parked in {INBOUND_REJECTED_QUEUE}")
    if stored is not None and stored + rejected != expected:
        log(f"warning: intake stored {stored} + rejected {rejected} of {expected} messages")
    return IntakeAmqpResult(messages=expected, seconds=seconds, rejected=rejected, stored=stored)


def run_intake(
    target: BrokerTarget,
    parts: Sequence[str],
    tickets: int,
    warmup: int,
    messages: int,
    concurrency: int,
    timeout: float,
    keep_data: bool,
) -> IntakeResult:
    """Intake alone in a vhost and data dir of its own: the HTTP part (``civicflow up intake``
    started, measured, stopped with SIGINT), then the AMQP drain on the inbound queue that run
    declared. With only the drain asked for, intake is started once just to declare it."""
    http_result: IntakeHttpResult | None = None
    amqp_result: IntakeAmqpResult | None = None
    with bench_vhost(target) as vhost:
        amqp_uri = target.uri_for_vhost(vhost)
        data_dir = Path(tempfile.mkdtemp(prefix="civicflow-bench-intake-"))
        failed = True
        try:
            port = free_ports(1)[0]
            env = platform_env(amqp_uri, data_dir, {INTAKE: port})
            log_path = data_dir / "up.log"
            log(f"intake alone: data dir {data_dir}, port {port}")
            run_civicflow(["migrate", INTAKE], env, log_path)
            run_id = secrets.token_hex(3)
            http_count = warmup + tickets if "intake-http" in parts else 0
            amqp_count = messages if "intake-amqp" in parts else 0
            phones = random_mobiles(http_count + amqp_count)
            with civicflow_up(env, log_path, [INTAKE]) as process:
                try:
                    wait_until_healthy(process, {INTAKE: port}, log_path, "intake")
                    wait_for_consumer(amqp_uri, INBOUND_QUEUE, HEALTH_TIMEOUT_S)
                    if http_count:
                        items = [
                            hotline_submission(f"H{run_id}", seq, phones[seq])
                            for seq in range(http_count)
                        ]
                        http_result = measure_intake_http(
                            process, port, items, warmup, concurrency, timeout
                        )
                finally:
                    log("stopping intake")
            if process.returncode:
                log(f"note: civicflow up intake exited with {process.returncode}")
            if amqp_count:
                bodies = [
                    hotline_submission(f"A{run_id}", seq, phones[http_count + seq]).body
                    for seq in range(amqp_count)
                ]
                amqp_result = measure_intake_drain(
                    amqp_uri, env, log_path, data_dir / f"{INTAKE}.db", bodies, timeout
                )
            failed = False
        finally:
            if failed or keep_data:
                log(f"intake data dir and up.log kept in {data_dir}")
            else:
                shutil.rmtree(data_dir, ignore_errors=True)
    return IntakeResult(http=http_result, amqp=amqp_result)


# --------------------------------------------------------------------------- grid


def run_grid(amqp_uri: str, keep_data: bool) -> dict[str, Any]:
    """The grid figures of ``bench/grid.py`` (its own data dir and ``civicflow run grid``, on
    this run's vhost); its failures become :class:`BenchError`."""
    log("grid: bench/grid.py (demo import, locate in process and over RPC)")
    try:
        figures = run_grid_bench(amqp_uri, keep_data=keep_data)
    except (RuntimeError, TimeoutError) as exc:
        raise BenchError(f"grid bench: {exc}") from exc
    missing = [name for name in GRID_FIELDS if name not in figures]
    invalid = [
        name
        for name, value in figures.items()
        if isinstance(value, float) and not math.isfinite(value)
    ]
    if missing or invalid:
        raise BenchError(f"grid bench: figures missing {missing} or not finite {invalid}")
    return figures


def goals_met(result: Mapping[str, Any]) -> tuple[dict[str, bool | None], dict[str, Any]]:
    """Each goal of :data:`GOALS` against the reported figure (None when it was not
    measured), and what each was judged on: the figure's key, its value, the comparison."""
    met: dict[str, bool | None] = {}
    judged: dict[str, Any] = {}
    for goal in GOALS:
        value = result.get(goal.figure)
        met[goal.name] = None if value is None else goal.met(float(value))
        judged[goal.name] = {
            "figure": goal.figure,
            "value": value,
            "op": goal.op,
            "threshold": goal.threshold,
        }
    return met, judged


# --------------------------------------------------------------------------- entry point


def parse_only(values: Sequence[str] | None) -> tuple[str, ...]:
    """The parts ``--only`` names (repeated, or comma-separated), in the order they run; every
    part when none is named. Raises ValueError naming an unknown part."""
    if not values:
        return PARTS
    chosen: set[str] = set()
    for value in values:
        for name in filter(None, (item.strip() for item in value.split(","))):
            if name not in ONLY_CHOICES:
                raise ValueError(f"unknown part {name!r} (choose from {', '.join(ONLY_CHOICES)})")
            chosen.update(ONLY_CHOICES[name])
    return tuple(part for part in PARTS if part in chosen)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    counted = (
        # 3,000: at about 280 a second 1,000 cases took under 4 s, so ramping up and draining
        # weighed on the figure (it read 10 % lower than the steady state)
        ("--cases", 3000, "cases measured end to end, the four lines mixed (default 3000)"),
        ("--warmup", 100, "cases sent and routed before measuring, per platform (default 100)"),
        ("--concurrency", 16, "client threads of closed-loop phases (default 16)"),
        ("--raw-messages", 20000, "messages of the raw baseline (default 20000)"),
        ("--hop-events", 3000, "events through each single-hop service (default 3000)"),
        ("--intake-tickets", 3000, "measured tickets POSTed to intake alone (default 3000)"),
        ("--intake-warmup", 100, "tickets POSTed to intake alone before measuring (default 100)"),
        ("--intake-messages", 20000, "tickets published for intake's drain (default 20000)"),
    )
    for flag, default, text in counted:
        parser.add_argument(flag, type=int, default=default, help=text)
    parser.add_argument(  # the old name of --cases
        "--tickets", type=int, dest="cases", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--latency-rate",
        type=float,
        default=50.0,
        help="cases per second offered in the latency phase (default 50)",
    )
    parser.add_argument(
        "--latency-seconds",
        type=float,
        default=30.0,
        help="length of the latency phase in seconds (default 30)",
    )
    parser.add_argument(
        "--scaling-cases",
        type=int,
        help="cases per scaling step (default: --cases; then 1 instance is the PostgreSQL e2e)",
    )
    parser.add_argument(
        "--scale-service",
        choices=SERVICES,
        help="the service to scale (default: the one with the most CPU per case in e2e)",
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds allowed per phase (default 120)"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="PART[,PART]",
        help="run only these parts (repeat it, or separate them with commas): "
        + ", ".join(ONLY_CHOICES)
        + "; intake is intake-http and intake-amqp, platform is e2e, latency, e2e-postgres "
        "and scaling",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy every service during the SQLite e2e measure phase; profiles and "
        "summary.txt in DIR",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS_PATH,
        help=f"where the JSON report is also written (default {RESULTS_PATH})",
    )
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the temp data dirs and up.log"
    )
    args = parser.parse_args(argv)
    at_least_one = ("cases", "concurrency", "raw_messages", "hop_events", "intake_tickets")
    for name in (*at_least_one, "intake_messages"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0 or args.intake_warmup < 0 or args.timeout <= 0:
        parser.error("--warmup and --intake-warmup must be >= 0 and --timeout > 0")
    if args.latency_rate <= 0 or args.latency_seconds <= 0:
        parser.error("--latency-rate and --latency-seconds must be > 0")
    if args.scaling_cases is not None and args.scaling_cases < 1:
        parser.error("--scaling-cases must be at least 1")
    try:
        args.parts = parse_only(args.only)
    except ValueError as exc:
        parser.error(f"--only: {exc}")
    return args


def run_notify_on_postgres_or_sqlite(amqp_uri: str) -> dict[str, Any]:
    """Several notify instances share one database: PostgreSQL when it answers, where they
    write side by side; SQLite (one writer at a time) otherwise."""
    from clocks import postgres_database

    with postgres_database() as url:
        return run_notify_bench(amqp_uri, url)


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Every part asked for, one after the other on one broker (every platform and intake
    alone in a vhost of its own, the rest in the run's vhost); the report as a dict."""
    target = BrokerTarget.from_uri(os.environ.get("AMQP_URI", DEFAULT_AMQP_URI))
    parts: Sequence[str] = args.parts
    log(f"parts: {', '.join(parts)}")
    raw_rate: float | None = None
    hops: dict[str, Any] = dict.fromkeys(HOP_FIELDS)
    e2e: dict[str, Any] = dict.fromkeys(E2E_KEYS)
    intake = IntakeResult(http=None, amqp=None)
    grid_figures: dict[str, Any] = dict.fromkeys(GRID_FIELDS)
    routing: dict[str, Any] = {"routing_decisions_per_s": None}
    if "routing" in parts:  # in process, no broker: dispatch's decision as a pure function
        log("routing: decide() over a mix of the four lines, in process")
        routing = run_routing_bench()
    clocks: dict[str, Any] = {"clock_scan_sqlite_find_ms": None}
    notify_figures: dict[str, Any] = {"notify_one_instance_per_s": None}
    with bench_vhost(target) as vhost:
        amqp_uri = target.uri_for_vhost(vhost)
        if "raw" in parts:  # first, while no platform process competes for the CPU
            raw_rate = run_raw_baseline(amqp_uri, args.raw_messages, args.timeout)
        if "hop" in parts:
            hops = run_hops(amqp_uri, args.hop_events, args.timeout, args.keep_data)
        if any(part in parts for part in ("e2e", "latency", "e2e-postgres", "scaling")):
            options = E2eOptions(
                cases=args.cases,
                warmup=args.warmup,
                concurrency=args.concurrency,
                timeout=args.timeout,
                keep_data=args.keep_data,
                latency_rate=args.latency_rate,
                latency_seconds=args.latency_seconds,
                profile_dir=args.profile,
            )
            e2e = run_e2e_parts(target, parts, options, args.scale_service, args.scaling_cases)
        if "intake-http" in parts or "intake-amqp" in parts:
            intake = run_intake(
                target,
                parts,
                args.intake_tickets,
                args.intake_warmup,
                args.intake_messages,
                args.concurrency,
                args.timeout,
                args.keep_data,
            )
        if "grid" in parts:  # no other part shares the CPU with it
            grid_figures.update(run_grid(amqp_uri, args.keep_data))
        if "notify" in parts:
            log("notify: a 100 ms SMS provider, one instance then three (civicflow run notify)")
            notify_figures = run_notify_on_postgres_or_sqlite(amqp_uri)
    if "clocks" in parts:  # last: writing a million rows leaves the disk and PostgreSQL busy
        log("clocks: 1,000,000 open clocks, the due ones found and scanned (SQLite, PostgreSQL)")
        clocks = run_clock_scan_bench()
    e2e_rate = e2e["e2e_cases_per_s"]
    http, amqp = intake.http, intake.amqp
    headline = ("e2e_cases_per_s", "e2e_sqlite_cases_per_s", "e2e_postgres_cases_per_s")
    result: dict[str, Any] = {
        "raw_pika_hop_msgs_per_s": round(raw_rate, 1) if raw_rate is not None else None,
        **hops,
        **{key: e2e[key] for key in headline},
        "ratio": round(e2e_rate / raw_rate, 4) if e2e_rate is not None and raw_rate else None,
        **{key: value for key, value in e2e.items() if key not in headline},
        "intake_http_per_s": round(http.rate, 1) if http else None,
        "intake_http_cpu_ms_per_request": round(http.cpu_ms_per_request, 2)
        if http and http.cpu_ms_per_request is not None
        else None,
        "intake_amqp_drain_per_s": round(amqp.rate, 1) if amqp else None,
        "intake_amqp_rejected": amqp.rejected if amqp else None,
        **grid_figures,
        **routing,
        **clocks,
        **notify_figures,
        "concurrency": args.concurrency if e2e_rate is not None or http else None,
        "raw_messages": args.raw_messages if raw_rate is not None else None,
        "hop_events": args.hop_events if hops["kit_single_hop_events_per_s"] else None,
        "intake_http_tickets": http.requests if http else None,
        "intake_http_failed": http.failed if http else None,
        "intake_amqp_messages": amqp.messages if amqp else None,
        "intake_amqp_stored": amqp.stored if amqp else None,
        "parts": list(parts),
        "broker": target.address,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    result["goals"], result["goal_figures"] = goals_met(result)
    return result


def save_report(result: Mapping[str, Any], path: Path) -> None:
    """The report as pretty JSON at ``path`` (``bench/results`` is gitignored); a failure to
    write is logged, the report is printed anyway."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
        os.replace(partial, path)
        log(f"report written to {path}")
    except OSError as exc:
        log(f"warning: could not write {path}: {exc}")


def raise_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM unwinds like Ctrl-C, so the platform is stopped and the vhost deleted."""
    log("SIGTERM: cleaning up")
    raise SystemExit(128 + signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, raise_on_sigterm)
    started = time.monotonic()
    try:
        result = run_bench(args)
    except BenchError as exc:
        log(f"FAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except (pika.exceptions.AMQPError, OSError) as exc:
        log(f"FAILED: broker or system error: {exc!r}")
        return 1
    result["bench_seconds"] = round(time.monotonic() - started, 1)
    log(f"done in {result['bench_seconds']:.1f}s")
    save_report(result, args.results)
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
