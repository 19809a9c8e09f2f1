"""The SLA policy (``sla.yml``): how long a unit has to respond, feed back and resolve.

Pure: dispatch reads it to stamp deadlines on every dispatch, supervision to run the clocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from contracts.events import Deadlines

_DURATION = TypeAdapter(timedelta)


class PolicyError(ValueError):
    """sla.yml is wrong; the message names the field."""


def parse_duration(value: object, where: str) -> timedelta:
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


@dataclass(frozen=True)
class Limits:
    respond: timedelta
    feedback: timedelta
    resolve: timedelta


@dataclass(frozen=True)
class SlaPolicy:
    default: Limits
    warn_at: float

    @classmethod
    def from_config(cls, document: Mapping[str, Any]) -> SlaPolicy:
        default = document.get("default")
        if not isinstance(default, Mapping):
            raise PolicyError("sla.yml: default: missing (respond, feedback, resolve)")
        limits = Limits(
            **{
                kind: parse_duration(default.get(kind), f"sla.yml: default.{kind}")
                for kind in ("respond", "feedback", "resolve")
            }
        )
        warn_at = document.get("warn_at", 0.8)
        if not isinstance(warn_at, int | float) or not 0 < warn_at < 1:
            raise PolicyError(f"sla.yml: warn_at: {warn_at!r} must be a fraction between 0 and 1")
        return cls(limits, float(warn_at))

    def deadlines(self, dispatched_at: datetime, resolve: timedelta | None = None) -> Deadlines:
        """Respond and feedback on the wall clock from dispatch; resolve by the category's
        limit when it has one."""
        return Deadlines(
            respond_by=dispatched_at + self.default.respond,
            feedback_by=dispatched_at + self.default.feedback,
            resolve_by=dispatched_at + (resolve or self.default.resolve),
        )
