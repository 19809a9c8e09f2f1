"""What the parts of the bench share: errors and logging, the broker and the run's vhost, the
platform started with ``civicflow up``, the processes it runs (found in ``/proc``), AMQP
helpers and signed submissions. ``bench/run.py`` is the entry point; this is its toolbox."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import math
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
CONFIG_DIR = REPO_ROOT / "deploy" / "config"

DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MANAGEMENT_PORT = 15672
RABBITMQCTL_CANDIDATES = ("/usr/sbin/rabbitmqctl", "/usr/lib/rabbitmq/bin/rabbitmqctl")

SERVICES: tuple[str, ...] = ("intake", "dispatch", "supervision", "notify", "grid", "console")
PUBLIC_EXCHANGE = "civicflow.events"

HEALTH_TIMEOUT_S = 60.0
STOP_GRACE_S = 20.0
HTTP_TIMEOUT_S = 30.0
SUBPROCESS_TIMEOUT_S = 120.0
LISTENER_READY_TIMEOUT_S = 15.0
LOG_TAIL_LINES = 40
MAX_ERRORS_SHOWN = 5

# Environment the platform must not inherit: the bench chooses the database itself.
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

    def delete(self, vhost: str) -> bool:
        """Remove ``vhost`` with whatever created it; a failure is logged (and False
        returned), never raised."""
        try:
            if self._method == "rabbitmqctl":
                ctl = self._rabbitmqctl()
                if ctl is not None:
                    self._ctl(ctl, "delete_vhost", vhost)
                    return True
            elif self._method == "api":
                self._api("DELETE", f"/api/vhosts/{urllib.parse.quote(vhost, safe='')}", None)
                return True
        except BenchError as exc:
            log(f"warning: could not delete vhost {vhost!r}: {exc}")
        return False

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
        if admin.delete(vhost):
            log(f"deleted vhost {vhost}")


# --------------------------------------------------------------------------- the platform


def platform_env(
    amqp_uri: str, data_dir: Path, ports: Mapping[str, int], database_url: str | None = None
) -> dict[str, str]:
    """The environment of every ``civicflow`` command of the run: own vhost, data dir, ports;
    SQLite files in the data dir, or ``database_url`` (one schema per service) when given."""
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
    if database_url:
        env["DATABASE_URL"] = database_url
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


def stop_process_group(
    process: subprocess.Popen[bytes],
    grace: float,
    stop_signal: signal.Signals = signal.SIGINT,
    label: str = "civicflow up",
) -> None:
    """``stop_signal`` to the process (SIGINT makes ``civicflow up`` stop its children,
    SIGTERM a lone service); SIGKILL to its whole group after ``grace`` seconds."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(stop_signal)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log(f"{label} did not stop in {grace:.0f}s: killing its process group")
    # The group id is the process's own pid (start_new_session): this reaches only processes
    # we started, including any child that outlived it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


@contextlib.contextmanager
def civicflow_up(
    env: Mapping[str, str],
    log_path: Path,
    services: Sequence[str] = (),
    options: Sequence[str] = (),
) -> Iterator[subprocess.Popen[bytes]]:
    """``civicflow up [options] [services]`` (all six when none are named; ``options`` such as
    ``--scale dispatch=2 --port-step 137``) in a session of its own, its output appended to
    ``log_path``; yields the process at once, without waiting for health. Stopped on exit
    (SIGINT, waited for), on failure too."""
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [str(civicflow_executable()), "up", *options, *services],
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


def child_pids(parent: int, command: str) -> list[int]:
    """The pids (ascending: in the order they were started) of the children of ``parent``
    whose command line contains ``command``, from ``/proc``; none without ``/proc``."""
    try:
        entries = [entry for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    except OSError:
        return []
    found: list[int] = []
    for entry in entries:
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # exited meanwhile
        # after the parenthesised command name: state, ppid, …
        if int(stat.rpartition(")")[2].split()[1]) == parent and command in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def child_pid(parent: int, command: str) -> int | None:
    """The pid of the (first) child of ``parent`` whose command line contains ``command``;
    None when there is no such child (or no ``/proc``)."""
    pids = child_pids(parent, command)
    return pids[0] if pids else None


def service_pids(up_pid: int, services: Sequence[str] = SERVICES) -> dict[str, list[int]]:
    """The ``civicflow run SERVICE`` children of ``civicflow up`` (several with ``--scale``)."""
    return {name: child_pids(up_pid, f"civicflow run {name}") for name in services}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (all its threads), from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # fields[0] is field 3 of proc(5) (state); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float | None:
    """The peak resident set of ``pid`` so far (``VmHWM`` of ``/proc/<pid>/status``), in MiB;
    None when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    except (OSError, ValueError, IndexError):
        return None
    return None


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


def wait_for_consumer(amqp_uri: str, queue_name: str, timeout: float, count: int = 1) -> None:
    """Block until ``queue_name`` exists and has ``count`` consumers or more. ``/healthz``
    answers before the service's AMQP consumers are up, and a service stopped in that gap
    hangs in nameko's shutdown; this also makes sure intake has declared its inbound queue."""
    deadline = time.monotonic() + timeout
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        while True:
            channel = connection.channel()
            try:
                declared = channel.queue_declare(queue_name, passive=True)
                if declared.method.consumer_count >= count:
                    return
                channel.close()
            except pika.exceptions.ChannelClosedByBroker:
                pass  # not declared yet (the broker closed that channel)
            if time.monotonic() > deadline:
                raise BenchError(f"not {count} consumer(s) on {queue_name!r} after {timeout:.0f}s")
            time.sleep(0.1)
    finally:
        with contextlib.suppress(Exception):
            connection.close()


# --------------------------------------------------------------------------- submissions


def random_mobiles(count: int) -> list[str]:
    """``count`` distinct random 11-digit mobile numbers ``13xxxxxxxxx``."""
    rng = random.Random(secrets.randbits(64))
    numbers: dict[str, None] = {}  # insertion-ordered set
    while len(numbers) < count:
        numbers[f"13{rng.randrange(10**9):09d}"] = None
    return list(numbers)


def source_secret(source: str) -> str:
    """The dev config's signing secret of ``source`` (``deploy/config/sources.yml``)."""
    return f"dev-secret-{source}"


def signed_headers(source: str, body: bytes) -> dict[str, str]:
    """The source-authentication headers of DESIGN.md for ``source``, signed now."""
    timestamp = str(int(time.time()))
    key = source_secret(source).encode()
    digest = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "X-Source": source,
        "X-Timestamp": timestamp,
        "X-Signature": "sha256=" + digest.hexdigest(),
    }


def wait_quiet(pids: Sequence[int], timeout: float, busy_percent: float = 15.0) -> float:
    """Block until the processes together use less than ``busy_percent`` of one core over
    half a second (the backlog of a previous phase worked off), or ``timeout`` passes; the
    seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = total_cpu_seconds(pids)
        time.sleep(0.5)
        if (total_cpu_seconds(pids) - before) / 0.5 * 100.0 < busy_percent:
            break
    return time.monotonic() - started


def total_cpu_seconds(pids: Sequence[int]) -> float:
    """The CPU seconds of all of ``pids`` (one that exited counts nothing)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total
