"""The four lines as the bench hands them over, and the clients that send them.

* hotline (12345 tickets): signed ``POST /api/v1/hotline/tickets``; ``environment.pollution``,
  which dispatch routes automatically (to the district's duty).
* grid (grid workers' reports): ``civicflow.inbound``, ``grid.report``, app ``gridapp``,
  persistent and confirmed; a grid of the demo county and ``dispute.neighbour``: the case stays
  in that grid, dispatched automatically (小事不出村).
* opinion: signed ``POST /api/v1/opinion/items``, no category: dispatch suggests one.
* petition: signed ``POST /api/v1/petitions``: suggested to the petition bureau.

Every submission has its own external id, caller and building, so repeat detection merges
none of them and no risk rule turns one red. An answer 503 or 429 ("not now") is sent again
with the same id after a short backoff, as a source should.
"""

from __future__ import annotations

import http.client
import json
import queue
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pika

from contracts.inbound import GRID, HOTLINE, OPINION, PETITION, InboundLine
from tests.support.harness import publish, publisher, signed_headers

SUBMITTED_AT = "2026-11-21T10:00:00+08:00"
Mix = Sequence[tuple[InboundLine, str, int]]  # line, source, weight
MIX: Mix = (
    (HOTLINE, "hotline", 40),
    (GRID, "gridapp", 30),
    (OPINION, "opinion", 15),
    (PETITION, "petition", 15),
)
HOTLINE_ONLY: Mix = ((HOTLINE, "hotline", 1),)


@dataclass(frozen=True)
class Submission:
    line: str
    source: str
    external_id: str
    amqp: bool
    target: str  # the HTTP path, or the AMQP routing key
    body: bytes

    @property
    def key(self) -> tuple[str, str]:
        """What intake is idempotent on, and what ``case.received`` says: (source, id)."""
        return self.source, self.external_id


def document(line: InboundLine, run: str, seq: int, phone: str, grid: str) -> dict[str, Any]:
    building = f"{seq % 200 + 1}号楼"
    if line is HOTLINE:
        return {
            "ticket_no": f"BENCH-{run}-{seq:06d}",
            "received_at": SUBMITTED_AT,
            "caller": {"name": "王先生", "phone": phone},
            "content": f"{building}楼下饭店油烟污染严重,请尽快处理",
            "category": "environment.pollution",
        }
    if line is GRID:
        return {
            "report_id": f"GR-{run}-{seq:06d}",
            "reported_at": SUBMITTED_AT,
            "grid_code": grid,
            "reporter_id": f"W-{seq % 50 + 1}",
            "content": f"{building}邻里因占道堆放杂物争吵,需要调解",
            "category": "dispute.neighbour",
        }
    if line is OPINION:
        return {
            "item_id": f"OP-{run}-{seq:06d}",
            "platform": "weibo",
            "published_at": SUBMITTED_AT,
            "url": f"https://weibo.example/{run}/{seq}",
            "heat": seq % 5000,  # under every heat rule
            "content": f"网友反映{building}附近广场舞噪音扰民,夜里十点后仍未停止",
        }
    return {
        "petition_no": f"XF-{run}-{seq:06d}",
        "form": "letter",
        "filed_at": SUBMITTED_AT,
        "petitioners": [{"name": "李女士", "phone": phone}],
        "content": f"反映{building}物业服务差、电梯长期故障,要求尽快维修",
        "category": "property.management",
    }


def submissions(mix: Mix, count: int, grids: Sequence[str]) -> list[Submission]:
    """``count`` submissions in the mix's proportions, spread evenly through the batch
    (smooth weighted round-robin); each with its own random mobile number."""
    run = f"{random.randrange(16**6):06x}"
    phones = random.sample(range(10**9), count)
    total, credit, made = sum(w for *_, w in mix), [0] * len(mix), []
    for seq in range(count):
        credit = [c + w for c, (*_, w) in zip(credit, mix, strict=True)]
        chosen = max(range(len(mix)), key=credit.__getitem__)
        credit[chosen] -= total
        line, source, _ = mix[chosen]
        body = json.dumps(
            document(line, run, seq, f"13{phones[seq]:09d}", grids[seq % len(grids)]),
            ensure_ascii=False,
        ).encode()
        external_id = line.model.model_validate_json(body).external_id  # only what intake takes
        amqp = line is GRID
        target = line.routing_key if amqp else line.path
        made.append(Submission(line.channel, source, external_id, amqp, target, body))
    return made


@dataclass(frozen=True)
class Sent:
    submission: Submission
    due: float  # perf_counter
    started: float
    accepted: float  # intake's answer, or the broker's confirm


class Sender:
    """One client: an HTTP connection to an intake (a new one for each request unless
    ``keep_alive``) and a confirming channel to ``civicflow.inbound``. One thread only."""

    def __init__(self, amqp_uri: str, intake: str, keep_alive: bool) -> None:
        host, port = intake.removeprefix("http://").split(":")
        self.amqp_uri, self.address, self.keep_alive = amqp_uri, (host, int(port)), keep_alive
        self.connection: http.client.HTTPConnection | None = None
        self.channel: Any = None
        self.retries = 0

    def send(self, item: Submission) -> None:
        if item.amqp:
            self.channel = self.channel or publisher(self.amqp_uri)
            publish(self.channel, item.target, item.body, item.external_id, item.source)
            return
        for attempt in range(8):
            status, retry_after, body = self.post(item)
            if status in (200, 202):
                return
            if status not in (429, 503):
                raise RuntimeError(f"HTTP {status}: {body[:300].decode(errors='replace')}")
            self.retries += 1
            time.sleep(min(float(retry_after or 0.05 * 2**attempt), 2.0))
        raise RuntimeError(f"{item.external_id}: still 'not now' after 8 tries")

    def post(self, item: Submission) -> tuple[int, str | None, bytes]:
        headers = signed_headers(item.body, item.source)
        if not self.keep_alive:
            headers["Connection"] = "close"  # as a hotline vendor's system sends them
        for again in (False, True):  # a dropped keep-alive: once more on a fresh connection
            if self.connection is None:
                self.connection = http.client.HTTPConnection(*self.address, timeout=30)
            try:
                self.connection.request("POST", item.target, item.body, headers)
                answer = self.connection.getresponse()
                result = answer.status, answer.getheader("Retry-After"), answer.read()
                break
            except (OSError, http.client.HTTPException):
                self.close_http()
                if again:
                    raise
        if not self.keep_alive:
            self.close_http()
        return result

    def close_http(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def close(self) -> None:
        self.close_http()
        if self.channel is not None:
            self.channel.connection.close()


@dataclass
class SendPool:
    """``workers`` client threads taking submissions off a queue; thread n talks to intake
    ``intakes[n % len]`` (a load balancer's part when intake runs several instances)."""

    amqp_uri: str
    intakes: Sequence[str]
    workers: int
    keep_alive: bool = True
    sent: list[Sent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retries: int = 0
    work: queue.SimpleQueue[tuple[Submission, float] | None] = field(
        default_factory=queue.SimpleQueue
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.threads = [
            threading.Thread(
                target=self.run, args=(self.intakes[n % len(self.intakes)],), daemon=True
            )
            for n in range(self.workers)
        ]
        for thread in self.threads:
            thread.start()

    def put(self, item: Submission, due: float) -> None:
        self.work.put((item, due))

    def finish(self) -> None:
        """No more submissions: wait until every one is sent (or failed)."""
        for _ in self.threads:
            self.work.put(None)
        for thread in self.threads:
            thread.join()

    def run(self, intake: str) -> None:
        sender = Sender(self.amqp_uri, intake, self.keep_alive)
        try:
            while (work := self.work.get()) is not None:
                item, due = work
                started = time.perf_counter()
                try:
                    sender.send(item)
                except (
                    RuntimeError,
                    OSError,
                    http.client.HTTPException,
                    pika.exceptions.AMQPError,
                ) as exc:
                    with self.lock:
                        self.errors.append(f"{item.line} {item.external_id}: {exc!r}")
                    continue
                with self.lock:
                    self.sent.append(Sent(item, due, started, time.perf_counter()))
        finally:
            sender.close()
            with self.lock:
                self.retries += sender.retries


def send_all(
    items: Sequence[Submission],
    amqp_uri: str,
    intakes: Sequence[str],
    workers: int,
    keep_alive: bool = True,
    rate: float | None = None,
) -> SendPool:
    """Closed loop (each client sends its next as soon as its last is answered) or, with
    ``rate``, open loop: submission i handed to the clients at its due time i / rate."""
    pool = SendPool(amqp_uri, intakes, workers, keep_alive)
    started = time.perf_counter()
    for n, item in enumerate(items):
        due = started + n / rate if rate else started
        time.sleep(max(0.0, due - time.perf_counter()))
        pool.put(item, due)
    pool.finish()
    return pool
