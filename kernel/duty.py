"""The duty roster (值班表), deputies (AB岗) and leave (请假): who is told a unit's alerts now.

``duty.yml`` names the people who stand duty or stand in, each role's deputy (B岗) and the units
that work around the clock (24/7) with who is on duty when: a weekly pattern and dated shifts
(a dated shift replaces the pattern while it lasts). A 24/7 unit whose roster leaves a gap, or
whose shifts overlap, is refused at start, naming the unit and the gap.

A role is named as notify names its recipients: ``department:D-HBJ`` (a department's duty
phone), ``person:P-01`` (one of the grid's people, or a person of this file).

Pure: the file's text in, decisions out; leave comes from the caller.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kernel.calendar import SHANGHAI
from kernel.config import ConfigError, Fault, load_model

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: Final[tuple[Weekday, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK: Final = 7 * 24 * 60
"""Minutes of a week: a weekly pattern is a set of stretches of these."""


class DutyError(ConfigError):
    """duty.yml is wrong; the message names the file, the line and the field."""


@dataclass(frozen=True)
class Person:
    """Someone who stands duty or stands in for a role (B岗)."""

    id: str
    name: str
    phone: str

    @property
    def key(self) -> str:
        """As notify names a recipient."""
        return f"person:{self.id}"


@dataclass(frozen=True)
class Leave:
    """请假: ``person`` (a role's key) is away from ``starts`` until ``ends`` (excluded)."""

    leave_id: str
    person: str
    starts: datetime
    ends: datetime

    def covers(self, moment: datetime) -> bool:
        return self.starts <= moment < self.ends


def on_leave(leaves: Iterable[Leave], key: str, moment: datetime) -> bool:
    return any(leave.person == key and leave.covers(moment) for leave in leaves)


@dataclass(frozen=True)
class WeeklyShift:
    """Minutes ``start`` to ``end`` of the week (Monday 00:00 is 0); ``end`` may pass the week's
    end, into the next Monday."""

    start: int
    end: int
    person: str

    def covers(self, minute: int) -> bool:
        return self.start <= minute < self.end or self.start <= minute + WEEK < self.end


@dataclass(frozen=True, order=True)
class DatedShift:
    starts: datetime
    ends: datetime
    person: str

    def covers(self, moment: datetime) -> bool:
        return self.starts <= moment < self.ends


@dataclass(frozen=True)
class UnitRoster:
    """One 24/7 unit's 值班表."""

    weekly: tuple[WeeklyShift, ...] = ()
    dated: tuple[DatedShift, ...] = ()

    def on_duty(self, moment: datetime) -> str | None:
        for shift in self.dated:
            if shift.covers(moment):
                return shift.person
        minute = week_minute(moment)
        return next((s.person for s in self.weekly if s.covers(minute)), None)


def week_minute(moment: datetime) -> int:
    local = moment.astimezone(SHANGHAI)
    return local.weekday() * 24 * 60 + local.hour * 60 + local.minute


@dataclass(frozen=True)
class DutyRoster:
    """The whole of ``duty.yml``, read."""

    people: Mapping[str, Person] = field(default_factory=dict)
    deputies: Mapping[str, str] = field(default_factory=dict)
    """A role's key -> its deputy's person id."""
    units: Mapping[str, UnitRoster] = field(default_factory=dict)

    @classmethod
    def from_text(cls, text: str, name: str = "duty.yml") -> DutyRoster:
        return load_model(text, name, DutyFile, DutyError).roster()

    def around_the_clock(self, unit: str) -> bool:
        return unit in self.units

    def on_duty(self, unit: str, moment: datetime) -> Person | None:
        """值班: who is on duty for ``unit`` at ``moment``; None for a unit with no roster."""
        roster = self.units.get(unit)
        person = roster.on_duty(moment) if roster else None
        return self.people[person] if person else None

    def deputy(self, key: str) -> Person | None:
        found = self.deputies.get(key)
        return self.people[found] if found else None

    def off_duty(self, key: str, moment: datetime) -> bool:
        """A person who stands shifts is off duty between them; anyone else never is."""
        stands = any(
            f"person:{person}" == key
            for roster in self.units.values()
            for person in (*(s.person for s in roster.weekly), *(s.person for s in roster.dated))
        )
        return stands and not self.is_on_duty(key, moment)

    def is_on_duty(self, key: str, moment: datetime) -> bool:
        """Whether ``key`` is on duty for some 24/7 unit now (quiet hours do not hold them)."""
        return any(
            (person := self.on_duty(unit, moment)) is not None and person.key == key
            for unit in self.units
        )

    def stand_in(
        self, key: str, unit: str | None, moment: datetime, leaves: Iterable[Leave]
    ) -> Person | None:
        """Who gets the alert meant for role ``key`` of ``unit`` instead of it (None: the role
        itself). A 24/7 unit's alerts go to whoever is on duty now; a role whose holder is on
        leave or off duty goes to its deputy (B岗), unless the deputy is away too."""
        leaves = tuple(leaves)
        if unit is not None and unit in self.units:
            person = self.on_duty(unit, moment)
            if person is not None:
                return self._deputy_of(person.key, moment, leaves) or person
        return self._deputy_of(key, moment, leaves)

    def _deputy_of(self, key: str, moment: datetime, leaves: tuple[Leave, ...]) -> Person | None:
        """The deputy of an absent ``key``, when the deputy is there; else None."""
        if not (on_leave(leaves, key, moment) or self.off_duty(key, moment)):
            return None
        deputy = self.deputy(key)
        if deputy is None or on_leave(leaves, deputy.key, moment):
            return None
        return deputy


# --- duty.yml as models ------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _clock(text: str) -> int:
    try:
        moment = time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time like 08:00") from None
    return moment.hour * 60 + moment.minute


class PersonEntry(_Strict):
    name: str = Field(min_length=1)
    phone: str = Field(pattern=r"^\+?\d{5,20}$")

    @field_validator("phone", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class WeeklyEntry(_Strict):
    """``{days: [mon, tue], from: "08:00", to: "20:00", person: P-01}``: ``to`` at or before
    ``from`` runs into the next day."""

    days: list[Weekday] = Field(min_length=1)
    from_: str = Field(alias="from")
    to: str
    person: str

    @field_validator("from_", "to")
    @classmethod
    def _time(cls, value: str) -> str:
        _clock(value)
        return value

    def shifts(self) -> list[WeeklyShift]:
        start, end = _clock(self.from_), _clock(self.to)
        length = end - start if end > start else end + 24 * 60 - start
        return [
            WeeklyShift(begin, begin + length, self.person)
            for begin in (WEEKDAYS.index(day) * 24 * 60 + start for day in self.days)
        ]


def _local(value: Any) -> datetime:
    """``2027-01-01 08:00`` on Beijing time (or with its own offset)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(UTC)


class DatedEntry(_Strict):
    from_: datetime = Field(alias="from")
    to: datetime
    person: str

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _moment(cls, value: Any) -> datetime:
        try:
            return _local(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date and time like 2027-01-01 08:00") from None

    @model_validator(mode="after")
    def _ordered(self) -> DatedEntry:
        if self.to <= self.from_:
            raise ValueError("the shift ends before it starts")
        return self


class UnitEntry(_Strict):
    weekly: list[WeeklyEntry] = Field(default_factory=list)
    shifts: list[DatedEntry] = Field(default_factory=list)


class DutyFile(_Strict):
    """``duty.yml``."""

    people: dict[str, PersonEntry] = Field(default_factory=dict)
    deputies: dict[str, str] = Field(default_factory=dict)
    around_the_clock: dict[str, UnitEntry] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _text_keys(cls, data: Any) -> Any:
        # a numeric code is read by YAML as a number; codes are text everywhere else
        if not isinstance(data, Mapping):
            return data
        return {
            key: {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else value
            for key, value in data.items()
            if value is not None
        }

    @model_validator(mode="after")
    def _consistent(self) -> DutyFile:
        for role, deputy in self.deputies.items():
            if deputy not in self.people:
                raise Fault(("deputies", role), f"{deputy!r} is not one of the people")
            if role == f"person:{deputy}":
                raise Fault(("deputies", role), "a person cannot be their own deputy")
        for unit, entry in self.around_the_clock.items():
            _check_unit(unit, entry, self.people)
        return self

    def roster(self) -> DutyRoster:
        people = {key: Person(key, p.name, p.phone) for key, p in self.people.items()}
        units = {
            unit: UnitRoster(
                tuple(s for w in entry.weekly for s in w.shifts()),
                tuple(sorted(DatedShift(d.from_, d.to, d.person) for d in entry.shifts)),
            )
            for unit, entry in self.around_the_clock.items()
        }
        return DutyRoster(people, dict(self.deputies), units)


def _check_unit(unit: str, entry: UnitEntry, people: Mapping[str, PersonEntry]) -> None:
    where = ("around_the_clock", unit)
    named = [("weekly", i, w.person) for i, w in enumerate(entry.weekly)]
    named += [("shifts", i, d.person) for i, d in enumerate(entry.shifts)]
    for kind, index, person in named:
        if person not in people:
            raise Fault((*where, kind, index, "person"), f"{person!r} is not one of the people")
    if not entry.weekly and not entry.shifts:
        raise Fault(where, f"{unit} works around the clock but nobody is ever on duty")
    if entry.weekly:
        _check_week(unit, entry.weekly)
    dated = sorted(enumerate(entry.shifts), key=lambda item: item[1].from_)
    for (_, before), (index, after) in itertools.pairwise(dated):
        if after.from_ < before.to:
            other = f"the one from {_shown(before.from_)} to {_shown(before.to)}"
            raise Fault((*where, "shifts", index), f"{unit}: this shift overlaps {other}")
        if not entry.weekly and after.from_ > before.to:
            gap = f"from {_shown(before.to)} to {_shown(after.from_)}"
            raise Fault((*where, "shifts", index), f"{unit} {NOBODY} {gap}")


def _check_week(unit: str, weekly: list[WeeklyEntry]) -> None:
    """Every minute of the week covered once: a gap or an overlap is refused, named."""
    shifts = [(index, s) for index, w in enumerate(weekly) for s in w.shifts()]
    cover: list[int] = [0] * WEEK
    first: list[int] = [-1] * WEEK
    for index, shift in shifts:
        for minute in range(shift.start, shift.end):
            slot = minute % WEEK
            if cover[slot]:
                clash = f"at {_week_time(slot)} (this shift overlaps shift {first[slot]})"
                raise Fault(
                    ("around_the_clock", unit, "weekly", index),
                    f"{unit}: two people are on duty {clash}",
                )
            cover[slot], first[slot] = 1, index
    if all(cover):
        return
    # the first gap as it reads on the week's wheel: from where a shift ends to the next start
    start = next((m for m in range(WEEK) if not cover[m] and cover[m - 1]), 0)
    end = start
    while not cover[end % WEEK] and end < start + WEEK:
        end += 1
    gap = f"from {_week_time(start)} to {_week_time(end % WEEK)}"
    raise Fault(("around_the_clock", unit, "weekly"), f"{unit} {NOBODY} {gap}")


NOBODY: Final = "works around the clock but nobody is on duty"


def _week_time(minute: int) -> str:
    day, rest = divmod(minute, 24 * 60)
    return f"{WEEKDAYS[day]} {rest // 60:02d}:{rest % 60:02d}"


def _shown(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


EMPTY: Final = DutyRoster()
"""No roster: every role is told itself."""
