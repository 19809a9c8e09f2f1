"""Durations as configuration files write them: ISO 8601 (PT2H, P5D).

``parse_duration`` reads any positive ISO 8601 duration as elapsed time. ``parse_limit`` reads an
SLA limit: without a day part it runs on the wall clock; with one its days are working days
(``WorkingDuration``), counted on the working calendar.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

from pydantic import TypeAdapter, ValidationError

from kernel.config import ConfigError, Fault

_DURATION = TypeAdapter(timedelta)

# Days, hours, minutes, seconds, whole numbers only. Weeks, months and years are refused: is P1W
# seven working days or five? Fractions of a working day have no meaning either.
_LIMIT = re.compile(
    r"P(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)

# Ten years of working days: more is a typo, and counting it would stall every dispatch.
MAX_DAYS: Final = 3650


class PolicyError(ConfigError, ValueError):
    """A duration or the SLA policy (sla.yml) is wrong; the message names the field (and, read
    from text, its line)."""


def parse_duration(value: object, where: str) -> timedelta:
    """Any positive ISO 8601 duration, as elapsed time; ``where`` names the field in errors."""
    not_iso = f"{where}: {value!r} is not an ISO 8601 duration like PT2H or P5D"
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, str) and value.lstrip("-").startswith("P"):
        try:
            duration = _DURATION.validate_python(value)
        except ValidationError:
            raise PolicyError(not_iso) from None
    else:
        # a bare number would be read as seconds: a typo that must not pass
        raise PolicyError(not_iso)
    if duration <= timedelta(0):
        raise PolicyError(f"{where}: must be positive")
    return duration


class WorkingDuration(timedelta):
    """A limit written with a day part (P5D): its whole days are working days, the rest clock time.

    A ``timedelta`` so that ``Limits`` keeps its type and callers doing arithmetic keep working;
    the subclass alone carries how the days count. It compares equal to the plain ``timedelta``
    of the same length (``timedelta`` equality is by value); ask ``isinstance`` to tell them apart.
    """

    __slots__ = ()

    @classmethod
    def of(cls, duration: timedelta) -> WorkingDuration:
        return cls(days=duration.days, seconds=duration.seconds, microseconds=duration.microseconds)

    @property
    def clock(self) -> timedelta:
        """What is left after the working days: counted on the wall clock."""
        return timedelta(seconds=self.seconds, microseconds=self.microseconds)

    def __repr__(self) -> str:
        return f"WorkingDuration(days={self.days}, seconds={self.seconds})"


def parse_limit(value: object, where: str) -> timedelta:
    """An SLA limit: a plain ``timedelta`` for clock limits, ``WorkingDuration`` with a day part.

    Messages match ``parse_duration``'s so that both read the same in a log.
    """
    try:
        return read_limit(value)
    except Fault as fault:
        raise PolicyError(f"{where}: {fault.detail}") from None


def read_limit(value: object) -> timedelta:
    """``parse_limit`` for builders: a fault raised as ``Fault`` at the root path."""
    not_iso = f"{value!r} is not an ISO 8601 duration like PT2H or P5D"
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, str):
        match = _LIMIT.fullmatch(value.removeprefix("-"))
        if match is None or not any(match.groups()):
            if _is_iso(value):
                not_iso += " (whole days, hours or minutes: no weeks, months, years or fractions)"
            raise Fault((), not_iso)
        parts = {unit: int(amount or 0) for unit, amount in match.groupdict().items()}
        if parts["days"] > MAX_DAYS:
            raise Fault((), f"{value!r} is longer than {MAX_DAYS} days")
        duration = timedelta(**parts)
        if value.startswith("-"):
            duration = -duration
        elif parts["days"]:
            duration = WorkingDuration.of(duration)
    else:
        # a bare number would be read as seconds: a typo that must not pass
        raise Fault((), not_iso)
    if duration <= timedelta(0):
        raise Fault((), "must be positive")
    return duration


def _is_iso(value: str) -> bool:
    try:
        _DURATION.validate_python(value)
    except ValidationError:
        return False
    return True
