"""The SLA policy (``sla.yml``): how long a unit has to respond, feed back and resolve.

Pure: dispatch reads it to stamp deadlines on every dispatch, supervision to run the clocks.

Limits are ISO 8601 durations. Hour limits (PT2H, PT24H, no day part) run on the wall clock;
limits with a day part (P5D, P1DT4H) count their days as working days on the Chinese calendar
(see ``calendar.py``) and any remaining hours on the wall clock. PT24H and P1D therefore differ:
the first is 24 hours, the second the same time on the next working day.

Overrides refine the default per channel, category (a code, or a group for all its codes) and
risk grade. For each limit the first override that matches and sets it wins; otherwise resolve
falls back to the category's own limit from the catalogue, then to the default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, get_args

import yaml
from pydantic import AwareDatetime, TypeAdapter

from contracts.common import Channel, RiskGrade
from contracts.events import ClockKind, Deadlines, Level, OrderGrade
from kernel.calendar import CALENDAR_MODES, CalendarMode, WorkingCalendar
from kernel.config import Fault as _Fault
from kernel.config import PathStep, line_of, load
from kernel.config import either as _either
from kernel.config import refuse_unknown as _refuse_unknown
from kernel.durations import PolicyError, WorkingDuration, read_limit
from kernel.holidays import HolidayArrangements
from kernel.levels import LEVELS, EscalationSteps

_AWARE = TypeAdapter(AwareDatetime)

KINDS: Final[tuple[ClockKind, ...]] = ("respond", "feedback", "resolve")
CHANNELS: Final[tuple[Channel, ...]] = get_args(Channel)
RISKS: Final[tuple[RiskGrade, ...]] = get_args(RiskGrade)
DEFAULT_WARN_AT: Final = 0.8

_TOP_FIELDS: Final = (
    "default", "warn_at", "calendar", "overrides", "pause_on_extension", "escalation", "orders",
)  # fmt: skip
_ESCALATION_FIELDS: Final = ("clocks", "max_levels", "ladder", "via_community")
ORDER_GRADES: Final[tuple[OrderGrade, ...]] = get_args(OrderGrade)
_WHEN_FIELDS: Final = ("channel", "category", "risk")
_OVERRIDE_FIELDS: Final = ("when", *KINDS)

# a category code (dispute.land) or a group (dispute), as in categories.yml
_CATEGORY = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*")

CATALOGUE_LIMIT: Final = WorkingDuration(days=1)
"""Stands for a category's own resolve limit where only its kind matters: every catalogue limit
is written in days, so it counts working days."""


@dataclass(frozen=True)
class Limits:
    respond: timedelta
    feedback: timedelta
    resolve: timedelta


@dataclass(frozen=True)
class When:
    """An override's condition: every field given must match (and), absent fields match all."""

    channel: Channel | None = None
    category: str | None = None
    risk: RiskGrade | None = None

    def matches(
        self, channel: str | None = None, category: str | None = None, risk: str | None = None
    ) -> bool:
        if self.channel is not None and channel != self.channel:
            return False
        if self.risk is not None and risk != self.risk:
            return False
        if self.category is not None:
            # a group covers its codes: "dispute" matches "dispute.land", not "disputes.x"
            if category is None:
                return False
            if category != self.category and not category.startswith(self.category + "."):
                return False
        return True


@dataclass(frozen=True)
class Override:
    when: When
    respond: timedelta | None = None
    feedback: timedelta | None = None
    resolve: timedelta | None = None


@dataclass(frozen=True)
class WarnTimes:
    """When each clock warns: ``warn_at`` of the way from the start to its deadline."""

    respond_at: datetime
    feedback_at: datetime
    resolve_at: datetime


@dataclass(frozen=True)
class EscalationLadder:
    """格呼街应、街呼区应: how long past a limit a case waits before the level above takes it.

    ``after`` names the levels that climb (a level absent from it never escalates by itself);
    ``max_levels`` caps the automatic climbs of one case, so it cannot run to the district on
    the clock alone.
    """

    after: Mapping[Level, timedelta] = field(default_factory=dict)
    clocks: frozenset[ClockKind] = frozenset(KINDS)
    max_levels: int = 2
    steps: EscalationSteps = field(default_factory=EscalationSteps)
    """The ladder itself: manual escalation climbs it too."""

    def above(self, level: str) -> Level | None:
        return self.steps.above(level)

    def wait_after_due(self, level: Level, clock: str, climbs_so_far: int) -> timedelta | None:
        """How long after the limit this clock escalates, or None if it does not."""
        if clock not in self.clocks or climbs_so_far >= self.max_levels:
            return None
        if self.above(level) is None:
            return None
        return self.after.get(level)


DEFAULT_ORDER_LIMITS: Final[Mapping[OrderGrade, timedelta]] = {
    "normal": timedelta(hours=24),
    "yellow": timedelta(hours=12),
    "red": timedelta(hours=4),
}


@dataclass(frozen=True)
class SlaPolicy:
    default: Limits
    warn_at: float
    overrides: tuple[Override, ...] = ()
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    pause_on_extension: bool = True
    """延期: while an extension is pending the resolve clock stands still."""
    escalation: EscalationLadder = field(default_factory=EscalationLadder)
    orders: Mapping[OrderGrade, timedelta] = field(default_factory=lambda: DEFAULT_ORDER_LIMITS)
    """督办: how long a unit has to answer an order of each grade, when the order gives no time."""

    # --- loading ---

    @classmethod
    def from_config(cls, document: Mapping[str, Any]) -> SlaPolicy:
        """From an already parsed document: errors name the field, without a line."""
        try:
            return cls._build(document)
        except _Fault as fault:
            raise PolicyError(f"sla.yml: {fault.describe()}") from None

    @classmethod
    def from_text(
        cls, text: str, name: str = "sla.yml", holidays: HolidayArrangements | None = None
    ) -> SlaPolicy:
        """From the YAML text: errors name the line and the field, so a refused start says
        where to look. ``holidays`` are the arrangements of holidays.yml, for the calendar."""
        policy = load(text, name, cls._build, PolicyError)
        if holidays is None:
            return policy
        return replace(policy, calendar=WorkingCalendar(policy.calendar.mode, holidays))

    @classmethod
    def _build(cls, document: object) -> SlaPolicy:
        if not isinstance(document, Mapping):
            raise _Fault((), "must be a mapping with default (respond, feedback, resolve)")
        _refuse_unknown(document, (), _TOP_FIELDS)
        default = document.get("default")
        if not isinstance(default, Mapping):
            got = "" if default is None else f", not {default!r}"
            raise _Fault(("default",), f"missing (respond, feedback, resolve){got}")
        _refuse_unknown(default, ("default",), KINDS)
        limits = Limits(*(_limit(default.get(kind), ("default", kind)) for kind in KINDS))
        warn_at = document.get("warn_at", DEFAULT_WARN_AT)
        # bool is an int: `warn_at: yes` must not read as 1
        if isinstance(warn_at, bool) or not isinstance(warn_at, int | float) or not 0 < warn_at < 1:
            raise _Fault(("warn_at",), f"{warn_at!r} must be a fraction between 0 and 1")
        mode = document.get("calendar", "chinese")
        if mode not in CALENDAR_MODES:
            raise _Fault(("calendar",), f"{mode!r} is not {_either(CALENDAR_MODES)}")
        overrides = _overrides(document.get("overrides"))
        calendar_mode: CalendarMode = mode
        pause = document.get("pause_on_extension", True)
        if not isinstance(pause, bool):
            raise _Fault(("pause_on_extension",), f"{pause!r} must be yes or no")
        return cls(
            limits, float(warn_at), overrides, WorkingCalendar(calendar_mode), pause,
            _escalation(document.get("escalation")), _order_limits(document.get("orders")),
        )  # fmt: skip

    # --- using ---

    def limits_for(
        self,
        resolve: timedelta | None = None,
        *,
        channel: str | None = None,
        category: str | None = None,
        risk: str | None = None,
    ) -> Limits:
        """The limits a case gets: per limit the first matching override, else (resolve only)
        the category's own limit, else the default.

        The category's limit comes from the catalogue as a plain ``timedelta`` (dispatch parsed
        "P15D" with ``parse_duration``), so its whole days are taken as working days: every
        catalogue limit is written in days.
        """
        chosen: dict[str, timedelta] = {}
        for override in self.overrides:
            if override.when.matches(channel, category, risk):
                for kind in KINDS:
                    value = getattr(override, kind)
                    if value is not None:
                        chosen.setdefault(kind, value)
        if "resolve" not in chosen and resolve is not None:
            own = resolve
            if resolve.days and not isinstance(resolve, WorkingDuration):
                own = WorkingDuration.of(resolve)
            chosen["resolve"] = own
        return Limits(*(chosen.get(kind, getattr(self.default, kind)) for kind in KINDS))

    def due(self, start: datetime, limit: timedelta) -> datetime:
        """``start`` plus ``limit``: working days first, then clock time; in ``start``'s zone."""
        start = _AWARE.validate_python(start)
        if isinstance(limit, WorkingDuration) and limit.days:
            moment = self.calendar.add_working_days(start, limit.days) + limit.clock
        else:
            # elapsed time, computed in UTC so that a zone with daylight saving cannot shift it
            moment = start.astimezone(UTC) + limit
        return moment.astimezone(start.tzinfo)

    def uncertain(self, start: datetime, due: datetime, limit: timedelta) -> bool:
        """Whether a clock from ``start`` to ``due`` counted working days in a year the calendar
        does not know (counted Monday to Friday): its deadline is a guess, to be flagged."""
        counts_days = isinstance(limit, WorkingDuration) and limit.days > 0
        return counts_days and not self.calendar.knows_span(start, due)

    def deadlines(
        self,
        start: datetime,
        resolve: timedelta | None = None,
        *,
        channel: str | None = None,
        category: str | None = None,
        risk: str | None = None,
    ) -> Deadlines:
        """The three deadlines from ``start`` (the dispatch), for a case of this channel,
        category and risk; ``resolve`` is the category's own limit when it has one."""
        limits = self.limits_for(resolve, channel=channel, category=category, risk=risk)
        return Deadlines(
            respond_by=self.due(start, limits.respond),
            feedback_by=self.due(start, limits.feedback),
            resolve_by=self.due(start, limits.resolve),
        )

    def warn_times(self, start: datetime, deadlines: Deadlines) -> WarnTimes:
        """Each clock warns when ``warn_at`` of its span (wall clock, start to due) has run."""

        def warn(due: datetime) -> datetime:
            return start + (due - start) * self.warn_at

        return WarnTimes(
            respond_at=warn(deadlines.respond_by),
            feedback_at=warn(deadlines.feedback_by),
            resolve_at=warn(deadlines.resolve_by),
        )


# --- validation helpers ----------------------------------------------------------------------


def _limit(value: object, path: tuple[PathStep, ...]) -> timedelta:
    try:
        return read_limit(value)
    except _Fault as fault:
        raise _Fault(path, fault.detail) from None


def _overrides(entries: object) -> tuple[Override, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise _Fault(("overrides",), "must be a list of {when: ..., respond/feedback/resolve}")
    overrides = []
    for index, entry in enumerate(entries):
        path: tuple[PathStep, ...] = ("overrides", index)
        if not isinstance(entry, Mapping):
            raise _Fault(path, f"{entry!r} is not a mapping with when and a limit")
        _refuse_unknown(entry, path, _OVERRIDE_FIELDS)
        when = _when(entry.get("when"), (*path, "when"))
        limits = {
            kind: _limit(entry[kind], (*path, kind))
            for kind in KINDS
            if entry.get(kind) is not None
        }
        if not limits:
            raise _Fault(path, f"sets no limit ({_either(KINDS)})")
        overrides.append(Override(when, **limits))
    return tuple(overrides)


def _escalation(value: object) -> EscalationLadder:
    if value is None:
        return EscalationLadder()
    path: tuple[PathStep, ...] = ("escalation",)
    if not isinstance(value, Mapping):
        raise _Fault(path, "must be a mapping with ladder, clocks, max_levels and via_community")
    _refuse_unknown(value, path, _ESCALATION_FIELDS)
    ladder = value.get("ladder") or {}
    if not isinstance(ladder, Mapping):
        raise _Fault((*path, "ladder"), "must map a level to how long past the limit it climbs")
    after: dict[Level, timedelta] = {}
    for level, wait in ladder.items():
        if level not in LEVELS[:-1]:
            raise _Fault((*path, "ladder", str(level)), f"is not {_either(LEVELS[:-1])}")
        after[level] = _limit(wait, (*path, "ladder", level))
    clocks = value.get("clocks", list(KINDS))
    if not isinstance(clocks, list) or not clocks:
        raise _Fault((*path, "clocks"), f"must be a list of {_either(KINDS)}")
    for index, clock in enumerate(clocks):
        if clock not in KINDS:
            raise _Fault((*path, "clocks", index), f"{clock!r} is not {_either(KINDS)}")
    levels = value.get("max_levels", 2)
    if isinstance(levels, bool) or not isinstance(levels, int) or not 0 <= levels <= 4:
        raise _Fault((*path, "max_levels"), f"{levels!r} must be a whole number from 0 to 4")
    via_community = value.get("via_community", False)
    if not isinstance(via_community, bool):
        raise _Fault((*path, "via_community"), f"{via_community!r} must be yes or no")
    return EscalationLadder(after, frozenset(clocks), levels, EscalationSteps(via_community))


def _order_limits(value: object) -> Mapping[OrderGrade, timedelta]:
    if value is None:
        return DEFAULT_ORDER_LIMITS
    if not isinstance(value, Mapping):
        raise _Fault(("orders",), f"must map {_either(ORDER_GRADES)} to a time to answer")
    _refuse_unknown(value, ("orders",), ORDER_GRADES)
    given = {grade: _limit(value[grade], ("orders", grade)) for grade in value}
    return {**DEFAULT_ORDER_LIMITS, **given}


def _when(value: object, path: tuple[PathStep, ...]) -> When:
    if not isinstance(value, Mapping) or not value:
        # an override for every case would silently replace the default: say so in `default`
        raise _Fault(path, f"missing: give at least one of {_either(_WHEN_FIELDS)}")
    _refuse_unknown(value, path, _WHEN_FIELDS)
    channel = value.get("channel")
    if channel is not None and channel not in CHANNELS:
        raise _Fault((*path, "channel"), f"{channel!r} is not {_either(CHANNELS)}")
    risk = value.get("risk")
    if risk is not None and risk not in RISKS:
        raise _Fault((*path, "risk"), f"{risk!r} is not {_either(RISKS)}")
    category = value.get("category")
    if category is not None and (
        not isinstance(category, str) or not _CATEGORY.fullmatch(category)
    ):
        raise _Fault(
            (*path, "category"), f"{category!r} is not a category code or group like dispute.land"
        )
    return When(channel=channel, category=category, risk=risk)


# --- line numbers ------------------------------------------------------------------------------


def locate(document_text: str, path: Sequence[PathStep]) -> int:
    """The 1-based line of the field at ``path`` in a YAML text; when the field is missing, the
    line of its nearest parent that exists (where it should have been given)."""
    root = yaml.compose(document_text, Loader=yaml.SafeLoader)
    return line_of(root, path)
