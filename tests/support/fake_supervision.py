"""Supervision's unit of work in memory: the rows in dicts, events kept in a list, so the
handlers are tested with no broker and no database.

It keeps the promises of ``SqlSupervisionUnitOfWork`` the handlers rely on: a case is
followed once, a mark and an alert are kept once by their key, events and handled event ids
count only once committed, and leaving without a commit drops the rows added and the events
emitted in it. (Changes made to rows already stored are not undone: the handlers raise before
they change any.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

from contracts.events import Envelope
from kit.db import FirstTimes
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
from services.supervision.repository import RUNNING

Row = Assignment | ClockRow | Order | SubscriptionRow | AccountabilityRecord


class FakeSupervisionRecords:
    """The rows, by their keys; ``added`` lists what the current unit of work added."""

    def __init__(self) -> None:
        self.followed: dict[str, FollowedCase] = {}
        self.assignment_rows: dict[str, Assignment] = {}
        self.clocks: list[ClockRow] = []
        self.marks: dict[str, Mark] = {}
        self.alerts: dict[str, Alert] = {}
        self.order_rows: dict[str, Order] = {}
        self.accountability_rows: dict[str, AccountabilityRecord] = {}
        self.subscription_rows: dict[int, SubscriptionRow] = {}
        self.leases: dict[str, ScannerLease] = {}
        self.added: list[Row | FollowedCase | Mark | Alert] = []
        self._next_id = 0

    # --- cases and assignments ---

    def case(self, case_id: str) -> FollowedCase | None:
        return self.followed.get(case_id)

    def follow(self, case_id: str) -> tuple[FollowedCase, bool]:
        cases, created = self.follow_all([case_id])
        return cases[case_id], case_id in created

    def follow_all(self, case_ids: Iterable[str]) -> tuple[dict[str, FollowedCase], set[str]]:
        wanted, created = set(case_ids), set[str]()
        for case_id in wanted:
            if case_id not in self.followed:
                case = FollowedCase(case_id=case_id, risk="blue", territory={}, climbs=0)
                self.followed[case_id] = case
                self.added.append(case)
                created.add(case_id)
        return {i: self.followed[i] for i in wanted}, created

    def cases(self, case_ids: Iterable[str]) -> dict[str, FollowedCase]:
        return {i: self.followed[i] for i in set(case_ids) if i in self.followed}

    def assignment(self, assignment_id: str | None) -> Assignment | None:
        return self.assignment_rows.get(assignment_id) if assignment_id else None

    def assignments(self, ids: Iterable[str]) -> dict[str, Assignment]:
        return {i: self.assignment_rows[i] for i in set(ids) if i in self.assignment_rows}

    def assignment_at(
        self, case_id: str, at: datetime | None, before: bool = False
    ) -> Assignment | None:
        held = [
            a
            for a in self.assignment_rows.values()
            if a.case_id == case_id
            and (at is None or a.dispatched_at < at or (not before and a.dispatched_at == at))
        ]
        return max(held, key=lambda a: (a.dispatched_at, a.id), default=None)

    def next_dispatch(self, assignment: Assignment) -> datetime | None:
        later = [
            a.dispatched_at
            for a in self.assignment_rows.values()
            if a.case_id == assignment.case_id and a.dispatched_at > assignment.dispatched_at
        ]
        return min(later, default=None)

    def add(self, row: Row) -> None:
        if isinstance(row, Assignment):
            self.assignment_rows[row.id] = row
        elif isinstance(row, ClockRow):
            if any((c.owner, c.kind) == (row.owner, row.kind) for c in self.clocks):
                raise ValueError(f"a second {row.kind} clock of {row.owner}")
            row.id = self._new_id()
            self.clocks.append(row)
        elif isinstance(row, Order):
            self.order_rows[row.order_id] = row
        elif isinstance(row, AccountabilityRecord):
            self.accountability_rows[row.record_id] = row
        else:
            row.id = self._new_id()
            self.subscription_rows[row.id] = row
        self.added.append(row)

    def add_all(self, rows: Sequence[Assignment | ClockRow]) -> None:
        for row in rows:
            self.add(row)

    def flush(self) -> None:
        pass

    # --- clocks ---

    def clocks_of(self, case_id: str) -> list[ClockRow]:
        return [c for c in self.clocks if c.case_id == case_id]

    def running_clocks(self, case_id: str, kinds: Iterable[str] | None = None) -> list[ClockRow]:
        wanted = None if kinds is None else set(kinds)
        return [
            c
            for c in self.clocks_of(case_id)
            if c.state in RUNNING and (wanted is None or c.kind in wanted)
        ]

    def clocks_owned_by(self, owners: Sequence[str]) -> list[ClockRow]:
        wanted = set(owners)
        return [c for c in self.clocks if c.owner in wanted]

    def due_clocks(self, now: datetime, limit: int, skip_locked: bool) -> list[ClockRow]:
        due = [
            c
            for c in self.clocks
            if c.state == "open" and c.next_due_at is not None and c.next_due_at <= now
        ]
        return sorted(due, key=lambda c: c.next_due_at or now)[:limit]

    # --- marks, alerts ---

    def mark(
        self,
        event_id: str,
        case_id: str,
        what: str,
        at: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        if event_id not in self.marks:
            mark = Mark(event_id=event_id, case_id=case_id, what=what, at=at, detail=detail)
            self.marks[event_id] = mark
            self.added.append(mark)

    def marks_between(self, case_id: str, start: datetime, end: datetime | None) -> list[Mark]:
        found = [
            m
            for m in self.marks.values()
            if m.case_id == case_id and m.at >= start and (end is None or m.at <= end)
        ]
        return sorted(found, key=lambda m: (m.at, m.event_id))

    def raise_alert(self, key: str, case_id: str, kind: str, at: datetime, event_id: str) -> bool:
        if key in self.alerts:
            return False
        alert = Alert(key=key, case_id=case_id, kind=kind, raised_at=at, event_id=event_id)
        self.alerts[key] = alert
        self.added.append(alert)
        return True

    # --- orders, subscriptions, the lease ---

    def order(self, order_id: str) -> Order | None:
        return self.order_rows.get(order_id)

    def orders(self, ids: Iterable[str]) -> dict[str, Order]:
        return {i: self.order_rows[i] for i in set(ids) if i in self.order_rows}

    def subscriptions(self, subscriber: str | None = None) -> list[SubscriptionRow]:
        rows = sorted(self.subscription_rows.values(), key=lambda row: row.id)
        return [row for row in rows if subscriber is None or row.subscriber == subscriber]

    def subscription(self, subscription_id: int) -> SubscriptionRow | None:
        return self.subscription_rows.get(subscription_id)

    def remove(self, row: SubscriptionRow) -> None:
        del self.subscription_rows[row.id]

    def hold_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        lease = self.leases.get(name)
        if lease is not None and lease.holder != holder and lease.expires_at >= now:
            return False
        self.leases[name] = ScannerLease(name=name, holder=holder, expires_at=now + ttl)
        return True

    # --- the transaction ---

    def forget_added(self) -> None:
        """Take out what was added since the last commit, as a rollback would."""
        for row in self.added:
            self._forget(row)
        self.added = []

    def _forget(self, row: Row | FollowedCase | Mark | Alert) -> None:
        if isinstance(row, FollowedCase):
            self.followed.pop(row.case_id, None)
        elif isinstance(row, Assignment):
            self.assignment_rows.pop(row.id, None)
        elif isinstance(row, ClockRow):
            self.clocks.remove(row)
        elif isinstance(row, Mark):
            self.marks.pop(row.event_id, None)
        elif isinstance(row, Alert):
            self.alerts.pop(row.key, None)
        elif isinstance(row, Order):
            self.order_rows.pop(row.order_id, None)
        elif isinstance(row, AccountabilityRecord):
            self.accountability_rows.pop(row.record_id, None)
        else:
            self.subscription_rows.pop(row.id, None)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id


class FakeSupervisionUnitOfWork:
    """``records`` holds the rows; ``events`` what the committed units of work emitted and
    ``handled`` the event ids they recorded as handled. ``claims_rows`` as on PostgreSQL
    (no lease) unless told otherwise."""

    def __init__(self, claims_rows: bool = True) -> None:
        self.records = FakeSupervisionRecords()
        self.claims_rows = claims_rows
        self.events: list[Envelope[Any]] = []
        self.handled: set[str] = set()
        self.commits = 0
        self._emitted: list[Envelope[Any]] = []
        self._seen: set[str] = set()
        self._before_commit: list[Callable[[], None]] = []
        self._open = False

    def __enter__(self) -> Self:
        if self._open:
            raise RuntimeError("a unit of work is open already")
        self._open = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.records.forget_added()
        self._emitted, self._seen, self._before_commit = [], set(), []
        self._open = False

    def first_times(self, event_ids: Iterable[str]) -> FirstTimes:
        self._started()
        fresh = set(event_ids) - self.handled - self._seen
        self._seen |= fresh
        return FirstTimes(fresh)

    def emit(self, envelope: Envelope[Any]) -> None:
        self._started()
        self._emitted.append(envelope)

    def before_commit(self, write: Callable[[], None]) -> None:
        self._started()
        self._before_commit.append(write)

    def commit(self) -> None:
        self._started()
        for write in self._before_commit:
            write()
        self.events += self._emitted
        self.handled |= self._seen
        self.records.added = []
        self._emitted, self._seen, self._before_commit = [], set(), []
        self.commits += 1

    def of_type(self, event_type: str) -> list[Envelope[Any]]:
        """The committed events of one type."""
        return [event for event in self.events if event.type == event_type]

    def _started(self) -> None:
        if not self._open:
            raise RuntimeError("the unit of work is used outside its with block")
