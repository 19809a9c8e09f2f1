"""Dispatch's unit of work: the cases as the handlers see them, and one transaction around them.

``DispatchUnitOfWork`` is what a handler is given; ``SqlDispatchUnitOfWork`` is the
database's, and ``tests/support/fake_dispatch.py`` has one in memory for the handlers' unit
tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy import Row
from sqlalchemy.orm import Session

from contracts.events import Envelope
from kit.db import FirstTimes, Store
from kit.unit_of_work import ServiceUnitOfWork
from services.dispatch.models import Case
from services.dispatch.repository import CaseFilters, CaseRepository, Found, PageWanted


class Cases(Protocol):
    """The cases inside a unit of work: found by id (with their history), or added."""

    def get(self, case_id: str) -> Case | None: ...

    def add(self, case: Case) -> None: ...

    def link_repeats(self, case_id: str, repeat_of: Sequence[str]) -> None:
        """``case_id`` repeats each of ``repeat_of`` (the same citizen's earlier matters)."""
        ...


class CaseReads(Protocol):
    """The cases as committed, read outside any transaction that writes."""

    def get(self, case_id: str) -> Case | None: ...

    def repeats_of(self, case_id: str) -> list[str]:
        """The later matters repeating this case."""
        ...

    def page(self, scope: Sequence[str] | None, filters: CaseFilters, wanted: PageWanted) -> Found:
        """Newest first by (received_at, case_id); ``scope`` limits them to the cases those
        units hold, help with, or that lie within them. Also how many match, up to
        ``repository.TOTAL_CAP``."""
        ...

    def export_rows(
        self,
        scope: Sequence[str] | None,
        filters: CaseFilters,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Row[Any]]:
        """As ``page`` orders and filters them, at most ``limit`` after the cursor ``after``,
        as rows of ``repository.EXPORT_COLUMNS``; counted never."""
        ...

    def open_cases(
        self, scope: Sequence[str] | None, unit: str | None, statuses: Sequence[str], limit: int
    ) -> list[Case]:
        """At most ``limit`` cases in ``statuses``, newest first, in scope and within
        ``unit``'s reach when given."""
        ...


class DispatchUnitOfWork(Protocol):
    """One transaction: the cases changed, the events their change causes and the event or
    command consumed, stored together on ``commit`` or not at all (leaving without a commit
    rolls back). ``read`` looks at the committed cases without taking part in it."""

    @property
    def cases(self) -> Cases: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def read(self) -> AbstractContextManager[CaseReads]: ...

    def first_time(self, event_id: str) -> bool:
        """Record that this event (or command) is handled; False if it was already."""
        ...

    def first_times(self, event_ids: Iterable[str]) -> FirstTimes:
        """``first_time`` for a burst: the ids not handled yet, each to be taken once."""
        ...

    def emit(self, envelope: Envelope[Any]) -> None:
        """Queue an event; it leaves only if the unit of work commits."""
        ...

    def commit(self) -> None: ...


class SqlDispatchUnitOfWork(ServiceUnitOfWork):
    """The dispatch database's unit of work: ``kit.db``'s, with the cases' repository on its
    session. ``consumer`` names the entrypoint whose handled events it records."""

    cases: CaseRepository

    def __init__(self, store: Store, consumer: str) -> None:
        super().__init__(lambda: store.unit_of_work(consumer))
        self.store = store

    def on_session(self, session: Session, during: ExitStack) -> None:
        self.cases = CaseRepository(session)

    @contextmanager
    def read(self) -> Iterator[CaseRepository]:
        with self.store.read() as session:
            yield CaseRepository(session)
