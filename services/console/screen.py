"""The big screen (中心大屏): today's figures, counted from the events as they happen.

A day is Beijing's. Each event counts once, however often it is delivered: its id is
recorded in the same transaction as the counts it moves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from contracts.desk import CENTRE_SOURCE
from contracts.events import (
    CASE_CLOSED,
    CASE_CONCLUDED,
    CASE_DISPATCHED,
    CASE_ESCALATED,
    CASE_RECEIVED,
    SLA_OVERDUE,
    Envelope,
)
from services.console.unit_of_work import ConsoleReads, ConsoleUnitOfWork

SCREEN_DAY_ZONE = ZoneInfo("Asia/Shanghai")
COUNTED = (
    CASE_RECEIVED, CASE_DISPATCHED, SLA_OVERDUE, CASE_ESCALATED, CASE_CLOSED, CASE_CONCLUDED
)  # fmt: skip
"""The events the screen counts."""
LINES = ("hotline", "grid", "opinion", "petition")


def day_of(moment: datetime) -> str:
    """The Beijing day of a moment, as ``YYYY-MM-DD``."""
    return moment.astimezone(SCREEN_DAY_ZONE).date().isoformat()


def metrics_of(event: Envelope[Any]) -> list[str]:
    """The counts an event moves."""
    data = event.data
    if event.type == CASE_RECEIVED.type:
        desk = ["received.desk"] if data.source == CENTRE_SOURCE else []
        return [f"received.{data.channel}", *desk]
    if event.type == CASE_CONCLUDED.type:  # 直办 counted as such; other conclusions are not
        return ["handled_at_desk"] if data.at_desk else []
    if event.type == CASE_CLOSED.type:
        good = data.satisfaction in ("satisfied", "basically_satisfied")
        return (
            ["closed", "revisited", *(["satisfied"] if good else [])]
            if data.satisfaction
            else ["closed"]
        )
    return {CASE_DISPATCHED.type: ["dispatched"], SLA_OVERDUE.type: ["overdue"],
            CASE_ESCALATED.type: ["escalated"]}[event.type]  # fmt: skip


def count_events(uow: ConsoleUnitOfWork, events: Sequence[Envelope[Any]]) -> None:
    """Count a burst of events in one transaction; one seen before counts nothing."""
    with uow:
        tally: Counter[tuple[str, str]] = Counter()
        fresh = uow.first_times(event.event_id for event in events)
        for event in events:
            if fresh.take(event.event_id):
                tally.update((day_of(event.occurred_at), m) for m in metrics_of(event))
        uow.screen.count(tally)
        uow.commit()


def screen(reads: ConsoleReads, now: datetime) -> dict[str, Any]:
    """Today's figures."""
    day = day_of(now)
    with reads:
        counts = reads.screen.counts(day)
    return screen_of(day, counts)


def screen_of(day: str, counts: dict[str, int]) -> dict[str, Any]:
    revisited = counts.get("revisited", 0)
    return {
        "date": day,
        "received": {line: counts.get(f"received.{line}", 0) for line in LINES},
        "received_at_desk": counts.get("received.desk", 0),
        "handled_at_desk": counts.get("handled_at_desk", 0),
        "dispatched": counts.get("dispatched", 0), "overdue": counts.get("overdue", 0),
        "escalated": counts.get("escalated", 0), "closed": counts.get("closed", 0),
        "satisfaction_rate": counts.get("satisfied", 0) / revisited if revisited else None,
    }  # fmt: skip
