"""Waits that prove intake has done, or declined to do, something: instead of sleeping and
then checking that nothing happened."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from tests.support.harness import EventTap, Platform, http

INBOUND_QUEUE = "civicflow.inbound.intake"


def inbound_handled(platform: Platform) -> float:
    """Messages from ``civicflow.inbound`` intake has handled (its transaction committed,
    the message settled), from its own ``/metrics``."""
    text = http("GET", platform.url("intake", "/metrics")).body
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "civicflow_messages_consumed_total"
        and sample.labels.get("queue") == INBOUND_QUEUE
    )


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not so within {timeout}s"
        time.sleep(0.05)


def everything_before_is_told(platform: Platform, tap: EventTap) -> str:
    """Submit a ticket of its own and wait for its ``case.received``: the outbox is relayed
    in the order it was written, so any event committed before would have come first. The
    case id of that ticket (``tap`` must be bound to ``case.received``)."""
    marker = {
        "ticket_no": f"MARK-{uuid.uuid4().hex[:10]}",
        "received_at": "2026-11-21T10:00:00+08:00",
        "caller": {"name": "测试", "phone": "13700000000"},
        "content": "标记工单",
    }
    answer = platform.submit("/api/v1/hotline/tickets", marker)
    assert answer.status == 202, answer.body
    case_id = str(answer.body["case_id"])
    tap.wait_for("case.received", case_id)
    return case_id
