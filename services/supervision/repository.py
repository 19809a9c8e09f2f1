"""Supervision's repository: the rows behind clocks, alerts, orders and subscriptions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from kit.db import insert_if_absent, made_and_locked
from services.supervision.models import (
    AccountabilityRecord,
    Alert,
    Assignment,
    ClockRow,
    FollowedCase,
    Mark,
    Order,
    ScannerLease,
    SubscriptionRow,
)

RUNNING = ("open", "paused")
LATE_BATCH = 500
DESK_FACTS = ("concluded", "closed", "reopened")
"""The facts 直办's counters follow: a conclusion (at the desk or not) and a revisit's answer."""
MARKED = "supervision.desk_facts"
"""Where a session notes the cases of the desk facts it inserted (``counting`` reads it)."""
"""Late clocks read at a time for the overdue board."""


class SupervisionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- cases and assignments ---

    def case(self, case_id: str) -> FollowedCase | None:
        return self.session.get(FollowedCase, case_id)

    def follow(self, case_id: str) -> tuple[FollowedCase, bool]:
        """The case's row, created on first sight and locked for this transaction.

        Two events of one case handled at once (two instances, or two workers of one) would
        each miss what the other has not committed yet: an accept could find no clock while
        the dispatch that opens it finds no accept. The lock makes the second wait for the
        first, then see all it wrote. (SQLite writes one transaction at a time anyway.)
        """
        cases, created = self.follow_all([case_id])
        return cases[case_id], case_id in created

    def follow_all(self, case_ids: Iterable[str]) -> tuple[dict[str, FollowedCase], set[str]]:
        """``follow`` for a batch's cases in two statements: their rows, locked, and the ids
        of those created now. Sorted, so that two instances lock shared cases in one order."""
        fresh = [
            {"case_id": i, "risk": "blue", "territory": {}, "climbs": 0} for i in set(case_ids)
        ]
        cases, created = made_and_locked(self.session, FollowedCase, fresh, "case_id")
        return {case.case_id: case for case in cases}, created

    def cases(self, case_ids: Iterable[str]) -> dict[str, FollowedCase]:
        wanted = list(set(case_ids))
        query = select(FollowedCase).where(FollowedCase.case_id.in_(wanted))
        return {case.case_id: case for case in self.session.scalars(query)} if wanted else {}

    def assignments(self, ids: Iterable[str]) -> dict[str, Assignment]:
        wanted = list(set(ids))
        query = select(Assignment).where(Assignment.id.in_(wanted))
        return {row.id: row for row in self.session.scalars(query)} if wanted else {}

    def orders(self, ids: Iterable[str]) -> dict[str, Order]:
        wanted = list(set(ids))
        query = select(Order).where(Order.order_id.in_(wanted))
        return {row.order_id: row for row in self.session.scalars(query)} if wanted else {}

    def assignment(self, assignment_id: str | None) -> Assignment | None:
        return self.session.get(Assignment, assignment_id) if assignment_id else None

    def add(
        self, row: Assignment | ClockRow | Order | SubscriptionRow | AccountabilityRecord
    ) -> None:
        self.session.add(row)

    def add_all(self, rows: Sequence[Assignment | ClockRow]) -> None:
        self.session.add_all(rows)

    def flush(self) -> None:
        self.session.flush()

    def assignment_at(
        self, case_id: str, at: datetime | None, before: bool = False
    ) -> Assignment | None:
        """The dispatch current at ``at`` (the newest, with None): the last one made by then
        (``before``: strictly before)."""
        query = select(Assignment).where(Assignment.case_id == case_id)
        if at is not None:
            started = Assignment.dispatched_at < at if before else Assignment.dispatched_at <= at
            query = query.where(started)
        newest = query.order_by(Assignment.dispatched_at.desc(), Assignment.id.desc()).limit(1)
        return self.session.scalar(newest)

    def next_dispatch(self, assignment: Assignment) -> datetime | None:
        """When the case was dispatched again after this assignment: where its window ends."""
        query = select(func.min(Assignment.dispatched_at)).where(
            Assignment.case_id == assignment.case_id,
            Assignment.dispatched_at > assignment.dispatched_at,
        )
        return self.session.scalar(query)

    def assignments_between(self, start: datetime, end: datetime) -> list[Assignment]:
        query = select(Assignment).where(
            Assignment.dispatched_at >= start, Assignment.dispatched_at < end
        )
        return list(self.session.scalars(query))

    # --- clocks ---

    def clocks_of(self, case_id: str) -> list[ClockRow]:
        query = select(ClockRow).where(ClockRow.case_id == case_id).order_by(ClockRow.id)
        return list(self.session.scalars(query))

    def running_clocks(self, case_id: str, kinds: Iterable[str] | None = None) -> list[ClockRow]:
        query = select(ClockRow).where(ClockRow.case_id == case_id, ClockRow.state.in_(RUNNING))
        if kinds is not None:
            query = query.where(ClockRow.kind.in_(list(kinds)))
        return list(self.session.scalars(query))

    def clocks_owned_by(self, owners: Sequence[str]) -> list[ClockRow]:
        found: list[ClockRow] = []
        for start in range(0, len(owners), 500):
            chunk = owners[start : start + 500]
            found += self.session.scalars(select(ClockRow).where(ClockRow.owner.in_(chunk)))
        return found

    @staticmethod
    def due_query(now: datetime, limit: int) -> Select[ClockRow]:
        return (
            select(ClockRow)
            .where(ClockRow.state == "open", ClockRow.next_due_at <= now)
            .order_by(ClockRow.next_due_at)
            .limit(limit)
        )

    def due_clocks(self, now: datetime, limit: int, skip_locked: bool) -> list[ClockRow]:
        """Open clocks that need a look now, oldest first. Reads only due rows (the index on
        state and next due time), and on PostgreSQL claims them: rows another scanner holds
        are skipped, not waited for."""
        query = self.due_query(now, limit)
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        return list(self.session.scalars(query))

    def late_clocks(self) -> Iterator[tuple[ClockRow, FollowedCase | None, Assignment | None]]:
        """Running clocks past their limit, with their case and assignment, earliest limit
        first (then by id: the board's keyset order): the overdue board. Read in batches,
        so that the late clocks are never all held at once."""
        query = (
            select(ClockRow, FollowedCase, Assignment)
            .outerjoin(FollowedCase, FollowedCase.case_id == ClockRow.case_id)
            .outerjoin(Assignment, Assignment.id == ClockRow.owner)
            .where(ClockRow.state.in_(RUNNING), ClockRow.overdue.is_(True))
            .order_by(ClockRow.due_at, ClockRow.id)
            .execution_options(yield_per=LATE_BATCH)
        )
        for row in self.session.execute(query):
            yield row[0], row[1], row[2]

    # --- marks, alerts ---

    def mark(
        self,
        event_id: str,
        case_id: str,
        what: str,
        at: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        inserted = insert_if_absent(
            self.session, Mark, event_id=event_id, case_id=case_id, what=what, at=at,
            detail=detail,
        )  # fmt: skip
        if inserted and what in DESK_FACTS:  # a Core insert: no flush event tells ``counting``
            self.session.info.setdefault(MARKED, set()).add(case_id)

    def marks_between(self, case_id: str, start: datetime, end: datetime | None) -> list[Mark]:
        """Marks from ``start`` up to and including ``end`` (None: all after ``start``)."""
        query = select(Mark).where(Mark.case_id == case_id, Mark.at >= start)
        if end is not None:
            query = query.where(Mark.at <= end)
        return list(self.session.scalars(query.order_by(Mark.at, Mark.event_id)))

    def raise_alert(self, key: str, case_id: str, kind: str, at: datetime, event_id: str) -> bool:
        """Record an alert; False if it was raised before (by this scanner or another)."""
        return insert_if_absent(
            self.session, Alert, key=key, case_id=case_id, kind=kind, raised_at=at,
            event_id=event_id,
        )  # fmt: skip

    # --- orders ---

    def order(self, order_id: str) -> Order | None:
        return self.session.get(Order, order_id)

    def orders_of(self, case_id: str) -> list[Order]:
        query = select(Order).where(Order.case_id == case_id).order_by(Order.issued_at)
        return list(self.session.scalars(query))

    def orders_for(self, assignment_ids: Sequence[str]) -> list[Order]:
        found: list[Order] = []
        for start in range(0, len(assignment_ids), 500):
            chunk = assignment_ids[start : start + 500]
            found += self.session.scalars(select(Order).where(Order.assignment_id.in_(chunk)))
        return found

    # --- subscriptions ---

    def subscriptions(self, subscriber: str | None = None) -> list[SubscriptionRow]:
        query = select(SubscriptionRow).order_by(SubscriptionRow.id)
        if subscriber is not None:
            query = query.where(SubscriptionRow.subscriber == subscriber)
        return list(self.session.scalars(query))

    def subscription(self, subscription_id: int) -> SubscriptionRow | None:
        return self.session.get(SubscriptionRow, subscription_id)

    def remove(self, row: SubscriptionRow) -> None:
        self.session.delete(row)

    # --- the scanner's lease (SQLite: one scanner at a time) ---

    def hold_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take or keep the lease; False while another holder's lease runs."""
        renewed = self.session.execute(
            update(ScannerLease)
            .where(
                ScannerLease.name == name,
                or_(ScannerLease.holder == holder, ScannerLease.expires_at < now),
            )
            .values(holder=holder, expires_at=now + ttl)
        )
        if renewed.rowcount:  # type: ignore[attr-defined]
            return True
        return insert_if_absent(
            self.session, ScannerLease, name=name, holder=holder, expires_at=now + ttl
        )
