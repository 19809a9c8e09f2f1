"""Clocks, alerts and subscriptions as plain values: no framework, no I/O.

A clock runs from a dispatch (or an order, or an escalation) to its limit. The scanner asks
``next_step`` what a clock due for attention must do now: warn once ``warn_at`` of it has run,
report it overdue once the limit has passed, and ask the level above to take the case once the
ladder's wait after the limit is over (格呼街应、街呼区应). Each of these happens once per clock and
limit; ``next_due_at`` is when the clock next needs looking at, or None when nothing is left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from contracts.events import AlertClock, AlertKind, ClockKind, Deadlines, Level
from kernel.sla import EscalationLadder

CLOCK_KINDS: tuple[ClockKind, ...] = ("respond", "feedback", "resolve")

ClockState = Literal["open", "paused", "stopped", "cancelled"]
"""open: running; paused: stands still (an extension pending); stopped: the unit met it (in
time or late); cancelled: the assignment ended before the unit met it (returned, escalated,
dispatched elsewhere, closed)."""


@dataclass(frozen=True)
class ClockPlan:
    kind: AlertClock
    started_at: datetime
    due_at: datetime
    warn_at: datetime
    calendar_uncertain: bool = False
    """Counted Monday to Friday in a year the working calendar does not know."""


def warn_point(start: datetime, due: datetime, warn_fraction: float) -> datetime:
    return start + (due - start) * warn_fraction


def plan_clocks(
    started_at: datetime, deadlines: Deadlines, warn_fraction: float
) -> list[ClockPlan]:
    """The three clocks a dispatch starts; each warns when ``warn_fraction`` of it has run."""
    due = {
        "respond": deadlines.respond_by,
        "feedback": deadlines.feedback_by,
        "resolve": deadlines.resolve_by,
    }
    return [
        ClockPlan(kind, started_at, due[kind], warn_point(started_at, due[kind], warn_fraction))
        for kind in CLOCK_KINDS
    ]


@dataclass(frozen=True)
class Clock:
    """What the scanner needs of a clock row."""

    kind: str
    level: Level
    warn_at: datetime
    due_at: datetime
    warned: bool = False
    overdue: bool = False
    escalation_asked: bool = False


@dataclass(frozen=True)
class Step:
    """What to do with a clock now, and when to look at it again."""

    alert: Literal["warning", "overdue"] | None
    escalate_to: Level | None
    next_due_at: datetime | None
    clock: Clock


def next_step(clock: Clock, now: datetime, ladder: EscalationLadder, climbs_so_far: int) -> Step:
    """The alert due now (at most one), whether to ask for escalation, and the next look.

    A clock found already past its limit (the scanner was down, or the limit was short) raises
    ``overdue`` alone: a warning after the fact tells nobody anything.
    """
    alert: Literal["warning", "overdue"] | None = None
    if not clock.overdue and now >= clock.due_at:
        alert = "overdue"
        clock = replace(clock, overdue=True, warned=True)
    elif not clock.warned and not clock.overdue and now >= clock.warn_at:
        alert = "warning"
        clock = replace(clock, warned=True)
    if not clock.overdue:
        return Step(alert, None, clock.due_at if clock.warned else clock.warn_at, clock)
    wait = ladder.wait_after_due(clock.level, clock.kind, climbs_so_far)
    if wait is None or clock.escalation_asked:
        return Step(alert, None, None, clock)
    climb_at = clock.due_at + wait
    if now < climb_at:
        return Step(alert, None, climb_at, clock)
    return Step(alert, ladder.above(clock.level), None, replace(clock, escalation_asked=True))


def stood_still(due_at: datetime, paused_at: datetime, resumed_at: datetime) -> datetime:
    """A limit moved on by the time its clock stood still."""
    return due_at + max(resumed_at - paused_at, timedelta(0))


# --- subscriptions ---------------------------------------------------------------------------

ScopeKind = Literal["all", "unit", "department", "risk"]


@dataclass(frozen=True)
class Scope:
    """Which cases a subscription follows: all of them, a unit's subtree (the case lies in the
    unit or below it), a department's (it holds the case), or a risk grade."""

    kind: ScopeKind
    value: str | None = None

    def covers(self, case: CaseScope) -> bool:
        if self.kind == "all":
            return True
        if self.kind == "unit":
            return self.value in case.territory.values() or self.value == case.assignee
        if self.kind == "department":
            return self.value == case.assignee
        return self.value == case.risk


@dataclass(frozen=True)
class CaseScope:
    """What a scope is tested against: where the case lies, who holds it, its risk."""

    territory: Mapping[str, str]
    assignee: str | None
    risk: str


@dataclass(frozen=True)
class Subscription:
    subscription_id: int
    subscriber: str
    kinds: frozenset[AlertKind]
    scope: Scope
    channels: frozenset[str]


def recipients_of(
    subscriptions: Iterable[Subscription], alert: AlertKind, case: CaseScope
) -> list[tuple[Subscription, str]]:
    """(subscription, channel) for every subscription this alert reaches, over the channels
    notify delivers (SMS, WeChat); AMQP subscribers read their own queue."""
    return [
        (subscription, channel)
        for subscription in subscriptions
        if alert in subscription.kinds and subscription.scope.covers(case)
        for channel in sorted(subscription.channels)
        if channel != "amqp"
    ]


def summary_of(alert: AlertKind, case_id: str, detail: str) -> str:
    """One line for a supervisor's phone: what happened to which case."""
    what = {
        "warning": "即将超时",
        "overdue": "已超时",
        "escalated": "已上报",
        "red_risk": "红色风险",
        "order": "督办",
    }[alert]
    return f"【{what}】{case_id} {detail}".strip()


# --- settling an assignment from the facts of its window -------------------------------------

FactKind = Literal[
    "accepted", "feedback", "concluded", "returned", "escalated", "finished", "closed",
    "reopened", "extension_asked", "extension", "return_approved", "return_refused",
    "appealed", "appeal_upheld", "appeal_rejected", "on_site",
]  # fmt: skip

STOPS: Mapping[str, tuple[str, ...]] = {
    "accepted": ("respond",),
    "feedback": ("respond", "feedback"),
    "concluded": ("respond", "feedback", "resolve"),
    # 退单: answering "not ours" in time is a response
    "returned": ("respond",),
}
"""Which limits each fact meets."""

ENDINGS: frozenset[str] = frozenset(
    {"returned", "escalated", "finished", "closed", "appeal_upheld", "on_site"}
)
"""Facts after which the unit holds the case no more."""

ON_SITE = "on_site"
"""就地化解: the grid's assignment made by the resolution itself, concluded and ended at once;
a later spot revisit (抽查回访) still falls to it."""


@dataclass(frozen=True)
class Fact:
    """Something the unit or the centre did to a case, at a time: what assignments are
    settled from. ``resolve_by`` is an approved extension's new limit (None: refused)."""

    what: str
    at: datetime
    satisfaction: str | None = None
    resolve_by: datetime | None = None


@dataclass(frozen=True)
class PlannedClock:
    kind: str
    started_at: datetime
    warn_at: datetime
    due_at: datetime


@dataclass(frozen=True)
class SettledClock:
    state: ClockState
    warn_at: datetime
    due_at: datetime
    stopped_at: datetime | None = None
    cancelled_at: datetime | None = None
    paused_at: datetime | None = None


@dataclass(frozen=True)
class Settled:
    """An assignment as its facts make it, whatever order they were handled in."""

    returned: bool
    concluded: bool
    reopened: bool
    satisfaction: str | None
    ended_at: datetime | None
    ended_by: str | None
    clocks: Mapping[str, SettledClock]


def settle(
    start: datetime,
    until: datetime | None,
    facts: Iterable[Fact],
    clocks: Sequence[PlannedClock],
    warn_fraction: float,
    pause_on_extension: bool,
) -> Settled:
    """The assignment dispatched at ``start`` (and held until ``until``, the next dispatch)
    from the facts of its window, each limit met at the earliest fact that meets it."""
    window = sorted((f for f in facts if _within(f, start, until)), key=lambda f: f.at)
    ending = next((f for f in window if f.what in ENDINGS), None)
    ended_at: datetime | None = ending.at if ending else until
    ended_by: str | None = ending.what if ending else "redispatched" if until else None
    excused = _excused(window)
    counted = [f for i, f in enumerate(window) if i not in excused]
    satisfactions = [f.satisfaction for f in counted if f.satisfaction is not None]
    return Settled(
        # 退单审核: a return the centre approved does not count against the unit
        returned=any(f.what == "returned" for f in window)
        and not any(f.what == "return_approved" for f in window),
        concluded=any(f.what in ("concluded", ON_SITE) for f in window),
        reopened=any(f.what == "reopened" for f in counted),
        satisfaction=satisfactions[-1] if satisfactions else None,
        ended_at=ended_at,
        ended_by=ended_by,
        clocks={
            clock.kind: _settle_clock(clock, window, ended_at, warn_fraction, pause_on_extension)
            for clock in clocks
        },
    )


def _excused(window: Sequence[Fact]) -> set[int]:
    """不满意甄别 upheld: the positions of the unsatisfied revisits the upheld appeals
    contested (each the latest before its decision), which count neither as the citizen's
    answer nor as rework."""
    excused: set[int] = set()
    for at, fact in enumerate(window):
        if fact.what != "appeal_upheld":
            continue
        contested = [
            i for i, f in enumerate(window[:at])
            if f.what == "reopened" and f.satisfaction == "unsatisfied" and i not in excused
        ]  # fmt: skip
        excused.update(contested[-1:])
    return excused


def _within(fact: Fact, start: datetime, until: datetime | None) -> bool:
    """Whether a fact falls to the assignment held from ``start`` to ``until``. A climb and
    the dispatch at the new level happen at one moment: the climb ends the old assignment,
    it does not end the new one. An on-site resolution falls to the assignment it made alone
    (made at its moment), not to the one that ended before it."""
    if fact.what == ON_SITE:
        return fact.at == start
    if fact.what in ENDINGS:
        return start < fact.at and (until is None or fact.at <= until)
    return start <= fact.at and (until is None or fact.at < until)


def _settle_clock(
    clock: PlannedClock,
    window: Sequence[Fact],
    ended_at: datetime | None,
    warn_fraction: float,
    pause_on_extension: bool,
) -> SettledClock:
    warn_at, due_at, paused_at = clock.warn_at, clock.due_at, None
    if clock.kind == "resolve":
        for fact in window:
            if fact.what == "extension_asked" and pause_on_extension and paused_at is None:
                paused_at = fact.at
            elif fact.what == "extension" and fact.resolve_by is not None:
                due_at = fact.resolve_by
                warn_at, paused_at = warn_point(fact.at, due_at, warn_fraction), None
            elif fact.what == "extension" and paused_at is not None:
                warn_at = stood_still(warn_at, paused_at, fact.at)
                due_at, paused_at = stood_still(due_at, paused_at, fact.at), None
    met = [f.at for f in window if clock.kind in STOPS.get(f.what, ())]
    if met and (ended_at is None or min(met) <= ended_at):
        return SettledClock("stopped", warn_at, due_at, stopped_at=min(met))
    if ended_at is not None:
        return SettledClock("cancelled", warn_at, due_at, cancelled_at=ended_at)
    if paused_at is not None:
        return SettledClock("paused", warn_at, due_at, paused_at=paused_at)
    return SettledClock("open", warn_at, due_at)
