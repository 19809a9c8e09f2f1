"""The domain's own metrics: what the centre counts, read from the events each service commits.

A case is counted where it becomes a fact (its event committed), once per process; Prometheus
sums the instances. Labels are lines, levels, clocks and channels only: never a case or a phone.
"""

from __future__ import annotations

from prometheus_client import Counter

from contracts.events import (
    CASE_DISPATCHED,
    CASE_ESCALATED,
    CASE_RECEIVED,
    NOTIFICATION_FAILED,
    NOTIFICATION_SENT,
    SLA_OVERDUE,
    SLA_WARNING,
    CaseDispatched,
    CaseEscalated,
    CaseReceived,
    NotificationFailed,
    NotificationSent,
    SlaAlert,
)
from kit.metrics import meter

CASES_RECEIVED = Counter(
    "civicflow_cases_received_total", "Cases received, by line (四线)", ["line"]
)
CASES_DISPATCHED = Counter(
    "civicflow_cases_dispatched_total",
    "Cases dispatched (派单), by level and by whether routing or a person chose",
    ["level", "mode"],
)
SLA_ALERTS = Counter(
    "civicflow_sla_alerts_total",
    "Warnings and overdue limits (超时), by clock and the level of the unit that holds the case",
    ["kind", "clock", "level"],
)
ESCALATIONS = Counter(
    "civicflow_escalations_total", "Escalations up the chain (格呼街应)", ["from_level", "to_level"]
)
NOTIFICATIONS = Counter(
    "civicflow_notifications_total", "Notifications settled, by channel and result",
    ["channel", "result"],
)  # fmt: skip

AUTO = "auto"
"""``dispatched_by`` of a dispatch that routing made itself (DESIGN: ``auto`` or a user id)."""


@meter(CASE_RECEIVED.type)
def count_received(data: CaseReceived) -> None:
    CASES_RECEIVED.labels(data.channel).inc()


@meter(CASE_DISPATCHED.type)
def count_dispatched(data: CaseDispatched) -> None:
    mode = "auto" if data.dispatched_by == AUTO else "manual"
    CASES_DISPATCHED.labels(data.level, mode).inc()


def _count_alert(kind: str, data: SlaAlert) -> None:
    SLA_ALERTS.labels(kind, data.clock, data.level or "unknown").inc()


meter(SLA_WARNING.type)(lambda data: _count_alert("warning", data))
meter(SLA_OVERDUE.type)(lambda data: _count_alert("overdue", data))


@meter(CASE_ESCALATED.type)
def count_escalated(data: CaseEscalated) -> None:
    ESCALATIONS.labels(data.from_level, data.to_level).inc()


@meter(NOTIFICATION_SENT.type)
def count_sent(data: NotificationSent) -> None:
    NOTIFICATIONS.labels(data.channel, "sent").inc()


@meter(NOTIFICATION_FAILED.type)
def count_failed(data: NotificationFailed) -> None:
    NOTIFICATIONS.labels(data.channel, "failed").inc()
