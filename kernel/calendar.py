"""Working days for the SLA clocks: the Chinese public calendar, 调休 make-up days included.

Resolve limits written in days (P5D) mean working days (工作日): holidays do not count and the
make-up working days (调休上班, often a Saturday or Sunday) do. ``chinesecalendar`` carries the
State Council's yearly arrangement for the years published when it was released; the years after
come from ``holidays.yml`` (``HolidayArrangements``), written in as each year's notice is
published. A year neither knows is counted Monday to Friday, and whoever counts in it asks
``knows`` so that the clock is flagged as uncertain rather than trusted.

Pure apart from a warning in the log, once per unknown year.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo

import chinese_calendar

from kernel.holidays import HolidayArrangements

log = logging.getLogger(__name__)

CalendarMode = Literal["chinese", "weekends"]
CALENDAR_MODES: Final[tuple[CalendarMode, ...]] = get_args(CalendarMode)

# The centre works on Beijing time: a case dispatched at 01:00 on a Monday in Shanghai is
# Sunday evening in UTC, and which day it is decides which days count.
SHANGHAI: Final = ZoneInfo("Asia/Shanghai")

_NO_ARRANGEMENTS: Final = HolidayArrangements()


def _package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


FIRST_YEAR: Final = 2004
"""The first year chinesecalendar knows."""


def package_last_year() -> int:
    """The last year the installed chinesecalendar carries an arrangement for."""
    year = FIRST_YEAR
    while _package_knows(year + 1):
        year += 1
    return year


@dataclass(frozen=True)
class Coverage:
    """How far the calendar reaches: the last year whose arrangement it knows, and its last day."""

    last_year: int
    package_last_year: int
    file_years: tuple[int, ...]

    @property
    def last_day(self) -> date:
        return date(self.last_year, 12, 31)

    def describe(self) -> str:
        listed = ", ".join(map(str, self.file_years)) or "none"
        return (
            f"working calendar known to {self.last_day.isoformat()} (last year {self.last_year}); "
            f"chinesecalendar {getattr(chinese_calendar, '__version__', '?')} to "
            f"{self.package_last_year}, holidays.yml years: {listed}"
        )


NOTICE_DAYS: Final = 60
"""How long before the last known day the console asks for the next year's arrangement (the
alert rule on ``civicflow_calendar_last_known_day_timestamp_seconds`` fires as early)."""


def renewal_notice(coverage: Coverage, today: date) -> str | None:
    """The console's banner (Chinese, for supervisors and admins) from ``NOTICE_DAYS`` before
    the last known year ends, and after; None before then."""
    if (coverage.last_day - today).days > NOTICE_DAYS:
        return None
    return f"节假日安排仅到{coverage.last_year}年12月31日，请导入下一年的安排"


class WorkingCalendar:
    """Which days are working days, and what N working days after a moment is.

    ``mode="chinese"`` follows chinesecalendar and ``holidays.yml`` (Monday to Friday for a year
    neither knows, which ``knows`` reports); ``mode="weekends"`` counts Monday to Friday, for a
    deployment that prefers a predictable rule to the official arrangement.
    """

    __slots__ = ("_arrangements", "_days", "_known", "_mode", "_warned")

    def __init__(
        self, mode: CalendarMode = "chinese", arrangements: HolidayArrangements | None = None
    ) -> None:
        if mode not in CALENDAR_MODES:
            raise ValueError(f"calendar mode {mode!r} is not one of {', '.join(CALENDAR_MODES)}")
        self._mode: CalendarMode = mode
        self._arrangements = arrangements or _NO_ARRANGEMENTS
        self._warned: set[int] = set()
        # every deadline walks the same few weeks: chinesecalendar validates and looks each
        # day up again, which was the largest share of dispatch's routing
        self._days: dict[date, bool] = {}
        self._known: dict[int, bool] = {}

    @property
    def mode(self) -> CalendarMode:
        return self._mode

    @property
    def arrangements(self) -> HolidayArrangements:
        return self._arrangements

    @property
    def warned_years(self) -> tuple[int, ...]:
        """Years counted Monday to Friday because neither chinesecalendar nor holidays.yml knows
        them."""
        return tuple(sorted(self._warned))

    def is_working_day(self, day: date) -> bool:
        if isinstance(day, datetime):
            # a datetime's date is its own zone's; callers wanting Beijing days convert first
            day = day.date()
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._look_up(day)
        return known

    def knows(self, year: int) -> bool:
        """Whether the year's arrangement is known (always, counting weekends only)."""
        known = self._known.get(year)
        if known is None:
            known = self._known[year] = (
                self._mode == "weekends" or year in self._arrangements.years or _package_knows(year)
            )
        return known

    def knows_span(self, start: datetime, end: datetime) -> bool:
        """Whether every Beijing day from ``start`` to ``end`` lies in a known year."""
        first, last = start.astimezone(SHANGHAI).year, end.astimezone(SHANGHAI).year
        return all(self.knows(year) for year in range(first, last + 1))

    def coverage(self) -> Coverage:
        """The last year known without a gap: chinesecalendar's, then holidays.yml's after it."""
        package = package_last_year()
        last = package
        while self._arrangements.covers(last + 1):
            last += 1
        return Coverage(last, package, tuple(sorted(self._arrangements.years)))

    def _look_up(self, day: date) -> bool:
        if self._mode == "chinese":
            listed = self._arrangements.is_working_day(day)
            if listed is not None:
                return listed
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
            "neither chinesecalendar %s nor holidays.yml has the holiday arrangement for %d: "
            "counting Monday-Friday as working days for it and flagging its clocks as uncertain; "
            "add the State Council's notice for %d to holidays.yml",
            getattr(chinese_calendar, "__version__", "?"),
            year,
            year,
        )

    # Two calendars of the same mode and arrangements count the same days, so a policy holding
    # one compares by value; the warned years are a log-once memo, not part of the value.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkingCalendar):
            return NotImplemented
        return (self._mode, self._arrangements) == (other._mode, other._arrangements)

    def __hash__(self) -> int:
        return hash((WorkingCalendar, self._mode, self._arrangements))

    def __repr__(self) -> str:
        return f"WorkingCalendar({self._mode!r})"
