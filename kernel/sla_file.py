"""``sla.yml`` as a pydantic model: what the file may say, field by field.

Read with ``kernel.config.load_model``, so that a refusal names the file, the line and the field;
``SlaPolicy`` (``sla.py``) is built from the validated model. Each field words its own refusal (a
limit that is not ISO 8601, a channel that is not one of the four), and a field no model knows
is refused with the fields it expected: a misspelt field would otherwise be ignored and its
default applied. An empty section (``escalation:`` with nothing under it) reads as an absent one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Final, Literal, NoReturn, get_args

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, field_validator, model_validator
from pydantic_core import PydanticCustomError

from contracts.common import Channel, RiskGrade
from contracts.events import ClockKind, OrderGrade
from kernel.calendar import CALENDAR_MODES, CalendarMode
from kernel.config import Fault, either
from kernel.durations import read_limit
from kernel.petition import PetitionFile

KINDS: Final[tuple[ClockKind, ...]] = ("respond", "feedback", "resolve")
RunsOn = Literal["wall_clock", "working_hours"]
"""What a limit's hours count: every hour (wall_clock), or the unit's working hours (hours.yml)."""
RUNS_ON: Final[tuple[RunsOn, ...]] = get_args(RunsOn)
CHANNELS: Final[tuple[Channel, ...]] = get_args(Channel)
RISKS: Final[tuple[RiskGrade, ...]] = get_args(RiskGrade)
ORDER_GRADES: Final[tuple[OrderGrade, ...]] = get_args(OrderGrade)
DEFAULT_WARN_AT: Final = 0.8
DEFAULT_ORDER_LIMITS: Final[Mapping[OrderGrade, timedelta]] = {
    "normal": timedelta(hours=24),
    "yellow": timedelta(hours=12),
    "red": timedelta(hours=4),
}

_TOP_FIELDS: Final = (
    "default", "warn_at", "calendar", "overrides", "pause_on_extension", "escalation", "orders",
    "revisit", "petition",
)  # fmt: skip
DEFAULT_REVISIT: Final = "P3D"
"""回访 by phone: three working days from the conclusion."""

# a category code (dispute.land) or a group (dispute), as in categories.yml
_CATEGORY = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*")


def _refuse(kind: str, message: str) -> PydanticCustomError:
    # a custom error keeps the message as written: a ValueError would read "Value error, ..."
    return PydanticCustomError(f"sla_{kind}", message)


def _limit(value: object) -> timedelta:
    try:
        return read_limit(value)
    except Fault as fault:
        raise _refuse("limit", fault.detail) from None


def _one_of(choices: Sequence[object]) -> PlainValidator:
    def check(value: object) -> object:
        if isinstance(value, bool) or value not in choices:
            raise _refuse("choice", f"{value!r} is not {either([str(c) for c in choices])}")
        return value

    return PlainValidator(check)


def _unknown(message: str) -> PlainValidator:
    def refuse(value: object) -> NoReturn:
        raise _refuse("unknown_field", message)

    return PlainValidator(refuse)


def _expected(fields: Sequence[str]) -> PlainValidator:
    return _unknown(f"unknown field (expected {either(fields)})")


def _yes_or_no(value: object) -> bool:
    if not isinstance(value, bool):
        raise _refuse("yes_or_no", f"{value!r} must be yes or no")
    return value


def _fraction(value: object) -> float:
    # bool is an int: `warn_at: yes` must not read as 1
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise _refuse("fraction", f"{value!r} must be a fraction between 0 and 1")
    return float(value)


def _climbs(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 4:
        raise _refuse("max_levels", f"{value!r} must be a whole number from 0 to 4")
    return value


def _category(value: object) -> str:
    if not isinstance(value, str) or not _CATEGORY.fullmatch(value):
        raise _refuse("category", f"{value!r} is not a category code or group like dispute.land")
    return value


Limit = Annotated[timedelta, PlainValidator(_limit)]
"""An SLA limit: wall-clock hours (PT2H), or working days with a day part (P5D)."""
YesNo = Annotated[bool, PlainValidator(_yes_or_no)]


class _Section(BaseModel):
    """A mapping of the file. Unknown keys land in ``__pydantic_extra__``, whose type (set per
    section) refuses them by name."""

    model_config = ConfigDict(extra="allow", frozen=True)
    shape: ClassVar[str]
    """What the section holds, for the refusal of something else."""

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, data: Any) -> Any:
        if data is None:
            raise _refuse("missing", f"missing: give {cls.shape}")
        if not isinstance(data, Mapping):
            raise _refuse("not_a_mapping", f"{data!r} is not a mapping with {cls.shape}")
        return data


class RunsOnFile(_Section):
    """``runs_on``: per limit, whether its hours run on the wall clock or in working hours."""

    shape = "wall_clock or working_hours for respond, feedback or resolve"
    __pydantic_extra__: dict[str, Annotated[object, _expected(KINDS)]]
    respond: Annotated[RunsOn, _one_of(RUNS_ON)] | None = None
    feedback: Annotated[RunsOn, _one_of(RUNS_ON)] | None = None
    resolve: Annotated[RunsOn, _one_of(RUNS_ON)] | None = None

    def chosen(self) -> dict[ClockKind, RunsOn]:
        return {kind: value for kind in KINDS if (value := getattr(self, kind)) is not None}


class LimitsFile(_Section):
    """``default``: the three limits every case gets unless an override or its category says
    otherwise, and what their hours run on (the wall clock unless ``runs_on`` says)."""

    shape = "respond, feedback and resolve"
    __pydantic_extra__: dict[str, Annotated[object, _expected((*KINDS, "runs_on"))]]
    respond: Limit
    feedback: Limit
    resolve: Limit
    runs_on: RunsOnFile = Field(default_factory=RunsOnFile)


class WhenFile(_Section):
    """An override's condition: at least one of channel, category (code or group) and risk."""

    shape = "at least one of channel, category or risk"
    __pydantic_extra__: dict[str, Annotated[object, _expected(("channel", "category", "risk"))]]
    channel: Annotated[Channel, _one_of(CHANNELS)] | None = None
    category: Annotated[str, PlainValidator(_category)] | None = None
    risk: Annotated[RiskGrade, _one_of(RISKS)] | None = None

    @model_validator(mode="after")
    def _says_something(self) -> WhenFile:
        if self.channel is None and self.category is None and self.risk is None:
            # an override for every case would silently replace the default: say so in `default`
            raise _refuse("missing", f"missing: give {self.shape}")
        return self


class OverrideFile(_Section):
    """One entry of ``overrides``: a condition and the limits it sets (at least one)."""

    shape = "when and a limit"
    __pydantic_extra__: dict[str, Annotated[object, _expected(("when", *KINDS, "runs_on"))]]
    # absent, it is validated as empty: refused as "missing" at its place
    when: WhenFile = Field(default={}, validate_default=True)
    respond: Limit | None = None
    feedback: Limit | None = None
    resolve: Limit | None = None
    runs_on: RunsOnFile = Field(default_factory=RunsOnFile)

    @model_validator(mode="after")
    def _sets_a_limit(self) -> OverrideFile:
        limits = (self.respond, self.feedback, self.resolve)
        if all(limit is None for limit in limits) and not self.runs_on.chosen():
            raise _refuse("no_limit", f"sets no limit ({either(KINDS)}) and no runs_on")
        return self

    @field_validator("runs_on", mode="after")
    @classmethod
    def _red_on_the_wall(cls, value: RunsOnFile, info: Any) -> RunsOnFile:
        when = info.data.get("when")
        red = isinstance(when, WhenFile) and when.risk == "red"
        if red and "working_hours" in value.chosen().values():
            # a red matter (a threat to life, a mass incident) never waits for the morning
            raise _refuse("red_wall_clock", "red risk always runs on the wall clock")
        return value


class LadderFile(_Section):
    """``escalation.ladder``: per level, how long past the limit it waits before climbing."""

    shape = "how long past the limit each level climbs (micro_grid, grid, community, street)"
    __pydantic_extra__: dict[
        str, Annotated[object, _unknown("is not micro_grid, grid, community or street")]
    ]
    micro_grid: Limit | None = None
    grid: Limit | None = None
    community: Limit | None = None
    street: Limit | None = None


class EscalationFile(_Section):
    """``escalation``: 格呼街应、街呼区应, the ladder and which clocks climb it."""

    shape = "ladder, clocks, max_levels and via_community"
    __pydantic_extra__: dict[
        str, Annotated[object, _expected(("clocks", "max_levels", "ladder", "via_community"))]
    ]
    clocks: tuple[Annotated[ClockKind, _one_of(KINDS)], ...] = Field(default=KINDS, min_length=1)
    max_levels: Annotated[int, PlainValidator(_climbs)] = 2
    ladder: LadderFile = Field(default_factory=LadderFile)
    via_community: YesNo = False

    @field_validator("ladder", mode="before")
    @classmethod
    def _empty_ladder(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("clocks", mode="before")
    @classmethod
    def _a_list_of_clocks(cls, value: Any) -> Any:
        if not isinstance(value, list) or not value:
            raise _refuse("not_a_list", f"must be a list of {either(KINDS)}")
        return value


class OrdersFile(_Section):
    """``orders``: 督办, how long a unit has to answer an order of each grade."""

    shape = "a time to answer for normal, yellow or red"
    __pydantic_extra__: dict[str, Annotated[object, _expected(ORDER_GRADES)]]
    normal: Limit = DEFAULT_ORDER_LIMITS["normal"]
    yellow: Limit = DEFAULT_ORDER_LIMITS["yellow"]
    red: Limit = DEFAULT_ORDER_LIMITS["red"]


class SlaFile(_Section):
    """The whole of ``sla.yml``."""

    shape = "default (respond, feedback, resolve)"
    __pydantic_extra__: dict[str, Annotated[object, _expected(_TOP_FIELDS)]]
    default: LimitsFile
    warn_at: Annotated[float, PlainValidator(_fraction)] = DEFAULT_WARN_AT
    calendar: Annotated[CalendarMode, _one_of(CALENDAR_MODES)] = "chinese"
    overrides: tuple[OverrideFile, ...] = ()
    pause_on_extension: YesNo = True
    escalation: EscalationFile = Field(default_factory=EscalationFile)
    orders: OrdersFile = Field(default_factory=OrdersFile)
    revisit: Limit = Field(default_factory=lambda: read_limit(DEFAULT_REVISIT))
    """回访: how long a concluded case waits for an operator's call when no SMS can reach the
    citizen (the 待回访 list)."""
    petition: PetitionFile = Field(default_factory=PetitionFile)
    """信访: the petition line's limits in calendar days (``kernel.petition``)."""

    @field_validator("escalation", "orders", mode="before")
    @classmethod
    def _empty_section(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("overrides", mode="before")
    @classmethod
    def _a_list(cls, value: Any) -> Any:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise _refuse("not_a_list", "must be a list of {when: ..., respond/feedback/resolve}")
        return value
