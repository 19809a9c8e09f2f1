"""How a list of cases is asked for: its filters (the console's ``GET /api/v1/cases``, passed
on to ``dispatch.list_cases``) and the keyset cursor where its next page begins.

A cursor is opaque to whoever holds it: the sort key of the last row a page showed (a time and
an id), so that the next page starts right after it, at the cost of the first.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from contracts.common import Channel, Contract, RiskGrade
from contracts.event_data import Level

BEIJING: Final = ZoneInfo("Asia/Shanghai")
"""Dates in a list's filters are days in Beijing time (the centre's)."""
MAX_QUERY_CHARS: Final = 200
MAX_CASE_IDS: Final = 1000
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day(value: Any) -> Any:
    """``YYYY-MM-DD`` only: pydantic alone would also take a timestamp or a full time."""
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise ValueError("a date as YYYY-MM-DD")
    return value


def _yes_no(value: Any) -> Any:
    """``true`` or ``false`` only, as a query string says it."""
    if isinstance(value, str):
        if value.lower() not in ("true", "false", "1", "0"):
            raise ValueError("true or false")
        return value.lower() in ("true", "1")
    return value


Day = Annotated[date, BeforeValidator(_day)]
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
"""No control characters: PostgreSQL refuses a NUL in text."""
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=PRINTABLE)]
Words = Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=PRINTABLE)]


class CaseListFilters(Contract):
    """What a case list may be narrowed to; every filter given must hold (AND).

    ``q``: words of the content or the address, every one of them (Chinese needs no spaces);
    ``from``/``to``: received on these Beijing days, both included; ``overdue``: open and past
    a deadline by dispatch's clock; ``unit``: held by this unit or one in its subtree;
    ``received_by``: registered at the desk by this user (首问负责: 我登记的); ``case_ids``:
    only these cases (what a search by phone number resolves to)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    status: Code | None = None
    channel: Channel | None = None
    risk: RiskGrade | None = None
    category: Code | None = None
    level: Level | None = None
    assignee_code: Code | None = None
    q: Words | None = None
    received_from: Day | None = Field(default=None, alias="from")
    received_to: Day | None = Field(default=None, alias="to")
    overdue: Annotated[bool, BeforeValidator(_yes_no)] | None = None
    unit: Code | None = None
    received_by: Code | None = None
    case_ids: Annotated[list[Code], Field(max_length=MAX_CASE_IDS)] | None = None

    @field_validator("received_to")
    @classmethod
    def _not_before_from(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("received_from")
        if value is not None and start is not None and value < start:
            raise ValueError("comes before from")
        return value

    def received_between(self) -> tuple[datetime | None, datetime | None]:
        """The UTC instants the dates stand for: from the first day's Beijing midnight
        (included) to the midnight after the last day (excluded)."""
        start = self.received_from
        end = self.received_to + timedelta(days=1) if self.received_to else None
        return _midnight(start), _midnight(end)


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), BEIJING).astimezone(UTC) if day else None


# --- keyset cursors ---------------------------------------------------------------------------


class BadCursor(ValueError):
    """Not a cursor this platform gave out."""


def encode_cursor(at: datetime, key: str) -> str:
    """Where the next page starts: after the row sorted at ``(at, key)``."""
    raw = json.dumps([at.astimezone(UTC).isoformat(), key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, key = json.loads(raw)
        when = datetime.fromisoformat(at)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadCursor("not a cursor of this list") from None
    if not isinstance(key, str) or when.tzinfo is None:
        raise BadCursor("not a cursor of this list")
    return when.astimezone(UTC), key
