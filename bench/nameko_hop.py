"""One hop through a nameko service, with plain nameko and with the kit at the consuming end.

The consumer runs alone in a process of its own (``bench/hop_service.py``) and is fed ~1 KB
``case.received`` envelopes by a pika publisher the way the raw baseline feeds its queue: one
connection, ``confirm_delivery()``, persistent, each publish waiting for its confirm. Two
figures per kind, from one service process:

* the drain: ``events`` published while the service is stopped (it was started once before,
  to declare its queue), then the service started: the events over the time from its first
  handled event to the last, both timed by the service. What the consuming end can do.
* the hop: with the service running, ``events`` more published: the events over the time from
  the first publish to the handling of the last one (the service notes ``time.time()``; both
  ends run on this machine). Comparable with the raw baseline, publisher and all.

Kinds:

* ``nameko``: exchange ``hop_source.events`` (topic), routing key ``bench.hop``, handled by a
  standard ``nameko.events.event_handler`` that only counts.
* ``kit``: exchange ``intake.events``, routing key ``case.received``, handled by the kit's
  ``on_event`` (quorum queue, envelope parsed by its contract) in a service with the kit's
  ``Database``, recording the event with ``first_time`` and committing, on SQLite.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pika
from harness import (
    REPO_ROOT,
    STOP_GRACE_S,
    BenchError,
    free_ports,
    log,
    stop_process_group,
    tail,
    wait_for_consumer,
)
from pika.spec import BasicProperties

from contracts.events import CASE_RECEIVED, CaseReceived, Reporter

SERVICE_SCRIPT = Path(__file__).resolve().parent / "hop_service.py"
HOP_MESSAGE_BYTES = 1024
RESULT_POLL_S = 0.05

# where each kind is published to, and the queue its handler consumes (hop_service.py)
TARGETS: dict[str, tuple[str, str, str]] = {
    "nameko": ("hop_source.events", "bench.hop", "evt-hop_source-bench.hop--hop_nameko.handle"),
    "kit": ("intake.events", CASE_RECEIVED.type, "hop_kit.handle"),
}


@dataclass(frozen=True)
class HopResult:
    """One kind's figures: the backlog drained, and the hop."""

    kind: str
    drain_events: int
    drain_seconds: float
    hop_events: int
    hop_seconds: float

    @property
    def drain_rate(self) -> float:
        return self.drain_events / self.drain_seconds

    @property
    def hop_rate(self) -> float:
        return self.hop_events / self.hop_seconds


def hop_body(seq: int) -> bytes:
    """A ``case.received`` envelope of about 1 KB: the kit parses it by its contract, nameko
    hands it over as a dict."""
    data = CaseReceived(
        channel="hotline",
        source="hotline",
        external_id=f"HOP-{seq:08d}",
        reporter=Reporter(),
        content="小区楼下饭店油烟污染严重,请尽快处理",
        received_at=datetime.now(UTC),
    )
    envelope = CASE_RECEIVED.new(data, case_id=f"CF261121-{seq:06d}")
    size = len(envelope.model_dump_json().encode())
    padding = "。" * max(0, (HOP_MESSAGE_BYTES - size) // 3)  # 3 bytes each in UTF-8
    data = data.model_copy(update={"content": data.content + padding})
    return envelope.model_copy(update={"data": data}).model_dump_json().encode()


def publish_confirmed(amqp_uri: str, exchange: str, routing_key: str, bodies: list[bytes]) -> None:
    """Publish each body persistent and confirmed, one at a time, on one connection."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        properties = BasicProperties(content_type="application/json", delivery_mode=2)
        for body in bodies:
            channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
    except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
        raise BenchError(f"publishing to {exchange} ({routing_key}): {exc!r}") from None
    finally:
        with contextlib.suppress(Exception):
            connection.close()


@contextlib.contextmanager
def hop_service(
    kind: str, amqp_uri: str, data_dir: Path, marks: Sequence[int]
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """``bench/hop_service.py KIND`` in a session of its own, stopped on exit; yields the
    process and the file its marks are appended to."""
    result_path = data_dir / f"marks-{secrets.token_hex(3)}.jsonl"
    command = [
        sys.executable,
        str(SERVICE_SCRIPT),
        kind,
        f"--marks={','.join(str(mark) for mark in marks)}",
        f"--result={result_path}",
        f"--data-dir={data_dir}",
        f"--port={free_ports(1)[0]}",
    ]
    env = {**os.environ, "AMQP_URI": amqp_uri, "PYTHONUNBUFFERED": "1"}
    with (data_dir / "service.log").open("ab") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, result_path
    finally:
        stop_process_group(process, STOP_GRACE_S, signal.SIGTERM, f"hop service {process.pid}")


def wait_for_mark(
    process: subprocess.Popen[bytes], result_path: Path, mark: int, timeout: float
) -> tuple[float, float]:
    """Block until the service has noted ``mark`` handled events; (the first event's time,
    the mark's), both ``time.time()`` in the service."""
    deadline = time.monotonic() + timeout
    log_path = result_path.parent / "service.log"
    while True:
        with contextlib.suppress(FileNotFoundError):
            for line in result_path.read_text(encoding="utf-8").splitlines(keepends=True):
                if line.endswith("\n") and (noted := json.loads(line))["handled"] == mark:
                    return float(noted["first"]), float(noted["at"])
        if process.poll() is not None:
            raise BenchError(
                f"hop service exited with {process.returncode}. "
                f"Tail of {log_path}:\n{tail(log_path)}"
            )
        if time.monotonic() > deadline:
            raise BenchError(f"hop: {mark} events not handled in {timeout:.0f}s")
        time.sleep(RESULT_POLL_S)


def run_hop(amqp_uri: str, kind: str, events: int, timeout: float, keep_data: bool) -> HopResult:
    """``kind``'s service is started once to declare its queue and stopped; ``events`` are
    published into the queue; the service is started again and drains them (the drain: from
    its first event to the last, both timed by the service); then ``events`` more are
    published while it runs (the hop: from the first publish to the handling of the last)."""
    exchange, routing_key, queue_name = TARGETS[kind]
    data_dir = Path(tempfile.mkdtemp(prefix=f"civicflow-bench-hop-{kind}-"))
    backlog = [hop_body(seq) for seq in range(events)]
    more = [hop_body(seq) for seq in range(events, 2 * events)]
    failed = True
    try:
        with hop_service(kind, amqp_uri, data_dir, [events]):
            wait_for_consumer(amqp_uri, queue_name, timeout)  # declared and bound
        log(f"{kind} hop: {events} events into {queue_name} while the service is stopped")
        publish_confirmed(amqp_uri, exchange, routing_key, backlog)
        with hop_service(kind, amqp_uri, data_dir, [events, 2 * events]) as (process, marks):
            first, drained = wait_for_mark(process, marks, events, timeout)
            log(f"{kind} hop: publishing {events} events to {exchange} ({routing_key})")
            first_publish = time.time()
            publish_confirmed(amqp_uri, exchange, routing_key, more)
            published = time.time() - first_publish
            _, last = wait_for_mark(process, marks, 2 * events, timeout)
        result = HopResult(kind, events, drained - first, events, last - first_publish)
        log(
            f"{kind} hop: backlog drained at {result.drain_rate:.1f}/s; published+confirmed in "
            f"{published:.2f}s, all handled after {result.hop_seconds:.2f}s "
            f"({result.hop_rate:.1f}/s)"
        )
        failed = False
        return result
    finally:
        if failed or keep_data:
            log(f"{kind} hop: data dir and service.log kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def run_hops(amqp_uri: str, events: int, timeout: float, keep_data: bool) -> dict[str, float]:
    """Both kinds, one after the other; their figures by report key."""
    nameko = run_hop(amqp_uri, "nameko", events, timeout, keep_data)
    kit = run_hop(amqp_uri, "kit", events, timeout, keep_data)
    return {
        "nameko_single_hop_events_per_s": round(nameko.hop_rate, 1),
        "kit_single_hop_events_per_s": round(kit.hop_rate, 1),
        "nameko_drain_events_per_s": round(nameko.drain_rate, 1),
        "kit_drain_events_per_s": round(kit.drain_rate, 1),
        "kit_over_nameko": round(kit.drain_rate / nameko.drain_rate, 3),
    }
