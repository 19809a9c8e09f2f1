"""End to end with the four lines mixed: the whole platform (``civicflow up``) on SQLite and on
PostgreSQL, its throughput, its latency at a steady offered rate, what each service spends,
and how the busiest service scales with more instances.

A case counts when dispatch has routed it: its first ``case.dispatched`` (public exchange
``civicflow.events``), or, for a case routing only suggests, ``case.awaiting_dispatch`` (the
one click a person owes), or ``case.resolved_on_site``; those two are internal events, heard on
``dispatch.events``. Cases are matched to submissions by ``case.received`` (``civicflow.events``:
its ``source`` and ``external_id``), so grid reports published to ``civicflow.inbound`` count
like the tickets intake answered over HTTP. One exclusive queue of the bench is bound to all of
it before anything is submitted.

Every platform gets a vhost and a database of its own (SQLite files in a temp data dir, or a
scratch PostgreSQL database), migrated and loaded with the demo county before ``civicflow up``.
"""

from __future__ import annotations

import contextlib
import json
import random
import secrets
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pika
from harness import (
    LISTENER_READY_TIMEOUT_S,
    MAX_ERRORS_SHOWN,
    PUBLIC_EXCHANGE,
    SERVICES,
    BenchError,
    BrokerTarget,
    bench_vhost,
    civicflow_up,
    free_ports,
    log,
    percentile,
    platform_env,
    random_mobiles,
    run_civicflow,
    service_pids,
    wait_for_consumer,
    wait_quiet,
    wait_until_healthy,
)
from lines import (
    DEFAULT_MIX,
    LineShare,
    SendPool,
    Sent,
    Submission,
    by_line,
    make_submissions,
    send_batch,
)
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties
from procstats import (
    MachineSample,
    Profiler,
    ServiceLoad,
    cpu_by_pid,
    heaviest,
    machine_figures,
    service_loads,
)

RECEIVED = "case.received"
OUTCOMES: dict[str, tuple[str, str]] = {  # event type -> (exchange it is heard on, outcome)
    "case.dispatched": (PUBLIC_EXCHANGE, "dispatched"),
    "case.awaiting_dispatch": ("dispatch.events", "awaiting_dispatch"),
    "case.resolved_on_site": ("dispatch.events", "resolved_on_site"),
}
DEFAULT_PORT_STEP = 100
PORT_TRIES = 50
QUIET_TIMEOUT_S = 30.0
LATENCY_SENDERS = 64  # open loop: clients enough that none is waited for at 50/s
LATENCY_GOAL_MS = 250.0
# The queue that shows a service consumes (its instances each add a consumer).
WORK_QUEUES: dict[str, str] = {
    "intake": "civicflow.inbound.intake",
    "dispatch": "dispatch.route_case",
    "grid": "rpc-grid",
    "supervision": "supervision.follow_case",
    "notify": "notify.tell",
    "console": "console.count_for_the_screen",
}
CONSUMERS_TIMEOUT_S = 30.0
POSTGRES_FULL = "too many clients already"  # PostgreSQL refusing a connection


# --------------------------------------------------------------------------- the listener


@dataclass
class CaseSeen:
    """One case as the listener heard it: ``case.received`` (wall clock of its
    ``occurred_at``, perf_counter of its arrival) and its routing outcome."""

    case_id: str
    channel: str
    received_at: float  # time.time() scale: the event's occurred_at
    outcome: str | None = None
    outcome_arrival: float = 0.0  # perf_counter
    outcome_wall: float = 0.0  # time.time()
    outcome_occurred: float = 0.0  # time.time() scale: when dispatch decided (its occurred_at)


class RoutingListener(threading.Thread):
    """Hears ``case.received`` and each case's routing outcome on an exclusive queue of its
    own. Its own connection: pika objects never cross threads."""

    def __init__(self, amqp_uri: str) -> None:
        super().__init__(name="routing-listener", daemon=True)
        self.params = pika.URLParameters(amqp_uri)
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.case_of: dict[tuple[str, str], str] = {}  # (source, external id) -> case id
        self.cases: dict[str, CaseSeen] = {}
        # an outcome heard before its case.received
        self.early: dict[str, tuple[str, float, float, float]] = {}
        self.duplicates = 0
        self.malformed = 0
        self._stop_requested = threading.Event()
        self._changed = threading.Condition()

    def run(self) -> None:
        try:
            connection = pika.BlockingConnection(self.params)
            try:
                channel = connection.channel()
                declared = channel.queue_declare("", exclusive=True, auto_delete=True)
                queue_name = declared.method.queue
                bindings = [(PUBLIC_EXCHANGE, RECEIVED)] + [
                    (exchange, event_type) for event_type, (exchange, _) in OUTCOMES.items()
                ]
                for exchange, routing_key in bindings:
                    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
                    channel.queue_bind(queue_name, exchange, routing_key=routing_key)
                channel.basic_consume(queue_name, self._on_message, auto_ack=True)
                self.ready.set()
                while not self._stop_requested.is_set():
                    connection.process_data_events(time_limit=0.2)
            finally:
                with contextlib.suppress(Exception):
                    connection.close()
        except BaseException as exc:  # reported to the waiting thread
            self.error = exc
            self.ready.set()
            with self._changed:
                self._changed.notify_all()

    def _on_message(
        self, _ch: BlockingChannel, _method: Basic.Deliver, _props: BasicProperties, body: bytes
    ) -> None:
        arrival, wall = time.perf_counter(), time.time()
        try:
            event = json.loads(body)
            case_id = str(event["case_id"])
            event_type = str(event["type"])
            occurred = datetime.fromisoformat(event["occurred_at"]).timestamp()
            if event_type == RECEIVED:
                data = event["data"]
                key = (str(data["source"]), str(data["external_id"]))
                channel = str(data["channel"])
        except (ValueError, KeyError, TypeError):
            self.malformed += 1
            return
        with self._changed:
            if event_type == RECEIVED:
                if case_id in self.cases:
                    self.duplicates += 1
                    return
                self.case_of[key] = case_id
                seen = self.cases[case_id] = CaseSeen(case_id, channel, occurred)
                if case_id in self.early:
                    (seen.outcome, seen.outcome_arrival, seen.outcome_wall,
                     seen.outcome_occurred) = self.early.pop(case_id)  # fmt: skip
            elif event_type in OUTCOMES:
                outcome = OUTCOMES[event_type][1]
                seen_or_none = self.cases.get(case_id)
                if seen_or_none is None:
                    self.early.setdefault(case_id, (outcome, arrival, wall, occurred))
                elif seen_or_none.outcome is None:
                    seen_or_none.outcome = outcome
                    seen_or_none.outcome_arrival, seen_or_none.outcome_wall = arrival, wall
                    seen_or_none.outcome_occurred = occurred
                else:
                    self.duplicates += 1
            self._changed.notify_all()

    def routed(self, key: tuple[str, str]) -> CaseSeen | None:
        """The case of a submission, once its outcome came; None before."""
        case_id = self.case_of.get(key)
        seen = self.cases.get(case_id) if case_id else None
        return seen if seen is not None and seen.outcome is not None else None

    def wait_for(self, keys: set[tuple[str, str]], deadline: float) -> set[tuple[str, str]]:
        """Block until every submission's case is routed or ``deadline`` (monotonic); the keys
        still missing."""
        missing = set(keys)
        with self._changed:
            while True:
                missing = {key for key in missing if self.routed(key) is None}
                if not missing or self.error or time.monotonic() >= deadline:
                    return missing
                self._changed.wait(min(0.5, max(0.0, deadline - time.monotonic())))

    def seen(self, key: tuple[str, str]) -> CaseSeen:
        with self._changed:
            found = self.routed(key)
            assert found is not None  # only asked after wait_for found it
            return found

    def stop(self) -> None:
        self._stop_requested.set()
        self.join(5)


@contextlib.contextmanager
def routing_listener(amqp_uri: str) -> Iterator[RoutingListener]:
    """A started, bound :class:`RoutingListener`, stopped on exit."""
    listener = RoutingListener(amqp_uri)
    listener.start()
    if not listener.ready.wait(LISTENER_READY_TIMEOUT_S) or listener.error:
        raise BenchError(f"could not listen for routed cases: {listener.error!r}")
    try:
        yield listener
    finally:
        listener.stop()


# --------------------------------------------------------------------------- the platform


@dataclass(frozen=True)
class Platform:
    """A running ``civicflow up``: where its instances answer, and what it runs on."""

    amqp_uri: str
    up_pid: int
    ports: dict[str, int]  # every instance by label (dispatch, or dispatch#1, dispatch#2 …)
    intake_ports: list[int]
    data_dir: Path
    database: str  # sqlite | postgresql

    def pids(self) -> dict[str, list[int]]:
        """The service processes now, by service."""
        return service_pids(self.up_pid)


def ports_free(ports: Sequence[int]) -> bool:
    """Whether each port can be bound on 127.0.0.1 now."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def choose_ports(scale: tuple[str, int] | None) -> tuple[dict[str, int], int, dict[str, int]]:
    """Free base ports for the six services, a ``--port-step`` that puts the extra instances
    of the scaled service on free ports no other service uses, and every instance's port by
    its label in ``civicflow up``."""
    rng = random.Random(secrets.randbits(32))
    for _ in range(PORT_TRIES):
        base = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
        labels = dict(base)
        if scale is None or scale[1] == 1:
            return base, DEFAULT_PORT_STEP, labels
        service, count = scale
        step = rng.randrange(101, 4000)
        extra = [base[service] + i * step for i in range(1, count)]
        every = [*base.values(), *extra]
        if max(extra) >= 65536 or len(set(every)) != len(every) or not ports_free(extra):
            continue
        del labels[service]
        for i in range(count):
            labels[f"{service}#{i + 1}"] = base[service] + i * step
        return base, step, labels
    raise BenchError(f"found no free ports for {scale[1] if scale else 1} instances")


def grid_codes(database_url: str) -> list[str]:
    """The codes of the demo county's grids (level ``grid``), read from grid's database."""
    from sqlalchemy import select

    from kit.db import Store
    from services.grid.models import TABLES, UnitRow

    store = Store(database_url, "grid", TABLES)
    try:
        with store.read() as session:
            query = select(UnitRow.code).where(UnitRow.level == "grid").order_by(UnitRow.code)
            return [str(code) for code in session.scalars(query)]
    finally:
        store.dispose()


def wait_for_work_queues(amqp_uri: str, instances: Mapping[str, int]) -> None:
    """Until each service's work queue has a consumer per instance: ``/healthz`` answers
    before the consumers are up. A queue not there in time is logged, not fatal (its name may
    have changed): the warm-up batch then makes sure the platform works."""
    for service, queue_name in WORK_QUEUES.items():
        try:
            wait_for_consumer(amqp_uri, queue_name, CONSUMERS_TIMEOUT_S, instances.get(service, 1))
        except BenchError as exc:
            log(f"warning: {service}: {exc}")


@contextlib.contextmanager
def running_platform(
    amqp_uri: str,
    data_dir: Path,
    database_url: str | None = None,
    scale: tuple[str, int] | None = None,
) -> Iterator[tuple[Platform, list[str]]]:
    """Migrate, load the demo county, start ``civicflow up`` (``--scale`` when asked) and
    wait until every instance is healthy and consuming; yields the platform and the demo
    county's grid codes. Stops the platform on exit, on failure too."""
    base, step, labels = choose_ports(scale)
    env = platform_env(amqp_uri, data_dir, base, database_url)
    log_path = data_dir / "up.log"
    database = "postgresql" if database_url else "sqlite"
    shown = f" (--scale {scale[0]}={scale[1]} --port-step {step})" if scale else ""
    log(f"platform on {database}{shown}: data dir {data_dir}, ports {labels}")
    run_civicflow(["migrate"], env, log_path)
    run_civicflow(["demo"], env, log_path)
    from kit.settings import Settings

    grid_url = Settings(database_url=database_url, data_dir=data_dir).database_url_for("grid")
    codes = grid_codes(grid_url)
    options = ["--scale", f"{scale[0]}={scale[1]}", "--port-step", str(step)] if scale else []
    with civicflow_up(env, log_path, options=options) as process:
        try:
            wait_until_healthy(process, labels, log_path)
            wait_for_work_queues(amqp_uri, {scale[0]: scale[1]} if scale else {})
            intake_ports = [port for label, port in labels.items() if label.startswith("intake")]
            yield (
                Platform(amqp_uri, process.pid, labels, intake_ports, data_dir, database),
                codes,
            )
        finally:
            log("stopping the platform")


def explain_missing(console_port: int, case_ids: Sequence[str]) -> str:
    """What the console (dev user admin) says about cases whose routing never came."""
    base = f"http://127.0.0.1:{console_port}/api/v1"
    try:
        login = urllib.request.Request(
            f"{base}/auth/login",
            data=json.dumps({"username": "admin", "password": "admin"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(login, timeout=5) as answer:
            token = json.loads(answer.read())["token"]
    except (OSError, ValueError, KeyError) as exc:
        return f"  (console login failed: {exc})"
    lines = []
    for case_id in case_ids:
        request = urllib.request.Request(
            f"{base}/cases/{case_id}", headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                case = json.loads(answer.read())
            lines.append(
                f"  {case_id}: status={case.get('status')!r} assignee={case.get('assignee')!r}"
            )
        except (OSError, ValueError) as exc:
            lines.append(f"  {case_id}: status unknown ({exc})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the phases


@dataclass(frozen=True)
class Routed:
    """A submission and its case, routed."""

    sent: Sent
    case: CaseSeen


@dataclass(frozen=True)
class Phase:
    """One batch, submitted and routed: from the first submit to the last outcome."""

    routed: list[Routed]
    first_submit: float
    last_submit: float
    last_outcome: float
    retries: int  # submissions sent again after intake's "not now" (HTTP 503 or 429)

    @property
    def cases(self) -> int:
        return len(self.routed)

    @property
    def seconds(self) -> float:
        return self.last_outcome - self.first_submit

    @property
    def rate(self) -> float:
        return self.cases / self.seconds


def submit_and_route(
    label: str,
    platform: Platform,
    listener: RoutingListener,
    submissions: Sequence[Submission],
    workers: int,
    timeout: float,
    rate: float | None = None,
) -> Phase:
    """Hand every submission over through ``workers`` clients, all at once (closed loop:
    each client sends its next as soon as the last is answered) or, with ``rate``, each at its
    due time ``i / rate`` after the start (open loop); then wait until every case is routed.
    ``timeout`` bounds the whole phase."""
    deadline = time.monotonic() + timeout
    counts = ", ".join(f"{n} {line}" for line, n in by_line(submissions).items())
    pace = f"at {rate:g}/s" if rate else f"over {workers} clients"
    log(f"{label}: submitting {len(submissions)} ({counts}) {pace}")
    if rate is None:
        pool = send_batch(submissions, platform.amqp_uri, platform.intake_ports, workers, deadline)
    else:
        pool = SendPool(platform.amqp_uri, platform.intake_ports, workers, deadline).start()
        started = time.perf_counter()
        for n, item in enumerate(submissions):
            due = started + n / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            pool.put(item, due)
        pool.finish()
    if pool.errors:
        shown = "\n  ".join(pool.errors[:MAX_ERRORS_SHOWN])
        raise BenchError(
            f"{label}: {len(pool.errors)}/{len(submissions)} submissions failed, e.g.:\n  {shown}"
        )
    first = min(sent.started for sent in pool.sent)
    last = max(sent.accepted for sent in pool.sent)
    log(
        f"{label}: {len(pool.sent)} accepted in {last - first:.2f}s "
        f"({len(pool.sent) / max(last - first, 1e-9):.1f}/s); waiting for their routing"
    )
    missing = listener.wait_for({sent.submission.key for sent in pool.sent}, deadline)
    if listener.error:
        raise BenchError(f"{label}: the event listener failed: {listener.error!r}")
    if missing:
        known = [listener.case_of[key] for key in sorted(missing) if key in listener.case_of]
        unseen = len(missing) - len(known)
        raise BenchError(
            f"{label}: {len(missing)}/{len(submissions)} cases not routed within {timeout:.0f}s "
            f"({unseen} never seen as {RECEIVED}); the console says:\n"
            f"{explain_missing(platform.ports['console'], known[:3])}"
        )
    routed = [Routed(sent, listener.seen(sent.submission.key)) for sent in pool.sent]
    mismatched = [r for r in routed if r.sent.case_id and r.sent.case_id != r.case.case_id]
    if mismatched:
        raise BenchError(f"{label}: {len(mismatched)} cases answered with another case id")
    duplicates = sum(1 for r in routed if r.sent.duplicate)
    if duplicates:
        log(f"note: {duplicates} submissions answered as duplicates (retried POSTs)")
    if pool.retries:
        log(f"note: intake answered {pool.retries} submissions 503/429 (not now): sent again")
    phase = Phase(routed, first, last, max(r.case.outcome_arrival for r in routed), pool.retries)
    log(
        f"{label}: last routed {phase.last_outcome - last:.2f}s after the last submission; "
        f"{phase.cases} in {phase.seconds:.2f}s ({phase.rate:.1f}/s)"
    )
    return phase


def quantiles(values_ms: Sequence[float], which: Sequence[int] = (50, 99)) -> dict[str, float]:
    ordered = sorted(values_ms)
    return {f"p{q}": round(percentile(ordered, q), 1) for q in which}


def by_line_figures(phase: Phase, mix: Sequence[LineShare]) -> dict[str, dict[str, Any]]:
    """Per line: cases, transport, its part of the rate (its cases over the phase's time),
    the outcomes, and accepted → routed latency."""
    figures: dict[str, dict[str, Any]] = {}
    for share in mix:
        mine = [r for r in phase.routed if r.sent.submission.line == share.name]
        if not mine:
            continue
        latencies = [(r.case.outcome_arrival - r.sent.accepted) * 1000.0 for r in mine]
        figures[share.name] = {
            "transport": share.transport,
            "cases": len(mine),
            "cases_per_s": round(len(mine) / phase.seconds, 1),
            "outcomes": dict(Counter(r.case.outcome or "?" for r in mine)),
            "latency_ms": quantiles(latencies),
        }
    return figures


@dataclass(frozen=True)
class Latency:
    """The open-loop phase: offered rate, what was achieved, and received → routed."""

    offered_per_s: float
    achieved_per_s: float
    routed_per_s: float
    seconds: float
    cases: int
    received_to_routed_ms: list[float]
    send_lag_ms: list[float]  # how late each submission left after its due time
    received_to_decided_ms: list[float]  # up to dispatch's decision (its event's occurred_at)
    means_ms: dict[str, dict[str, float]]  # handlers, RPC calls, HTTP requests in the phase

    def figures(self) -> dict[str, Any]:
        latency = quantiles(self.received_to_routed_ms, (50, 95, 99))
        return {
            "latency_at_50_per_s_ms": latency,
            "latency_at_50_per_s_p99_ms": latency["p99"],
            "latency_offered_per_s": self.offered_per_s,
            "latency_achieved_per_s": round(self.achieved_per_s, 1),
            "latency_routed_per_s": round(self.routed_per_s, 1),
            "latency_cases": self.cases,
            "latency_seconds": round(self.seconds, 1),
            "latency_send_lag_p99_ms": quantiles(self.send_lag_ms)["p99"],
            # where the time goes: intake's store → dispatch's decision, then the decision's
            # commit, outbox relay and broker to the listener
            "latency_received_to_decided_ms": quantiles(self.received_to_decided_ms, (50, 99)),
            "latency_phase_means_ms": self.means_ms,
        }


TIMED = ("civicflow_handler_duration_seconds", "civicflow_rpc_client_duration_seconds",
         "civicflow_http_request_duration_seconds")  # fmt: skip


def timings(platform: Platform) -> dict[str, tuple[float, float]]:
    """(sum, count) of every histogram series of every instance, keyed by
    ``service metric{labels}``: read before and after a phase, their difference is the phase's
    mean time per handler batch, RPC call and HTTP request."""
    from prometheus_client.parser import text_string_to_metric_families

    found: dict[str, list[float]] = {}
    for label, port in platform.ports.items():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                text = answer.read().decode()
        except OSError:
            continue
        for family in text_string_to_metric_families(text):
            if family.name not in {name.removesuffix("_seconds") for name in TIMED} | set(TIMED):
                continue
            for sample in family.samples:
                if not sample.name.endswith(("_sum", "_count")):
                    continue
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                key = f"{label} {family.name}{{{labels}}}"
                pair = found.setdefault(key, [0.0, 0.0])
                pair[0 if sample.name.endswith("_sum") else 1] += sample.value
    return {key: (pair[0], pair[1]) for key, pair in found.items()}


def mean_ms_between(
    before: Mapping[str, tuple[float, float]], after: Mapping[str, tuple[float, float]]
) -> dict[str, dict[str, float]]:
    """What happened between two ``timings``: per series, how often and the mean in ms."""
    means = {}
    for key, (total, count) in after.items():
        earlier_total, earlier_count = before.get(key, (0.0, 0.0))
        if count > earlier_count:
            calls = count - earlier_count
            mean = (total - earlier_total) / calls * 1000.0
            means[key] = {"n": calls, "mean_ms": round(mean, 2)}
    return means


def measure_latency(
    platform: Platform,
    listener: RoutingListener,
    submissions: Sequence[Submission],
    rate: float,
    timeout: float,
) -> Latency:
    """The submissions at a steady ``rate`` (open loop), each case timed from its
    ``case.received``'s ``occurred_at`` to the arrival of its routing outcome."""
    before = timings(platform)
    phase = submit_and_route(
        "latency", platform, listener, submissions, LATENCY_SENDERS, timeout, rate
    )
    means = mean_ms_between(before, timings(platform))
    starts = sorted(r.sent.started for r in phase.routed)
    achieved = (len(starts) - 1) / (starts[-1] - starts[0]) if len(starts) > 1 else 0.0
    latencies = [(r.case.outcome_wall - r.case.received_at) * 1000.0 for r in phase.routed]
    lags = [(r.sent.started - r.sent.due) * 1000.0 for r in phase.routed]
    decided = [(r.case.outcome_occurred - r.case.received_at) * 1000.0 for r in phase.routed]
    seconds = starts[-1] - starts[0]
    result = Latency(
        rate, achieved, phase.rate, seconds, phase.cases, latencies, lags, decided, means
    )
    shown = quantiles(latencies, (50, 95, 99))
    log(f"latency at {rate:g}/s (achieved {achieved:.1f}/s): received -> routed {shown} ms")
    return result


# --------------------------------------------------------------------------- one platform


def settle(platform: Platform, label: str) -> None:
    """Before a measured phase: wait until the services have worked off what came before
    (supervision's clocks, notify's messages of the last batch)."""
    pids = [pid for pids in platform.pids().values() for pid in pids]
    waited = wait_quiet(pids, QUIET_TIMEOUT_S)
    log(f"{label}: the platform was busy {waited:.1f}s more, now quiet")


def count_in_log(path: Path, text: str) -> int:
    """Lines of ``path`` holding ``text`` (0 when it cannot be read)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            return sum(1 for line in lines if text in line)
    except OSError:
        return 0


@dataclass(frozen=True)
class E2eOptions:
    """What the e2e parts are asked for."""

    cases: int
    warmup: int
    concurrency: int
    timeout: float
    keep_data: bool
    latency_rate: float = 50.0
    latency_seconds: float = 30.0
    profile_dir: Path | None = None
    mix: tuple[LineShare, ...] = DEFAULT_MIX


@dataclass
class PlatformRun:
    """What one platform measured: throughput, each service's load, maybe latency."""

    database: str
    scale: tuple[str, int] | None
    phase: Phase | None = None
    loads: dict[str, ServiceLoad] = field(default_factory=dict)
    machine: dict[str, float | None] = field(default_factory=dict)
    latency: Latency | None = None
    profile: str | None = None
    refused: int = 0  # connections PostgreSQL refused (its log lines in up.log)


def run_platform(
    target: BrokerTarget,
    options: E2eOptions,
    database_url: str | None = None,
    scale: tuple[str, int] | None = None,
    throughput: bool = True,
    latency: bool = False,
    profile: bool = False,
) -> PlatformRun:
    """A platform in a vhost and data dir of its own: warm-up, then the throughput batch
    (CPU and RSS of every service meanwhile, py-spy on them with ``profile``), then the
    open-loop latency phase when asked."""
    run = PlatformRun("postgresql" if database_url else "sqlite", scale)
    with bench_vhost(target) as vhost:
        amqp_uri = target.uri_for_vhost(vhost)
        data_dir = Path(tempfile.mkdtemp(prefix=f"civicflow-bench-{run.database}-"))
        failed = True
        try:
            with (
                running_platform(amqp_uri, data_dir, database_url, scale) as (platform, codes),
                routing_listener(amqp_uri) as listener,
            ):
                run_id = secrets.token_hex(3)
                paced = round(options.latency_rate * options.latency_seconds) if latency else 0
                total = options.warmup + (options.cases if throughput else 0) + paced
                every = make_submissions(
                    options.mix, run_id, 0, total, random_mobiles(total), codes
                )
                warmup, rest = every[: options.warmup], every[options.warmup :]
                if warmup:
                    submit_and_route(
                        "warm-up", platform, listener, warmup, options.concurrency, options.timeout
                    )
                if throughput:
                    settle(platform, "measure")
                    measured, rest = rest[: options.cases], rest[options.cases :]
                    run.phase, run.loads, run.machine, run.profile = measure_throughput(
                        platform, listener, measured, options, profile
                    )
                if latency:
                    settle(platform, "latency")
                    run.latency = measure_latency(
                        platform,
                        listener,
                        rest,
                        options.latency_rate,
                        options.latency_seconds + options.timeout,
                    )
                if listener.duplicates or listener.malformed:
                    log(f"note: {listener.duplicates} duplicate, {listener.malformed} bad events")
            failed = False
        finally:
            run.refused = count_in_log(data_dir / "up.log", POSTGRES_FULL)
            if run.refused:
                log(
                    f"warning: PostgreSQL refused {run.refused} connections ({POSTGRES_FULL!r}): "
                    "its max_connections is less than the services' pools ask for"
                )
            if failed or options.keep_data:
                log(f"data dir and up.log kept in {data_dir}")
            else:
                shutil.rmtree(data_dir, ignore_errors=True)
    return run


def measure_throughput(
    platform: Platform,
    listener: RoutingListener,
    submissions: Sequence[Submission],
    options: E2eOptions,
    profile: bool,
) -> tuple[Phase, dict[str, ServiceLoad], dict[str, float | None], str | None]:
    """The closed-loop batch, with every service's CPU and peak RSS over it, the machine's
    and the bench's own CPU (and py-spy)."""
    pids = platform.pids()
    missing = [name for name, found in pids.items() if not found]
    if missing:
        log(f"warning: no process found for {missing}: no CPU or RSS figure for them")
    profiler = Profiler(options.profile_dir) if profile and options.profile_dir else None
    if profiler is not None:
        profiler.start(pids, options.timeout)
    before, machine_before = cpu_by_pid(pids), MachineSample.now()
    try:
        phase = submit_and_route(
            "measure", platform, listener, submissions, options.concurrency, options.timeout
        )
        after, machine_after = cpu_by_pid(pids), MachineSample.now()
    finally:
        if profiler is not None:
            profiler.stop()
    loads = service_loads(pids, before, after, phase.seconds, phase.cases)
    machine = machine_figures(machine_before, machine_after, phase.seconds)
    log(
        f"  the machine {machine['machine_cpu_percent']}% busy (all cores, other jobs too); "
        f"the bench itself {machine['bench_cpu_percent']}% of a core, "
        f"RabbitMQ {machine['broker_cpu_percent']}% of a core"
    )
    for name, load in loads.items():
        log(
            f"  {name:<12} x{load.instances}: {load.cpu_percent:5.1f}% CPU, "
            f"{load.cpu_ms_per_case:6.2f} ms CPU/case, peak RSS {load.rss_mb or 0:.0f} MB"
        )
    summary = profiler.summary() if profiler is not None else None
    if summary:
        log(f"profile (inclusive share of busy samples, our code):\n{summary}")
    return phase, loads, machine, summary


# --------------------------------------------------------------------------- the report


def throughput_figures(run: PlatformRun, mix: Sequence[LineShare]) -> dict[str, Any]:
    assert run.phase is not None
    accepted_to_routed = [
        (r.case.outcome_arrival - r.sent.accepted) * 1000.0 for r in run.phase.routed
    ]
    return {
        "cases_per_s": round(run.phase.rate, 1),
        "cases": run.phase.cases,
        "seconds": round(run.phase.seconds, 2),
        "submit_retries": run.phase.retries,
        "db_connections_refused": run.refused,
        "latency_ms": quantiles(accepted_to_routed),
        "by_line": by_line_figures(run.phase, mix),
        "per_service": {name: load.as_dict() for name, load in run.loads.items()},
        **run.machine,
    }


def postgres_url(scratch_url: str) -> str:
    """The scratch database's URL with the driver the platform uses (psycopg2, green)."""
    return "postgresql+psycopg2://" + scratch_url.split("://", 1)[1]


@contextlib.contextmanager
def scratch_database(on_postgres: bool) -> Iterator[str | None]:
    """A scratch PostgreSQL database's URL, or None for SQLite (``on_postgres`` false, or
    no PostgreSQL answering)."""
    if not on_postgres:
        yield None
        return
    from clocks import postgres_database  # bench/clocks.py: CIVICFLOW_BENCH_POSTGRES

    with postgres_database() as url:
        yield postgres_url(url) if url else None


def postgres_answers() -> bool:
    """Whether a scratch PostgreSQL database can be made (it is dropped at once)."""
    with scratch_database(True) as url:
        return url is not None


E2E_PARTS = ("e2e", "latency", "e2e-postgres", "scaling")
SCALING_INSTANCES = (1, 2, 3)
E2E_KEYS = (
    "e2e_cases_per_s",
    "e2e_sqlite_cases_per_s",
    "e2e_postgres_cases_per_s",
    "e2e_latency_ms",
    "e2e_submit_retries",
    "e2e_by_line",
    "e2e_per_service",
    "e2e_machine_cpu_percent",
    "e2e_bench_cpu_percent",
    "e2e_broker_cpu_percent",
    "e2e_bottleneck",
    "e2e_max_rss_mb",
    "e2e_postgres",
    "e2e_cases",
    "e2e_mix",
    "latency_at_50_per_s_ms",
    "latency_at_50_per_s_p99_ms",
    "latency_offered_per_s",
    "latency_achieved_per_s",
    "latency_routed_per_s",
    "latency_cases",
    "latency_seconds",
    "latency_send_lag_p99_ms",
    "scaling",
    "scaling_service",
    "scaling_database",
    "profile_dir",
)


def run_e2e_parts(
    target: BrokerTarget,
    parts: Sequence[str],
    options: E2eOptions,
    scale_service: str | None = None,
    scaling_cases: int | None = None,
) -> dict[str, Any]:
    """The e2e parts asked for, one platform after the other, as report fields (null for a
    part that did not run): SQLite throughput (with every service's load) and the latency
    phase on the same platform, PostgreSQL throughput, then the busiest service scaled to
    1, 2 and 3 instances (on PostgreSQL when it answers)."""
    figures: dict[str, Any] = dict.fromkeys(E2E_KEYS)
    runs: list[PlatformRun] = []
    sqlite: PlatformRun | None = None
    if "e2e" in parts or "latency" in parts:
        sqlite = run_platform(
            target,
            options,
            throughput="e2e" in parts,
            latency="latency" in parts,
            profile=options.profile_dir is not None,
        )
        runs.append(sqlite)
        if sqlite.phase is not None:
            measured = throughput_figures(sqlite, options.mix)
            figures.update(
                e2e_cases_per_s=measured["cases_per_s"],
                e2e_sqlite_cases_per_s=measured["cases_per_s"],
                e2e_latency_ms=measured["latency_ms"],
                e2e_submit_retries=measured["submit_retries"],
                e2e_by_line=measured["by_line"],
                e2e_per_service=measured["per_service"],
                e2e_machine_cpu_percent=measured["machine_cpu_percent"],
                e2e_bench_cpu_percent=measured["bench_cpu_percent"],
                e2e_broker_cpu_percent=measured["broker_cpu_percent"],
                e2e_bottleneck=heaviest(sqlite.loads),
                e2e_cases=measured["cases"],
            )
        if sqlite.latency is not None:
            figures.update(sqlite.latency.figures())
        if options.profile_dir is not None and sqlite.profile is not None:
            figures["profile_dir"] = str(options.profile_dir)
    on_postgres = ("e2e-postgres" in parts or "scaling" in parts) and postgres_answers()
    if ("e2e-postgres" in parts or "scaling" in parts) and not on_postgres:
        log("PostgreSQL does not answer: no e2e on PostgreSQL; scaling on SQLite")
    postgres: PlatformRun | None = None
    if "e2e-postgres" in parts and on_postgres:
        with scratch_database(True) as url:
            postgres = run_platform(target, options, url)
        runs.append(postgres)
        measured = throughput_figures(postgres, options.mix)
        figures["e2e_postgres_cases_per_s"] = measured["cases_per_s"]
        figures["e2e_postgres"] = {
            key: measured[key]
            for key in (
                "cases",
                "seconds",
                "submit_retries",
                "db_connections_refused",
                "latency_ms",
                "by_line",
                "machine_cpu_percent",
                "bench_cpu_percent",
                "broker_cpu_percent",
            )
        } | {"per_service": measured["per_service"], "bottleneck": heaviest(postgres.loads)}
        figures["e2e_cases"] = figures["e2e_cases"] or measured["cases"]
    if "scaling" in parts:
        measured_loads = next((run.loads for run in runs if run.loads), {})
        service = scale_service or heaviest(measured_loads) or "dispatch"
        one = postgres if on_postgres else (sqlite if sqlite and sqlite.phase else None)
        scaled_options = options
        if scaling_cases is not None:
            scaled_options = replace(options, cases=scaling_cases)
            one = None  # a batch of another size: measure 1 instance again
        rows = []
        for instances in SCALING_INSTANCES:
            if instances == 1 and one is not None:
                run = one  # plain `civicflow up` is `--scale SERVICE=1`: measured already
            else:
                with scratch_database(on_postgres) as url:
                    run = run_platform(
                        target,
                        scaled_options,
                        url,
                        scale=(service, instances) if instances > 1 else None,
                    )
                runs.append(run)
            assert run.phase is not None
            load = run.loads.get(service)
            rows.append(
                {
                    "instances": instances,
                    "cases_per_s": round(run.phase.rate, 1),
                    "service_cpu_percent": round(load.cpu_percent, 1) if load else None,
                    "submit_retries": run.phase.retries,
                    "db_connections_refused": run.refused,
                }
            )
        figures.update(
            scaling=rows,
            scaling_service=service,
            scaling_database="postgresql" if on_postgres else "sqlite",
        )
    peaks = [load.rss_mb for run in runs for load in run.loads.values() if load.rss_mb]
    figures["e2e_max_rss_mb"] = round(max(peaks), 1) if peaks else None
    if any(figures[key] is not None for key in ("e2e_cases_per_s", "e2e_postgres_cases_per_s")):
        figures["e2e_mix"] = {share.name: share.weight for share in options.mix}
    return figures
