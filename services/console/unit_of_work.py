"""Console's unit of work: staff users, login failures, the phone-view audit and the big
screen's counts as the handlers see them, and one transaction around them.

``ConsoleUnitOfWork`` is what a handler that writes is given and ``ConsoleReads`` what a read
is given; ``SqlConsoleUnitOfWork`` and ``SqlConsoleReads`` are the database's, and
``tests/support/fake_console.py`` has both in memory for the handlers' unit tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from sqlalchemy.orm import Session

from kit.db import FirstTimes
from kit.unit_of_work import ServiceUnitOfWork
from services.console.models import DeskCase, LoginFailures, Notice, StreamTicket, User
from services.console.repository import DeskRepository, StreamTicketRepository, UserRepository
from services.console.screen_counts import Counter, PlacedCase, Tick

Tallied = tuple[str, str, str, int]


class Users(Protocol):
    """The staff who may sign in (坐席、部门办理人、网格员、督查、管理员)."""

    def get(self, username: str) -> User | None: ...

    def put(self, user: User) -> None:
        """Add the user, or store the changes to one already there."""
        ...

    def all(self) -> list[User]:
        """Every user, by username."""
        ...

    def remove(self, user: User) -> None: ...


class FailedLogins(Protocol):
    """Failed logins counted per key (``user:<name>``, ``addr:<address>``) in a window."""

    def failures(self, key: str) -> LoginFailures | None: ...

    def failed(self, key: str, now: float, window: float) -> None:
        """One more failure; a window older than ``window`` seconds starts again at one."""
        ...

    def forget_failures(self, *keys: str) -> None: ...


class StreamTickets(Protocol):
    """The live stream's short-lived, single-use tickets, kept by their hash."""

    def add(self, ticket: StreamTicket) -> None: ...

    def take(self, ticket_hash: str) -> StreamTicket | None:
        """The ticket, removed: a second take of it finds nothing."""
        ...

    def drop_expired(self, now: datetime) -> None: ...

    def drop_of_user(self, username: str) -> None: ...


class PhoneViews(Protocol):
    """The audit of who saw a citizen's number unmasked."""

    def saw_phone(self, username: str, case_id: str, address: str, at: datetime) -> None: ...


class ScreenCounts(Protocol):
    """The big screen's counts, by (Beijing) day and metric."""

    def count(self, tally: Mapping[tuple[str, str], int]) -> None:
        """Add each ``(day, metric)``'s number to its count."""
        ...

    def counts(self, day: str) -> dict[str, int]: ...

    def tally(self, counts: Mapping[Counter, int]) -> None:
        """Add each ``(day, metric, key)``'s number to its counter."""
        ...

    def tallied(self, since: str, until: str, metrics: Sequence[str]) -> list[Tallied]:
        """``(day, metric, key, count)`` of the days from ``since`` to ``until`` (both
        included) for ``metrics``."""
        ...

    def placed(self, case_ids: Iterable[str]) -> dict[str, PlacedCase]:
        """What is kept of these cases, by id (those kept)."""
        ...

    def keep(self, cases: Iterable[PlacedCase]) -> None:
        """Keep these cases as they are now (added, or replacing what was kept)."""
        ...

    def tick(self, ticks: Iterable[Tick]) -> None: ...

    def ticker(self, limit: int) -> list[Tick]:
        """The latest lines of the ticker, newest first."""
        ...

    def points(self, day: str, limit: int) -> list[PlacedCase]:
        """Cases received on ``day`` that have a point, at most ``limit``."""
        ...


class DeskBook(Protocol):
    """The cases registered at the desk (首问负责) and the notices kept for their receivers."""

    def received(self, case_id: str, received_by: str, summary: str) -> None:
        """Who received the case at the desk (once)."""
        ...

    def receiver(self, case_id: str) -> DeskCase | None: ...

    def notify(self, username: str, case_id: str, event_id: str, at: datetime, text: str) -> None:
        """Keep a notice for the user, once per (event, user)."""
        ...

    def notices(self, username: str) -> list[Notice]:
        """The user's newest notices, the unread first."""
        ...

    def unread(self, username: str) -> int: ...

    def mark_read(self, username: str, notice_id: int, at: datetime) -> bool:
        """False when the user has no such notice."""
        ...


class ConsoleReads(Protocol):
    """What the console reads outside any transaction."""

    @property
    def users(self) -> Users: ...

    @property
    def desk(self) -> DeskBook: ...

    @property
    def screen(self) -> ScreenCounts: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class ConsoleUnitOfWork(ConsoleReads, Protocol):
    """One transaction: the rows written and the events consumed, stored together on
    ``commit`` or not at all (leaving without a commit rolls back)."""

    @property
    def failed_logins(self) -> FailedLogins: ...

    @property
    def phone_views(self) -> PhoneViews: ...

    @property
    def tickets(self) -> StreamTickets: ...

    def first_times(self, event_ids: Iterable[str]) -> FirstTimes:
        """The event ids this consumer had not handled yet, each to be taken once."""
        ...

    def commit(self) -> None: ...


class SqlConsoleUnitOfWork(ServiceUnitOfWork):
    """The console database's unit of work: ``kit.db``'s (``begin`` starts one, for the
    consumer that asks), with the console's repository on its session."""

    users: UserRepository
    screen: UserRepository
    failed_logins: UserRepository
    phone_views: UserRepository
    tickets: StreamTicketRepository
    desk: DeskRepository

    def on_session(self, session: Session, during: ExitStack) -> None:
        repository = UserRepository(session)
        self.users = self.screen = self.failed_logins = self.phone_views = repository
        self.tickets = StreamTicketRepository(session)
        self.desk = DeskRepository(session)


class SqlConsoleReads:
    """Reads of the console database on a session of their own (``read`` opens one)."""

    users: UserRepository
    screen: UserRepository
    desk: DeskRepository

    def __init__(self, read: Callable[[], AbstractContextManager[Session]]) -> None:
        self.read = read
        self._reading: AbstractContextManager[Session] | None = None

    def __enter__(self) -> Self:
        reading = self.read()
        session = reading.__enter__()
        self.users = self.screen = UserRepository(session)
        self.desk = DeskRepository(session)
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
