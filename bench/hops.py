"""One hop, three ways, on the same broker: raw pika, a plain nameko service, the kit's.

* raw: a durable queue; a publisher with confirms sends persistent ~1 KB messages, one at a
  time; a consumer on its own connection acks each by hand (prefetch 100); from the first
  publish to the last ack.
* nameko and kit: the same publisher feeding ``case.received`` envelopes to a service alone
  in a process of its own (``bench/hop_service.py``): a plain ``event_handler`` that counts,
  and the kit's ``on_event`` recording each event once on SQLite. The hop: from the first
  publish to the last event handled. The drain: a backlog published while the service was
  stopped, from its first event to its last: what the consuming end can do.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pika

from bench import log
from contracts.events import CASE_RECEIVED, CaseReceived, Reporter
from tests.support.harness import REPO, free_port, publish, wait_for_consumers

TARGETS = {  # kind: exchange, routing key, the queue its handler consumes
    "nameko": ("hop_source.events", "bench.hop", "evt-hop_source-bench.hop--hop_nameko.handle"),
    "kit": ("intake.events", CASE_RECEIVED.type, "hop_kit.handle"),
}


def envelope(seq: int) -> bytes:
    """A ``case.received`` envelope of about 1 KB."""
    content = "小区楼下饭店油烟污染严重,请尽快处理" + "。" * 230  # 3 bytes each in UTF-8
    data = CaseReceived(
        channel="hotline",
        source="hotline",
        external_id=f"HOP-{seq:08d}",
        reporter=Reporter(),
        content=content,
        received_at=datetime.now(UTC),
    )
    return CASE_RECEIVED.new(data, case_id=f"CF261121-{seq:06d}").model_dump_json().encode()


def publish_all(amqp_uri: str, exchange: str, routing_key: str, bodies: list[bytes]) -> None:
    """Each body persistent and confirmed, one at a time, on one connection."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.confirm_delivery()
    for seq, body in enumerate(bodies):
        publish(channel, routing_key, body, f"hop-{seq}", "bench", exchange)
    connection.close()


def raw_hop(amqp_uri: str, messages: int) -> float:
    """Messages a second through one durable queue: confirmed persistent publish, manual ack."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    queue = channel.queue_declare("", durable=True, exclusive=False).method.queue
    acked: list[float] = []
    ready = threading.Event()

    def consume() -> None:
        own = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        listening = own.channel()
        listening.basic_qos(prefetch_count=100)

        def ack(ch: Any, method: Any, _properties: Any, _body: bytes) -> None:
            ch.basic_ack(method.delivery_tag)
            acked.append(time.perf_counter())

        listening.basic_consume(queue, ack)
        ready.set()
        deadline = time.monotonic() + 300
        while len(acked) < messages and time.monotonic() < deadline:
            own.process_data_events(time_limit=0.2)
        own.close()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    ready.wait(15)
    channel.confirm_delivery()
    body = json.dumps({"type": "bench.raw", "padding": "x" * 1000}).encode()
    started = time.perf_counter()
    for seq in range(messages):
        publish(channel, queue, body, f"raw-{seq}", "bench", exchange="")
    consumer.join()
    channel.queue_delete(queue)
    connection.close()
    rate = messages / (acked[-1] - started)
    log(f"raw pika hop: {rate:.1f} msg/s")
    return rate


@contextmanager
def hop_service(kind: str, amqp_uri: str, data: Path, marks: str) -> Iterator[Path]:
    """``bench/hop_service.py KIND`` alone in a process; yields the file its marks go to."""
    result = data / f"marks-{time.monotonic_ns()}.jsonl"
    command = [
        sys.executable,
        "-m",
        "bench.hop_service",
        kind,
        f"--marks={marks}",
        f"--result={result}",
        f"--data-dir={data}",
        f"--port={free_port()}",
    ]
    with (data / "service.log").open("ab") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env={**os.environ, "AMQP_URI": amqp_uri},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield result
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def mark(result: Path, handled: int, timeout: float = 300) -> tuple[float, float]:
    """(first event, the ``handled``-th event) as the service timed them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result.exists():
            for line in result.read_text().splitlines():
                noted = json.loads(line)
                if noted["handled"] == handled:
                    return float(noted["first"]), float(noted["at"])
        time.sleep(0.05)
    raise TimeoutError(f"{handled} events not handled in {timeout:.0f}s; see {result.parent}")


def hop(amqp_uri: str, kind: str, events: int) -> tuple[float, float]:
    """(hop, drain) events a second of ``kind``."""
    exchange, routing_key, queue = TARGETS[kind]
    with tempfile.TemporaryDirectory(prefix=f"civicflow-hop-{kind}-") as folder:
        data = Path(folder)
        with hop_service(kind, amqp_uri, data, str(events)):
            wait_for_consumers(amqp_uri, queue)  # its queue declared and bound
        publish_all(amqp_uri, exchange, routing_key, [envelope(n) for n in range(events)])
        with hop_service(kind, amqp_uri, data, f"{events},{2 * events}") as result:
            first, drained = mark(result, events)
            started = time.time()
            publish_all(
                amqp_uri, exchange, routing_key, [envelope(n) for n in range(events, 2 * events)]
            )
            last = mark(result, 2 * events)[1]
    rates = events / (last - started), events / (drained - first)
    log(f"{kind} hop: {rates[0]:.1f}/s; its backlog drained at {rates[1]:.1f}/s")
    return rates


def hops(amqp_uri: str, events: int) -> dict[str, float]:
    nameko, kit = hop(amqp_uri, "nameko", events), hop(amqp_uri, "kit", events)
    return {
        "nameko_single_hop_events_per_s": round(nameko[0], 1),
        "kit_single_hop_events_per_s": round(kit[0], 1),
        "nameko_drain_events_per_s": round(nameko[1], 1),
        "kit_drain_events_per_s": round(kit[1], 1),
        "kit_over_nameko": round(kit[1] / nameko[1], 3),
    }
