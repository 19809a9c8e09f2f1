"""How tests, fault tests and the bench run the platform against a real broker.

- a vhost of their own (``temporary_vhost``), through the management API or ``rabbitmqctl``;
- requests signed as a source signs them (DESIGN.md: ``X-Source``, ``X-Timestamp``,
  ``X-Signature``), and a confirming publisher as the grid app or the 12345 system has;
- the platform in the test process (``running``: kit's ``InProcess``), or as ``civicflow run``
  processes, one per service instance (``running_processes``: the fault tests and the bench).

Nothing here imports nameko at module level: the bench runs on plain threads.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pika
import yaml
from pika.adapters.blocking_connection import BlockingChannel

if TYPE_CHECKING:
    from kit.runner import InProcess
    from kit.settings import Settings

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "deploy" / "config"
BASE_AMQP_URI = os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/")
ALL_SERVICES = ("intake", "grid", "dispatch", "supervision", "notify", "console")
INBOUND_EXCHANGE = "civicflow.inbound"
MANAGEMENT_PORT = 15672


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------- HTTP and signing


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> Answer:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            raw, status, got = answer.read(), answer.status, dict(answer.headers)
    except urllib.error.HTTPError as error:
        raw, status, got = error.read(), error.code, dict(error.headers)
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Answer(status, parsed, got)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return (
        "sha256="
        + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )


def signed_headers(
    body: bytes, source: str = "hotline", secret: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """A source's headers for ``body``; the dev configuration's secret unless given."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "X-Source": source,
        "X-Timestamp": stamp,
        "X-Signature": signature(secret or f"dev-secret-{source}", stamp, body),
    }


def healthy(url: str) -> bool:
    """Whether ``url``'s ``/healthz`` answers 200 now."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


# --------------------------------------------------------------------------- the broker


def _management(uri: str, method: str, path: str, body: Any = None) -> Any:
    parts = urllib.parse.urlsplit(uri)
    auth = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    request = urllib.request.Request(
        f"http://{parts.hostname}:{MANAGEMENT_PORT}/api/{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        raw = answer.read()
        return json.loads(raw) if method == "GET" and raw else int(answer.status)


def management_available(uri: str) -> bool:
    try:
        return bool(_management(uri, "GET", "overview"))
    except (OSError, urllib.error.URLError):
        return False


def management_get(uri: str, path: str) -> Any:
    return _management(uri, "GET", path)


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


def create_vhost(uri: str, name: str) -> None:
    user = urllib.parse.urlsplit(uri).username or "guest"
    if management_available(uri):
        _management(uri, "PUT", f"vhosts/{name}", {})
        everything = {"configure": ".*", "write": ".*", "read": ".*"}
        _management(uri, "PUT", f"permissions/{name}/{user}", everything)
    elif shutil.which("rabbitmqctl"):
        _ctl("add_vhost", name)
        _ctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
    else:
        raise RuntimeError(
            "cannot create a vhost: enable rabbitmq_management or install rabbitmqctl"
        )


def delete_vhost(uri: str, name: str) -> None:
    if management_available(uri):
        _management(uri, "DELETE", f"vhosts/{name}")
    else:
        _ctl("delete_vhost", name)


def vhost_uri(base_uri: str, name: str) -> str:
    parts = urllib.parse.urlsplit(base_uri)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(name, safe="")))


@contextmanager
def temporary_vhost(base_uri: str = BASE_AMQP_URI) -> Iterator[str]:
    name = f"civicflow-test-{uuid.uuid4().hex[:10]}"
    create_vhost(base_uri, name)
    try:
        yield vhost_uri(base_uri, name)
    finally:
        delete_vhost(base_uri, name)


def publisher(amqp_uri: str) -> BlockingChannel:
    """A confirming pika channel, as the grid app or the 12345 system would publish."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.exchange_declare(INBOUND_EXCHANGE, "topic", durable=True)
    return channel


def publish(
    channel: BlockingChannel,
    routing_key: str,
    body: bytes,
    message_id: str,
    app_id: str = "gridapp",
    exchange: str = INBOUND_EXCHANGE,
) -> None:
    """Persistent and mandatory: returns once the broker confirmed it (raises if it did not)."""
    properties = pika.BasicProperties(
        content_type="application/json", delivery_mode=2, app_id=app_id, message_id=message_id
    )
    channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)


def queue_figures(amqp_uri: str, queue: str) -> tuple[int, int]:
    """(messages ready, consumers) of a queue that exists."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        method = connection.channel().queue_declare(queue, passive=True).method
        return int(method.message_count), int(method.consumer_count)
    finally:
        connection.close()


def wait_for_consumers(amqp_uri: str, queue: str, count: int = 1, timeout: float = 30) -> None:
    """Until ``queue`` has ``count`` consumers: ``/healthz`` answers before they are up."""
    deadline = time.monotonic() + timeout
    while True:
        with suppress(pika.exceptions.ChannelClosedByBroker):  # not declared yet
            if queue_figures(amqp_uri, queue)[1] >= count:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"not {count} consumer(s) on {queue!r} after {timeout:.0f}s")
        time.sleep(0.1)


class EventTap:
    """An exclusive queue on ``civicflow.events`` (what a subscriber outside would see), or on
    a service's own exchange for its internal events."""

    def __init__(
        self, amqp_uri: str, binding_key: str = "#", exchange: str = "civicflow.events"
    ) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange, "topic", durable=True)
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.queue_bind(self.queue, exchange, binding_key)
        self.seen: list[dict[str, Any]] = []

    def drain(self) -> None:
        while True:
            method, _props, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return
            self.seen.append(json.loads(body))

    def wait_for(
        self, event_type: str, case_id: str | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain()
            for event in self.seen:
                if event["type"] == event_type and (case_id is None or event["case_id"] == case_id):
                    return event
            time.sleep(0.02)
        raise AssertionError(
            f"no {event_type} for {case_id} within {timeout}s; saw {[e['type'] for e in self.seen]}"
        )

    def of_type(self, event_type: str, case_id: str | None = None) -> list[dict[str, Any]]:
        self.drain()
        return [
            e
            for e in self.seen
            if e["type"] == event_type and (case_id is None or e["case_id"] == case_id)
        ]

    def close(self) -> None:
        self.connection.close()


# --------------------------------------------------------------------------- in the test process


@dataclass
class Platform:
    settings: Settings
    services: InProcess

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.settings.ports[service]}{path}"

    def submit(self, path: str, payload: dict[str, Any] | bytes, source: str = "hotline") -> Answer:
        """POST ``payload`` to intake as ``source``, signed at the platform's own time (a test's
        clock may stand hours away from the machine's)."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        stamp = int(self.settings.clock.now().timestamp())
        return http(
            "POST", self.url("intake", path), body, signed_headers(body, source, None, stamp)
        )


def config_for_test(data_dir: Path) -> Path:
    """deploy/config as the tests run it: staff's quiet hours off, since the demo's (22:00–08:00
    Beijing) would hold a unit's alert whenever a test runs in the Beijing night. The tests of
    quiet hours set their own."""
    config = data_dir / "test-config"
    shutil.copytree(CONFIG_DIR, config, dirs_exist_ok=True)
    staff_quiet_hours_off(config)
    return config


def staff_quiet_hours_off(config: Path) -> None:
    document = yaml.safe_load((config / "notify.yml").read_text(encoding="utf-8"))
    document["quiet_hours"] = {**document["quiet_hours"], "staff": False}
    (config / "notify.yml").write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")


def settings_for_test(amqp_uri: str, data_dir: Path, database_url: str | None = None) -> Settings:
    from kit.settings import SERVICES, Settings

    return Settings(
        amqp_uri=amqp_uri,
        database_url=database_url,
        data_dir=data_dir,
        config_dir=config_for_test(data_dir),
        http_host="127.0.0.1",
        ports={name: free_port() for name in SERVICES},
        delivery_limit=3,
        rpc_timeout=5.0,
    )


def settings_with_quiet_hours(
    amqp_uri: str, tmp_path: Path, quiet: dict[str, str] | None = None
) -> Settings:
    """``settings_for_test`` with notify's quiet hours as given, or none at all: the demo's
    (22:00–08:00 Beijing) would hold a citizen's text when a test runs in the evening."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    document = yaml.safe_load((config / "notify.yml").read_text(encoding="utf-8"))
    document["quiet_hours"] = quiet or {"start": "00:00", "end": "00:00"}  # none
    (config / "notify.yml").write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    return dataclasses.replace(
        settings_for_test(amqp_uri, tmp_path), config_dir=config, notify_tick_seconds=0.2
    )


def migrate_all(settings: Settings, services: Sequence[str] | None = None) -> None:
    from kit.migrations import upgrade
    from kit.settings import SERVICES

    for name in services or SERVICES:
        upgrade(name, settings.database_url_for(name))


@contextmanager
def running(settings: Settings, services: Sequence[str] | None = None) -> Iterator[Platform]:
    from civicflow.registry import service_class
    from kit.runner import InProcess
    from kit.settings import SERVICES

    chosen = services or SERVICES
    migrate_all(settings, chosen)
    in_process = InProcess([service_class(name) for name in chosen], settings).start()
    try:
        yield Platform(settings, in_process)
    finally:
        in_process.kill()


# --------------------------------------------------------------------------- as processes


def platform_env(amqp_uri: str, data: Path, code: Path = REPO, **settings: str) -> dict[str, str]:
    """The environment of every ``civicflow`` command of a platform in ``data``: its own vhost,
    a copy of the configuration, SQLite under ``data/var`` unless ``DATABASE_URL`` is given,
    every service on a free port; ``code`` is the source tree it runs (another checkout for a
    comparison)."""
    if not (data / "config").exists():  # the tree's own: its format may differ from ours
        shutil.copytree(code / "deploy" / "config", data / "config")
        if code == REPO:  # as config_for_test: staff's alerts are not held at night
            staff_quiet_hours_off(data / "config")
    inherited = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    return {
        **{k: v for k, v in inherited.items() if not k.startswith("CIVICFLOW_SOURCE_")},
        "AMQP_URI": amqp_uri, "CIVICFLOW_DATA_DIR": str(data / "var"),
        "CIVICFLOW_CONFIG_DIR": str(data / "config"), "CIVICFLOW_HTTP_HOST": "127.0.0.1",
        "CIVICFLOW_LOG_LEVEL": "WARNING", "PYTHONPATH": str(code), "PYTHONUNBUFFERED": "1",
        **{f"{name.upper()}_PORT": str(free_port()) for name in ALL_SERVICES},
        **settings,
    }  # fmt: skip


@dataclass
class Processes:
    """The platform as processes: each service instance a ``civicflow run`` of its own, its
    output in ``data/NAME.log``."""

    env: dict[str, str]
    data: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def civicflow(self, *args: str, timeout: float = 300) -> None:
        """A one-shot command (``migrate``, ``demo``) of the platform's own code."""
        done = subprocess.run(self._command(*args), env=self.env, cwd=self.env["PYTHONPATH"],
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"civicflow {' '.join(args)}: {done.stdout}{done.stderr}")

    def _command(self, *args: str) -> list[str]:
        # the working directory comes first on the path of `python -m`: it is the code's tree
        return [sys.executable, "-m", "civicflow", *args]

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
            self._command("run", service), env=env, cwd=self.env["PYTHONPATH"], stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self.wait_healthy(service, instance)

    def kill(self, service: str) -> None:
        process = self.processes.pop(service)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def service_urls(self, service: str) -> list[str]:
        ports = [v for k, v in self.env.items() if k.startswith(f"{service.upper()}_PORT")]
        return [f"http://127.0.0.1:{port}" for port in ports]

    def wait_healthy(self, service: str, instance: int = 1, timeout: float = 60) -> None:
        key = f"{service.upper()}_PORT" + ("" if instance == 1 else f"_{instance}")
        name = service if instance == 1 else f"{service}#{instance}"
        deadline = time.monotonic() + timeout
        while not healthy(f"http://127.0.0.1:{self.env[key]}"):
            assert self.processes[name].poll() is None, self.log_tail(name)
            assert time.monotonic() < deadline, self.log_tail(name)
            time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes.values():
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def dead(self) -> list[str]:
        """Services whose process exited: a fault must not take a survivor down with it."""
        return [name for name, process in self.processes.items() if process.poll() is not None]

    def log_tail(self, name: str, chars: int = 2000) -> str:
        path = self.data / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def log_lines(self, service: str, *words: str, last: int = 20) -> list[str]:
        """The last lines of a service's log that hold any of ``words``: what a failed check
        prints, so that a fault seen once in CI can be read afterwards."""
        text = self.log_tail(service, chars=10**9)
        return [line for line in text.splitlines() if any(w in line for w in words)][-last:]

    def rows(self, service: str, sql: str) -> list[tuple[Any, ...]]:
        """A query on a service's own database, SQLite file or PostgreSQL schema."""
        url = self.env.get("DATABASE_URL")
        if url is None:
            with closing(sqlite3.connect(self.data / "var" / f"{service}.db")) as connection:
                return connection.execute(sql).fetchall()
        import psycopg2

        dsn = url.replace("postgresql+psycopg2://", "postgresql://")
        with closing(psycopg2.connect(dsn)) as connection, connection.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{service}"')
            cursor.execute(sql)
            return list(cursor.fetchall())


@contextmanager
def running_processes(
    data: Path,
    services: Sequence[str] = ALL_SERVICES,
    amqp_uri: str = BASE_AMQP_URI,
    code: Path = REPO,
    **settings: str,
) -> Iterator[Processes]:
    """Every service in ``services`` in a process of its own, on a vhost of its own, migrated
    and loaded with the demo county; ``settings`` are extra environment (``DATABASE_URL`` for
    PostgreSQL, a shorter heartbeat…)."""
    with temporary_vhost(amqp_uri) as uri:
        platform = Processes(platform_env(uri, data, code, **settings), data)
        platform.civicflow("migrate")
        platform.civicflow("demo")
        try:
            for service in services:
                platform.start(service)
            yield platform
        finally:
            platform.stop()
