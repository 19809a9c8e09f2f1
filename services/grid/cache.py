"""The in-memory index of one grid instance, and when to rebuild it.

Every change to the stored territory bumps one revision number in the same transaction. An
instance rebuilds its index when it sees a newer revision: at once when told by a
``grid.unit_changed`` / ``grid.staff_changed`` event, and within a few seconds anyway by
polling it (an event reaches one instance of a competing group only; the poll reaches all).
Every read also looks at the revision first (one primary-key read of a one-row table), so a
change is served from the very next read on, on every instance.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy.orm import Session

from kit.settings import Settings
from services.grid.index import TerritoryIndex
from services.grid.repository import GridRepository

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0

Reader = Callable[[], AbstractContextManager[Session]]


class TerritoryCache:
    def __init__(self) -> None:
        # Green under eventlet (the kit patches threading): one rebuild at a time, the others
        # wait for it instead of building the same index again.
        self._lock = threading.Lock()
        self._index: TerritoryIndex | None = None
        self._revision: int | None = None

    @property
    def revision(self) -> int | None:
        return self._revision

    def current(self, read: Reader) -> TerritoryIndex:
        """The index at the stored revision: the one in memory unless the revision moved."""
        with read() as session:
            revision = GridRepository(session).revision()
        index = self._index
        if index is not None and revision == self._revision:
            return index
        return self.refresh(read)

    def refresh(self, read: Reader) -> TerritoryIndex:
        """The index at the stored revision, rebuilt only if that moved."""
        with self._lock:
            with read() as session:
                repository = GridRepository(session)
                # The revision first: data read after it is at least that new, so a change
                # committed in between is picked up by the next refresh, never lost.
                revision = repository.revision()
                if self._index is not None and revision == self._revision:
                    return self._index
                started = time.perf_counter()
                territory = repository.load()
            self._index = TerritoryIndex(territory)
            self._revision = revision
            log.info(
                "grid index at revision %d: %d units, %d people, built in %.2fs",
                revision,
                len(territory.units),
                len(territory.people),
                time.perf_counter() - started,
            )
            return self._index


def new_cache(_settings: Settings) -> TerritoryCache:
    return TerritoryCache()
