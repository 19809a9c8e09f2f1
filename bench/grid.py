"""Grid's ``locate`` over RPC: ``grid.locate(lat, lon)`` over RabbitMQ (nameko's RPC
protocol, spoken here with pika, publisher confirms on as nameko's own proxy has them) against
``civicflow run grid`` alone in its process with the demo county, paced at 200 calls a second
from four client connections for 5 s (open loop); latency per call from publish to reply."""

from __future__ import annotations

import json
import random
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pika

from bench import log, quantiles
from tests.support.harness import running_processes

RPC_EXCHANGE = "nameko-rpc"
CLIENTS = 4
REPLY_TIMEOUT_S = 10.0


def random_points(count: int, seed: int) -> list[tuple[float, float]]:
    """Points of the demo county's bounding box: every one inside a micro-grid."""
    from services.grid.demo import DEMO_BOUNDS

    west, south, east, north = DEMO_BOUNDS
    rng = random.Random(seed)
    return [(rng.uniform(south, north), rng.uniform(west, east)) for _ in range(count)]


class RpcCaller:
    """A nameko RPC client in pika: publish to ``nameko-rpc`` with ``reply_to`` and a
    correlation id; the reply comes back on our own queue bound under its name."""

    def __init__(self, amqp_uri: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(RPC_EXCHANGE, "topic", durable=True)
        self.channel.confirm_delivery()
        self.reply_queue = f"rpc.reply-bench-{uuid.uuid4().hex}"
        self.channel.queue_declare(self.reply_queue, exclusive=True, auto_delete=True)
        self.channel.queue_bind(self.reply_queue, RPC_EXCHANGE, self.reply_queue)
        self.replies: dict[str, Any] = {}
        self.channel.basic_consume(self.reply_queue, self._on_reply, auto_ack=True)

    def _on_reply(self, _channel: Any, _method: Any, properties: Any, body: bytes) -> None:
        self.replies[properties.correlation_id] = json.loads(body)

    def call(self, method: str, **kwargs: Any) -> Any:
        correlation_id = uuid.uuid4().hex
        self.channel.basic_publish(
            RPC_EXCHANGE,
            f"grid.{method}",
            json.dumps({"args": [], "kwargs": kwargs}).encode(),
            pika.BasicProperties(
                content_type="application/json",
                reply_to=self.reply_queue,
                correlation_id=correlation_id,
                delivery_mode=2,
            ),
            mandatory=True,
        )
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while correlation_id not in self.replies:
            if time.monotonic() > deadline:
                raise TimeoutError(f"grid.{method} gave no answer in {REPLY_TIMEOUT_S}s")
            self.connection.process_data_events(time_limit=0.05)
        reply = self.replies.pop(correlation_id)
        if reply.get("error"):
            raise RuntimeError(f"grid.{method} failed: {reply['error']}")
        return reply["result"]

    def close(self) -> None:
        self.connection.close()


def paced_calls(callers: list[RpcCaller], rate: int, seconds: float) -> list[float]:
    """Open loop: call i of each client is due at its own slot whether or not the previous
    answer was slow, so a stall shows in the latencies instead of lowering the rate."""
    per_client = rate / len(callers)
    calls = int(per_client * seconds)
    latencies: list[list[float]] = [[] for _ in callers]
    errors: list[BaseException] = []
    start = time.perf_counter() + 0.1

    def client(number: int, caller: RpcCaller) -> None:
        sample = random_points(calls, seed=100 + number)
        offset = number / rate  # interleave the clients' slots
        try:
            for i, (lat, lon) in enumerate(sample):
                due = start + offset + i / per_client
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                sent = time.perf_counter()
                answer = caller.call("locate", lat=lat, lon=lon)
                latencies[number].append((time.perf_counter() - sent) * 1000)
                if not answer["located"]:
                    raise RuntimeError(f"point not located: {answer}")
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=client, args=(n, caller), daemon=True)
        for n, caller in enumerate(callers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"RPC calls failed: {errors[0]!r}")
    return [value for values in latencies for value in values]


def locate_over_rpc(rate: int = 200, seconds: float = 5.0) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="civicflow-bench-grid-") as data,
        running_processes(Path(data), ("grid",)) as platform,
    ):
        callers = [RpcCaller(platform.env["AMQP_URI"]) for _ in range(CLIENTS)]
        for lat, lon in random_points(50, seed=1):  # warm-up
            if not callers[0].call("locate", lat=lat, lon=lon)["located"]:
                raise RuntimeError(f"warm-up point ({lat}, {lon}) not located")
        latencies = paced_calls(callers, rate, seconds)
        for caller in callers:
            caller.close()
    shown = quantiles(latencies)
    log(f"grid locate over RPC at {rate}/s: p50 {shown['p50']} ms, p99 {shown['p99']} ms")
    return {
        "locate_rpc_p50_ms": shown["p50"],
        "locate_rpc_p99_ms": shown["p99"],
        "locate_rpc_rate": rate,
        "locate_rpc_calls": len(latencies),
    }
