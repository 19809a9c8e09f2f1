"""Clock bookkeeping: what each case event does to the clocks, inside the caller's unit of
work.

Events may arrive out of order (two supervision instances, a retried message): a stop that
comes before its clock is kept as a mark and applied when the clock opens, a dispatch older
than the clocks already running opens its clocks cancelled, and nothing here raises for a case
it has not seen yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from contracts.events import (
    CASE_ACCEPTED,
    CASE_AWAITING_DISPATCH,
    CASE_CLOSED,
    CASE_CONCLUDED,
    CASE_DISPATCHED,
    CASE_ESCALATED,
    CASE_EXTENSION_DECIDED,
    CASE_EXTENSION_REQUESTED,
    CASE_FEEDBACK,
    CASE_MERGED,
    CASE_REOPENED,
    CASE_RESOLVED_ON_SITE,
    CASE_RETURNED,
    CASE_RISK_CHANGED,
    SUPERVISION_ALERT_ROUTED,
    SUPERVISION_RED_RISK,
    AlertKind,
    AlertRecipient,
    AlertRouted,
    Assignee,
    CaseAccepted,
    CaseAwaitingDispatch,
    CaseClosed,
    CaseConcluded,
    CaseDispatched,
    CaseEscalated,
    CaseExtensionDecided,
    CaseReopened,
    Envelope,
    EventSpec,
    RedRiskRaised,
)
from kernel.sla import CATALOGUE_LIMIT, SlaPolicy
from kit.metrics import CALENDAR_UNCERTAIN_CLOCKS
from services.supervision import domain, on_site, petition_clocks, regrading, subscriptions
from services.supervision.domain import CLOCK_KINDS, CaseScope
from services.supervision.models import Assignment, ClockRow, FollowedCase, Mark, SubscriptionRow
from services.supervision.repository import RUNNING
from services.supervision.reviews import REVIEW_HANDLERS, REVIEWED
from services.supervision.unit_of_work import SupervisionRecords, SupervisionUnitOfWork

# owners of the clocks that belong to no dispatch: a rework's, an escalation waiting for one
REWORK = "rework:"
ESCALATION = "escalation:"
REVISIT = "revisit:"
CENTRE = "centre"
"""Who holds a 待回访 clock: the centre's operators call the citizens back."""


@dataclass
class ClockBook:
    """Clocks, assignments and alerts of the cases supervision follows.

    Every fact about a case is kept as a mark; the assignment it falls to (the dispatch
    current at its time) is then settled again from all the marks of its window. So the
    outcome is the same whichever order the events were handled in.
    """

    uow: SupervisionUnitOfWork
    policy: SlaPolicy
    spot_share: float = 0.0
    """抽查回访: the share of on-site resolutions drawn for a spot revisit."""
    _subscriptions: dict[int, SubscriptionRow] | None = field(default=None, init=False)
    _followed: dict[str, FollowedCase] = field(default_factory=dict, init=False)
    _first_sight: str | None = field(default=None, init=False)
    """The case whose row the event being applied created: nothing else is known of it."""
    _unseen: set[str] = field(default_factory=set, init=False)
    """Cases ``follow_all`` created whose first event has not been applied yet."""
    _kept_back: dict[str, list[Assignment | ClockRow]] = field(default_factory=dict, init=False)
    """Rows of first dispatches not written yet, by case: see ``write_kept_back``."""

    def __post_init__(self) -> None:
        self.uow.before_commit(self.write_kept_back)

    def write_kept_back(self) -> None:
        """Add the assignments and clocks of the first dispatches kept back to the session,
        for the flush to write together. Nothing reads them before: they are added before any
        other event of their case is applied, and at commit."""
        kept, self._kept_back = self._kept_back, {}
        self.repo.add_all([row for rows in kept.values() for row in rows])

    @property
    def repo(self) -> SupervisionRecords:
        return self.uow.records

    def follow_all(self, events: Iterable[Envelope[Any]]) -> None:
        """Lock the cases of a batch's events at once, before ``apply`` takes them in turn:
        two statements for the batch instead of two for each case."""
        case_ids = [e.case_id for e in events if e.case_id is not None and e.type in HANDLERS]
        followed, created = self.repo.follow_all(i for i in case_ids if i not in self._followed)
        self._followed.update(followed)
        self._unseen |= created

    def apply(self, event: Envelope[Any]) -> None:
        handler = HANDLERS.get(event.type)
        if handler is not None and event.case_id is not None:
            if event.case_id in self._kept_back:
                self.write_kept_back()
            self._first_sight = None
            if event.case_id in self._unseen:
                self._unseen.discard(event.case_id)
                self._first_sight = event.case_id
            elif event.case_id not in self._followed:
                # lock the case, its events one at a time; locked, it stays ours until commit
                case, created = self.repo.follow(event.case_id)
                self._followed[event.case_id] = case
                self._first_sight = event.case_id if created else None
            handler(self, event.case_id, event)

    def case(self, case_id: str) -> FollowedCase:
        """The case's row, locked by ``apply`` in this unit of work."""
        return self._followed[case_id]

    # --- 转: a dispatch starts three clocks ---

    def dispatched(self, case_id: str, event: Envelope[CaseDispatched]) -> None:
        fact, at, repo = event.data, event.occurred_at, self.repo
        case = self._follow(case_id, fact.channel, fact.category, fact.risk, fact.territory)
        assignment = assignment_of(case_id, event)
        clocks = [
            new_clock(case_id, event.event_id, self._flagged(case, plan), fact.level,
                      fact.assignee.code)
            for plan in domain.plan_clocks(at, fact.deadlines, self.policy.warn_at)
        ]  # fmt: skip
        if self._first_sight == case_id:
            clocks += petition_clocks.first_clocks(self, case_id, event)
            # the case's first event: no other clock, assignment or mark of it exists to
            # cancel or settle against (the common case, so it asks the database nothing)
            self._write_settled(assignment, None, [], clocks)
            case.assignment_id = assignment.id
            self._kept_back[case_id] = [assignment, *clocks]
            if fact.risk == "red":  # its alert reads the assignment
                self.write_kept_back()
        else:
            repo.add(assignment)
            for clock in clocks:
                repo.add(clock)
            self._cancel_loose(case_id, at)
            petition_clocks.dispatched(self, case_id, event)
            repo.flush()
            previous = repo.assignment_at(case_id, at, before=True)
            for held in (previous, assignment):
                if held is not None:
                    self._settle(held)
            self._holder(case)
        if fact.risk == "red":
            self.raise_red_risk(case, event, fact.assignee)

    def awaiting_dispatch(self, case_id: str, event: Envelope[CaseAwaitingDispatch]) -> None:
        fact = event.data
        case = self._follow(case_id, None, None, fact.risk, fact.territory)
        if fact.risk == "red":
            self.raise_red_risk(case, event, fact.suggestion)

    # --- 见, 办, 结, 访: facts settled onto the assignment of their time ---

    def accepted(self, case_id: str, event: Envelope[CaseAccepted]) -> None:
        if event.data.role == "lead":  # a helper signing for its part meets no limit
            self.fact(case_id, event, "accepted", {"by": event.data.by})

    def fed_back(self, case_id: str, event: Envelope[Any]) -> None:
        self.fact(case_id, event, "feedback", {"by": event.data.by})

    def concluded(self, case_id: str, event: Envelope[CaseConcluded]) -> None:
        # who concluded it, for the per-person figures; 直办 counted as such
        detail = {"by": event.data.by} | ({"at_desk": True} if event.data.at_desk else {})
        held = self.fact(case_id, event, "concluded", detail)
        for clock in self.repo.running_clocks(case_id, ("resolve",)):
            if clock.owner.startswith(REWORK) and clock.started_at <= event.occurred_at:
                stop(clock, event.occurred_at)
        if event.data.revisit == "phone":
            self._await_revisit(case_id, event, held)

    def _await_revisit(
        self, case_id: str, event: Envelope[CaseConcluded], held: Assignment | None
    ) -> None:
        """待回访: no SMS can reach the citizen, so an operator must call within the revisit
        limit (working days); the clock warns and falls overdue as any other."""
        at = event.occurred_at
        due = self.policy.due(at, self.policy.revisit)
        plan = domain.ClockPlan("revisit", at, due, domain.warn_point(at, due, self.warn))
        if self.policy.uncertain(at, due, self.policy.revisit):
            plan = replace(plan, calendar_uncertain=True)
        level = held.level if held is not None else "district"
        self.await_revisit(case_id, f"{REVISIT}{event.event_id}", plan, level)

    def await_revisit(self, case_id: str, owner: str, plan: domain.ClockPlan, level: str) -> None:
        """Put the case on the 待回访 list, held by the centre's operators."""
        self.repo.add(new_clock(case_id, owner, plan, level, CENTRE))

    def _revisited(self, case_id: str, at: datetime) -> None:
        """The citizen was revisited (satisfied or not): the 待回访 clock is met."""
        for clock in self.repo.running_clocks(case_id, ("revisit",)):
            if clock.started_at <= at:
                stop(clock, at)

    def returned(self, case_id: str, event: Envelope[Any]) -> None:
        self.fact(case_id, event, "returned")

    def finished(self, case_id: str, event: Envelope[Any]) -> None:
        """Merged into another case: nothing is left to time."""
        self.fact(case_id, event, "finished")
        self.cancel_all(case_id, event.occurred_at)

    def closed(self, case_id: str, event: Envelope[CaseClosed]) -> None:
        self.fact(case_id, event, "closed", {"satisfaction": event.data.satisfaction})
        self._revisited(case_id, event.occurred_at)
        self.cancel_all(case_id, event.occurred_at)

    def reopened(self, case_id: str, event: Envelope[CaseReopened]) -> None:
        """返工: the unit works again; its rework gets a fresh resolve limit from now."""
        at = event.occurred_at
        held = self.fact(case_id, event, "reopened", {"satisfaction": event.data.satisfaction})
        if event.data.satisfaction is not None:
            self._revisited(case_id, at)
        else:  # a failed verification: worked again, to be concluded (and revisited) anew
            for clock in self.repo.running_clocks(case_id, ("revisit",)):
                cancel(clock, at)
        if held is None or held.ended_by == domain.ON_SITE:
            return  # an on-site resolution reopened waits for a dispatch, with its own clocks
        case = self.case(case_id)
        limits = self.policy.limits_for(**self._kind_of(case))
        due = self.policy.due_for(at, limits, "resolve", held.assignee_code)
        plan = domain.ClockPlan("resolve", at, due, domain.warn_point(at, due, self.warn))
        plan = self._flagged(case, plan, category_limit=False)
        owner = f"{REWORK}{event.event_id}"
        self.repo.add(new_clock(case_id, owner, plan, held.level, held.assignee_code))

    def extension_requested(self, case_id: str, event: Envelope[Any]) -> None:
        self.fact(case_id, event, "extension_asked")

    def extension_decided(self, case_id: str, event: Envelope[CaseExtensionDecided]) -> None:
        fact = event.data
        moved = fact.deadlines.resolve_by if fact.approved and fact.deadlines else None
        self.fact(case_id, event, "extension", {"resolve_by": moved.isoformat() if moved else None})
        petition_clocks.extension_decided(self, case_id, event)

    def escalated(self, case_id: str, event: Envelope[CaseEscalated]) -> None:
        """格呼街应: the old level's clocks end; the new level's respond clock starts now,
        unless its dispatch (which brings clocks of its own) came first."""
        fact, at, repo = event.data, event.occurred_at, self.repo
        self.fact(case_id, event, "escalated")
        case = self.case(case_id)
        case.climbs += 1
        if not any(c.level == fact.to_level for c in repo.clocks_of(case_id)):
            holder = fact.unit or fact.to_level
            limits = self.policy.limits_for(**self._kind_of(case))
            due = self.policy.due_for(at, limits, "respond", fact.unit)
            plan = domain.ClockPlan("respond", at, due, domain.warn_point(at, due, self.warn))
            plan = self._flagged(case, plan, category_limit=False)
            owner = f"{ESCALATION}{event.event_id}"
            repo.add(new_clock(case_id, owner, plan, fact.to_level, holder))
        self.route("escalated", event, case, f"{fact.from_level}→{fact.to_level} {fact.reason}")

    # --- settling ---

    def fact(
        self, case_id: str, event: Envelope[Any], what: str, detail: dict[str, Any] | None = None
    ) -> Assignment | None:
        """Keep the fact; settle the assignment it falls to, if its dispatch is known yet."""
        self.repo.mark(event.event_id, case_id, what, event.occurred_at, detail)
        held = self.repo.assignment_at(case_id, event.occurred_at)
        if held is not None:
            self._settle(held)
        self._holder(self.case(case_id))
        return held

    def _settle(self, assignment: Assignment) -> None:
        repo = self.repo
        until = repo.next_dispatch(assignment)
        marks = repo.marks_between(assignment.case_id, assignment.dispatched_at, until)
        self._write_settled(assignment, until, marks, repo.clocks_owned_by([assignment.id]))

    def _write_settled(
        self,
        assignment: Assignment,
        until: datetime | None,
        marks: list[Mark],
        owned: list[ClockRow],
    ) -> None:
        clocks = [c for c in owned if c.kind in CLOCK_KINDS]
        settled = domain.settle(
            assignment.dispatched_at, until, [fact_of(m) for m in marks],
            [planned(c, self.warn) for c in clocks], self.warn, self.policy.pause_on_extension,
        )  # fmt: skip
        assignment.returned, assignment.concluded = settled.returned, settled.concluded
        assignment.reopened, assignment.satisfaction = settled.reopened, settled.satisfaction
        assignment.ended_at, assignment.ended_by = settled.ended_at, settled.ended_by
        for clock in clocks:
            write_back(clock, settled.clocks[clock.kind])

    def _holder(self, case: FollowedCase) -> None:
        """The assignment holding the case now: the newest, unless it has ended."""
        newest = self.repo.assignment_at(case.case_id, None)
        case.assignment_id = newest.id if newest and newest.ended_at is None else None

    def _cancel_loose(self, case_id: str, at: datetime) -> None:
        """A dispatch ends the clocks of an escalation waiting for it and of a rework."""
        for clock in self.repo.running_clocks(case_id):
            if clock.owner.startswith((REWORK, ESCALATION)) and clock.started_at <= at:
                cancel(clock, at)

    def cancel_all(self, case_id: str, at: datetime) -> None:
        for clock in self.repo.running_clocks(case_id):
            if clock.started_at <= at:
                cancel(clock, at)

    # --- alerts to subscribers ---

    def raise_red_risk(
        self, case: FollowedCase, event: Envelope[Any], holder: Assignee | None
    ) -> None:
        raised = RedRiskRaised(territory=dict(case.territory), assignee=holder)
        alert = SUPERVISION_RED_RISK.new(
            raised, case_id=case.case_id, occurred_at=event.occurred_at
        )
        if self.repo.raise_alert(
            f"red_risk:{case.case_id}", case.case_id, "red_risk", event.occurred_at, alert.event_id
        ):
            self.uow.emit(alert)
            self.route("red_risk", alert, case, case.category or "")

    def route(
        self, kind: AlertKind, trigger: Envelope[Any], case: FollowedCase, detail: str
    ) -> None:
        """Tell notify which subscribers this alert reaches, by which channel."""
        rows = self.subscription_rows()
        if not any(kind in row.kinds for row in rows.values()):
            return
        holder = self.repo.assignment(case.assignment_id)
        scope = CaseScope(case.territory, holder.assignee_code if holder else None, case.risk)
        reached = domain.recipients_of(
            (subscriptions.subscription_of(r) for r in rows.values()), kind, scope
        )
        recipients = [
            AlertRecipient(subscriber=s.subscriber, channel=channel, address_sealed=address)
            for s, channel in reached
            if (address := subscriptions.address_of(rows[s.subscription_id], channel)) is not None
        ]
        if recipients:
            routed = AlertRouted(
                alert=kind, trigger_event_id=trigger.event_id, trigger_type=trigger.type,
                recipients=recipients, summary=domain.summary_of(kind, case.case_id, detail),
            )  # fmt: skip
            self.uow.emit(SUPERVISION_ALERT_ROUTED.new(routed, case_id=case.case_id))

    def subscription_rows(self) -> dict[int, SubscriptionRow]:
        """Read once per unit of work: a scan routes many alerts against the same few."""
        if self._subscriptions is None:
            self._subscriptions = {row.id: row for row in self.repo.subscriptions()}
        return self._subscriptions

    # --- helpers ---

    @property
    def warn(self) -> float:
        return self.policy.warn_at

    def _follow(
        self,
        case_id: str,
        channel: str | None,
        category: str | None,
        risk: str,
        territory: dict[Any, str],
    ) -> FollowedCase:
        case = self.case(case_id)
        case.channel = channel or case.channel
        case.category = category or case.category
        case.risk = risk
        case.territory = dict(territory) or case.territory
        return case

    def _flagged(
        self, case: FollowedCase, plan: domain.ClockPlan, category_limit: bool = True
    ) -> domain.ClockPlan:
        """The plan, flagged when its limit counts working days in a year the working calendar
        does not know (counted Monday to Friday: never trusted silently). A dispatch's resolve
        limit is the category's own when the case has one, always in working days."""
        own = CATALOGUE_LIMIT if category_limit and case.category else None
        limit = getattr(self.policy.limits_for(own, **self._kind_of(case)), plan.kind)
        if not self.policy.uncertain(plan.started_at, plan.due_at, limit):
            return plan
        CALENDAR_UNCERTAIN_CLOCKS.labels(clock=plan.kind).inc()
        return replace(plan, calendar_uncertain=True)

    @staticmethod
    def _kind_of(case: FollowedCase) -> dict[str, Any]:
        return {"channel": case.channel, "category": case.category, "risk": case.risk}


def assignment_of(case_id: str, event: Envelope[CaseDispatched]) -> Assignment:
    fact = event.data
    return Assignment(
        id=event.event_id, case_id=case_id, assignee_kind=fact.assignee.kind,
        assignee_code=fact.assignee.code, assignee_name=fact.assignee.name, level=fact.level,
        dispatched_at=event.occurred_at, returned=False, concluded=False, reopened=False,
    )  # fmt: skip


def new_clock(
    case_id: str, owner: str, plan: domain.ClockPlan, level: str, assignee_code: str
) -> ClockRow:
    return ClockRow(
        case_id=case_id, owner=owner, kind=plan.kind, level=level,
        assignee_code=assignee_code, state="open", started_at=plan.started_at,
        warn_at=plan.warn_at, due_at=plan.due_at, planned_due_at=plan.due_at,
        next_due_at=plan.warn_at, warned=False, overdue=False, escalation_asked=False,
        calendar_uncertain=plan.calendar_uncertain,
    )  # fmt: skip


def stop(clock: ClockRow, at: datetime) -> None:
    """The unit met this limit at ``at`` (in time or late: the assessment tells)."""
    if clock.state in RUNNING:
        clock.state, clock.stopped_at, clock.next_due_at = "stopped", at, None


def cancel(clock: ClockRow, at: datetime) -> None:
    clock.state, clock.cancelled_at, clock.next_due_at = "cancelled", at, None


def planned(clock: ClockRow, warn_fraction: float) -> domain.PlannedClock:
    warn_at = domain.warn_point(clock.started_at, clock.planned_due_at, warn_fraction)
    return domain.PlannedClock(clock.kind, clock.started_at, warn_at, clock.planned_due_at)


def fact_of(mark: Mark) -> domain.Fact:
    detail = mark.detail or {}
    moved = detail.get("resolve_by")
    return domain.Fact(
        mark.what, mark.at, detail.get("satisfaction"),
        datetime.fromisoformat(moved) if moved else None,
    )  # fmt: skip


def write_back(clock: ClockRow, settled: domain.SettledClock) -> None:
    """The settled state onto the row; the scanner's flags start again for a moved limit."""
    was_open, moved = clock.state == "open", settled.due_at != clock.due_at
    if moved:
        clock.warned = clock.overdue = clock.escalation_asked = False
    clock.state, clock.warn_at, clock.due_at = settled.state, settled.warn_at, settled.due_at
    clock.stopped_at, clock.cancelled_at = settled.stopped_at, settled.cancelled_at
    clock.paused_at = settled.paused_at
    if settled.state != "open":
        clock.next_due_at = None
    elif moved or not was_open or (clock.next_due_at is None and not clock.overdue):
        clock.next_due_at = clock.due_at if clock.warned else clock.warn_at


Handler = Callable[[ClockBook, str, Envelope[Any]], None]

HANDLERS: dict[str, Handler] = {
    CASE_DISPATCHED.type: ClockBook.dispatched,
    CASE_AWAITING_DISPATCH.type: ClockBook.awaiting_dispatch,
    CASE_ACCEPTED.type: ClockBook.accepted,
    CASE_FEEDBACK.type: ClockBook.fed_back,
    CASE_CONCLUDED.type: ClockBook.concluded,
    CASE_RETURNED.type: ClockBook.returned,
    CASE_ESCALATED.type: ClockBook.escalated,
    CASE_CLOSED.type: ClockBook.closed,
    CASE_REOPENED.type: ClockBook.reopened,
    CASE_RESOLVED_ON_SITE.type: on_site.resolved,
    CASE_MERGED.type: ClockBook.finished,
    CASE_RISK_CHANGED.type: regrading.regraded,
    CASE_EXTENSION_REQUESTED.type: ClockBook.extension_requested,
    CASE_EXTENSION_DECIDED.type: ClockBook.extension_decided,
    **REVIEW_HANDLERS,
    **petition_clocks.PETITION_HANDLERS,
}

FOLLOWED: tuple[EventSpec[Any], ...] = (
    CASE_DISPATCHED, CASE_AWAITING_DISPATCH, CASE_ACCEPTED, CASE_FEEDBACK, CASE_CONCLUDED,
    CASE_RETURNED, CASE_ESCALATED, CASE_CLOSED, CASE_REOPENED, CASE_RESOLVED_ON_SITE, CASE_MERGED,
    CASE_EXTENSION_REQUESTED, CASE_EXTENSION_DECIDED, CASE_RISK_CHANGED, *REVIEWED,
    *petition_clocks.PETITION_FOLLOWED,
)  # fmt: skip
