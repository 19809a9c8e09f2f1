"""Working hours (工作时间): the hours of a working day a unit works, and N working minutes after
an instant.

A limit that runs in working hours (``sla.yml`` chooses, per clock, channel, category and risk)
only counts time inside a unit's periods on the working calendar's days: lunch, nights, weekends
and holidays stand still, 调休 make-up days count. The periods belong to a unit (``hours.yml``:
a default for every unit and the units that differ), on Beijing time.

Pure: the calendar says which days are worked, this module which hours of them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kernel.calendar import SHANGHAI, WorkingCalendar
from kernel.config import ConfigError, Fault, load_model


class HoursError(ConfigError):
    """hours.yml is wrong; the message names the file, the line and the field."""


_PERIOD: Final = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")

MAX_SEARCH_DAYS: Final = 3660
"""Ten years: a working-hours limit longer than that is a typo, and it must not stall a dispatch."""


@dataclass(frozen=True, order=True)
class Period:
    """One stretch of a working day, ``start`` to ``end`` (end excluded), Beijing time."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def length(self) -> timedelta:
        return _at(date.min, self.end) - _at(date.min, self.start)


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment)


def read_period(text: object) -> Period:
    """``"08:30-12:00"``: a start before an end on the same day."""
    match = _PERIOD.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a period like 08:30-12:00")
    sh, sm, eh, em = (int(part) for part in match.groups())
    if sh > 23 or eh > 23 or sm > 59 or em > 59:
        raise ValueError(f"{text!r} is not a time of day")
    start, end = time(sh, sm), time(eh, em)
    if end <= start:
        raise ValueError(f"{text}: ends before it starts (a period never crosses midnight)")
    return Period(start, end)


@dataclass(frozen=True)
class WorkingHours:
    """A unit's periods of a working day, in order and never overlapping."""

    periods: tuple[Period, ...]

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("working hours need at least one period")
        ordered = tuple(sorted(self.periods))
        for before, after in itertools.pairwise(ordered):
            if after.start < before.end:
                raise ValueError(f"{after} overlaps {before}")
        object.__setattr__(self, "periods", ordered)

    @classmethod
    def of(cls, *texts: str) -> WorkingHours:
        return cls(tuple(read_period(text) for text in texts))

    def __str__(self) -> str:
        return ", ".join(map(str, self.periods))

    @property
    def per_day(self) -> timedelta:
        return sum((period.length for period in self.periods), timedelta(0))


DEFAULT_HOURS: Final = WorkingHours.of("08:30-12:00", "13:30-17:30")
"""The county's office hours: 8:30 to noon, 13:30 to 17:30."""


def add_working_time(
    calendar: WorkingCalendar, hours: WorkingHours, start: datetime, amount: timedelta
) -> datetime:
    """The instant at which ``amount`` of working time after ``start`` has run, in UTC.

    Only time inside ``hours`` on ``calendar``'s working days counts. A start outside the hours
    waits for the next period; an amount used up exactly at a period's end is due at that end
    (12:00, not 13:30). Never before ``start``: nothing is ever due in the past.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"start must be timezone-aware, got {start!r}")
    if amount < timedelta(0):
        raise ValueError(f"amount must not be negative, got {amount}")
    if amount == timedelta(0):
        return start.astimezone(UTC)
    local = start.astimezone(SHANGHAI).replace(tzinfo=None)
    left, day = amount, local.date()
    for _ in range(MAX_SEARCH_DAYS):
        if calendar.is_working_day(day):
            for period in hours.periods:
                begin = max(local, _at(day, period.start))
                end = _at(day, period.end)
                if begin >= end:
                    continue
                if end - begin >= left:
                    return (begin + left).replace(tzinfo=SHANGHAI).astimezone(UTC)
                left -= end - begin
        day += timedelta(days=1)
    raise ValueError(f"{amount} of working time does not end within ten years of {start}")


# --- hours.yml ---------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _periods(value: Any, where: tuple[str | int, ...]) -> WorkingHours:
    if not isinstance(value, list) or not value:
        raise Fault(where, "must be a list of periods like 08:30-12:00")
    periods: list[Period] = []
    for index, text in enumerate(value):
        try:
            period = read_period(text)
        except ValueError as exc:
            raise Fault((*where, index), str(exc)) from None
        for other in periods:
            if period.start < other.end and other.start < period.end:
                raise Fault((*where, index), f"{period} overlaps {other}: hours would count twice")
        periods.append(period)
    return WorkingHours(tuple(periods))


class HoursFile(_Strict):
    """The whole of ``hours.yml``: the default periods and the units that keep others."""

    default: tuple[str, ...] = Field(default=tuple(str(p) for p in DEFAULT_HOURS.periods))
    units: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("units", mode="before")
    @classmethod
    def _codes_as_text(cls, value: Any) -> Any:
        # a numeric unit code is read by YAML as a number; the code is text everywhere else
        if value is None:
            return {}
        if isinstance(value, Mapping):
            return {str(key): entry for key, entry in value.items()}
        return value

    @model_validator(mode="before")
    @classmethod
    def _valid_periods(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            if "default" in data:
                _periods(data["default"], ("default",))
            units = data.get("units")
            if isinstance(units, Mapping):
                for code, periods in units.items():
                    _periods(periods, ("units", str(code)))
        return data


@dataclass(frozen=True)
class HoursBook:
    """Which hours each unit works: its own when ``hours.yml`` lists it, else the default."""

    default: WorkingHours = DEFAULT_HOURS
    units: Mapping[str, WorkingHours] = field(default_factory=dict)

    def of(self, unit: str | None) -> WorkingHours:
        if unit is None:
            return self.default
        return self.units.get(unit, self.default)

    @classmethod
    def from_file(cls, file: HoursFile) -> HoursBook:
        return cls(
            WorkingHours.of(*file.default),
            {code: WorkingHours.of(*periods) for code, periods in file.units.items()},
        )

    @classmethod
    def from_text(cls, text: str, name: str = "hours.yml") -> HoursBook:
        return cls.from_file(load_model(text, name, HoursFile, HoursError))

    def __hash__(self) -> int:
        return hash((self.default, tuple(sorted(self.units.items()))))
