"""Grid figures for ``make bench``: locate in process and over RPC, and the demo county import.

``run_grid_bench(amqp_uri)`` returns::

    {"locate_points_per_s": …, "locate_rpc_p50_ms": …, "locate_rpc_p99_ms": …,
     "locate_rpc_rate": 200, "locate_rpc_calls": …, "demo_import_s": …}

* ``demo_import_s``: the whole demo county (3,158 units with polygons, 6,998 people with
  sealed phones, 30 departments, the duty list, 93 catalogue entries) generated, validated and
  written into a fresh SQLite database, events included: ``civicflow demo``'s grid part.
* ``locate_points_per_s``: ``TerritoryIndex.locate_point`` one point at a time, in this
  process, over random points of the county's bounding box (every one inside a micro-grid):
  the STRtree query and the full answer, chain and exclusive grids.
* ``locate_rpc_*``: ``grid.locate(lat, lon)`` over RabbitMQ (nameko's RPC protocol, spoken
  here with pika, publisher confirms on as nameko's own proxy has them) against the grid
  service run by ``civicflow run grid`` in its own process, paced at ``rate`` calls/s from
  four client connections for ``seconds``; latency per call from publish to reply.

Everything runs in a temporary data directory and on the AMQP URI given (use a vhost of the
run's own: the service's queues are declared there); the service is stopped and the directory
removed at the end, on failure too. Standalone: ``.venv/bin/python bench/grid.py`` makes and
deletes a vhost of its own and prints the figures as one JSON line.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "deploy" / "config"
RPC_EXCHANGE = "nameko-rpc"
CLIENTS = 4
WARMUP_CALLS = 50
HEALTH_TIMEOUT_S = 60.0
REPLY_TIMEOUT_S = 10.0


def log(message: str) -> None:
    print(f"[grid bench] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_grid_bench(
    amqp_uri: str,
    *,
    points: int = 50_000,
    rate: int = 200,
    seconds: float = 5.0,
    keep_data: bool = False,
) -> dict[str, Any]:
    from kit.db import Store
    from kit.migrations import upgrade
    from kit.pii import load_vault
    from kit.settings import Settings
    from services.grid.models import TABLES
    from services.grid.transfer import load_demo

    data_dir = Path(tempfile.mkdtemp(prefix="civicflow-grid-bench-"))
    try:
        settings = Settings(amqp_uri=amqp_uri, data_dir=data_dir, config_dir=CONFIG_DIR)
        url = settings.database_url_for("grid")
        upgrade("grid", url)
        store = Store(url, "grid", TABLES)
        try:
            started = time.perf_counter()
            report = load_demo(store, settings, load_vault(settings))
            import_s = time.perf_counter() - started
            log(f"demo county imported in {import_s:.2f}s: {report.counts}")
            in_process = locate_in_process(store, points)
        finally:
            store.dispose()
        log(f"in-process locate: {in_process:,.0f} points/s")
        latencies = locate_over_rpc(amqp_uri, data_dir, rate, seconds)
        log(
            f"RPC locate at {rate:.0f}/s: p50 {percentile(latencies, 50):.2f} ms, "
            f"p99 {percentile(latencies, 99):.2f} ms over {len(latencies)} calls"
        )
    finally:
        if keep_data:
            log(f"data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "locate_points_per_s": round(in_process, 1),
        "locate_rpc_p50_ms": round(percentile(latencies, 50), 2),
        "locate_rpc_p99_ms": round(percentile(latencies, 99), 2),
        "locate_rpc_rate": rate,
        "locate_rpc_calls": len(latencies),
        "demo_import_s": round(import_s, 2),
    }


def random_points(count: int, seed: int = 20261121) -> list[tuple[float, float]]:
    from services.grid.demo import DEMO_BOUNDS

    west, south, east, north = DEMO_BOUNDS
    rng = random.Random(seed)
    return [(rng.uniform(south, north), rng.uniform(west, east)) for _ in range(count)]


def locate_in_process(store: Any, count: int) -> float:
    from services.grid.index import TerritoryIndex
    from services.grid.repository import GridRepository

    with store.read() as session:
        index = TerritoryIndex(GridRepository(session).load())
    sample = random_points(count)
    started = time.perf_counter()
    located = 0
    for lat, lon in sample:
        located += index.locate_point(lat, lon).located
    elapsed = time.perf_counter() - started
    if located != count:
        raise RuntimeError(f"only {located} of {count} points located")
    return count / elapsed


# --- over RPC ----------------------------------------------------------------------------------


@contextlib.contextmanager
def grid_service(amqp_uri: str, data_dir: Path) -> Iterator[int]:
    """``civicflow run grid`` on the bench's database; yields its HTTP port once healthy."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("DATABASE_URL") and key not in ("GRID_PORT", "AMQP_URI")
    }
    env.update(
        AMQP_URI=amqp_uri,
        CIVICFLOW_DATA_DIR=str(data_dir),
        CIVICFLOW_CONFIG_DIR=str(CONFIG_DIR),
        CIVICFLOW_HTTP_HOST="127.0.0.1",
        GRID_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    log_path = data_dir / "grid.log"
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "civicflow", "run", "grid"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while not healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"grid service did not come up:\n{tail}")
            time.sleep(0.2)
        yield port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                # Its own session: this reaches only the process this bench started.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


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
        with contextlib.suppress(Exception):
            self.connection.close()


def locate_over_rpc(amqp_uri: str, data_dir: Path, rate: int, seconds: float) -> list[float]:
    with grid_service(amqp_uri, data_dir):
        callers = [RpcCaller(amqp_uri) for _ in range(CLIENTS)]
        try:
            warm = random_points(WARMUP_CALLS, seed=1)
            for lat, lon in warm:
                answer = callers[0].call("locate", lat=lat, lon=lon)
                if not answer["located"]:
                    raise RuntimeError(f"warm-up point not located: {answer}")
            return paced_calls(callers, rate, seconds)
        finally:
            for caller in callers:
                caller.close()


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


def main() -> int:
    sys.path.insert(0, str(REPO_ROOT))
    from tests.support.broker import temporary_vhost

    base = os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/")
    with temporary_vhost(base) as uri:
        result = run_grid_bench(uri)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
