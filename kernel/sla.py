"""The SLA policy (``sla.yml``): how long a unit has to respond, feed back and resolve.

Pure: dispatch reads it to stamp deadlines on every dispatch, supervision to run the clocks.

Limits are ISO 8601 durations. Hour limits (PT2H, PT24H, no day part) run on the wall clock;
limits with a day part (P5D, P1DT4H) count their days as working days on the Chinese calendar
(see ``calendar.py``) and any remaining hours on the wall clock. PT24H and P1D therefore differ:
the first is 24 hours, the second the same time on the next working day.

An hour limit may instead run in working hours (``runs_on: {respond: working_hours}``, in the
default or an override): only the assigned unit's working hours (``hours.yml``, see
``working_hours.py``) on working days count, so a case dispatched at 22:00 with two hours to
respond is due at 10:30 the next working morning. Red risk always runs on the wall clock.

Overrides refine the default per channel, category (a code, or a group for all its codes) and
risk grade. For each limit the first override that matches and sets it wins; otherwise resolve
falls back to the category's own limit from the catalogue, then to the default.

The file is validated as ``sla_file.SlaFile`` (each refusal naming the file, the line and the
field) and the policy built from the validated model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import yaml
from pydantic import AwareDatetime, TypeAdapter, ValidationError

from contracts.common import Channel, RiskGrade
from contracts.events import ClockKind, Deadlines, Level, OrderGrade
from kernel.calendar import WorkingCalendar
from kernel.config import PathStep, dotted_path, line_of, load_model
from kernel.durations import PolicyError, WorkingDuration
from kernel.holidays import HolidayArrangements
from kernel.levels import LEVELS, EscalationSteps
from kernel.petition import PetitionLimits
from kernel.sla_file import (
    DEFAULT_ORDER_LIMITS,
    KINDS,
    ORDER_GRADES,
    EscalationFile,
    OverrideFile,
    RunsOn,
    SlaFile,
)
from kernel.working_hours import HoursBook, WorkingHours, add_working_time

_AWARE = TypeAdapter(AwareDatetime)

CATALOGUE_LIMIT: Final = WorkingDuration(days=1)
"""Stands for a category's own resolve limit where only its kind matters: every catalogue limit
is written in days, so it counts working days."""


@dataclass(frozen=True)
class Limits:
    respond: timedelta
    feedback: timedelta
    resolve: timedelta
    working_hours: frozenset[ClockKind] = frozenset()
    """The limits whose hours run in the unit's working hours; the others on the wall clock."""


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
    runs_on: Mapping[ClockKind, RunsOn] = field(default_factory=dict)


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
    revisit: timedelta = field(default_factory=lambda: WorkingDuration.of(timedelta(days=3)))
    """回访 by phone (待回访): how long after the conclusion the citizen must be called."""
    hours: HoursBook = field(default_factory=HoursBook)
    """工作时间: each unit's working hours (hours.yml), for the limits that run in them."""
    petition: PetitionLimits = field(default_factory=PetitionLimits)
    """信访: 受理告知, 办理, 延期, 复查 and 复核 limits in calendar days."""

    # --- loading ---

    @classmethod
    def from_config(cls, document: Mapping[str, Any]) -> SlaPolicy:
        """From an already parsed document: errors name the field, without a line."""
        try:
            return cls.of(SlaFile.model_validate(document))
        except ValidationError as exc:
            problems = (
                f"sla.yml: {dotted_path(problem['loc']) + ': ' if problem['loc'] else ''}"
                f"{problem['msg']}"
                for problem in exc.errors(include_url=False)
            )
            raise PolicyError("\n".join(problems)) from None

    @classmethod
    def from_text(
        cls,
        text: str,
        name: str = "sla.yml",
        holidays: HolidayArrangements | None = None,
        hours: HoursBook | None = None,
    ) -> SlaPolicy:
        """From the YAML text: errors name the line and the field, so a refused start says
        where to look. ``holidays`` are the arrangements of holidays.yml, for the calendar;
        ``hours`` the units' working hours of hours.yml."""
        policy = cls.of(load_model(text, name, SlaFile, PolicyError))
        if hours is not None:
            policy = replace(policy, hours=hours)
        if holidays is None:
            return policy
        return replace(policy, calendar=WorkingCalendar(policy.calendar.mode, holidays))

    @classmethod
    def of(cls, file: SlaFile) -> SlaPolicy:
        """The policy a validated ``sla.yml`` describes."""
        return cls(
            default=Limits(
                file.default.respond,
                file.default.feedback,
                file.default.resolve,
                frozenset(k for k, v in file.default.runs_on.chosen().items() if v == _WORKING),
            ),
            warn_at=file.warn_at,
            overrides=tuple(_override(entry) for entry in file.overrides),
            calendar=WorkingCalendar(file.calendar),
            pause_on_extension=file.pause_on_extension,
            escalation=_ladder(file.escalation),
            orders={grade: getattr(file.orders, grade) for grade in ORDER_GRADES},
            revisit=file.revisit,
            petition=file.petition.limits(),
        )

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
        runs_on: dict[ClockKind, RunsOn] = {}
        for override in self.overrides:
            if override.when.matches(channel, category, risk):
                for kind in KINDS:
                    value = getattr(override, kind)
                    if value is not None:
                        chosen.setdefault(kind, value)
                for kind, runs in override.runs_on.items():
                    runs_on.setdefault(kind, runs)
        if "resolve" not in chosen and resolve is not None:
            own = resolve
            if resolve.days and not isinstance(resolve, WorkingDuration):
                own = WorkingDuration.of(resolve)
            chosen["resolve"] = own
        working = frozenset(
            kind
            for kind in KINDS
            if runs_on.get(kind, _WORKING if kind in self.default.working_hours else None)
            == _WORKING
        )
        if risk == "red":
            working = frozenset()  # a red matter never waits for the morning
        respond, feedback, resolve_limit = (
            chosen.get(kind, getattr(self.default, kind)) for kind in KINDS
        )
        return Limits(respond, feedback, resolve_limit, working)

    def due(self, start: datetime, limit: timedelta, hours: WorkingHours | None = None) -> datetime:
        """``start`` plus ``limit``: working days first, then clock time (counted in ``hours``
        when the limit runs in working hours); in ``start``'s zone."""
        start = _AWARE.validate_python(start)
        moment, clock = start.astimezone(UTC), limit
        if isinstance(limit, WorkingDuration):
            if limit.days:
                moment = self.calendar.add_working_days(start, limit.days)
            clock = limit.clock
        if hours is not None:
            moment = add_working_time(self.calendar, hours, moment, clock)
        else:
            # elapsed time, computed in UTC so that a zone with daylight saving cannot shift it
            moment = moment + clock
        return moment.astimezone(start.tzinfo)

    def due_for(
        self, start: datetime, limits: Limits, kind: ClockKind, unit: str | None = None
    ) -> datetime:
        """The deadline of the limit ``kind`` of ``limits``, in ``unit``'s working hours when
        that limit runs in them."""
        hours = self.hours.of(unit) if kind in limits.working_hours else None
        return self.due(start, getattr(limits, kind), hours)

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
        unit: str | None = None,
    ) -> Deadlines:
        """The three deadlines from ``start`` (the dispatch), for a case of this channel,
        category and risk; ``resolve`` is the category's own limit when it has one, ``unit``
        the assignee whose working hours count for the limits that run in them."""
        limits = self.limits_for(resolve, channel=channel, category=category, risk=risk)
        return Deadlines(
            respond_by=self.due_for(start, limits, "respond", unit),
            feedback_by=self.due_for(start, limits, "feedback", unit),
            resolve_by=self.due_for(start, limits, "resolve", unit),
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


_WORKING: Final[RunsOn] = "working_hours"


def _override(entry: OverrideFile) -> Override:
    when = When(entry.when.channel, entry.when.category, entry.when.risk)
    return Override(when, entry.respond, entry.feedback, entry.resolve, entry.runs_on.chosen())


def _ladder(escalation: EscalationFile) -> EscalationLadder:
    after: dict[Level, timedelta] = {}
    for level in LEVELS[:-1]:
        wait = getattr(escalation.ladder, level)
        if wait is not None:
            after[level] = wait
    return EscalationLadder(
        after,
        frozenset(escalation.clocks),
        escalation.max_levels,
        EscalationSteps(escalation.via_community),
    )


# --- line numbers ------------------------------------------------------------------------------


def locate(document_text: str, path: Sequence[PathStep]) -> int:
    """The 1-based line of the field at ``path`` in a YAML text; when the field is missing, the
    line of its nearest parent that exists (where it should have been given)."""
    root = yaml.compose(document_text, Loader=yaml.SafeLoader)
    return line_of(root, path)
