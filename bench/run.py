"""civicflow benchmark: end-to-end case throughput against a raw pika hop on the same broker.

Run from the repository root as ``.venv/bin/python bench/run.py`` (``make bench``). Prints ONE
JSON line on stdout; progress goes to stderr. Every run gets its own RabbitMQ vhost, its own
SQLite data directory and its own free HTTP ports, so it never clashes with a running
``civicflow up``; all of it is removed at the end, on failure too.

Measured:

* ``e2e_cases_per_s``: signed 12345 hotline tickets POSTed to intake over HTTP, counted as
  ``case.dispatched`` events on the public exchange ``civicflow.events``; from the first
  submit to the last event. ``e2e_latency_ms`` is per ticket, from its HTTP 202 to its event.
* ``raw_pika_hop_msgs_per_s``: one durable queue, a publisher with confirms sending persistent
  ~1 KB JSON messages, a consumer with manual acks (prefetch 100) on its own connection; from
  the first publish to the last ack.
* ``ratio``: the first over the second.
* ``intake_http_per_s``: intake ALONE (``civicflow up intake``, a vhost and data dir of its
  own) taking signed hotline tickets over HTTP: HTTP 202 answers over the wall time of the
  measured batch. ``intake_http_cpu_ms_per_request``: CPU time (user + system) of the
  ``civicflow run intake`` process in that window, per request.
* ``intake_amqp_drain_per_s``: intake stopped, tickets published to ``civicflow.inbound``,
  intake started again: messages over the time from the first drop of the inbound queue's
  depth to depth 0. ``intake_amqp_rejected``: the depth of ``civicflow.inbound.rejected``
  afterwards.
* ``locate_*``, ``demo_import_s``: the grid figures of ``bench/grid.py``.
* ``clock_scan_*``: supervision's scan of ``bench/clocks.py``: 1,000,000 open clocks, 1,000 of
  them due; the time to find the due ones (``find_ms``, the goal: under a second), a whole tick
  over them, the query plan and the memory, on SQLite and on PostgreSQL when it answers.
* ``notify_*``: ``bench/notify.py``: SMS sent per second through an Aliyun-shaped provider that
  takes 100 ms per call, by one ``civicflow run notify`` and by three (the goals: 50 a second,
  and three instances at least 2.4 times one).
* ``goals``: whether the figures meet the goals stated for them (null: the part did not run).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import math
import os
import platform
import queue
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pika
from clocks import run_clock_scan_bench  # bench/clocks.py
from grid import run_grid_bench  # bench/grid.py: bench/ is first on sys.path
from notify import run_notify_bench  # bench/notify.py
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties
from routing import run_routing_bench  # bench/routing.py

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
CONFIG_DIR = REPO_ROOT / "deploy" / "config"

DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MANAGEMENT_PORT = 15672
RABBITMQCTL_CANDIDATES = ("/usr/sbin/rabbitmqctl", "/usr/lib/rabbitmq/bin/rabbitmqctl")

SERVICES: tuple[str, ...] = ("intake", "dispatch", "supervision", "notify", "grid", "console")
PUBLIC_EXCHANGE = "civicflow.events"
DISPATCHED = "case.dispatched"

HOTLINE_SOURCE = "hotline"
HOTLINE_SECRET = "dev-secret-hotline"
HOTLINE_PATH = "/api/v1/hotline/tickets"
HOTLINE_CATEGORY = "environment.pollution"  # routed automatically by the dev config

HEALTH_TIMEOUT_S = 60.0
STOP_GRACE_S = 20.0
HTTP_TIMEOUT_S = 30.0
SUBPROCESS_TIMEOUT_S = 120.0
LISTENER_READY_TIMEOUT_S = 15.0
RAW_MESSAGE_BYTES = 1024
LOG_TAIL_LINES = 40
MAX_ERRORS_SHOWN = 5

# Intake alone, over HTTP and from civicflow.inbound.
INTAKE = "intake"
INBOUND_EXCHANGE = "civicflow.inbound"
INBOUND_QUEUE = "civicflow.inbound.intake"
INBOUND_REJECTED_QUEUE = "civicflow.inbound.rejected"
HOTLINE_ROUTING_KEY = "hotline.ticket"
INTAKE_COMMAND = "civicflow run intake"  # the command line of the service child of `up`
INTAKE_PUBLISHERS = 4  # confirmed publishers (one connection each) filling the inbound queue
QUEUE_POLL_S = 0.02
STORED_WAIT_S = 30.0
STORED_QUERY = "SELECT count(*) FROM submissions WHERE transport = 'amqp'"

# The goals stated for the figures: (goal, figure, threshold, the figure must be at least it).
GOALS: tuple[tuple[str, str, float, bool], ...] = (
    ("intake_http_500", "intake_http_per_s", 500.0, True),
    ("intake_amqp_1000", "intake_amqp_drain_per_s", 1000.0, True),
    ("locate_20000", "locate_points_per_s", 20000.0, True),
    ("locate_rpc_p99_10ms", "locate_rpc_p99_ms", 10.0, False),
    ("routing_10000", "routing_decisions_per_s", 10000.0, True),
    ("clock_scan_sqlite_1s", "clock_scan_sqlite_find_ms", 1000.0, False),
    ("clock_scan_postgresql_1s", "clock_scan_postgresql_find_ms", 1000.0, False),
    ("notify_50", "notify_one_instance_per_s", 50.0, True),
    ("notify_scaling_2_4", "notify_scaling", 2.4, True),
)
GRID_FIELDS = (
    "locate_points_per_s",
    "locate_rpc_p50_ms",
    "locate_rpc_p99_ms",
    "locate_rpc_rate",
    "locate_rpc_calls",
    "demo_import_s",
)
PARTS = ("raw", "routing", "e2e", "intake-http", "intake-amqp", "grid", "clocks", "notify")
ONLY_CHOICES: dict[str, tuple[str, ...]] = {
    "raw": ("raw",),
    "e2e": ("e2e",),
    "intake": ("intake-http", "intake-amqp"),
    "intake-http": ("intake-http",),
    "intake-amqp": ("intake-amqp",),
    "grid": ("grid",),
    "routing": ("routing",),
    "clocks": ("clocks",),
    "notify": ("notify",),
}

# Environment the platform must not inherit: the bench measures SQLite on the dev config.
SCRUBBED_ENV_PREFIXES = ("CIVICFLOW_SOURCE_",)
SCRUBBED_ENV_SUFFIXES = ("DATABASE_URL",)


class BenchError(Exception):
    """The bench cannot produce a valid measurement; the message says why."""


# --------------------------------------------------------------------------- small helpers


def log(message: str) -> None:
    """A progress line on stderr (stdout carries only the JSON result)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0..100) of already sorted values."""
    if not sorted_values:
        raise ValueError("percentile of nothing")
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (bound together, so never the same)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a text file, or a note that it is missing."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def civicflow_executable() -> Path:
    """The project's ``civicflow`` console script, next to the interpreter running the bench."""
    for candidate in (
        REPO_ROOT / ".venv" / "bin" / "civicflow",
        Path(sys.executable).parent / "civicflow",
    ):
        if candidate.exists():
            return candidate
    raise BenchError(
        "no civicflow executable in .venv/bin: install the project first (pip install -e .)"
    )


# --------------------------------------------------------------------------- broker and vhost


@dataclass(frozen=True)
class BrokerTarget:
    """Where the broker is, parsed from ``AMQP_URI``."""

    uri: str
    username: str
    password: str
    host: str
    port: int

    @classmethod
    def from_uri(cls, uri: str) -> BrokerTarget:
        parts = urllib.parse.urlsplit(uri)
        if parts.scheme not in ("amqp", "amqps"):
            raise BenchError(f"AMQP_URI must start with amqp:// or amqps://, got {parts.scheme!r}")
        default_port = 5671 if parts.scheme == "amqps" else 5672
        return cls(
            uri=uri,
            username=urllib.parse.unquote(parts.username or "guest"),
            password=urllib.parse.unquote(parts.password or "guest"),
            host=parts.hostname or "localhost",
            port=parts.port or default_port,
        )

    @property
    def address(self) -> str:
        """``host:port``, never the credentials."""
        return f"{self.host}:{self.port}"

    @property
    def is_local(self) -> bool:
        return self.host in LOCAL_HOSTS

    def uri_for_vhost(self, vhost: str) -> str:
        """The same URI with ``vhost`` (URL-encoded) as its path; query options kept."""
        parts = urllib.parse.urlsplit(self.uri)
        path = "/" + urllib.parse.quote(vhost, safe="")
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


class VhostAdmin:
    """Creates and deletes the run's vhost: ``rabbitmqctl`` on a local broker, else (or if that
    fails) the management HTTP API."""

    def __init__(self, target: BrokerTarget) -> None:
        self.target = target
        self._method: str | None = None  # the one that worked for create(), reused by delete()

    def create(self, vhost: str) -> None:
        """Add ``vhost`` and give the URI's user every permission on it."""
        problems: list[str] = []
        ctl = self._rabbitmqctl()
        if ctl is not None:
            try:
                self._ctl(ctl, "add_vhost", vhost)
                self._ctl(
                    ctl, "set_permissions", "-p", vhost, self.target.username, ".*", ".*", ".*"
                )
                self._method = "rabbitmqctl"
                return
            except BenchError as exc:
                problems.append(str(exc))
                with contextlib.suppress(BenchError):
                    self._ctl(ctl, "delete_vhost", vhost)
        else:
            problems.append("rabbitmqctl: not found, or the broker is not local")
        try:
            self._api("PUT", f"/api/vhosts/{urllib.parse.quote(vhost, safe='')}", {})
            user = urllib.parse.quote(self.target.username, safe="")
            permissions = {"configure": ".*", "write": ".*", "read": ".*"}
            self._api(
                "PUT", f"/api/permissions/{urllib.parse.quote(vhost, safe='')}/{user}", permissions
            )
            self._method = "api"
            return
        except BenchError as exc:
            problems.append(str(exc))
        raise BenchError(
            f"cannot create vhost {vhost!r} on {self.target.address}: "
            + "; ".join(problems)
            + ". Run the bench on the broker's host (rabbitmqctl) or enable rabbitmq_management."
        )

    def delete(self, vhost: str) -> None:
        """Remove ``vhost`` with whatever created it; a failure is logged, never raised."""
        try:
            if self._method == "rabbitmqctl":
                ctl = self._rabbitmqctl()
                if ctl is not None:
                    self._ctl(ctl, "delete_vhost", vhost)
            elif self._method == "api":
                self._api("DELETE", f"/api/vhosts/{urllib.parse.quote(vhost, safe='')}", None)
        except BenchError as exc:
            log(f"warning: could not delete vhost {vhost!r}: {exc}")

    def _rabbitmqctl(self) -> str | None:
        if not self.target.is_local:
            return None  # rabbitmqctl talks to the local node: wrong broker for a remote URI
        found = shutil.which("rabbitmqctl")
        if found:
            return found
        return next((c for c in RABBITMQCTL_CANDIDATES if os.access(c, os.X_OK)), None)

    @staticmethod
    def _ctl(ctl: str, *args: str) -> None:
        try:
            done = subprocess.run(
                [ctl, *args], capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BenchError(f"rabbitmqctl {args[0]}: {exc}") from None
        if done.returncode != 0:
            output = (done.stderr or done.stdout).strip().splitlines()
            raise BenchError(
                f"rabbitmqctl {args[0]} exited {done.returncode}: {' '.join(output[-3:])}"
            )

    def _api(self, method: str, path: str, body: Mapping[str, Any] | None) -> None:
        url = f"http://{self.target.host}:{MANAGEMENT_PORT}{path}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        credentials = f"{self.target.username}:{self.target.password}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(credentials).decode())
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                answer.read()
        except urllib.error.HTTPError as exc:
            raise BenchError(f"management API {method} {path}: HTTP {exc.code}") from None
        except OSError as exc:
            raise BenchError(
                f"management API at {self.target.host}:{MANAGEMENT_PORT}: {exc}"
            ) from None


@contextlib.contextmanager
def bench_vhost(target: BrokerTarget) -> Iterator[str]:
    """A fresh vhost for this run, deleted afterwards whatever happens."""
    admin = VhostAdmin(target)
    vhost = f"civicflow-bench-{secrets.token_hex(4)}"
    admin.create(vhost)
    log(f"created vhost {vhost} on {target.address}")
    try:
        yield vhost
    finally:
        admin.delete(vhost)
        log(f"deleted vhost {vhost}")


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


# --------------------------------------------------------------------------- the platform


def platform_env(amqp_uri: str, data_dir: Path, ports: Mapping[str, int]) -> dict[str, str]:
    """The environment of every ``civicflow`` command of the run: own vhost, data dir, ports."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(SCRUBBED_ENV_PREFIXES) and not key.endswith(SCRUBBED_ENV_SUFFIXES)
    }
    env.update(
        AMQP_URI=amqp_uri,
        CIVICFLOW_DATA_DIR=str(data_dir),
        CIVICFLOW_CONFIG_DIR=str(CONFIG_DIR),
        CIVICFLOW_ENV="dev",
        CIVICFLOW_HTTP_HOST="127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    env.update({f"{name.upper()}_PORT": str(port) for name, port in ports.items()})
    return env


def run_civicflow(args: Sequence[str], env: Mapping[str, str], log_path: Path) -> None:
    """One short ``civicflow`` command (migrate, demo); its output is appended to ``log_path``."""
    command = [str(civicflow_executable()), *args]
    try:
        done = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(
            f"`civicflow {' '.join(args)}` took over {SUBPROCESS_TIMEOUT_S:.0f}s"
        ) from None
    with log_path.open("a", encoding="utf-8") as out:
        out.write(f"$ civicflow {' '.join(args)}\n{done.stdout}{done.stderr}\n")
    if done.returncode != 0:
        raise BenchError(
            f"`civicflow {' '.join(args)}` exited {done.returncode}:\n{tail(log_path)}"
        )


def healthy(port: int) -> bool:
    """Whether ``GET /healthz`` on ``port`` answers 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def stop_process_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGINT to ``civicflow up`` (it stops its children); SIGKILL to its whole group after
    ``grace`` seconds."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log(f"civicflow up did not stop in {grace:.0f}s: killing its process group")
    # The group id is up's own pid (start_new_session): this reaches only processes we started,
    # including any service child that outlived it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


@contextlib.contextmanager
def civicflow_up(
    env: Mapping[str, str], log_path: Path, services: Sequence[str] = ()
) -> Iterator[subprocess.Popen[bytes]]:
    """``civicflow up [services]`` (all six when none are named) in a session of its own, its
    output appended to ``log_path``; yields the process at once, without waiting for health.
    Stopped on exit (SIGINT, waited for), on failure too."""
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [str(civicflow_executable()), "up", *services],
            cwd=REPO_ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop_process_group(process, STOP_GRACE_S)


@contextlib.contextmanager
def running_platform(amqp_uri: str, data_dir: Path) -> Iterator[dict[str, int]]:
    """Migrate, load the demo county, start ``civicflow up`` and wait until every service is
    healthy; yields the ports. Stops the platform on exit, on failure too."""
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    env = platform_env(amqp_uri, data_dir, ports)
    log_path = data_dir / "up.log"
    log(f"platform: data dir {data_dir}, ports {ports}")
    run_civicflow(["migrate"], env, log_path)
    run_civicflow(["demo"], env, log_path)
    with civicflow_up(env, log_path) as process:
        try:
            wait_until_healthy(process, ports, log_path)
            yield ports
        finally:
            log("stopping the platform")


def wait_until_healthy(
    process: subprocess.Popen[bytes],
    ports: Mapping[str, int],
    log_path: Path,
    what: str = "the platform",
) -> None:
    """Poll the ``/healthz`` of every service in ``ports`` until all answer 200. On failure
    ``what`` is stopped first, so the error carries the complete tail of its log (tracebacks
    included)."""
    started = time.monotonic()
    waiting = set(ports)
    while waiting:
        if process.poll() is not None:
            problem = f"civicflow up exited with {process.returncode}"
        elif time.monotonic() - started > HEALTH_TIMEOUT_S:
            problem = f"not healthy after {HEALTH_TIMEOUT_S:.0f}s"
        else:
            waiting = {name for name in waiting if not healthy(ports[name])}
            if waiting:
                time.sleep(0.3)
            continue
        stop_process_group(process, STOP_GRACE_S)
        raise BenchError(
            f"{what} did not come up: {problem}; still waiting for {sorted(waiting)}. "
            f"Tail of {log_path}:\n{tail(log_path)}"
        )
    log(f"{what} healthy after {time.monotonic() - started:.1f}s")


# --------------------------------------------------------------------------- e2e measurement


class DispatchListener(threading.Thread):
    """Records when each ``case.dispatched`` reaches an exclusive queue bound on the public
    exchange. Its own connection: pika objects never cross threads."""

    def __init__(self, amqp_uri: str) -> None:
        super().__init__(name="dispatch-listener", daemon=True)
        self.params = pika.URLParameters(amqp_uri)
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.arrivals: dict[str, float] = {}
        self.duplicates = 0
        self.malformed = 0
        self._stop_requested = threading.Event()
        self._changed = threading.Condition()

    def run(self) -> None:
        try:
            connection = pika.BlockingConnection(self.params)
            try:
                channel = connection.channel()
                channel.exchange_declare(PUBLIC_EXCHANGE, exchange_type="topic", durable=True)
                declared = channel.queue_declare("", exclusive=True, auto_delete=True)
                queue_name = declared.method.queue
                channel.queue_bind(queue_name, PUBLIC_EXCHANGE, routing_key=DISPATCHED)
                channel.basic_qos(prefetch_count=1000)
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
        now = time.perf_counter()
        try:
            case_id = json.loads(body)["case_id"]
        except (ValueError, KeyError, TypeError):
            self.malformed += 1
            return
        with self._changed:
            if case_id in self.arrivals:
                self.duplicates += 1
            else:
                self.arrivals[case_id] = now
            self._changed.notify_all()

    def wait_for(self, case_ids: set[str], deadline: float) -> set[str]:
        """Block until every case id has arrived or ``deadline`` (monotonic); the missing ones."""
        with self._changed:
            while True:
                missing = case_ids - self.arrivals.keys()
                if not missing or self.error or time.monotonic() >= deadline:
                    return missing
                self._changed.wait(min(0.5, max(0.0, deadline - time.monotonic())))

    def arrival(self, case_id: str) -> float:
        with self._changed:
            return self.arrivals[case_id]

    def stop(self) -> None:
        self._stop_requested.set()
        self.join(5)


@contextlib.contextmanager
def dispatch_listener(amqp_uri: str) -> Iterator[DispatchListener]:
    """A started, bound :class:`DispatchListener`, stopped on exit."""
    listener = DispatchListener(amqp_uri)
    listener.start()
    if not listener.ready.wait(LISTENER_READY_TIMEOUT_S) or listener.error:
        raise BenchError(f"could not listen on {PUBLIC_EXCHANGE}: {listener.error!r}")
    try:
        yield listener
    finally:
        listener.stop()


@dataclass(frozen=True)
class Accepted:
    """One ticket intake took: its case id, and when the 202 came back (perf_counter)."""

    ticket_no: str
    case_id: str
    at: float
    duplicate: bool


def ticket_no(run_id: str, seq: int) -> str:
    """The external id of ticket ``seq`` of a run: unique across runs and parts."""
    return f"BENCH-{run_id}-{seq:06d}"


def ticket_body(run_id: str, seq: int, phone: str | None = None) -> bytes:
    """A hotline ticket; distinct callers (``phone``, else one derived from ``seq``) and
    buildings, so no repeat detection merges them."""
    ticket = {
        "ticket_no": ticket_no(run_id, seq),
        "received_at": "2026-11-21T10:00:00+08:00",
        "caller": {"name": "王先生", "phone": phone or f"138{seq % 100_000_000:08d}"},
        "content": f"{seq % 200 + 1}号楼楼下饭店油烟污染严重,请尽快处理",
        "category": HOTLINE_CATEGORY,
    }
    return json.dumps(ticket, ensure_ascii=False).encode()


def signed_headers(body: bytes) -> dict[str, str]:
    """The source-authentication headers of DESIGN.md, signed now."""
    timestamp = str(int(time.time()))
    digest = hmac.new(HOTLINE_SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "X-Source": HOTLINE_SOURCE,
        "X-Timestamp": timestamp,
        "X-Signature": "sha256=" + digest.hexdigest(),
    }


def post_ticket(connection: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
    """POST one ticket on a keep-alive connection; the status and the answer's body."""
    connection.request("POST", HOTLINE_PATH, body=body, headers=signed_headers(body))
    answer = connection.getresponse()
    return answer.status, answer.read()


@dataclass
class SubmitBatch:
    """What the client threads of one phase share: the work queue and what came back."""

    port: int
    deadline: float
    bodies: queue.SimpleQueue[bytes] = field(default_factory=queue.SimpleQueue)
    accepted: list[Accepted] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    abort: threading.Event = field(default_factory=threading.Event)

    def next_body(self) -> bytes | None:
        """The next ticket to send, or None when the batch is done or aborted."""
        if self.abort.is_set():
            return None
        try:
            return self.bodies.get_nowait()
        except queue.Empty:
            return None

    def fail(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def submit_worker(batch: SubmitBatch) -> None:
    """One client thread with its own persistent (keep-alive) connection, draining the batch."""
    connection = http.client.HTTPConnection("127.0.0.1", batch.port, timeout=HTTP_TIMEOUT_S)
    try:
        while (body := batch.next_body()) is not None:
            if time.monotonic() >= batch.deadline:
                batch.fail("submit deadline passed")
                continue
            try:
                status, answer = post_ticket(connection, body)
            except (OSError, http.client.HTTPException):
                connection.close()  # a dropped keep-alive: once more on a fresh connection;
                try:  # the same ticket_no again is idempotent (200, same case_id)
                    status, answer = post_ticket(connection, body)
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()
                    batch.fail(f"POST failed: {exc!r}")
                    continue
            done = time.perf_counter()
            if status not in (200, 202):
                batch.fail(f"HTTP {status}: {answer[:300].decode(errors='replace')}")
                continue
            try:
                parsed = json.loads(answer)
                taken = Accepted(
                    json.loads(body)["ticket_no"],
                    parsed["case_id"],
                    done,
                    bool(parsed["duplicate"]),
                )
            except (ValueError, KeyError, TypeError):
                batch.fail(f"HTTP {status} with an unexpected body: {answer[:300]!r}")
                continue
            with batch.lock:
                batch.accepted.append(taken)
    finally:
        connection.close()


@dataclass(frozen=True)
class Submitted:
    """What one batch of POSTs came back with, and when it ran (perf_counter)."""

    accepted: list[Accepted]
    errors: list[str]
    started: float
    finished: float

    @property
    def created(self) -> int:
        """Tickets answered 202 (a new case), not 200 (a retried POST seen before)."""
        return sum(1 for a in self.accepted if not a.duplicate)


def submit_all(
    label: str, port: int, bodies: Sequence[bytes], concurrency: int, deadline: float
) -> Submitted:
    """POST every body to intake over ``concurrency`` keep-alive connections, until all are
    answered or ``deadline`` (monotonic) passes; failures are collected, not raised."""
    batch = SubmitBatch(port=port, deadline=deadline)
    for body in bodies:
        batch.bodies.put(body)
    log(f"{label}: submitting {len(bodies)} tickets over {concurrency} connections")
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"{label}-client") as pool:
        futures = [pool.submit(submit_worker, batch) for _ in range(concurrency)]
        try:
            for future in futures:
                future.result()
        except BaseException:  # Ctrl-C, SIGTERM: let the clients finish their request and stop
            batch.abort.set()
            raise
    return Submitted(batch.accepted, batch.errors, started, time.perf_counter())


def explain_missing(console_port: int, case_ids: Sequence[str]) -> str:
    """What the console (dev user admin) says about cases whose ``case.dispatched`` never came."""
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


@dataclass(frozen=True)
class PhaseResult:
    """One batch of tickets, submitted and seen dispatched."""

    tickets: int
    first_submit: float
    last_accept: float
    last_dispatch: float
    latencies_ms: list[float]
    duplicates: int

    @property
    def seconds(self) -> float:
        return self.last_dispatch - self.first_submit


def run_phase(
    label: str,
    listener: DispatchListener,
    ports: Mapping[str, int],
    run_id: str,
    first_seq: int,
    tickets: int,
    concurrency: int,
    timeout: float,
) -> PhaseResult:
    """Submit ``tickets`` over ``concurrency`` keep-alive connections, then wait for every
    ``case.dispatched``; ``timeout`` bounds the whole phase."""
    deadline = time.monotonic() + timeout
    bodies = [ticket_body(run_id, seq) for seq in range(first_seq, first_seq + tickets)]
    submitted = submit_all(label, ports["intake"], bodies, concurrency, deadline)
    first_submit = submitted.started
    accepted, errors = submitted.accepted, submitted.errors
    last_accept = max((a.at for a in accepted), default=first_submit)
    if errors:
        shown = "\n  ".join(errors[:MAX_ERRORS_SHOWN])
        raise BenchError(f"{label}: {len(errors)}/{tickets} submissions failed, e.g.:\n  {shown}")
    log(
        f"{label}: {tickets} accepted in {last_accept - first_submit:.2f}s "
        f"({tickets / max(last_accept - first_submit, 1e-9):.1f}/s); waiting for {DISPATCHED}"
    )
    case_ids = {a.case_id for a in accepted}
    missing = listener.wait_for(case_ids, deadline)
    if listener.error:
        raise BenchError(f"{label}: the event listener failed: {listener.error!r}")
    if missing:
        sample = sorted(missing)[:3]
        raise BenchError(
            f"{label}: {len(missing)}/{len(case_ids)} cases not dispatched within {timeout:.0f}s; "
            f"the console says:\n{explain_missing(ports['console'], sample)}"
        )
    latencies = sorted((listener.arrival(a.case_id) - a.at) * 1000.0 for a in accepted)
    last_dispatch = max(listener.arrival(case_id) for case_id in case_ids)
    return PhaseResult(
        tickets=tickets,
        first_submit=first_submit,
        last_accept=last_accept,
        last_dispatch=last_dispatch,
        latencies_ms=latencies,
        duplicates=sum(1 for a in accepted if a.duplicate),
    )


def run_e2e(
    amqp_uri: str, tickets: int, warmup: int, concurrency: int, timeout: float, keep_data: bool
) -> PhaseResult:
    """Start the platform in a temp data dir, warm it up, then measure ``tickets``."""
    data_dir = Path(tempfile.mkdtemp(prefix="civicflow-bench-"))
    failed = True
    try:
        with running_platform(amqp_uri, data_dir) as ports, dispatch_listener(amqp_uri) as listener:
            run_id = secrets.token_hex(3)
            if warmup:
                run_phase("warm-up", listener, ports, run_id, 0, warmup, concurrency, timeout)
            result = run_phase(
                "measure", listener, ports, run_id, warmup, tickets, concurrency, timeout
            )
            if listener.duplicates:
                log(f"note: {listener.duplicates} duplicate {DISPATCHED} deliveries seen")
            if result.duplicates:
                log(f"note: {result.duplicates} tickets answered as duplicates (retried POSTs)")
            log(
                f"measure: last {DISPATCHED} {result.last_dispatch - result.last_accept:.2f}s "
                f"after the last 202; {result.seconds:.2f}s in all"
            )
        failed = False
        return result
    finally:
        if failed or keep_data:
            log(f"data dir and up.log kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


# --------------------------------------------------------------------------- intake alone


def random_mobiles(count: int) -> list[str]:
    """``count`` distinct random 11-digit mobile numbers ``13xxxxxxxxx``."""
    rng = random.Random(secrets.randbits(64))
    numbers: dict[str, None] = {}  # insertion-ordered set
    while len(numbers) < count:
        numbers[f"13{rng.randrange(10**9):09d}"] = None
    return list(numbers)


def child_pid(parent: int, command: str) -> int | None:
    """The pid of the child of ``parent`` whose command line contains ``command``, from
    ``/proc``; None when there is no such child (or no ``/proc``)."""
    try:
        entries = [entry for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    except OSError:
        return None
    for entry in entries:
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # exited meanwhile
        # after the parenthesised command name: state, ppid, …
        if int(stat.rpartition(")")[2].split()[1]) == parent and command in cmdline:
            return int(entry.name)
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (all its threads), from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # fields[0] is field 3 of proc(5) (state); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def amqp_channel(amqp_uri: str) -> Iterator[BlockingChannel]:
    """A channel on a connection of its own, closed on exit (a blocking connection must not sit
    idle past its heartbeats, so each one is opened just before it is used)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        yield connection.channel()
    finally:
        with contextlib.suppress(Exception):
            connection.close()


def queue_depth(channel: BlockingChannel, queue_name: str) -> int:
    """Messages ready in ``queue_name`` (a passive declare: the queue must already exist)."""
    try:
        declared = channel.queue_declare(queue_name, passive=True)
    except pika.exceptions.ChannelClosedByBroker as exc:
        raise BenchError(f"queue {queue_name!r} is not there: {exc.reply_text}") from None
    return int(declared.method.message_count)


def wait_for_consumer(amqp_uri: str, queue_name: str, timeout: float) -> None:
    """Block until ``queue_name`` exists and has a consumer. ``/healthz`` answers before the
    service's AMQP consumers are up, and a service stopped in that gap hangs in nameko's
    shutdown; this also makes sure intake has declared its inbound queue."""
    deadline = time.monotonic() + timeout
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        while True:
            channel = connection.channel()
            try:
                declared = channel.queue_declare(queue_name, passive=True)
                if declared.method.consumer_count:
                    return
                channel.close()
            except pika.exceptions.ChannelClosedByBroker:
                pass  # not declared yet (the broker closed that channel)
            if time.monotonic() > deadline:
                raise BenchError(f"no consumer on {queue_name!r} after {timeout:.0f}s")
            time.sleep(0.1)
    finally:
        with contextlib.suppress(Exception):
            connection.close()


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
    bodies: Sequence[bytes],
    warmup: int,
    concurrency: int,
    timeout: float,
) -> IntakeHttpResult:
    """POST the first ``warmup`` bodies, then measure the rest: 202s over the batch's wall time,
    and the CPU the ``civicflow run intake`` child of ``process`` spent meanwhile."""
    if warmup:
        warm = submit_all(
            "intake warm-up", port, bodies[:warmup], concurrency, time.monotonic() + timeout
        )
        if warm.errors:
            shown = "\n  ".join(warm.errors[:MAX_ERRORS_SHOWN])
            raise BenchError(f"intake warm-up: {len(warm.errors)} submissions failed:\n  {shown}")
    measured_bodies = bodies[warmup:]
    pid = child_pid(process.pid, INTAKE_COMMAND)
    if pid is None:
        log(f"warning: no `{INTAKE_COMMAND}` child of civicflow up found: no CPU figure")
    cpu_before = cpu_seconds(pid) if pid is not None else None
    submitted = submit_all(
        "intake http", port, measured_bodies, concurrency, time.monotonic() + timeout
    )
    cpu_after = cpu_seconds(pid) if pid is not None else None
    seconds = submitted.finished - submitted.started
    if submitted.errors:
        shown = "\n  ".join(submitted.errors[:MAX_ERRORS_SHOWN])
        log(f"intake http: {len(submitted.errors)} submissions failed, e.g.:\n  {shown}")
    if not submitted.created:
        raise BenchError("intake http: no ticket was answered 202")
    cpu_ms = (
        (cpu_after - cpu_before) * 1000.0 / len(measured_bodies)
        if cpu_before is not None and cpu_after is not None
        else None
    )
    result = IntakeHttpResult(
        requests=len(measured_bodies),
        created=submitted.created,
        failed=len(submitted.errors),
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
                        bodies = [
                            ticket_body(f"H{run_id}", seq, phones[seq]) for seq in range(http_count)
                        ]
                        http_result = measure_intake_http(
                            process, port, bodies, warmup, concurrency, timeout
                        )
                finally:
                    log("stopping intake")
            if process.returncode:
                log(f"note: civicflow up intake exited with {process.returncode}")
            if amqp_count:
                bodies = [
                    ticket_body(f"A{run_id}", seq, phones[http_count + seq])
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


def goals_met(result: Mapping[str, Any]) -> dict[str, bool | None]:
    """Each goal of :data:`GOALS` against the reported figure; None when it was not measured."""
    met: dict[str, bool | None] = {}
    for goal, figure, threshold, at_least in GOALS:
        value = result.get(figure)
        if value is None:
            met[goal] = None
        else:
            met[goal] = bool(value >= threshold) if at_least else bool(value < threshold)
    return met


# --------------------------------------------------------------------------- entry point


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tickets", type=int, default=2000, help="measured tickets (default 2000)")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="HTTP client threads (default 16)"
    )
    parser.add_argument(
        "--warmup", type=int, default=50, help="tickets before measuring (default 50)"
    )
    parser.add_argument(
        "--raw-messages",
        type=int,
        default=20000,
        help="messages of the raw baseline (default 20000)",
    )
    parser.add_argument(
        "--intake-tickets",
        type=int,
        default=3000,
        help="measured tickets POSTed to intake alone (default 3000)",
    )
    parser.add_argument(
        "--intake-warmup",
        type=int,
        default=100,
        help="tickets POSTed to intake alone before measuring (default 100)",
    )
    parser.add_argument(
        "--intake-messages",
        type=int,
        default=20000,
        help="tickets published to civicflow.inbound for the drain (default 20000)",
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds allowed per phase (default 120)"
    )
    parser.add_argument(
        "--only",
        choices=tuple(ONLY_CHOICES),
        help="run only one part: the raw pika baseline, e2e, intake (both intake parts), "
        "intake-http, intake-amqp, grid, routing (dispatch's decision, in process) or clocks "
        "(supervision's scan over a million clocks, in process) or notify",
    )
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the temp data dirs and up.log"
    )
    args = parser.parse_args(argv)
    for name in ("tickets", "concurrency", "raw_messages", "intake_tickets", "intake_messages"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0 or args.intake_warmup < 0 or args.timeout <= 0:
        parser.error("--warmup and --intake-warmup must be >= 0 and --timeout > 0")
    args.parts = ONLY_CHOICES[args.only] if args.only else PARTS
    return args


def run_notify_on_postgres_or_sqlite(amqp_uri: str) -> dict[str, Any]:
    """Several notify instances share one database: PostgreSQL when it answers, where they
    write side by side; SQLite (one writer at a time) otherwise."""
    from clocks import postgres_database

    with postgres_database() as url:
        return run_notify_bench(amqp_uri, url)


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Every part asked for, one after the other on one broker (intake alone in a vhost of its
    own, the rest in the run's vhost); the result line as a dict."""
    target = BrokerTarget.from_uri(os.environ.get("AMQP_URI", DEFAULT_AMQP_URI))
    parts: Sequence[str] = args.parts
    raw_rate: float | None = None
    e2e: PhaseResult | None = None
    intake = IntakeResult(http=None, amqp=None)
    grid_figures: dict[str, Any] = dict.fromkeys(GRID_FIELDS)
    routing: dict[str, Any] = {"routing_decisions_per_s": None}
    if "routing" in parts:  # in process, no broker: dispatch's decision as a pure function
        log("routing: decide() over a mix of the four lines, in process")
        routing = run_routing_bench()
    clocks: dict[str, Any] = {"clock_scan_sqlite_find_ms": None}
    notify_figures: dict[str, Any] = {"notify_one_instance_per_s": None}
    if "clocks" in parts:  # in process, no broker: supervision's scan over 1,000,000 clocks
        log("clocks: 1,000,000 open clocks, the due ones found and scanned (SQLite, PostgreSQL)")
        clocks = run_clock_scan_bench()
    with bench_vhost(target) as vhost:
        amqp_uri = target.uri_for_vhost(vhost)
        if "raw" in parts:  # first, while no platform process competes for the CPU
            raw_rate = run_raw_baseline(amqp_uri, args.raw_messages, args.timeout)
        if "e2e" in parts:
            e2e = run_e2e(
                amqp_uri, args.tickets, args.warmup, args.concurrency, args.timeout, args.keep_data
            )
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
    e2e_rate = e2e.tickets / e2e.seconds if e2e else None
    http, amqp = intake.http, intake.amqp
    result: dict[str, Any] = {
        "e2e_cases_per_s": round(e2e_rate, 1) if e2e_rate is not None else None,
        "e2e_latency_ms": {
            "p50": round(percentile(e2e.latencies_ms, 50), 1),
            "p99": round(percentile(e2e.latencies_ms, 99), 1),
        }
        if e2e
        else None,
        "raw_pika_hop_msgs_per_s": round(raw_rate, 1) if raw_rate is not None else None,
        "ratio": round(e2e_rate / raw_rate, 4) if e2e_rate is not None and raw_rate else None,
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
        "tickets": args.tickets if e2e else None,
        "concurrency": args.concurrency if e2e or http else None,
        "raw_messages": args.raw_messages if raw_rate is not None else None,
        "intake_http_tickets": http.requests if http else None,
        "intake_http_failed": http.failed if http else None,
        "intake_amqp_messages": amqp.messages if amqp else None,
        "intake_amqp_stored": amqp.stored if amqp else None,
        "broker": target.address,
        "database": "sqlite",
        "python": platform.python_version(),
    }
    result["goals"] = goals_met(result)
    return result


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
    log(f"done in {time.monotonic() - started:.1f}s")
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
