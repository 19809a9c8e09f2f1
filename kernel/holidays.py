"""The holiday arrangements (放假安排) of years the installed chinesecalendar does not know yet,
read from ``holidays.yml``: per year, the holidays and the make-up working days (调休上班), as the
State Council's General Office announces them each autumn for the year after.

An impossible date, a date outside its year, a day listed both as a holiday and as a working
day, or a make-up working day that is not a Saturday or Sunday refuses the start (and the
import: ``civicflow calendar import``, the console's upload), naming the file, the line and the
field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kernel.config import ConfigError, Fault, load_model


class HolidaysError(ConfigError):
    """holidays.yml is wrong; the message names the file, the line and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Holiday(_Strict):
    """A holiday of one or more days in a row: ``from`` to ``to`` (both included)."""

    name: str = Field(min_length=1)
    start: date = Field(alias="from")
    end: date | None = Field(default=None, alias="to")

    @model_validator(mode="after")
    def _in_order(self) -> Holiday:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"to ({self.end}) is before from ({self.start})")
        return self

    def days(self) -> Iterator[date]:
        day, last = self.start, self.end or self.start
        while day <= last:
            yield day
            day += timedelta(days=1)


class MakeUpDay(_Strict):
    """调休上班: a weekend day worked to make a holiday longer."""

    name: str = Field(min_length=1)
    date: date


class YearArrangement(_Strict):
    holidays: tuple[Holiday, ...] = ()
    working_days: tuple[MakeUpDay, ...] = ()


class HolidaysFile(_Strict):
    years: dict[str, YearArrangement] = Field(default_factory=dict)

    @field_validator("years", mode="before")
    @classmethod
    def _years_as_text(cls, value: Any) -> Any:
        # YAML reads 2027 as a number; the document's keys stay text so errors find their line
        if isinstance(value, Mapping):
            return {str(key): entry for key, entry in value.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> HolidaysFile:
        for year, arrangement in self.years.items():
            if not (year.isdigit() and len(year) == 4):
                raise Fault(("years", year), "must be a year like 2027")
            _check_year(int(year), arrangement)
        return self


def _check_year(year: int, arrangement: YearArrangement) -> None:
    holidays: set[date] = set()
    for index, holiday in enumerate(arrangement.holidays):
        for day in holiday.days():
            if day.year != year:
                field = "from" if day == holiday.start else "to"
                raise Fault(
                    ("years", str(year), "holidays", index, field), f"{day} is not in {year}"
                )
            holidays.add(day)
    for index, worked in enumerate(arrangement.working_days):
        path = ("years", str(year), "working_days", index, "date")
        if worked.date.year != year:
            raise Fault(path, f"{worked.date} is not in {year}")
        if worked.date in holidays:
            raise Fault(path, f"{worked.date} is listed both as a holiday and as a working day")
        if worked.date.weekday() < 5:
            # 调休上班 moves a Saturday or Sunday into the week; a weekday listed here is a typo
            # for another date, and taking it would leave the real make-up day a day off
            raise Fault(path, f"{worked.date} is a {worked.date:%A}, not a Saturday or Sunday: "
                              "a make-up working day (调休上班) is a weekend day")  # fmt: skip


class HolidayArrangements:
    """The holidays and make-up working days of the years ``holidays.yml`` lists."""

    __slots__ = ("_holidays", "_working", "years")

    def __init__(self, document: HolidaysFile | None = None) -> None:
        years = (document or HolidaysFile()).years
        self.years: frozenset[int] = frozenset(int(year) for year in years)
        self._holidays = frozenset(
            day for entry in years.values() for each in entry.holidays for day in each.days()
        )
        self._working = frozenset(
            day.date for entry in years.values() for day in entry.working_days
        )

    @classmethod
    def from_text(cls, text: str, name: str = "holidays.yml") -> HolidayArrangements:
        return cls(load_model(text, name, HolidaysFile, HolidaysError, dates_as_text=True))

    def covers(self, year: int) -> bool:
        return year in self.years

    def is_working_day(self, day: date) -> bool | None:
        """Whether ``day`` is worked, by the file; None for a year the file does not list."""
        if day.year not in self.years:
            return None
        if day in self._working:
            return True
        return day not in self._holidays and day.weekday() < 5

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HolidayArrangements):
            return NotImplemented
        return (self._holidays, self._working, self.years) == (
            other._holidays, other._working, other.years,
        )  # fmt: skip

    def __hash__(self) -> int:
        return hash((self._holidays, self._working, self.years))
