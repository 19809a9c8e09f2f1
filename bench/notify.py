"""Notify's sending rate against an SMS provider that takes 100 ms per call: one instance, then
three, each a ``civicflow run notify`` of its own (``tests.support.harness.Processes``).

The provider is a local HTTP server shaped like Aliyun's SendSms (it answers Aliyun's success
body after sleeping 100 ms; signing is tested elsewhere, against a server that checks it).
``case.dispatched`` events for departments with duty phones are published to
``dispatch.events`` by pika, as dispatch's relay would; a message counts when its
``notification.sent`` reaches ``civicflow.events``. The rate runs from the first to the last.
Rate limits are lifted for the run: what is measured is sending, not waiting for a bucket.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pika
import yaml

from bench import log
from tests.support.harness import (
    CONFIG_DIR,
    REPO,
    Processes,
    platform_env,
    temporary_vhost,
    wait_for_consumers,
)

PROVIDER_DELAY_S = 0.1
MESSAGES = 1500
DEPARTMENTS = ("D-HBJ", "D-ZJJ", "D-SCJ", "D-GAJ", "D-ZZB")


@contextlib.contextmanager
def slow_provider(delay: float = PROVIDER_DELAY_S) -> Iterator[str]:
    """An Aliyun-shaped SendSms that takes ``delay`` seconds per call."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real endpoint allows

        def do_GET(self) -> None:
            time.sleep(delay)
            body = json.dumps({"Message": "OK", "RequestId": uuid.uuid4().hex,
                               "BizId": uuid.uuid4().hex, "Code": "OK"}).encode()  # fmt: skip
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def bench_config(folder: Path) -> Path:
    config = folder / "config"
    shutil.copytree(CONFIG_DIR, config)
    document = yaml.safe_load((config / "notify.yml").read_text(encoding="utf-8"))
    document["providers"]["sms"] = "aliyun"
    document["rate_limits"] = {"provider": {"rate": 100000, "burst": 100000},
                               "recipient": {"rate": 100000, "burst": 100000}}  # fmt: skip
    document["quiet_hours"]["staff"] = False  # a bench run at night measures sending, not waiting
    (config / "notify.yml").write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    return config


def aliyun(provider: str) -> dict[str, str]:
    """Aliyun's SendSms settings, pointed at ``provider``."""
    return {
        "CIVICFLOW_ALIYUN_ACCESS_KEY_ID": "bench",
        "CIVICFLOW_ALIYUN_ACCESS_KEY_SECRET": "bench",
        "CIVICFLOW_ALIYUN_SIGN_NAME": "综治中心",
        "CIVICFLOW_ALIYUN_BASE_URL": provider,
        "CIVICFLOW_ALIYUN_TEMPLATES": json.dumps({"case_dispatched": "SMS_1"}),
    }


def publish(amqp_uri: str, count: int) -> None:
    from contracts.events import CASE_DISPATCHED, Assignee, CaseDispatched, Deadlines

    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.confirm_delivery()  # unconfirmed, the last publishes before closing may be dropped
    channel.exchange_declare("dispatch.events", "topic", durable=True)
    now = datetime.now(UTC)
    limits = Deadlines(respond_by=now + timedelta(hours=2), feedback_by=now + timedelta(hours=24),
                       resolve_by=now + timedelta(days=5))  # fmt: skip
    for n in range(count):
        code = DEPARTMENTS[n % len(DEPARTMENTS)]
        data = CaseDispatched(assignee=Assignee(kind="department", code=code, name=code),
                              level="district", deadlines=limits, dispatched_by="auto",
                              summary="化工厂夜间排污")  # fmt: skip
        envelope = CASE_DISPATCHED.new(data, case_id=f"CF-B{n:08d}")
        channel.basic_publish("dispatch.events", CASE_DISPATCHED.type,
                              envelope.model_dump_json().encode(),
                              pika.BasicProperties(delivery_mode=2))  # fmt: skip
    connection.close()


def count_sent(amqp_uri: str, expected: int, timeout: float) -> tuple[int, float]:
    """notification.sent events on civicflow.events: how many, over how long (first to last)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.exchange_declare("civicflow.events", "topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "civicflow.events", "notification.sent")
    return _drain(connection, channel, queue, expected, timeout)


def _drain(
    connection: Any, channel: Any, queue: str, expected: int, timeout: float
) -> tuple[int, float]:
    seen, first, last = 0, 0.0, 0.0
    deadline = time.monotonic() + timeout
    while seen < expected and time.monotonic() < deadline:
        method, _props, _body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            connection.sleep(0.01)
            continue
        last = time.monotonic()
        first = first or last
        seen += 1
    connection.close()
    return seen, max(last - first, 1e-9)


def measure(count: int, messages: int, database_url: str | None) -> float:
    with tempfile.TemporaryDirectory(prefix="civicflow-notify-") as folder, \
            slow_provider() as url, temporary_vhost() as uri:  # fmt: skip
        data = Path(folder)
        bench_config(data)
        settings = aliyun(url) | ({"NOTIFY_DATABASE_URL": database_url} if database_url else {})
        platform = Processes(platform_env(uri, data, REPO, **settings), data)
        platform.civicflow("migrate", "notify")
        try:
            for instance in range(1, count + 1):
                platform.start("notify", instance)
            wait_for_consumers(uri, "notify.tell", count)
            listener: dict[str, tuple[int, float]] = {}
            thread = threading.Thread(
                target=lambda: listener.update(result=count_sent(uri, messages, 120))
            )
            thread.start()
            time.sleep(0.5)
            publish(uri, messages)
            thread.join()
        finally:
            platform.stop()
        seen, seconds = listener["result"]
        if seen < messages:
            raise RuntimeError(
                f"notify x{count}: {seen} of {messages} sent:\n{platform.log_tail('notify')}"
            )
        log(f"notify x{count}: {seen / seconds:.1f}/s")
        return seen / seconds


def run_notify_bench(database_url: str | None, messages: int = MESSAGES) -> dict[str, Any]:
    one = measure(1, messages, database_url)
    three = measure(3, messages, database_url)
    return {
        "notify_provider_delay_ms": PROVIDER_DELAY_S * 1000,
        "notify_one_instance_per_s": round(one, 1),
        "notify_three_instances_per_s": round(three, 1),
        "notify_scaling": round(three / one, 2),
        "notify_database": "postgresql" if database_url else "sqlite",
    }
