"""A service's SQLAlchemy unit of work: kit's ``UnitOfWork`` (one transaction, its events and
the events it handled) with the service's repositories put on its session.

A service subclasses ``ServiceUnitOfWork`` and says in ``on_session`` which repositories its
handlers see; handlers know the service's own ``Protocol`` of it, never this class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import ExitStack
from types import TracebackType
from typing import Any, Self

from sqlalchemy.orm import Session

from contracts.events import Envelope
from kit.db import FirstTimes, UnitOfWork


class ServiceUnitOfWork:
    """One ``with`` block at a time; it can begin again after. ``begin`` starts kit's unit of
    work (``Store.unit_of_work(consumer)``: the consumer names who records the events
    handled)."""

    def __init__(self, begin: Callable[[], UnitOfWork]) -> None:
        self.begin = begin
        self._work: UnitOfWork | None = None
        self._open = ExitStack()

    def on_session(self, session: Session, during: ExitStack) -> None:
        """Put the service's repositories on ``session``; ``during`` holds anything else to
        keep open until the block ends."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._open = ExitStack()
        self._work = self._open.enter_context(self.begin())
        self.on_session(self._work.session, self._open)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._work = None
        self._open.__exit__(exc_type, exc, tb)

    def first_time(self, event_id: str) -> bool:
        return self.work.first_time(event_id)

    def first_times(self, event_ids: Iterable[str]) -> FirstTimes:
        return self.work.first_times(event_ids)

    def emit(self, envelope: Envelope[Any]) -> None:
        self.work.emit(envelope)

    def before_commit(self, write: Callable[[], None]) -> None:
        self.work.before_commit(write)

    def commit(self) -> None:
        self.work.commit()

    @property
    def work(self) -> UnitOfWork:
        if self._work is None:
            raise RuntimeError("the unit of work is used outside its with block")
        return self._work
