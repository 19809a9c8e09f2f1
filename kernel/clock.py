"""Where time comes from. Services ask a ``Clock`` for the time instead of the system, so that
tests can hold time still or move it on instead of sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...


class SystemClock:
    """The machine's own clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that stands still until it is set or advanced (for tests and for replaying a
    day of the demo county)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock's time must carry its zone")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("a clock's time must carry its zone")
        with self._lock:
            if moment < self._now:
                raise ValueError(f"a clock never goes back: {moment} is before {self._now}")
            self._now = moment.astimezone(UTC)

    def advance(self, by: timedelta) -> datetime:
        if by < timedelta(0):
            raise ValueError("a clock never goes back")
        with self._lock:
            self._now += by
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"
