"""The four lines as the e2e bench submits them: payloads, the mix, and the senders.

* hotline (12345 tickets): signed ``POST /api/v1/hotline/tickets``, source ``hotline``;
  category ``environment.pollution``, which dispatch routes automatically (to the district).
* grid (grid workers' reports): ``civicflow.inbound``, routing key ``grid.report``, app_id
  ``gridapp``, persistent and confirmed, as the grid app publishes; a grid of the demo county
  and category ``dispute.neighbour``: the case stays in that grid, dispatched automatically.
* opinion (public-opinion items): signed ``POST /api/v1/opinion/items``, source ``opinion``;
  no category (dispatch guesses one from keywords and suggests: a person confirms).
* petition: signed ``POST /api/v1/petitions``, source ``petition``; the petition bureau's
  rule suggests the bureau: a person confirms.

Every submission has its own external id, and hotline and petition their own random caller
and building, so repeat detection merges none of them and no risk rule turns one red.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pika
from harness import HTTP_TIMEOUT_S, BenchError, signed_headers
from pika.spec import BasicProperties

from contracts.inbound import GRID, HOTLINE, INBOUND_EXCHANGE, OPINION, PETITION, InboundLine

Transport = Literal["http", "amqp"]

HOTLINE_CATEGORY = "environment.pollution"  # routed automatically by the dev config
GRID_CATEGORY = "dispute.neighbour"  # 小事不出村: stays in the grid, automatically
PETITION_CATEGORY = "property.management"
SUBMITTED_AT = "2026-11-21T10:00:00+08:00"
OPINION_PLATFORMS = ("weibo", "wechat", "douyin", "news", "forum")
PETITION_FORMS = ("letter", "visit", "phone", "online")


@dataclass(frozen=True)
class LineShare:
    """One line in the mix: its contract line, who sends it, how, and its weight."""

    line: InboundLine
    source: str
    transport: Transport
    weight: int

    @property
    def name(self) -> str:
        return self.line.channel


DEFAULT_MIX: tuple[LineShare, ...] = (
    LineShare(HOTLINE, "hotline", "http", 40),
    LineShare(GRID, "gridapp", "amqp", 30),
    LineShare(OPINION, "opinion", "http", 15),
    LineShare(PETITION, "petition", "http", 15),
)


@dataclass(frozen=True)
class Submission:
    """One matter to hand over on one line."""

    line: str
    source: str
    external_id: str
    transport: Transport
    target: str  # the HTTP path, or the AMQP routing key
    body: bytes

    @property
    def key(self) -> tuple[str, str]:
        """What intake is idempotent on, and what ``case.received`` says: (source, id)."""
        return self.source, self.external_id


# --------------------------------------------------------------------------- payloads


def ticket_no(run_id: str, seq: int) -> str:
    """The external id of ticket ``seq`` of a run: unique across runs and parts."""
    return f"BENCH-{run_id}-{seq:06d}"


def ticket_body(run_id: str, seq: int, phone: str | None = None) -> bytes:
    """A hotline ticket; distinct callers (``phone``, else one derived from ``seq``) and
    buildings, so no repeat detection merges them."""
    ticket = {
        "ticket_no": ticket_no(run_id, seq),
        "received_at": SUBMITTED_AT,
        "caller": {"name": "王先生", "phone": phone or f"138{seq % 100_000_000:08d}"},
        "content": f"{seq % 200 + 1}号楼楼下饭店油烟污染严重,请尽快处理",
        "category": HOTLINE_CATEGORY,
    }
    return json.dumps(ticket, ensure_ascii=False).encode()


def grid_report(run_id: str, seq: int, grid_code: str) -> dict[str, Any]:
    return {
        "report_id": f"GR-{run_id}-{seq:06d}",
        "reported_at": SUBMITTED_AT,
        "grid_code": grid_code,
        "reporter_id": f"W-{seq % 50 + 1}",
        "content": f"{seq % 200 + 1}号楼邻里因占道堆放杂物争吵,需要调解",
        "category": GRID_CATEGORY,
    }


def opinion_item(run_id: str, seq: int) -> dict[str, Any]:
    item_id = f"OP-{run_id}-{seq:06d}"
    return {
        "item_id": item_id,
        "platform": OPINION_PLATFORMS[seq % len(OPINION_PLATFORMS)],
        "published_at": SUBMITTED_AT,
        "url": f"https://weibo.example/bench/{item_id}",
        "heat": seq % 5000,  # under every heat rule: blue
        "content": f"网友反映{seq % 200 + 1}号楼附近广场舞噪音扰民,夜里十点后仍未停止",
    }


def petition(run_id: str, seq: int, phone: str) -> dict[str, Any]:
    return {
        "petition_no": f"XF-{run_id}-{seq:06d}",
        "form": PETITION_FORMS[seq % len(PETITION_FORMS)],
        "filed_at": SUBMITTED_AT,
        "petitioners": [{"name": "李女士", "phone": phone}],
        "content": f"反映{seq % 200 + 1}号楼物业服务差、电梯长期故障,要求尽快维修",
        "category": PETITION_CATEGORY,
    }


def hotline_submission(run_id: str, seq: int, phone: str | None = None) -> Submission:
    """Ticket ``seq`` of the run, POSTed by the hotline."""
    body = ticket_body(run_id, seq, phone)
    return Submission(
        HOTLINE.channel, "hotline", ticket_no(run_id, seq), "http", HOTLINE.path, body
    )


def submission(
    share: LineShare, run_id: str, seq: int, phone: str, grid_codes: Sequence[str]
) -> Submission:
    """Submission ``seq`` of the run on ``share``'s line."""
    line = share.line
    document: dict[str, Any]
    if line is HOTLINE:
        return hotline_submission(run_id, seq, phone)
    if line is GRID:
        document = grid_report(run_id, seq, grid_codes[seq % len(grid_codes)])
    elif line is OPINION:
        document = opinion_item(run_id, seq)
    elif line is PETITION:
        document = petition(run_id, seq, phone)
    else:
        raise ValueError(f"no payload for line {line.channel!r}")
    body = json.dumps(document, ensure_ascii=False).encode()
    payload = line.model.model_validate_json(body)  # the bench sends only what intake takes
    target = line.path if share.transport == "http" else line.routing_key
    return Submission(
        line.channel, share.source, payload.external_id, share.transport, target, body
    )


def interleave(mix: Sequence[LineShare], count: int) -> list[LineShare]:
    """``count`` lines in the mix's proportions, spread evenly (smooth weighted round-robin):
    every stretch of the sequence, the first few of a batch as much as the rest, holds the
    lines in about their shares."""
    total = sum(share.weight for share in mix)
    current = [0] * len(mix)
    order: list[LineShare] = []
    for _ in range(count):
        for n, share in enumerate(mix):
            current[n] += share.weight
        chosen = max(range(len(mix)), key=current.__getitem__)
        current[chosen] -= total
        order.append(mix[chosen])
    return order


def make_submissions(
    mix: Sequence[LineShare],
    run_id: str,
    first_seq: int,
    count: int,
    phones: Sequence[str],
    grid_codes: Sequence[str],
) -> list[Submission]:
    """``count`` submissions of the mix, numbered from ``first_seq``; ``phones`` has one
    distinct number per submission."""
    if not grid_codes:
        raise BenchError("no grid unit to report from: is the demo county loaded?")
    return [
        submission(share, run_id, first_seq + n, phones[n], grid_codes)
        for n, share in enumerate(interleave(mix, count))
    ]


# --------------------------------------------------------------------------- sending


RETRY_STATUSES = frozenset({429, 503})  # intake says: not now, send it again
RETRY_ATTEMPTS = 8
RETRY_BACKOFF_S = 0.05
RETRY_BACKOFF_MAX_S = 2.0
SEND_ERRORS = (BenchError, OSError, http.client.HTTPException, pika.exceptions.AMQPError)


@dataclass(frozen=True)
class Sent:
    """A submission intake took: when it was due, sent and acknowledged (perf_counter; the
    202, or the broker's confirm), and the case id when HTTP answered one."""

    submission: Submission
    due: float
    started: float
    accepted: float
    case_id: str | None
    duplicate: bool


class Sender:
    """One client: a keep-alive HTTP connection to an intake, and (made when first needed) a
    confirmed pika channel to ``civicflow.inbound``. Used by one thread only.

    It behaves as a source should: an answer that says "try again" (503, 429: intake could not
    store it now) is sent again after a short backoff (``Retry-After`` when given), with the
    same external id, which intake takes once; ``retries`` counts those."""

    def __init__(self, amqp_uri: str, intake_port: int) -> None:
        self.amqp_uri = amqp_uri
        self.http = http.client.HTTPConnection("127.0.0.1", intake_port, timeout=HTTP_TIMEOUT_S)
        self._amqp: pika.BlockingConnection | None = None
        self._channel: Any = None
        self.retries = 0

    def send(self, item: Submission) -> tuple[str | None, bool]:
        """Hand ``item`` over; (case id, duplicate) — (None, False) over AMQP. Raises
        :class:`BenchError` when it is refused."""
        if item.transport == "amqp":
            self._publish(item)
            return None, False
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            try:
                status, retry_after, answer = self._post(item)
            except (OSError, http.client.HTTPException):
                self.http.close()  # a dropped keep-alive: once more on a fresh connection;
                status, retry_after, answer = self._post(item)  # the same id is taken once
            if status not in RETRY_STATUSES or attempt == RETRY_ATTEMPTS:
                break
            self.retries += 1
            time.sleep(min(retry_after or RETRY_BACKOFF_S * 2**attempt, RETRY_BACKOFF_MAX_S))
        if status not in (200, 202):
            raise BenchError(f"HTTP {status}: {answer[:300].decode(errors='replace')}")
        try:
            parsed = json.loads(answer)
            return str(parsed["case_id"]), bool(parsed["duplicate"])
        except (ValueError, KeyError, TypeError):
            raise BenchError(f"HTTP {status} with an unexpected body: {answer[:300]!r}") from None

    def _post(self, item: Submission) -> tuple[int, float | None, bytes]:
        """POST ``item``: the status, ``Retry-After`` in seconds (if any) and the body."""
        headers = signed_headers(item.source, item.body)
        self.http.request("POST", item.target, body=item.body, headers=headers)
        answer = self.http.getresponse()
        body = answer.read()
        retry_after = answer.getheader("Retry-After")
        try:
            seconds = float(retry_after) if retry_after else None
        except ValueError:
            seconds = None
        return answer.status, seconds, body

    def _publish(self, item: Submission) -> None:
        if self._channel is None:
            self._amqp = pika.BlockingConnection(pika.URLParameters(self.amqp_uri))
            self._channel = self._amqp.channel()
            self._channel.confirm_delivery()
        properties = BasicProperties(
            content_type="application/json",
            delivery_mode=2,
            message_id=item.external_id,
            app_id=item.source,
        )
        try:
            self._channel.basic_publish(
                INBOUND_EXCHANGE, item.target, item.body, properties, mandatory=True
            )
        except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
            raise BenchError(f"publishing to {INBOUND_EXCHANGE}: {exc!r}") from None

    def close(self) -> None:
        self.http.close()
        if self._amqp is not None:
            with contextlib.suppress(Exception):
                self._amqp.close()


@dataclass
class SendPool:
    """Client threads taking submissions off a queue, each through a :class:`Sender` of its
    own; thread n talks to intake ``intake_ports[n % len]`` (a load balancer's part when
    intake runs several instances). ``put`` hands over one submission, due now; ``finish``
    waits for all to be sent."""

    amqp_uri: str
    intake_ports: Sequence[int]
    workers: int
    deadline: float  # monotonic: later submissions fail
    sent: list[Sent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retries: int = 0  # submissions sent again because intake said "not now" (503, 429)
    _work: queue.SimpleQueue[tuple[Submission, float] | None] = field(
        default_factory=queue.SimpleQueue
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _abort: threading.Event = field(default_factory=threading.Event)

    def start(self) -> SendPool:
        for n in range(self.workers):
            port = self.intake_ports[n % len(self.intake_ports)]
            thread = threading.Thread(
                target=self._run, args=(port,), name=f"sender-{n}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def put(self, item: Submission, due: float | None = None) -> None:
        self._work.put((item, time.perf_counter() if due is None else due))

    def finish(self) -> None:
        """No more submissions: wait until every one is sent (or failed)."""
        for _ in self._threads:
            self._work.put(None)
        try:
            for thread in self._threads:
                thread.join()
        except BaseException:  # Ctrl-C, SIGTERM: let the clients finish their request and stop
            self._abort.set()
            raise

    def _run(self, port: int) -> None:
        sender = Sender(self.amqp_uri, port)
        try:
            while (work := self._work.get()) is not None:
                item, due = work
                if self._abort.is_set() or time.monotonic() >= self.deadline:
                    self._fail("submit deadline passed" if not self._abort.is_set() else "abort")
                    continue
                started = time.perf_counter()
                try:
                    case_id, duplicate = sender.send(item)
                except (
                    BenchError,
                    OSError,
                    http.client.HTTPException,
                    pika.exceptions.AMQPError,
                ) as exc:
                    self._fail(f"{item.line} {item.external_id}: {exc}")
                    continue
                done = Sent(item, due, started, time.perf_counter(), case_id, duplicate)
                with self._lock:
                    self.sent.append(done)
        finally:
            sender.close()
            with self._lock:
                self.retries += sender.retries

    def _fail(self, message: str) -> None:
        with self._lock:
            self.errors.append(message)


def send_batch(
    items: Sequence[Submission],
    amqp_uri: str,
    intake_ports: Sequence[int],
    workers: int,
    deadline: float,
) -> SendPool:
    """Every item through ``workers`` clients at once (closed loop: each client sends its next
    as soon as its last is answered); the finished pool, its failures collected, not raised."""
    pool = SendPool(amqp_uri, intake_ports, workers, deadline).start()
    due = time.perf_counter()
    for item in items:
        pool.put(item, due)
    pool.finish()
    return pool


def by_line(items: Sequence[Submission]) -> Mapping[str, int]:
    """How many of ``items`` each line has."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item.line] = counts.get(item.line, 0) + 1
    return counts
