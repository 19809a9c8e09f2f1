"""Intake alone, in a process of its own: 12345 tickets POSTed over keep-alive connections
(and the CPU intake spent a request), then ``civicflow.inbound`` drained: tickets published
while intake was stopped, timed from the first drop in the queue's depth to empty."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pika

from bench import log
from bench.lines import HOTLINE_ONLY, send_all, submissions
from bench.procstats import cpu_seconds
from tests.support.harness import (
    publish,
    publisher,
    queue_figures,
    running_processes,
    wait_for_consumers,
)

INBOUND_QUEUE = "civicflow.inbound.intake"


def over_http(uri: str, url: str, pid: int, tickets: int, clients: int) -> dict[str, Any]:
    items = submissions(HOTLINE_ONLY, 100 + tickets, ["-"])
    send_all(items[:100], uri, [url], clients)  # warm-up
    before, started = cpu_seconds(pid), time.perf_counter()
    pool = send_all(items[100:], uri, [url], clients)
    seconds = max(sent.accepted for sent in pool.sent) - started
    cpu_ms = (cpu_seconds(pid) - before) * 1000 / tickets
    log(f"intake over HTTP: {len(pool.sent) / seconds:.1f}/s at {cpu_ms:.2f} ms CPU a request")
    return {
        "intake_http_per_s": round(len(pool.sent) / seconds, 1),
        "intake_http_cpu_ms_per_request": round(cpu_ms, 2),
        "intake_http_failed": len(pool.errors),
    }


def fill(uri: str, messages: int, publishers: int = 4) -> None:
    """Tickets published as the 12345 system does: persistent, confirmed, mandatory."""
    items = submissions(HOTLINE_ONLY, messages, ["-"])

    def send(share: Sequence[Any]) -> None:
        channel = publisher(uri)
        for item in share:
            publish(channel, "hotline.ticket", item.body, item.external_id, "hotline")
        channel.connection.close()

    threads = [
        threading.Thread(target=send, args=(items[n::publishers],)) for n in range(publishers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def intake_alone(parts: Sequence[str], tickets: int, messages: int, clients: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="civicflow-bench-intake-") as data,
        running_processes(Path(data), ("intake",)) as platform,
    ):
        uri = platform.env["AMQP_URI"]
        wait_for_consumers(uri, INBOUND_QUEUE)
        if "intake-http" in parts:
            url, pid = platform.service_urls("intake")[0], platform.processes["intake"].pid
            figures |= over_http(uri, url, pid, tickets, clients)
        if "intake-amqp" in parts:
            platform.kill("intake")
            fill(uri, messages)
            drained: list[float] = []

            def watch() -> None:  # the depth every 20 ms: its first drop, then empty
                connection = pika.BlockingConnection(pika.URLParameters(uri))
                channel = connection.channel()
                while not drained or drained[-1] is not None:
                    depth = channel.queue_declare(INBOUND_QUEUE, passive=True).method.message_count
                    if depth < messages and not drained:
                        drained.append(time.perf_counter())
                    if depth == 0:
                        drained.append(time.perf_counter())
                        break
                    time.sleep(0.02)
                connection.close()

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            platform.start("intake")
            watcher.join(300)
            rate = messages / max(drained[-1] - drained[0], 0.02)
            log(f"intake draining {INBOUND_QUEUE}: {rate:.1f}/s")
            figures |= {
                "intake_amqp_drain_per_s": round(rate, 1),
                "intake_amqp_rejected": queue_figures(uri, "civicflow.inbound.rejected")[0],
            }
    return figures
