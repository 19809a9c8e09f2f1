"""The fault suite's stream of cases and its ledger, on top of ``tests.support.harness``
(``running_processes``: every service a ``civicflow run`` process of its own).

Tickets come over HTTP (12345) and grid reports over AMQP (the grid app), with the same id
sent again whenever a send fails, as a real source would. The ledger then checks that every
accepted submission became exactly one case, every case was dispatched, and no effect
happened twice: no duplicate case, dispatch, clock or SMS.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import pika
from prometheus_client.parser import text_string_to_metric_families

from tests.support.harness import Processes, http, publish, publisher, queue_figures, signed_headers

SERVICES = ("intake", "grid", "dispatch", "supervision", "notify")
TICKETS, REPORTS, RATE = 120, 60, 25.0  # per second, both lines together
MORNING = "2026-11-21T09:00:00+08:00"


@dataclass
class Ledger:
    submitted: set[str] = field(default_factory=set)
    """External ids a source handed over and saw accepted (202/200, or a confirmed publish)."""
    resent: int = 0
    answers: Counter[int] = field(default_factory=Counter)
    """intake's HTTP answers by status (0: no answer at all)."""


def stream(platform: Processes, ledger: Ledger) -> None:
    """Tickets over HTTP and grid reports over AMQP, mixed, at a steady rate; each sent again
    until accepted, with the same id."""
    intakes = platform.service_urls("intake")
    grid_app = _Publisher(platform.env["AMQP_URI"])
    grid = first_grid(platform)
    for n in range(TICKETS + REPORTS):
        started = time.monotonic()
        if n % 3 == 2:
            report = {
                "report_id": f"R-{uuid.uuid4().hex[:10]}", "reported_at": MORNING,
                "grid_code": grid, "reporter_id": "W-1", "content": "邻里因占道堆放杂物争吵",
                "category": "dispute.neighbour",
            }  # fmt: skip
            while not grid_app.send("grid.report", report):
                ledger.resent += 1
                time.sleep(0.2)
            ledger.submitted.add(report["report_id"])
        else:
            ticket = {
                "ticket_no": f"T-{uuid.uuid4().hex[:10]}", "received_at": MORNING,
                "caller": {"phone": f"139{n:08d}"}, "content": "化工厂夜间排污",
                "category": "environment.pollution",
            }  # fmt: skip
            body = json.dumps(ticket).encode()
            while True:
                try:
                    intake = intakes[n % len(intakes)]  # a load balancer in front of them all
                    answer = http(
                        "POST", f"{intake}/api/v1/hotline/tickets", body, signed_headers(body)
                    )
                except OSError:
                    answer = None
                ledger.answers[answer.status if answer is not None else 0] += 1
                if answer is not None and answer.status in (200, 202):
                    break
                ledger.resent += 1
                time.sleep(0.2)
            ledger.submitted.add(str(ticket["ticket_no"]))
        time.sleep(max(0.0, 1 / RATE - (time.monotonic() - started)))
    grid_app.close()


class _Publisher:
    """The grid app: a confirming publisher that connects again after the broker went away."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.channel: Any = None

    def send(self, routing_key: str, payload: dict[str, Any]) -> bool:
        try:
            if self.channel is None or not self.channel.connection.is_open:
                self.channel = publisher(self.uri)
            body = json.dumps(payload).encode()
            publish(self.channel, routing_key, body, message_id=payload["report_id"])
        except (pika.exceptions.AMQPError, OSError):
            self.close()
            self.channel = None
            return False
        return True

    def close(self) -> None:
        with suppress(pika.exceptions.AMQPError, OSError, AttributeError):
            self.channel.connection.close()


def first_grid(platform: Processes) -> str:
    [(code, *_)] = platform.rows(
        "grid", "SELECT code FROM units WHERE level = 'grid' ORDER BY code LIMIT 1"
    )
    return str(code)


def settle(platform: Processes, ledger: Ledger, timeout: float = 90) -> dict[str, int]:
    """Wait until every submission is a case that left routing; then the ledger's figures."""
    deadline = time.monotonic() + timeout
    while True:
        figures = count(platform, ledger)
        if figures["routed"] == len(ledger.submitted) or time.monotonic() > deadline:
            return figures
        time.sleep(0.5)


def count(platform: Processes, ledger: Ledger) -> dict[str, int]:
    ids = [row[0] for row in platform.rows("intake", "SELECT external_id FROM submissions")]
    statuses = Counter(row[0] for row in platform.rows("dispatch", "SELECT status FROM cases"))
    dispatches = Counter(row[0] for row in platform.rows(
        "dispatch", "SELECT case_id FROM case_history WHERE action = 'dispatch'"))  # fmt: skip
    clocks = Counter(platform.rows("supervision", "SELECT owner, kind FROM clocks"))
    sms_path = platform.data / "var" / "notify" / "sms.jsonl"
    lines = (
        [json.loads(line) for line in sms_path.read_text().splitlines()]
        if sms_path.exists()
        else []
    )
    sms = Counter(line["reference"] for line in lines)
    return {
        "submitted": len(ledger.submitted),
        "stored": len(ids),
        "lost": len(ledger.submitted - set(ids)),
        "duplicate_cases": len(ids) - len(set(ids)),
        "routed": sum(statuses.values()) - statuses.get("received", 0),
        "dispatched": statuses.get("dispatched", 0),
        "duplicate_dispatches": sum(n - 1 for n in dispatches.values() if n > 1),
        "duplicate_clocks": sum(n - 1 for n in clocks.values() if n > 1),
        "sms": len(lines),
        "duplicate_sms": sum(n - 1 for n in sms.values() if n > 1),
        "resent": ledger.resent,
    }


def consumed(url: str) -> float:
    """Messages an instance handled, from its own ``/metrics``."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "civicflow_messages_consumed_total"
    )


def depth(uri: str, queue: str) -> int:
    return queue_figures(uri, queue)[0]
