"""The clock scan: warnings, overdue alerts and escalation requests, each exactly once.

Only clocks whose ``next_due_at`` has come are read (the index on state and next due time), so a
tick costs what is due, not what is open. Several supervision instances may scan at once on
PostgreSQL: each claims its rows with ``FOR UPDATE SKIP LOCKED``. On SQLite one instance holds
a lease and scans; the others stand by and take over when it lapses. Either way an alert is a
row with a unique key, written in the transaction that emits it, so it cannot fire twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter

from contracts.events import (
    SLA_OVERDUE,
    SLA_WARNING,
    SUPERVISION_ESCALATION_REQUESTED,
    Assignee,
    EscalationRequested,
    SlaOverdue,
    SlaWarning,
)
from kernel.sla import SlaPolicy
from kit.logs import about
from services.supervision import domain
from services.supervision.clocks import ClockBook
from services.supervision.models import ClockRow, FollowedCase
from services.supervision.unit_of_work import SupervisionUnitOfWork

BATCH = 500
LEASE = "clock-scanner"

CLOCK_SCANS = Counter(
    "civicflow_clock_scans_total",
    "Scans of the clocks done by this process (on SQLite only the lease holder scans)",
)


def hold_lease(uow: SupervisionUnitOfWork, holder: str, now: datetime, tick: float) -> bool:
    """Whether this instance may scan: always where scanners claim rows; on SQLite while it
    holds the scanner's lease (for three ticks)."""
    if uow.claims_rows:
        return True
    with uow:
        held = uow.records.hold_lease(LEASE, holder, now, timedelta(seconds=max(3 * tick, 10)))
        uow.commit()
    return held


def scan_due(
    uow: SupervisionUnitOfWork, policy: SlaPolicy, now: datetime, batch: int = BATCH
) -> int:
    """Everything due at ``now``, in batches of one transaction each; how many clocks."""
    seen = 0
    while True:
        done = scan_batch(uow, policy, now, batch)
        seen += done
        if done < batch:
            return seen


def scan_batch(uow: SupervisionUnitOfWork, policy: SlaPolicy, now: datetime, batch: int) -> int:
    with uow:
        book = ClockBook(uow, policy)
        due = book.repo.due_clocks(now, batch, skip_locked=uow.claims_rows)
        # what the batch will look up, in three queries rather than three per clock
        cases = book.repo.cases(row.case_id for row in due)
        holders = holders_of(book, due)
        for row in due:
            case = cases.get(row.case_id) or FollowedCase(
                case_id=row.case_id, risk="blue", territory={}, climbs=0
            )  # a case known only by its clock: nothing to scope it by, never climbed
            with about(case_id=row.case_id):
                look_at(book, row, case, holders.get(row.owner), now)
        uow.commit()
        return len(due)


def look_at(
    book: ClockBook, row: ClockRow, case: FollowedCase, holder: Assignee | None, now: datetime
) -> None:
    step = domain.next_step(clock_of(row), now, book.policy.escalation, case.climbs)
    row.warned, row.overdue = step.clock.warned, step.clock.overdue
    row.escalation_asked = step.clock.escalation_asked
    row.next_due_at = step.next_due_at
    if step.alert is not None:
        alert(book, row, case, holder, step.alert, now)
    if step.escalate_to is not None:
        ask_escalation(book, row, step.escalate_to, now)


def alert(
    book: ClockBook,
    row: ClockRow,
    case: FollowedCase,
    holder: Assignee | None,
    kind: str,
    now: datetime,
) -> None:
    spec = SLA_WARNING if kind == "warning" else SLA_OVERDUE
    data = (SlaWarning if kind == "warning" else SlaOverdue)(
        clock=row.kind, due_at=row.due_at, assignee=holder,
        level=row.level, order_id=row.owner if row.kind == "order" else None,
    )  # fmt: skip
    event = spec.new(data, case_id=row.case_id, occurred_at=now)  # type: ignore[arg-type]
    key = f"{row.id}:{kind}:{row.due_at.isoformat()}"
    if book.repo.raise_alert(key, row.case_id, kind, now, event.event_id):
        book.uow.emit(event)
        late = "已超时" if kind == "overdue" else "即将到期"
        book.route(kind, event, case, f"{row.kind} {late} {row.due_at:%m-%d %H:%M}")  # type: ignore[arg-type]


def ask_escalation(book: ClockBook, row: ClockRow, to_level: str, now: datetime) -> None:
    asked = EscalationRequested(
        from_level=row.level, to_level=to_level, clock=row.kind, due_at=row.due_at,
        reason=f"{row.kind} limit {row.due_at.isoformat()} passed at {row.level} level",
    )  # fmt: skip
    event = SUPERVISION_ESCALATION_REQUESTED.new(asked, case_id=row.case_id, occurred_at=now)
    key = f"{row.id}:escalate:{row.due_at.isoformat()}"
    if book.repo.raise_alert(key, row.case_id, "escalate", now, event.event_id):
        book.uow.emit(event)


def clock_of(row: ClockRow) -> domain.Clock:
    return domain.Clock(
        kind=row.kind, level=row.level, warn_at=row.warn_at, due_at=row.due_at,  # type: ignore[arg-type]
        warned=row.warned, overdue=row.overdue, escalation_asked=row.escalation_asked,
    )  # fmt: skip


def holders_of(book: ClockBook, rows: list[ClockRow]) -> dict[str, Assignee]:
    """Who holds each clock's limit: its assignment's unit, or the unit an order went to."""
    holders = {
        a.id: Assignee(kind=a.assignee_kind, code=a.assignee_code, name=a.assignee_name)
        for a in book.repo.assignments(row.owner for row in rows).values()
    }
    for order in book.repo.orders(row.owner for row in rows if row.kind == "order").values():
        if order.assignee:
            holders[order.order_id] = Assignee.model_validate(order.assignee)
    return holders


def describe(row: ClockRow) -> dict[str, Any]:
    return {
        "kind": row.kind, "level": row.level, "state": row.state, "owner": row.owner,
        "assignee": row.assignee_code, "started_at": row.started_at.isoformat(),
        "warn_at": row.warn_at.isoformat(), "due_at": row.due_at.isoformat(),
        "stopped_at": row.stopped_at.isoformat() if row.stopped_at else None,
        "warned": row.warned, "overdue": row.overdue,
        "calendar_uncertain": row.calendar_uncertain,
    }  # fmt: skip
