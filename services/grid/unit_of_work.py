"""Grid's unit of work: the territory as the handlers see it, and one transaction around it.

``GridUnitOfWork`` is what a handler is given; ``SqlGridUnitOfWork`` is the database's, and
``tests/support/fake_grid.py`` has one in memory for the handlers' unit tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy.orm import Session

from contracts.events import Envelope
from kit.db import Store
from kit.pii import PhoneVault
from kit.unit_of_work import ServiceUnitOfWork
from services.grid.domain import Changes, Territory
from services.grid.repository import GridRepository


class TerritoryRepository(Protocol):
    """The stored territory, and the revision every change to it bumps."""

    def load(self) -> Territory: ...

    def write(self, territory: Territory, parts: Iterable[str]) -> Changes:
        """Replace the given parts with the territory's; say what that changed."""
        ...

    def revision(self) -> int: ...

    def bump_revision(self, now: datetime) -> int: ...


class GridUnitOfWork(Protocol):
    """One transaction: the territory's rows and the events their change causes, stored
    together on ``commit`` or not at all (leaving without a commit rolls back)."""

    @property
    def territory(self) -> TerritoryRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def emit(self, envelope: Envelope[Any]) -> None:
        """Queue an event; it leaves only if the unit of work commits."""
        ...

    def commit(self) -> None: ...


class SqlGridUnitOfWork(ServiceUnitOfWork):
    """The grid database's unit of work: ``kit.db``'s, with the territory's repository on its
    session. ``vault`` seals the phones written."""

    territory: GridRepository

    def __init__(self, store: Store, vault: PhoneVault) -> None:
        super().__init__(store.unit_of_work)
        self.vault = vault

    def on_session(self, session: Session, during: ExitStack) -> None:
        self.territory = GridRepository(session, self.vault)
