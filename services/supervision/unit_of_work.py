"""Supervision's unit of work: the rows behind clocks, alerts, orders and subscriptions as the
handlers see them, and one transaction around them.

``SupervisionUnitOfWork`` is what a handler is given; ``SqlSupervisionUnitOfWork`` is the
database's, and ``tests/support/fake_supervision.py`` has one in memory for the handlers' unit
tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy.orm import Session

from contracts.events import Envelope
from kit.db import FirstTimes, Store
from kit.unit_of_work import ServiceUnitOfWork
from services.supervision.counting import keep_counters
from services.supervision.models import (
    AccountabilityRecord,
    Assignment,
    ClockRow,
    FollowedCase,
    Mark,
    Order,
    SubscriptionRow,
)
from services.supervision.repository import SupervisionRepository


class SupervisionRecords(Protocol):
    """The rows the handlers read and write: cases followed, their assignments (one a
    dispatch), clocks, marks (facts kept for the assignment they fall to), alerts raised,
    督办 orders, subscriptions and the SQLite scanner's lease. See ``SupervisionRepository``
    for what each promises."""

    def case(self, case_id: str) -> FollowedCase | None: ...

    def follow(self, case_id: str) -> tuple[FollowedCase, bool]: ...

    def follow_all(self, case_ids: Iterable[str]) -> tuple[dict[str, FollowedCase], set[str]]: ...

    def cases(self, case_ids: Iterable[str]) -> dict[str, FollowedCase]: ...

    def assignment(self, assignment_id: str | None) -> Assignment | None: ...

    def assignments(self, ids: Iterable[str]) -> dict[str, Assignment]: ...

    def assignment_at(
        self, case_id: str, at: datetime | None, before: bool = False
    ) -> Assignment | None: ...

    def next_dispatch(self, assignment: Assignment) -> datetime | None: ...

    def add(
        self, row: Assignment | ClockRow | Order | SubscriptionRow | AccountabilityRecord
    ) -> None: ...

    def add_all(self, rows: Sequence[Assignment | ClockRow]) -> None: ...

    def flush(self) -> None: ...

    def clocks_of(self, case_id: str) -> list[ClockRow]: ...

    def running_clocks(
        self, case_id: str, kinds: Iterable[str] | None = None
    ) -> list[ClockRow]: ...

    def clocks_owned_by(self, owners: Sequence[str]) -> list[ClockRow]: ...

    def due_clocks(self, now: datetime, limit: int, skip_locked: bool) -> list[ClockRow]: ...

    def mark(
        self,
        event_id: str,
        case_id: str,
        what: str,
        at: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None: ...

    def marks_between(self, case_id: str, start: datetime, end: datetime | None) -> list[Mark]: ...

    def raise_alert(
        self, key: str, case_id: str, kind: str, at: datetime, event_id: str
    ) -> bool: ...

    def order(self, order_id: str) -> Order | None: ...

    def orders(self, ids: Iterable[str]) -> dict[str, Order]: ...

    def subscriptions(self, subscriber: str | None = None) -> list[SubscriptionRow]: ...

    def subscription(self, subscription_id: int) -> SubscriptionRow | None: ...

    def remove(self, row: SubscriptionRow) -> None: ...

    def hold_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool: ...


class SupervisionUnitOfWork(Protocol):
    """One transaction: the rows, the events consumed and the events caused, stored together
    on ``commit`` or not at all (leaving without a commit rolls back)."""

    @property
    def records(self) -> SupervisionRecords: ...

    @property
    def claims_rows(self) -> bool:
        """Whether several scanners share the clocks by claiming rows (PostgreSQL); if not, one
        scans at a time, holding the scanner's lease."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def first_times(self, event_ids: Iterable[str]) -> FirstTimes:
        """The ids not handled before, each to be taken once (kept only if this commits)."""
        ...

    def emit(self, envelope: Envelope[Any]) -> None:
        """Queue an event; it leaves only if the unit of work commits."""
        ...

    def before_commit(self, write: Callable[[], None]) -> None:
        """Run ``write`` at commit, before anything else goes in."""
        ...

    def commit(self) -> None: ...


class SqlSupervisionUnitOfWork(ServiceUnitOfWork):
    """The supervision database's unit of work: ``kit.db``'s, with the repository on its
    session. ``consumer`` names who records the events handled; ``autoflush=False`` keeps the
    rows a scan changes in the session until commit, to be written together."""

    records: SupervisionRepository

    def __init__(self, store: Store, consumer: str, autoflush: bool = True) -> None:
        super().__init__(lambda: store.unit_of_work(consumer))
        self.store = store
        self.autoflush = autoflush

    @property
    def claims_rows(self) -> bool:
        return self.store.dialect == "postgresql"

    def on_session(self, session: Session, during: ExitStack) -> None:
        if not self.autoflush:
            during.enter_context(session.no_autoflush)
        self.records = SupervisionRepository(session)
        keep_counters(session, during)
