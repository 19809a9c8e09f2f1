"""Intake's unit of work: what came in, what became of it and the callbacks owed, as the
handlers see them, and one transaction around them.

``IntakeUnitOfWork`` is what a handler is given and ``IntakeReads`` what a query is given;
``SqlIntakeUnitOfWork`` and ``SqlIntakeReads`` are the database's, and
``tests/support/fake_intake.py`` has both in memory for the handlers' unit tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, ExitStack
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy.orm import Session

from contracts.events import Envelope
from kit.db import FirstTimes
from kit.unit_of_work import ServiceUnitOfWork
from services.intake.models import Callback, CaseStatus, Submission, TimelineEntry
from services.intake.repeats import EarlierMatter
from services.intake.repository import (
    CallbackRepository,
    CaseStatusRepository,
    SubmissionRepository,
)


class Submissions(Protocol):
    """What came in, once per (source, external id)."""

    def add_if_new(self, submission: dict[str, Any]) -> bool:
        """Store the row unless its (source, external id) is stored; True if it was not."""
        ...

    def case_id_for(self, source: str, external_id: str) -> str | None: ...

    def earlier_matters(
        self, fingerprints: Iterable[str], since: datetime, limit: int = 50
    ) -> dict[str, list[EarlierMatter]]:
        """What each of these citizens raised since ``since``: the newest ``limit``, newest
        first."""
        ...

    def get(self, case_id: str) -> Submission | None: ...

    def repeats_of(self, submission: Submission) -> list[str]:
        """The same citizen's later matters that repeat this one, oldest first."""
        ...

    def load(self, case_ids: Sequence[str]) -> None:
        """Read these ahead, for ``get`` to find (or know missing) without asking again."""
        ...

    def case_ids_by_phone_index(self, phone_index: str, limit: int) -> list[str]:
        """The cases of the citizen whose number has this blind index, newest first."""
        ...

    def of_source(
        self,
        source: str,
        ids: Sequence[str] = (),
        categories: Sequence[str] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
    ) -> list[Submission]:
        """A source's submissions, newest first, by case id, category and time received."""
        ...


class CaseStatuses(Protocol):
    """The sources' view of their cases: each one's status and timeline."""

    def get(self, case_id: str) -> CaseStatus | None: ...

    def load(self, case_ids: Sequence[str]) -> None:
        """As ``Submissions.load``."""
        ...

    def put(self, status: CaseStatus) -> None:
        """A case's first status; stored, as it stands then, when the unit of work commits."""
        ...

    def add_all_to_timeline(self, entries: Sequence[dict[str, Any]]) -> set[str]:
        """The event ids of those entries that were not on the timeline yet, which now are."""
        ...

    def timeline(self, case_id: str) -> list[TimelineEntry]:
        """The case's timeline, oldest first."""
        ...


class Callbacks(Protocol):
    """Status changes owed to the sources' callback URLs."""

    def enqueue(self, source: str, case_id: str, event_id: str, body: str, now: datetime) -> None:
        """Owe the source this callback, once per (source, event)."""
        ...

    def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[Callback]:
        """The callbacks due, oldest first, leased for ``lease`` so that no one else sends
        them meanwhile."""
        ...

    def get(self, callback_id: int) -> Callback: ...


class IntakeReads(Protocol):
    """What the sources may read, outside any transaction."""

    @property
    def submissions(self) -> Submissions: ...

    @property
    def statuses(self) -> CaseStatuses: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class IntakeUnitOfWork(IntakeReads, Protocol):
    """One transaction: the rows written, the events they cause and the events consumed,
    stored together on ``commit`` or not at all (leaving without a commit rolls back)."""

    @property
    def callbacks(self) -> Callbacks: ...

    def first_times(self, event_ids: Iterable[str]) -> FirstTimes:
        """The event ids this consumer had not handled yet, each to be taken once."""
        ...

    def emit(self, envelope: Envelope[Any]) -> None:
        """Queue an event; it leaves only if the unit of work commits."""
        ...

    def commit(self) -> None: ...


class SqlIntakeUnitOfWork(ServiceUnitOfWork):
    """The intake database's unit of work: ``kit.db``'s (``begin`` starts one, for the
    consumer that asks), with intake's repositories on its session."""

    submissions: SubmissionRepository
    statuses: CaseStatusRepository
    callbacks: CallbackRepository

    def on_session(self, session: Session, during: ExitStack) -> None:
        self.submissions = SubmissionRepository(session)
        self.statuses = CaseStatusRepository(session)
        self.callbacks = CallbackRepository(session)
        # New statuses are kept back while a batch of events moves them, then written at once.
        self.before_commit(self.statuses.write_new)


class SqlIntakeReads:
    """Reads of the intake database on a session of their own (``read`` opens one)."""

    submissions: SubmissionRepository
    statuses: CaseStatusRepository

    def __init__(self, read: Callable[[], AbstractContextManager[Session]]) -> None:
        self.read = read
        self._reading: AbstractContextManager[Session] | None = None

    def __enter__(self) -> Self:
        reading = self.read()
        session = reading.__enter__()
        self.submissions = SubmissionRepository(session)
        self.statuses = CaseStatusRepository(session)
        self._reading = reading
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        reading, self._reading = self._reading, None
        if reading is not None:
            reading.__exit__(exc_type, exc, tb)
