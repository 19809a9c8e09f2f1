"""The platform, or part of it, running in the test process against a real broker."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pika
import yaml

from civicflow.registry import service_class
from kit.migrations import upgrade
from kit.runner import InProcess
from kit.settings import SERVICES, Settings

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "deploy" / "config"


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
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "X-Source": source,
        "X-Timestamp": stamp,
        "X-Signature": signature(secret or f"dev-secret-{source}", stamp, body),
    }


@dataclass
class Platform:
    settings: Settings
    services: InProcess

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.settings.ports[service]}{path}"

    def submit(self, path: str, payload: dict[str, Any] | bytes, source: str = "hotline") -> Answer:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return http("POST", self.url("intake", path), body, signed_headers(body, source))


def settings_for_test(amqp_uri: str, data_dir: Path, database_url: str | None = None) -> Settings:
    from tests.conftest import free_port

    return Settings(
        amqp_uri=amqp_uri,
        database_url=database_url,
        data_dir=data_dir,
        config_dir=CONFIG_DIR,
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


def migrate_all(settings: Settings, services: Sequence[str] = SERVICES) -> None:
    for name in services:
        upgrade(name, settings.database_url_for(name))


@contextmanager
def running(settings: Settings, services: Sequence[str] = SERVICES) -> Iterator[Platform]:
    migrate_all(settings, services)
    in_process = InProcess([service_class(name) for name in services], settings).start()
    try:
        yield Platform(settings, in_process)
    finally:
        in_process.kill()


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


def publisher(amqp_uri: str) -> pika.adapters.blocking_connection.BlockingChannel:
    """A confirming pika channel, as the grid app or the 12345 system would publish."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.exchange_declare("civicflow.inbound", "topic", durable=True)
    return channel
