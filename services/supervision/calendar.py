"""Working days for the SLA clocks: the Chinese public calendar, 调休 make-up days included.

Resolve limits written in days (P5D) mean working days (工作日): holidays do not count and the
make-up working days (调休上班, often a Saturday or Sunday) do. ``chinesecalendar`` carries the
State Council's yearly arrangement; it only knows the years published when it was released, so
for any other year we fall back to Monday–Friday and say so once per year in the log: a deadline
a few days off beats refusing to dispatch, but someone must upgrade the package.

Pure apart from that warning.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)

CalendarMode = Literal["chinese", "weekends"]
CALENDAR_MODES: Final[tuple[CalendarMode, ...]] = get_args(CalendarMode)

# The centre works on Beijing time: a case dispatched at 01:00 on a Monday in Shanghai is
# Sunday evening in UTC, and which day it is decides which days count.
SHANGHAI: Final = ZoneInfo("Asia/Shanghai")


class WorkingCalendar:
    """Which days are working days, and what N working days after a moment is.

    ``mode="chinese"`` follows chinesecalendar (weekends-only for years it does not know, with a
    warning); ``mode="weekends"`` counts Monday to Friday, for a deployment that prefers a
    predictable rule to the official arrangement.
    """

    __slots__ = ("_days", "_mode", "_warned")

    def __init__(self, mode: CalendarMode = "chinese") -> None:
        if mode not in CALENDAR_MODES:
            raise ValueError(f"calendar mode {mode!r} is not one of {', '.join(CALENDAR_MODES)}")
        self._mode: CalendarMode = mode
        self._warned: set[int] = set()
        # every deadline walks the same few weeks: chinesecalendar validates and looks each
        # day up again, which was the largest share of dispatch's routing
        self._days: dict[date, bool] = {}

    @property
    def mode(self) -> CalendarMode:
        return self._mode

    @property
    def warned_years(self) -> tuple[int, ...]:
        """Years counted by the weekends fallback because chinesecalendar does not know them."""
        return tuple(sorted(self._warned))

    def is_working_day(self, day: date) -> bool:
        if isinstance(day, datetime):
            # a datetime's date is its own zone's; callers wanting Beijing days convert first
            day = day.date()
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._look_up(day)
        return known

    def _look_up(self, day: date) -> bool:
        if self._mode == "chinese":
            try:
                return bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                self._warn_unknown(day.year)
        return day.weekday() < 5

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same time of day (Beijing) on the ``days``-th working day after ``start``'s day.

        The start day itself never counts, working or not: a case dispatched on Friday evening
        with one working day is due on Monday evening, one dispatched on Saturday is due on
        Monday too. Returned in UTC.
        """
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"start must be timezone-aware, got {start!r}")
        if days < 0:
            raise ValueError(f"days must not be negative, got {days}")
        local = start.astimezone(SHANGHAI)
        day = local.date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        # Shanghai has had no daylight saving since 1991, so the wall time always exists once
        due = datetime.combine(day, local.time(), tzinfo=SHANGHAI)
        return due.astimezone(UTC)

    def _warn_unknown(self, year: int) -> None:
        if year in self._warned:
            return
        self._warned.add(year)
        log.warning(
            "chinesecalendar %s has no holiday arrangement for %d: counting Monday-Friday as "
            "working days for it; upgrade chinesecalendar once the State Council publishes it",
            getattr(chinese_calendar, "__version__", "?"),
            year,
        )

    # Two calendars of the same mode count the same days, so a policy holding one compares by
    # value; the warned years are a log-once memo, not part of the value.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkingCalendar):
            return NotImplemented
        return self._mode == other._mode

    def __hash__(self) -> int:
        return hash((WorkingCalendar, self._mode))

    def __repr__(self) -> str:
        return f"WorkingCalendar({self._mode!r})"
