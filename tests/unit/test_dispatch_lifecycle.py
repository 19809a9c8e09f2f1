"""The pure case lifecycle (接 转 见 办 结 访): every action from every status, the walks, the
refusals, co-handling (主办/协办), extensions, verification, revisits, escalation, and
properties over random command sequences."""

from __future__ import annotations

import copy
import dataclasses
import functools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    CASE_RATING_APPEAL_DECIDED,
    CASE_RATING_APPEALED,
    CASE_REOPENED,
    CASE_RESOLVED_ON_SITE,
    CASE_RETURN_REVIEWED,
    CASE_RETURNED,
    CASE_RISK_CHANGED,
    CASE_VERIFIED,
    Assignee,
    CaseAccepted,
    CaseAwaitingDispatch,
    CaseClosed,
    CaseConcluded,
    CaseDispatched,
    CaseEscalated,
    CaseExtensionDecided,
    CaseExtensionRequested,
    CaseFeedback,
    CaseMerged,
    CaseReopened,
    CaseResolvedOnSite,
    CaseReturned,
    CaseReturnReviewed,
    CaseRiskChanged,
    CaseVerified,
    Deadlines,
    EventData,
    EventSpec,
    Level,
    RatingAppealDecided,
    RatingAppealed,
)
from kernel.levels import LEVELS
from services.dispatch.lifecycle import (
    ACTION_OF,
    ACTIONS,
    OPEN,
    Accept,
    Actor,
    AppealRating,
    AwaitDispatch,
    CaseState,
    CaseStatus,
    Command,
    Conclude,
    ConcludeAtDesk,
    DecideAppeal,
    DecideExtension,
    Dispatch,
    Escalate,
    Feedback,
    Helper,
    IllegalTransition,
    LifecycleError,
    Merge,
    NotYourCase,
    Outcome,
    PendingExtension,
    Regrade,
    RequestExtension,
    ResolveOnSite,
    Return,
    ReviewReturn,
    Revisit,
    Step,
    Verify,
    allowed_actions,
    handle,
)
from services.dispatch.states import PETITION_ACTIONS

S = CaseStatus
Fact = tuple[EventSpec[Any], EventData]

# --- fixtures as plain constants ----------------------------------------------------------

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
AT = T0 + timedelta(hours=1)

LEAD = Assignee(kind="department", code="D-CG", name="城管局")
HELPER_A = Assignee(kind="grid", code="G-0101", name="幸福社区第一网格")
HELPER_B = Assignee(kind="department", code="D-SW", name="水务局")
STRANGER_CODE = "D-XX"

DEADLINES = Deadlines(
    respond_by=T0 + timedelta(hours=2),
    feedback_by=T0 + timedelta(hours=24),
    resolve_by=T0 + timedelta(days=5),
)
EXT_UNTIL = DEADLINES.resolve_by + timedelta(days=3)
EXTENDED = Deadlines(
    respond_by=DEADLINES.respond_by, feedback_by=DEADLINES.feedback_by, resolve_by=EXT_UNTIL
)
PENDING_EXT = PendingExtension(until=EXT_UNTIL, reason="需要采购材料", by="h-lead", unit=LEAD.code)

OPERATOR = Actor("op-1", "operator")  # no unit: acts for the lead
LEAD_ACTOR = Actor("h-lead", "handler", LEAD.code)
HELPER_A_ACTOR = Actor("h-a", "handler", HELPER_A.code)
HELPER_B_ACTOR = Actor("h-b", "handler", HELPER_B.code)
STRANGER = Actor("h-x", "handler", STRANGER_CODE)
SUPERVISOR = Actor("sup-1", "supervisor")

ALL_STATUSES = list(CaseStatus)
PETITION_ONLY = frozenset(PETITION_ACTIONS)
"""信访's own steps, which only a petition's state allows: their matrix is in test_petitions."""
ALL_ACTIONS = [action for action in ACTIONS if action not in PETITION_ONLY]

DESIGN_STATES = {
    "received",
    "pending_dispatch",
    "dispatched",
    "accepted",
    "in_progress",
    "concluded",
    "closed",
    "resolved_on_site",
    "merged",
}

# Hand-written from DESIGN.md "Case lifecycle": where each action may start.
DESIGN_SOURCES: dict[str, set[str]] = {
    "await_dispatch": {"received"},
    "dispatch": {"received", "pending_dispatch"},
    "accept": {"dispatched", "accepted", "in_progress"},  # accepted/in_progress: helpers sign
    "return": {"dispatched", "accepted"},
    "feedback": {"accepted", "in_progress"},
    "conclude": {"accepted", "in_progress"},
    "conclude_at_desk": {"received"},  # 直办: concluded at the desk as it was registered
    "verify": {"concluded"},
    "revisit": {"concluded", "resolved_on_site"},
    "escalate": {"pending_dispatch", "dispatched", "accepted", "in_progress"},
    "extend": {"dispatched", "accepted", "in_progress"},
    "decide_extension": {"dispatched", "accepted", "in_progress"},
    "resolve_on_site": {"received", "pending_dispatch"},
    "merge": {"received", "pending_dispatch", "dispatched"},
    # a fair score: 退单审核 while the return waits; 不满意甄别 on an "unsatisfied"
    "review_return": {"pending_dispatch"},
    "appeal": {"dispatched", "accepted", "in_progress", "concluded"},
    "decide_appeal": {"dispatched", "accepted", "in_progress", "concluded"},
    # 调整风险等级 (DESIGN 1.1, clocks and risk): while the case is still being worked on
    "regrade": {"received", "pending_dispatch", "dispatched", "accepted", "in_progress",
                "concluded"},
}  # fmt: skip
PETITION_SOURCES: dict[str, set[str]] = {
    # 信访 only (test_petitions): 受理告知, the written answer, 复查 / 复核 asked
    "acknowledge": {"dispatched", "accepted", "in_progress"},
    "answer": {"accepted", "in_progress"},
    "request_review": {"concluded", "closed"},  # a closed petition may still be reviewed
}

# What allowed_actions answers per status, in the table's order (no pending extension).
EXPECTED_ALLOWED: dict[CaseStatus, list[str]] = {
    S.RECEIVED: [
        "await_dispatch",
        "dispatch",
        "conclude_at_desk",
        "resolve_on_site",
        "merge",
        "regrade",
    ],
    S.PENDING_DISPATCH: ["dispatch", "escalate", "resolve_on_site", "merge", "regrade"],
    S.DISPATCHED: ["accept", "return", "escalate", "extend", "merge", "regrade"],
    S.ACCEPTED: ["accept", "return", "feedback", "conclude", "escalate", "extend", "regrade"],
    S.IN_PROGRESS: ["accept", "feedback", "conclude", "escalate", "extend", "regrade"],
    S.CONCLUDED: ["verify", "revisit", "regrade"],
    S.CLOSED: [],
    S.RESOLVED_ON_SITE: ["revisit"],  # 抽查回访
    S.MERGED: [],
}

# --- canonical commands, one per action ---------------------------------------------------

AWAIT = AwaitDispatch(
    reason="红色风险，需人工派单", suggestion=LEAD, alternatives=(HELPER_B,), risk="red"
)
DISPATCH = Dispatch(
    assignee=LEAD,
    level="street",
    deadlines=DEADLINES,
    helpers=(HELPER_A,),
    rule="rule-garbage",
    category="city.garbage",
    channel="hotline",
    risk="yellow",
)
RETURN = Return(reason="不属于本单位职责")
FEEDBACK = Feedback(note="已联系市民，明日上门")
CONCLUDE = Conclude(result="垃圾已清运")
AT_DESK = ConcludeAtDesk(result="窗口当场答复政策,群众认可", revisit="phone")
VERIFY = Verify(passed=True, note="现场核查属实")
REVISIT = Revisit(satisfaction="satisfied", note="市民表示满意")
ESCALATE = Escalate(
    to_level="district",
    reason="跨部门协调",
    suggestion=HELPER_B,
    unit="Q-01",
    supervisors=("sup-1", "sup-2"),
)
EXTEND = RequestExtension(until=EXT_UNTIL, reason="需要采购材料")
DECIDE = DecideExtension(approve=True, note="同意")
RESOLVE = ResolveOnSite(note="网格员现场调解")
MERGE = Merge(into="C-20250303-0007")
REVIEW = ReviewReturn(approve=True, note="确非该单位职责")
APPEAL = AppealRating(reason="诉求超出政策范围，已按规定答复")
DECIDE_APPEAL = DecideAppeal(upheld=False, note="答复不到位")
REGRADE = Regrade(risk="red", reason="来电人扬言过激行为")

COMMANDS: dict[str, Command] = {
    "await_dispatch": AWAIT,
    "dispatch": DISPATCH,
    "accept": Accept(),
    "return": RETURN,
    "feedback": FEEDBACK,
    "conclude": CONCLUDE,
    "conclude_at_desk": AT_DESK,
    "verify": VERIFY,
    "revisit": REVISIT,
    "escalate": ESCALATE,
    "extend": EXTEND,
    "decide_extension": DECIDE,
    "resolve_on_site": RESOLVE,
    "merge": MERGE,
    "review_return": REVIEW,
    "appeal": APPEAL,
    "decide_appeal": DECIDE_APPEAL,
    "regrade": REGRADE,
}


def base_state(status: CaseStatus) -> CaseState:
    """A plausible case in ``status``, as the machine itself would have left it."""
    if status in (S.RECEIVED, S.PENDING_DISPATCH):
        suggestion = LEAD if status is S.PENDING_DISPATCH else None
        return CaseState(status=status, level="grid", suggestion=suggestion)
    if status is S.RESOLVED_ON_SITE:
        return CaseState(status=status, level="grid")
    if status is S.MERGED:
        return CaseState(status=status, level="grid", merged_into="C-0001")
    assigned = CaseState(status=status, level="community", assignee=LEAD, deadlines=DEADLINES)
    if status is S.CLOSED:
        return replace(assigned, verified=True, satisfaction="satisfied")
    return assigned


def scenario(status: CaseStatus, action: str) -> tuple[CaseState, Command, Actor]:
    """The state, command and actor of one cell of the matrix."""
    state = base_state(status)
    command = COMMANDS[action]
    legal = status in ACTIONS[action]
    if legal and action == "accept" and status in (S.ACCEPTED, S.IN_PROGRESS):
        # The lead has signed already: the documented accept here is a helper's.
        return replace(state, helpers=(Helper(HELPER_A),)), command, HELPER_A_ACTOR
    if legal and action == "decide_extension":
        return replace(state, extension=PENDING_EXT), command, SUPERVISOR
    if legal and action == "review_return":
        return replace(state, return_review=LEAD), command, OPERATOR
    if legal and action == "appeal":
        return replace(state, satisfaction="unsatisfied"), command, LEAD_ACTOR
    if legal and action == "decide_appeal":
        return replace(state, satisfaction="unsatisfied", appeal="pending"), command, SUPERVISOR
    desk_or_centre = ("await_dispatch", "dispatch", "merge", "conclude_at_desk")
    actor = OPERATOR if action in desk_or_centre else LEAD_ACTOR
    return state, command, actor


def expected_outcome(
    state: CaseState, action: str, actor: Actor
) -> tuple[CaseState, list[Fact], str | None]:
    """The documented new state, facts and history reason of a legal cell."""
    by = actor.user
    if action == "await_dispatch":
        new = replace(state, status=S.PENDING_DISPATCH, suggestion=LEAD, alternatives=(HELPER_B,))
        data: EventData = CaseAwaitingDispatch(
            reason=AWAIT.reason, suggestion=LEAD, alternatives=[HELPER_B], risk="red"
        )
        return new, [(CASE_AWAITING_DISPATCH, data)], AWAIT.reason
    if action == "dispatch":
        new = replace(
            state,
            status=S.DISPATCHED,
            assignee=LEAD,
            level="street",
            deadlines=DEADLINES,
            helpers=(Helper(HELPER_A),),
            extension=None,
            verified=False,
        )
        data = CaseDispatched(
            assignee=LEAD,
            level="street",
            deadlines=DEADLINES,
            dispatched_by=by,
            category="city.garbage",
            rule="rule-garbage",
            channel="hotline",
            risk="yellow",
            helpers=[HELPER_A],
        )
        return new, [(CASE_DISPATCHED, data)], "rule-garbage"
    if action == "accept" and state.status is S.DISPATCHED:
        new = replace(state, status=S.ACCEPTED)
        return new, [(CASE_ACCEPTED, CaseAccepted(assignee=LEAD, by=by, role="lead"))], LEAD.code
    if action == "accept":
        new = replace(state, helpers=(Helper(HELPER_A, accepted=True),))
        data = CaseAccepted(assignee=HELPER_A, by=by, role="assist")
        return new, [(CASE_ACCEPTED, data)], HELPER_A.code
    if action == "return":
        new = replace(
            state,
            status=S.PENDING_DISPATCH,
            assignee=None,
            helpers=(),
            deadlines=None,
            returns=state.returns + 1,
            suggestion=None,
            extension=None,
            return_review=LEAD,
        )
        data = CaseReturned(assignee=LEAD, reason=RETURN.reason, by=by)
        return new, [(CASE_RETURNED, data)], RETURN.reason
    if action == "feedback":
        new = replace(state, status=S.IN_PROGRESS)
        return new, [(CASE_FEEDBACK, CaseFeedback(note=FEEDBACK.note, by=by))], FEEDBACK.note
    if action == "conclude":
        new = replace(state, status=S.CONCLUDED, extension=None)
        data = CaseConcluded(result=CONCLUDE.result, by=by)
        return new, [(CASE_CONCLUDED, data)], CONCLUDE.result
    if action == "conclude_at_desk":
        new = replace(state, status=S.CONCLUDED)
        data = CaseConcluded(result=AT_DESK.result, by=by, at_desk=True, revisit="phone")
        return new, [(CASE_CONCLUDED, data)], AT_DESK.result
    if action == "verify":
        new = replace(state, verified=True)
        data = CaseVerified(passed=True, note=VERIFY.note, by=by)
        return new, [(CASE_VERIFIED, data)], VERIFY.note
    if action == "revisit":
        new = replace(state, status=S.CLOSED, satisfaction="satisfied")
        data = CaseClosed(satisfaction="satisfied", by=by)
        return new, [(CASE_CLOSED, data)], REVISIT.note
    if action == "escalate":
        new = replace(
            state,
            status=S.PENDING_DISPATCH,
            level="district",
            assignee=None,
            helpers=(),
            deadlines=None,
            suggestion=HELPER_B,
            alternatives=(),
            extension=None,
        )
        data = CaseEscalated(
            from_level=state.level,
            to_level="district",
            unit="Q-01",
            reason=ESCALATE.reason,
            supervisors=["sup-1", "sup-2"],
            by=by,
        )
        return new, [(CASE_ESCALATED, data)], ESCALATE.reason
    if action == "extend":
        new = replace(state, extension=PendingExtension(EXT_UNTIL, EXTEND.reason, by, LEAD.code))
        data = CaseExtensionRequested(until=EXT_UNTIL, reason=EXTEND.reason, by=by)
        return new, [(CASE_EXTENSION_REQUESTED, data)], EXTEND.reason
    if action == "decide_extension":
        new = replace(state, extension=None, deadlines=EXTENDED)
        data = CaseExtensionDecided(
            approved=True, until=EXT_UNTIL, deadlines=EXTENDED, note="同意", by=by
        )
        return new, [(CASE_EXTENSION_DECIDED, data)], "批准延期：同意"
    if action == "resolve_on_site":
        new = replace(state, status=S.RESOLVED_ON_SITE)
        data = CaseResolvedOnSite(note=RESOLVE.note, by=by)
        return new, [(CASE_RESOLVED_ON_SITE, data)], RESOLVE.note
    if action == "merge":
        new = replace(state, status=S.MERGED, merged_into=MERGE.into)
        data = CaseMerged(into=MERGE.into, by=by)
        return new, [(CASE_MERGED, data)], f"duplicate of {MERGE.into}"
    if action == "regrade":
        changed = CaseRiskChanged.model_validate(
            {"from": "blue", "to": "red", "reason": REGRADE.reason, "by": by}
        )
        return replace(state, risk="red"), [(CASE_RISK_CHANGED, changed)], REGRADE.reason
    return expected_review(state, action, by)


def expected_review(
    state: CaseState, action: str, by: str
) -> tuple[CaseState, list[Fact], str | None]:
    """The documented outcome of the fair score's actions (退单审核, 不满意甄别)."""
    if action == "review_return":
        data: EventData = CaseReturnReviewed(assignee=LEAD, approved=True, note=REVIEW.note, by=by)
        return (
            replace(state, return_review=None),
            [(CASE_RETURN_REVIEWED, data)],
            (f"approved: {REVIEW.note}"),
        )
    if action == "appeal":
        data = RatingAppealed(assignee=LEAD, reason=APPEAL.reason, by=by)
        return replace(state, appeal="pending"), [(CASE_RATING_APPEALED, data)], APPEAL.reason
    if action == "decide_appeal":
        data = RatingAppealDecided(upheld=False, note=DECIDE_APPEAL.note, by=by)
        return (
            replace(state, appeal="rejected"),
            [(CASE_RATING_APPEAL_DECIDED, data)],
            (f"rejected: {DECIDE_APPEAL.note}"),
        )
    raise AssertionError(f"no expectation written for {action}")


def fact_types(outcome: Outcome) -> list[str]:
    return [spec.type for spec, _ in outcome.facts]


def assert_facts(outcome: Outcome, expected: list[Fact]) -> None:
    """Same specs (the catalogue's own objects), same order, same data, same data class."""
    assert [spec.type for spec, _ in outcome.facts] == [spec.type for spec, _ in expected]
    for (spec, data), (want_spec, want_data) in zip(outcome.facts, expected, strict=True):
        assert spec is want_spec
        assert type(data) is want_spec.data
        assert data == want_data


def assert_refused(
    state: CaseState, command: Command, actor: Actor, action: str, why: str | None = None
) -> IllegalTransition:
    before = copy.deepcopy(state)
    with pytest.raises(IllegalTransition) as caught:
        handle(state, command, actor, AT)
    error = caught.value
    assert error.action == action
    assert error.status is state.status
    assert error.allowed == allowed_actions(state)
    message = str(error)
    assert f"cannot {action} a case that is {state.status.value}" in message
    assert f"allowed now: {error.allowed or 'nothing'}" in message
    if why is not None:
        assert why in message
    assert state == before
    return error


def dispatched(
    *helpers: Helper, status: CaseStatus = S.DISPATCHED, level: Level = "community"
) -> CaseState:
    return CaseState(
        status=status, level=level, assignee=LEAD, deadlines=DEADLINES, helpers=tuple(helpers)
    )


# --- the table against the DESIGN ----------------------------------------------------------


def test_the_statuses_are_exactly_the_designs() -> None:
    assert {s.value for s in CaseStatus} == DESIGN_STATES
    assert len(ALL_STATUSES) == 9


def test_the_action_table_matches_the_design() -> None:
    assert {action: {s.value for s in sources} for action, sources in ACTIONS.items()} == (
        DESIGN_SOURCES | PETITION_SOURCES
    )


def test_every_command_type_has_an_action_and_every_action_a_command() -> None:
    assert len(ACTION_OF) == 21
    assert set(ACTION_OF.values()) == set(ACTIONS)
    assert {cls.__name__ for cls in ACTION_OF} == {
        "AwaitDispatch",
        "Dispatch",
        "Accept",
        "Return",
        "Feedback",
        "Conclude",
        "ConcludeAtDesk",
        "Verify",
        "Revisit",
        "Escalate",
        "RequestExtension",
        "DecideExtension",
        "ResolveOnSite",
        "Merge",
        "ReviewReturn",
        "AppealRating",
        "DecideAppeal",
        "Acknowledge",
        "Answer",
        "RequestReview",
        "Regrade",
    }
    assert {ACTION_OF[type(c)] for c in COMMANDS.values()} == set(ALL_ACTIONS)
    assert all(ACTION_OF[type(command)] == action for action, command in COMMANDS.items())


def test_accept_only_after_dispatch() -> None:
    assert ACTIONS["accept"] == OPEN == {S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS}
    assert S.RECEIVED not in ACTIONS["accept"]
    assert S.PENDING_DISPATCH not in ACTIONS["accept"]


def test_conclude_only_after_accept() -> None:
    assert ACTIONS["conclude"] == {S.ACCEPTED, S.IN_PROGRESS}
    assert S.DISPATCHED not in ACTIONS["conclude"]


def test_verify_only_on_a_concluded_case_revisit_also_on_site() -> None:
    # 抽查回访: an on-site resolution drawn for a spot check is revisited too
    assert ACTIONS["revisit"] == {S.CONCLUDED, S.RESOLVED_ON_SITE}
    assert ACTIONS["verify"] == {S.CONCLUDED}


def test_dispatch_only_before_dispatch() -> None:
    assert ACTIONS["dispatch"] == {S.RECEIVED, S.PENDING_DISPATCH}


@pytest.mark.parametrize("terminal", [S.CLOSED, S.MERGED])
def test_nothing_leaves_a_terminal_status(terminal: CaseStatus) -> None:
    leaving = [action for action, sources in ACTIONS.items() if terminal in sources]
    assert [action for action in leaving if action not in PETITION_ONLY] == []
    assert allowed_actions(base_state(terminal)) == []  # not a petition: nothing at all


def test_only_a_spot_revisit_leaves_an_on_site_resolution() -> None:
    leaving = [a for a, sources in ACTIONS.items() if S.RESOLVED_ON_SITE in sources]
    assert leaving == ["revisit"]
    assert allowed_actions(base_state(S.RESOLVED_ON_SITE)) == ["revisit"]


def test_a_bad_spot_revisit_reopens_an_on_site_resolution_for_dispatch() -> None:
    # no unit ever held it: it waits for one click, as a reopened 直办 does
    out = handle(base_state(S.RESOLVED_ON_SITE), Revisit("unsatisfied", "没解决"), OPERATOR, AT)
    assert out.state.status is S.PENDING_DISPATCH
    assert out.state.satisfaction == "unsatisfied"
    assert [spec for spec, _ in out.facts] == [CASE_REOPENED]
    good = handle(base_state(S.RESOLVED_ON_SITE), Revisit("satisfied"), OPERATOR, AT)
    assert good.state.status is S.CLOSED


def test_every_non_terminal_status_has_a_way_out() -> None:
    for status in set(CaseStatus) - {S.CLOSED, S.MERGED, S.RESOLVED_ON_SITE}:
        assert any(status in sources for sources in ACTIONS.values()), status


@pytest.mark.parametrize("status", ALL_STATUSES, ids=str)
def test_allowed_actions_per_status(status: CaseStatus) -> None:
    assert allowed_actions(base_state(status)) == EXPECTED_ALLOWED[status]


@pytest.mark.parametrize("status", sorted(OPEN), ids=str)
def test_decide_extension_is_allowed_only_while_an_extension_is_pending(
    status: CaseStatus,
) -> None:
    without = dispatched(status=status)
    assert "decide_extension" not in allowed_actions(without)
    with_pending = replace(without, extension=PENDING_EXT)
    allowed = allowed_actions(with_pending)
    assert "decide_extension" in allowed
    assert [a for a in allowed if a != "decide_extension"] == EXPECTED_ALLOWED[status]


# --- the 9 × 13 matrix ---------------------------------------------------------------------

MATRIX = [(status, action) for status in ALL_STATUSES for action in ALL_ACTIONS]


def test_the_matrix_is_complete() -> None:
    assert len(MATRIX) == 9 * 18
    assert sum(status in ACTIONS[action] for status, action in MATRIX) == sum(
        len(sources) for sources in DESIGN_SOURCES.values()
    )


@pytest.mark.parametrize(("status", "action"), MATRIX, ids=[f"{s}-{a}" for s, a in MATRIX])
def test_every_action_from_every_status(status: CaseStatus, action: str) -> None:
    state, command, actor = scenario(status, action)
    before = copy.deepcopy(state)
    if status not in ACTIONS[action]:
        error = assert_refused(state, command, actor, action)
        assert action not in error.allowed
        return
    outcome = handle(state, command, actor, AT)
    new, facts, reason = expected_outcome(state, action, actor)
    assert outcome.state == new
    assert outcome.state.status is new.status
    assert outcome.step == Step(action, status, new.status, actor, AT, reason)
    assert outcome.step.actor is actor
    assert_facts(outcome, facts)
    assert state == before


# --- the walk 接 转 见 办 结 访 ---------------------------------------------------------------


def test_the_whole_walk_received_to_closed() -> None:
    state = CaseState(status=S.RECEIVED, level="grid")
    steps: list[Step] = []
    types: list[str] = []

    def act(command: Command, actor: Actor, minutes: int) -> Outcome:
        nonlocal state
        at = T0 + timedelta(minutes=minutes)
        outcome = handle(state, command, actor, at)
        assert outcome.step.from_status is state.status
        assert outcome.step.to_status is outcome.state.status
        assert outcome.step.at == at
        assert outcome.step.actor is actor
        steps.append(outcome.step)
        types.extend(fact_types(outcome))
        state = outcome.state
        return outcome

    # 转: the router could not decide alone
    out = act(AwaitDispatch(reason="低置信度", suggestion=LEAD), OPERATOR, 1)
    assert state.status is S.PENDING_DISPATCH
    assert state.suggestion == LEAD
    assert out.facts[0][1] == CaseAwaitingDispatch(reason="低置信度", suggestion=LEAD)

    # 转: one click
    out = act(
        Dispatch(assignee=LEAD, level="street", deadlines=DEADLINES, helpers=(HELPER_A,)),
        OPERATOR,
        2,
    )
    assert state.status is S.DISPATCHED
    assert state.assignee == LEAD
    assert state.level == "street"
    assert state.deadlines == DEADLINES
    assert state.helpers == (Helper(HELPER_A),)
    spec, data = out.facts[0]
    assert spec is CASE_DISPATCHED
    assert isinstance(data, CaseDispatched)
    assert data.assignee == LEAD
    assert data.level == "street"
    assert data.deadlines == DEADLINES
    assert data.dispatched_by == "op-1"
    assert data.helpers == [HELPER_A]

    # 见: the lead signs, then the helper for its part
    out = act(Accept(), LEAD_ACTOR, 3)
    assert state.status is S.ACCEPTED
    assert out.facts[0][1] == CaseAccepted(assignee=LEAD, by="h-lead", role="lead")
    out = act(Accept(), HELPER_A_ACTOR, 4)
    assert state.status is S.ACCEPTED
    assert out.facts[0][1] == CaseAccepted(assignee=HELPER_A, by="h-a", role="assist")

    # 办
    out = act(Feedback(note="已联系市民"), LEAD_ACTOR, 5)
    assert state.status is S.IN_PROGRESS
    assert out.facts[0][1] == CaseFeedback(note="已联系市民", by="h-lead")

    # 结: the helper's part first, then the lead
    out = act(Conclude(result="协办部分完成"), HELPER_A_ACTOR, 6)
    assert out.step.action == "conclude_part"
    assert out.facts == []
    assert state.status is S.IN_PROGRESS
    out = act(Conclude(result="已办结"), LEAD_ACTOR, 7)
    assert state.status is S.CONCLUDED
    assert out.facts[0][1] == CaseConcluded(result="已办结", by="h-lead")

    # 核查
    out = act(Verify(passed=True, note="属实"), SUPERVISOR, 8)
    assert state.status is S.CONCLUDED
    assert state.verified is True

    # 访
    out = act(Revisit(satisfaction="satisfied", note="满意"), OPERATOR, 9)
    assert state.status is S.CLOSED
    assert state.satisfaction == "satisfied"
    assert out.facts[0][1] == CaseClosed(satisfaction="satisfied", by="op-1")

    assert [s.action for s in steps] == [
        "await_dispatch",
        "dispatch",
        "accept",
        "accept",
        "feedback",
        "conclude_part",
        "conclude",
        "verify",
        "revisit",
    ]
    assert [s.to_status.value for s in steps] == [
        "pending_dispatch",
        "dispatched",
        "accepted",
        "accepted",
        "in_progress",
        "in_progress",
        "concluded",
        "concluded",
        "closed",
    ]
    assert types == [
        "case.awaiting_dispatch",
        "case.dispatched",
        "case.accepted",
        "case.accepted",
        "case.feedback",
        "case.concluded",
        "case.verified",
        "case.closed",
    ]
    assert state.returns == 0
    assert state.reopens == 0
    assert allowed_actions(state) == []


def test_auto_dispatch_straight_from_received() -> None:
    out = handle(
        CaseState(status=S.RECEIVED, level="grid"),
        Dispatch(assignee=HELPER_A, level="grid", deadlines=DEADLINES, rule="auto-1"),
        Actor("auto"),
        AT,
    )
    assert out.state.status is S.DISPATCHED
    assert out.state.helpers == ()
    assert out.step == Step("dispatch", S.RECEIVED, S.DISPATCHED, Actor("auto"), AT, "auto-1")
    assert out.facts[0][1] == CaseDispatched(
        assignee=HELPER_A, level="grid", deadlines=DEADLINES, dispatched_by="auto", rule="auto-1"
    )


def test_conclude_from_accepted_without_feedback() -> None:
    out = handle(dispatched(status=S.ACCEPTED), Conclude(result="当场处理"), LEAD_ACTOR, AT)
    assert out.state.status is S.CONCLUDED
    assert out.step.from_status is S.ACCEPTED


@pytest.mark.parametrize("blank", ["", "   "])
def test_empty_feedback_and_empty_result_are_refused(blank: str) -> None:
    state = dispatched(status=S.ACCEPTED)
    assert_refused(state, Feedback(note=blank), LEAD_ACTOR, "feedback", "the feedback is empty")
    assert_refused(state, Conclude(result=blank), LEAD_ACTOR, "conclude", "the result is empty")


# --- return 退单 -----------------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "  ", "\t\n"])
def test_return_needs_a_reason(blank: str) -> None:
    assert_refused(dispatched(), Return(reason=blank), LEAD_ACTOR, "return", "a reason is required")


def test_a_helper_cannot_return_the_case() -> None:
    state = dispatched(Helper(HELPER_A, accepted=True))
    with pytest.raises(NotYourCase, match="only the lead unit can return it"):
        handle(state, RETURN, HELPER_A_ACTOR, AT)


def test_a_stranger_cannot_return_the_case() -> None:
    with pytest.raises(NotYourCase, match=STRANGER_CODE):
        handle(dispatched(), RETURN, STRANGER, AT)


@pytest.mark.parametrize("status", [S.DISPATCHED, S.ACCEPTED], ids=str)
@pytest.mark.parametrize("actor", [LEAD_ACTOR, OPERATOR], ids=["lead", "no-unit"])
def test_return_goes_back_to_one_click_dispatch(status: CaseStatus, actor: Actor) -> None:
    state = replace(
        dispatched(Helper(HELPER_A, accepted=True), Helper(HELPER_B), status=status),
        returns=2,
        suggestion=LEAD,
        extension=PENDING_EXT,
    )
    out = handle(state, Return(reason="非本单位职责"), actor, AT)
    new = out.state
    assert new.status is S.PENDING_DISPATCH
    assert new.assignee is None
    assert new.helpers == ()
    assert new.deadlines is None
    assert new.extension is None
    assert new.suggestion is None
    assert new.returns == 3
    assert new.level == state.level
    assert out.step == Step("return", status, S.PENDING_DISPATCH, actor, AT, "非本单位职责")
    assert_facts(
        out, [(CASE_RETURNED, CaseReturned(assignee=LEAD, reason="非本单位职责", by=actor.user))]
    )
    assert new.reopens == state.reopens
    assert new.return_review == LEAD  # 退单审核: waits for the centre's check
    assert allowed_actions(new) == [
        "dispatch",
        "escalate",
        "resolve_on_site",
        "merge",
        "review_return",
        "regrade",
    ]


def test_a_returned_case_can_be_dispatched_again_and_keeps_its_return_count() -> None:
    returned = handle(dispatched(), RETURN, LEAD_ACTOR, AT).state
    again = handle(
        returned, Dispatch(assignee=HELPER_B, level="community", deadlines=DEADLINES), OPERATOR, AT
    )
    assert again.state.status is S.DISPATCHED
    assert again.state.assignee == HELPER_B
    assert again.state.returns == 1


def test_no_return_once_work_has_started() -> None:
    assert_refused(dispatched(status=S.IN_PROGRESS), RETURN, LEAD_ACTOR, "return")


# --- co-handling 主办/协办 -------------------------------------------------------------------


def test_dispatch_with_helpers_creates_unsigned_helpers() -> None:
    out = handle(
        CaseState(status=S.PENDING_DISPATCH, level="street"),
        Dispatch(assignee=LEAD, level="street", deadlines=DEADLINES, helpers=(HELPER_A, HELPER_B)),
        OPERATOR,
        AT,
    )
    assert out.state.helpers == (Helper(HELPER_A), Helper(HELPER_B))
    assert all(not h.accepted and not h.concluded for h in out.state.helpers)
    data = out.facts[0][1]
    assert isinstance(data, CaseDispatched)
    assert data.helpers == [HELPER_A, HELPER_B]
    assert data.assignee == LEAD


def test_the_lead_cannot_also_be_a_helper() -> None:
    state = CaseState(status=S.PENDING_DISPATCH, level="street")
    command = Dispatch(assignee=LEAD, level="street", deadlines=DEADLINES, helpers=(HELPER_A, LEAD))
    assert_refused(state, command, OPERATOR, "dispatch", "the lead unit cannot also be a helper")


@pytest.mark.parametrize("status", [S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS], ids=str)
def test_a_helper_signs_only_for_itself(status: CaseStatus) -> None:
    state = dispatched(Helper(HELPER_A), Helper(HELPER_B), status=status)
    out = handle(state, Accept(), HELPER_B_ACTOR, AT)
    assert out.state.status is status
    assert out.state.helpers == (Helper(HELPER_A), Helper(HELPER_B, accepted=True))
    assert out.state.assignee == LEAD
    assert out.step == Step("accept", status, status, HELPER_B_ACTOR, AT, HELPER_B.code)
    assert_facts(out, [(CASE_ACCEPTED, CaseAccepted(assignee=HELPER_B, by="h-b", role="assist"))])


def test_a_helper_cannot_sign_twice() -> None:
    state = dispatched(Helper(HELPER_A, accepted=True))
    assert_refused(state, Accept(), HELPER_A_ACTOR, "accept", f"{HELPER_A.code} has signed already")


@pytest.mark.parametrize("status", [S.ACCEPTED, S.IN_PROGRESS], ids=str)
def test_the_lead_cannot_sign_twice(status: CaseStatus) -> None:
    state = dispatched(status=status)
    error = assert_refused(
        state, Accept(), LEAD_ACTOR, "accept", "the lead unit has signed already"
    )
    assert "accept" in error.allowed  # helpers still may


def test_a_helper_cannot_conclude_its_part_before_signing() -> None:
    state = dispatched(Helper(HELPER_A), status=S.IN_PROGRESS)
    assert_refused(
        state,
        Conclude(result="完成"),
        HELPER_A_ACTOR,
        "conclude",
        f"{HELPER_A.code} has not signed for its part",
    )


def test_a_helper_concludes_its_part_without_concluding_the_case() -> None:
    state = dispatched(Helper(HELPER_A, accepted=True), Helper(HELPER_B), status=S.IN_PROGRESS)
    out = handle(state, Conclude(result="管道已修复"), HELPER_A_ACTOR, AT)
    assert out.state.status is S.IN_PROGRESS
    assert out.state.helpers == (Helper(HELPER_A, accepted=True, concluded=True), Helper(HELPER_B))
    assert out.step == Step(
        "conclude_part", S.IN_PROGRESS, S.IN_PROGRESS, HELPER_A_ACTOR, AT, "管道已修复"
    )
    assert out.facts == []


def test_the_lead_waits_for_every_helper() -> None:
    state = dispatched(
        Helper(HELPER_A, accepted=True), Helper(HELPER_B, accepted=True), status=S.IN_PROGRESS
    )
    assert_refused(
        state,
        CONCLUDE,
        LEAD_ACTOR,
        "conclude",
        f"helpers have not reported their part: {HELPER_A.name}、{HELPER_B.name}",
    )
    state = handle(state, Conclude(result="甲完成"), HELPER_A_ACTOR, AT).state
    error = assert_refused(state, CONCLUDE, LEAD_ACTOR, "conclude")
    assert str(error).count("helpers have not reported their part: 水务局;") == 1
    assert HELPER_A.name not in str(error)
    state = handle(state, Conclude(result="乙完成"), HELPER_B_ACTOR, AT).state
    out = handle(state, CONCLUDE, LEAD_ACTOR, AT)
    assert out.state.status is S.CONCLUDED
    assert fact_types(out) == ["case.concluded"]


def test_an_unsigned_helper_also_holds_the_conclusion() -> None:
    state = dispatched(Helper(HELPER_A), status=S.ACCEPTED)
    assert_refused(state, CONCLUDE, LEAD_ACTOR, "conclude", HELPER_A.name)


UNIT_COMMANDS: list[tuple[str, Command, CaseStatus]] = [
    ("accept", Accept(), S.DISPATCHED),
    ("return", RETURN, S.ACCEPTED),
    ("feedback", FEEDBACK, S.ACCEPTED),
    ("conclude", CONCLUDE, S.IN_PROGRESS),
    ("extend", EXTEND, S.IN_PROGRESS),
]


@pytest.mark.parametrize(
    ("action", "command", "status"), UNIT_COMMANDS, ids=[u[0] for u in UNIT_COMMANDS]
)
def test_a_unit_that_is_neither_lead_nor_helper_gets_not_your_case(
    action: str, command: Command, status: CaseStatus
) -> None:
    state = dispatched(Helper(HELPER_A), status=status)
    with pytest.raises(NotYourCase, match=STRANGER_CODE) as caught:
        handle(state, command, STRANGER, AT)
    assert isinstance(caught.value, LifecycleError)
    assert not isinstance(caught.value, IllegalTransition)


def test_an_actor_without_a_unit_acts_for_the_lead() -> None:
    state = dispatched(Helper(HELPER_A))
    out = handle(state, Accept(), OPERATOR, AT)
    assert out.state.status is S.ACCEPTED
    assert out.state.helpers == (Helper(HELPER_A),)
    assert out.step.reason == LEAD.code
    assert_facts(out, [(CASE_ACCEPTED, CaseAccepted(assignee=LEAD, by="op-1", role="lead"))])
    # and it may not conclude for the lead while the helper has not reported
    state = replace(out.state, status=S.IN_PROGRESS)
    assert_refused(state, CONCLUDE, OPERATOR, "conclude", HELPER_A.name)


# --- extension 延期 ---------------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "   "])
def test_an_extension_needs_a_reason(blank: str) -> None:
    command = RequestExtension(until=EXT_UNTIL, reason=blank)
    assert_refused(dispatched(), command, LEAD_ACTOR, "extend", "a reason is required")


@pytest.mark.parametrize(
    "until", [DEADLINES.resolve_by, DEADLINES.resolve_by - timedelta(minutes=1), T0], ids=str
)
def test_an_extension_must_end_after_the_current_limit(until: datetime) -> None:
    command = RequestExtension(until=until, reason="材料未到")
    assert_refused(
        dispatched(), command, LEAD_ACTOR, "extend", "the new time must be after the current limit"
    )


def test_one_second_past_the_limit_is_an_extension() -> None:
    until = DEADLINES.resolve_by + timedelta(seconds=1)
    out = handle(dispatched(), RequestExtension(until=until, reason="材料未到"), LEAD_ACTOR, AT)
    assert out.state.extension == PendingExtension(until, "材料未到", "h-lead", LEAD.code)


def test_a_second_request_while_one_is_pending_is_refused() -> None:
    state = replace(dispatched(status=S.IN_PROGRESS), extension=PENDING_EXT)
    command = RequestExtension(until=EXT_UNTIL + timedelta(days=1), reason="再延")
    assert_refused(state, command, LEAD_ACTOR, "extend", "an extension is pending already")


def test_only_the_lead_asks_for_an_extension() -> None:
    state = dispatched(Helper(HELPER_A, accepted=True), status=S.IN_PROGRESS)
    assert_refused(state, EXTEND, HELPER_A_ACTOR, "extend", "only the lead unit asks")
    with pytest.raises(NotYourCase):
        handle(state, EXTEND, STRANGER, AT)


@pytest.mark.parametrize("status", sorted(OPEN), ids=str)
def test_an_extension_request_is_recorded_and_announced(status: CaseStatus) -> None:
    state = dispatched(status=status)
    out = handle(state, EXTEND, OPERATOR, AT)
    assert out.state.status is status
    assert out.state.deadlines == DEADLINES
    assert out.state.extension == PendingExtension(EXT_UNTIL, EXTEND.reason, "op-1", LEAD.code)
    assert out.step == Step("extend", status, status, OPERATOR, AT, EXTEND.reason)
    assert_facts(
        out,
        [
            (
                CASE_EXTENSION_REQUESTED,
                CaseExtensionRequested(until=EXT_UNTIL, reason=EXTEND.reason, by="op-1"),
            )
        ],
    )
    assert "decide_extension" in allowed_actions(out.state)


@pytest.mark.parametrize("status", sorted(OPEN), ids=str)
def test_deciding_without_a_pending_extension_is_refused(status: CaseStatus) -> None:
    error = assert_refused(
        dispatched(status=status),
        DecideExtension(approve=True),
        SUPERVISOR,
        "decide_extension",
        "no extension is pending",
    )
    assert "decide_extension" not in error.allowed


def test_an_approved_extension_moves_only_the_resolve_limit() -> None:
    state = replace(dispatched(status=S.IN_PROGRESS), extension=PENDING_EXT)
    out = handle(state, DecideExtension(approve=True, note="同意"), SUPERVISOR, AT)
    deadlines = out.state.deadlines
    assert deadlines is not None
    assert deadlines.resolve_by == EXT_UNTIL
    assert deadlines.respond_by == DEADLINES.respond_by
    assert deadlines.feedback_by == DEADLINES.feedback_by
    assert out.state.extension is None
    assert out.state.status is S.IN_PROGRESS
    assert out.step == Step(
        "decide_extension", S.IN_PROGRESS, S.IN_PROGRESS, SUPERVISOR, AT, "批准延期：同意"
    )
    assert_facts(
        out,
        [
            (
                CASE_EXTENSION_DECIDED,
                CaseExtensionDecided(
                    approved=True, until=EXT_UNTIL, deadlines=EXTENDED, note="同意", by="sup-1"
                ),
            )
        ],
    )
    assert "decide_extension" not in allowed_actions(out.state)


@pytest.mark.parametrize(("note", "reason"), [("理由不足", "驳回延期：理由不足"), ("", "驳回延期")])
def test_a_refused_extension_leaves_the_deadlines(note: str, reason: str) -> None:
    state = replace(dispatched(status=S.ACCEPTED), extension=PENDING_EXT)
    out = handle(state, DecideExtension(approve=False, note=note), SUPERVISOR, AT)
    assert out.state.deadlines == DEADLINES
    assert out.state.extension is None
    assert out.state.status is S.ACCEPTED
    assert out.step.reason == reason
    assert_facts(
        out,
        [
            (
                CASE_EXTENSION_DECIDED,
                CaseExtensionDecided(
                    approved=False, until=EXT_UNTIL, deadlines=DEADLINES, note=note, by="sup-1"
                ),
            )
        ],
    )


def test_after_an_approval_the_next_request_must_pass_the_new_limit() -> None:
    state = replace(dispatched(status=S.IN_PROGRESS), extension=PENDING_EXT)
    state = handle(state, DecideExtension(approve=True), SUPERVISOR, AT).state
    between = RequestExtension(until=EXT_UNTIL - timedelta(hours=1), reason="再延")
    assert_refused(state, between, LEAD_ACTOR, "extend", "after the current limit")
    later = RequestExtension(until=EXT_UNTIL + timedelta(days=2), reason="再延")
    assert handle(state, later, LEAD_ACTOR, AT).state.extension is not None


@pytest.mark.parametrize(
    ("approve", "note", "reason"),
    [
        (True, "见批示:", "批准延期：见批示:"),
        (False, "补充材料 ", "驳回延期：补充材料 "),
        (True, ":", "批准延期：:"),
        (True, "", "批准延期"),
    ],
)
def test_the_decision_note_is_kept_whole_in_the_history(
    approve: bool, note: str, reason: str
) -> None:
    """Regression: the reason was built with ``.rstrip(": ")``, eating a note's last colons
    and spaces."""
    state = replace(dispatched(status=S.IN_PROGRESS), extension=PENDING_EXT)
    out = handle(state, DecideExtension(approve=approve, note=note), SUPERVISOR, AT)
    assert out.step.reason == reason
    data = out.facts[0][1]
    assert isinstance(data, CaseExtensionDecided)
    assert data.note == note


def test_a_pending_extension_is_dropped_when_the_case_is_concluded() -> None:
    state = replace(dispatched(status=S.IN_PROGRESS), extension=PENDING_EXT)
    out = handle(state, CONCLUDE, LEAD_ACTOR, AT)
    assert out.state.extension is None
    assert out.state.deadlines == DEADLINES


def test_merging_a_dispatched_case_drops_its_pending_extension() -> None:
    """Regression: merge kept the pending extension, which could then never be decided."""
    state = replace(dispatched(), extension=PENDING_EXT)
    out = handle(state, MERGE, OPERATOR, AT)
    assert out.state == replace(state, status=S.MERGED, merged_into=MERGE.into, extension=None)
    assert "decide_extension" not in allowed_actions(out.state)


# --- verify 核查 -----------------------------------------------------------------------------


def concluded_with_helpers() -> CaseState:
    return dispatched(
        Helper(HELPER_A, accepted=True, concluded=True),
        Helper(HELPER_B, accepted=True, concluded=True),
        status=S.CONCLUDED,
    )


def test_a_passed_verification_marks_the_case_verified() -> None:
    state = concluded_with_helpers()
    out = handle(state, Verify(passed=True, note="属实"), SUPERVISOR, AT)
    assert out.state == replace(state, verified=True)
    assert out.step == Step("verify", S.CONCLUDED, S.CONCLUDED, SUPERVISOR, AT, "属实")
    assert_facts(out, [(CASE_VERIFIED, CaseVerified(passed=True, note="属实", by="sup-1"))])


@pytest.mark.parametrize(("note", "reason"), [("现场未整改", "现场未整改"), ("", "核查未通过")])
def test_a_failed_verification_reopens_the_case(note: str, reason: str) -> None:
    state = replace(concluded_with_helpers(), reopens=1, verified=True)
    out = handle(state, Verify(passed=False, note=note), SUPERVISOR, AT)
    new = out.state
    assert new.status is S.IN_PROGRESS
    assert new.reopens == 2
    assert new.verified is False
    assert new.helpers == (Helper(HELPER_A, accepted=True), Helper(HELPER_B, accepted=True))
    assert new.assignee == LEAD
    assert new.deadlines == DEADLINES
    assert out.step == Step("verify", S.CONCLUDED, S.IN_PROGRESS, SUPERVISOR, AT, reason)
    assert_facts(
        out,
        [
            (CASE_VERIFIED, CaseVerified(passed=False, note=note, by="sup-1")),
            (CASE_REOPENED, CaseReopened(reason=reason, by="sup-1")),
        ],
    )
    # the helpers must report again before the lead can conclude
    assert_refused(new, CONCLUDE, LEAD_ACTOR, "conclude", "helpers have not reported their part")


# --- revisit 回访 ----------------------------------------------------------------------------


@pytest.mark.parametrize("satisfaction", ["satisfied", "basically_satisfied"])
@pytest.mark.parametrize(("note", "reason"), [("很好", "很好"), ("", None)])
def test_a_content_citizen_closes_the_case(
    satisfaction: Literal["satisfied", "basically_satisfied"], note: str, reason: str | None
) -> None:
    state = concluded_with_helpers()
    out = handle(state, Revisit(satisfaction=satisfaction, note=note), OPERATOR, AT)
    assert out.state == replace(state, status=S.CLOSED, satisfaction=satisfaction)
    assert out.step == Step("revisit", S.CONCLUDED, S.CLOSED, OPERATOR, AT, reason or satisfaction)
    assert_facts(out, [(CASE_CLOSED, CaseClosed(satisfaction=satisfaction, by="op-1"))])
    assert allowed_actions(out.state) == []


@pytest.mark.parametrize(("note", "reason"), [("问题依旧", "问题依旧"), ("", "回访不满意")])
def test_an_unsatisfied_citizen_reopens_the_case(note: str, reason: str) -> None:
    state = replace(concluded_with_helpers(), verified=True)
    out = handle(state, Revisit(satisfaction="unsatisfied", note=note), OPERATOR, AT)
    new = out.state
    assert new.status is S.IN_PROGRESS
    assert new.satisfaction == "unsatisfied"
    assert new.reopens == 1
    assert new.verified is False
    assert all(h.accepted and not h.concluded for h in new.helpers)
    assert out.step == Step("revisit", S.CONCLUDED, S.IN_PROGRESS, OPERATOR, AT, reason)
    reopened = CaseReopened(reason=reason, by="op-1", satisfaction="unsatisfied")
    assert_facts(out, [(CASE_REOPENED, reopened)])


def test_a_reopened_case_can_be_concluded_and_closed_again() -> None:
    state = dispatched(status=S.CONCLUDED)
    state = handle(state, Revisit(satisfaction="unsatisfied"), OPERATOR, AT).state
    state = handle(state, Feedback(note="返工中"), LEAD_ACTOR, AT).state
    state = handle(state, Conclude(result="返工完成"), LEAD_ACTOR, AT).state
    assert state.status is S.CONCLUDED
    state = handle(state, Revisit(satisfaction="basically_satisfied"), OPERATOR, AT).state
    assert state.status is S.CLOSED
    assert state.satisfaction == "basically_satisfied"
    assert state.reopens == 1


# --- escalate 上报 ---------------------------------------------------------------------------

LEVEL_PAIRS = [(a, b) for a in LEVELS for b in LEVELS]


def test_levels_run_from_the_smallest_to_the_district() -> None:
    assert LEVELS == ("micro_grid", "grid", "community", "street", "district")


@pytest.mark.parametrize(
    ("at_level", "to_level"), LEVEL_PAIRS, ids=[f"{a}->{b}" for a, b in LEVEL_PAIRS]
)
def test_escalation_goes_only_up(at_level: Level, to_level: Level) -> None:
    state = dispatched(level=at_level)
    command = Escalate(to_level=to_level, reason="难以处置")
    if LEVELS.index(to_level) <= LEVELS.index(at_level):
        assert_refused(
            state, command, LEAD_ACTOR, "escalate", f"{to_level} is not above {at_level}"
        )
        return
    out = handle(state, command, LEAD_ACTOR, AT)
    assert out.state.level == to_level
    assert out.state.status is S.PENDING_DISPATCH
    data = out.facts[0][1]
    assert isinstance(data, CaseEscalated)
    assert (data.from_level, data.to_level) == (at_level, to_level)


@pytest.mark.parametrize("status", [S.PENDING_DISPATCH, *sorted(OPEN)], ids=str)
def test_escalation_clears_the_assignment(status: CaseStatus) -> None:
    if status is S.PENDING_DISPATCH:
        state = CaseState(
            status=status, level="grid", suggestion=LEAD, alternatives=(HELPER_A, HELPER_B)
        )
    else:
        state = replace(
            dispatched(Helper(HELPER_A, accepted=True), status=status, level="grid"),
            extension=PENDING_EXT,
            alternatives=(HELPER_B,),
            returns=1,
            reopens=1,
        )
    command = Escalate(
        to_level="street",
        reason="格呼街应",
        suggestion=HELPER_B,
        unit="S-01",
        supervisors=("sup-9",),
    )
    out = handle(state, command, Actor("auto"), AT)
    new = out.state
    assert new.status is S.PENDING_DISPATCH
    assert new.level == "street"
    assert new.suggestion == HELPER_B
    assert new.alternatives == ()
    assert new.assignee is None
    assert new.helpers == ()
    assert new.deadlines is None
    assert new.extension is None
    assert (new.returns, new.reopens) == (state.returns, state.reopens)
    assert out.step == Step("escalate", status, S.PENDING_DISPATCH, Actor("auto"), AT, "格呼街应")
    assert_facts(
        out,
        [
            (
                CASE_ESCALATED,
                CaseEscalated(
                    from_level="grid",
                    to_level="street",
                    unit="S-01",
                    reason="格呼街应",
                    supervisors=["sup-9"],
                    by="auto",
                ),
            )
        ],
    )


def test_nothing_is_above_the_district() -> None:
    state = CaseState(status=S.PENDING_DISPATCH, level="district")
    assert_refused(
        state,
        Escalate(to_level="district", reason="x"),
        OPERATOR,
        "escalate",
        "district is not above district",
    )


# --- resolve on site 就地化解, merge --------------------------------------------------------


@pytest.mark.parametrize("status", [S.RECEIVED, S.PENDING_DISPATCH], ids=str)
def test_resolved_on_site_ends_the_case(status: CaseStatus) -> None:
    grid_worker = Actor("gw-7", "grid_worker", HELPER_A.code)
    state = base_state(status)
    out = handle(state, ResolveOnSite(note="当场调解"), grid_worker, AT)
    assert out.state == replace(state, status=S.RESOLVED_ON_SITE)
    assert out.step == Step(
        "resolve_on_site", status, S.RESOLVED_ON_SITE, grid_worker, AT, "当场调解"
    )
    assert_facts(out, [(CASE_RESOLVED_ON_SITE, CaseResolvedOnSite(note="当场调解", by="gw-7"))])
    assert allowed_actions(out.state) == ["revisit"]  # 抽查回访, if drawn


@pytest.mark.parametrize("status", [S.RECEIVED, S.PENDING_DISPATCH, S.DISPATCHED], ids=str)
def test_merge_records_where_the_case_is_followed(status: CaseStatus) -> None:
    state = base_state(status)
    out = handle(state, Merge(into="C-42"), OPERATOR, AT)
    assert out.state.status is S.MERGED
    assert out.state.merged_into == "C-42"
    assert out.state == replace(state, status=S.MERGED, merged_into="C-42")
    assert out.step == Step("merge", status, S.MERGED, OPERATOR, AT, "duplicate of C-42")
    assert_facts(out, [(CASE_MERGED, CaseMerged(into="C-42", by="op-1"))])
    assert allowed_actions(out.state) == []


def test_the_refusal_message_says_nothing_is_allowed_on_a_closed_case() -> None:
    with pytest.raises(IllegalTransition) as caught:
        handle(base_state(S.CLOSED), Revisit(satisfaction="satisfied"), OPERATOR, AT)
    assert str(caught.value) == "cannot revisit a case that is closed; allowed now: nothing"
    assert caught.value.allowed == []


def test_states_and_steps_are_frozen() -> None:
    state = base_state(S.DISPATCHED)
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.status = S.CLOSED  # type: ignore[misc]
    out = handle(state, Accept(), LEAD_ACTOR, AT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.step.to_status = S.CLOSED  # type: ignore[misc]


# --- properties over random command sequences -----------------------------------------------

POOL = (LEAD, HELPER_A, HELPER_B)
ACTORS = (
    OPERATOR,
    LEAD_ACTOR,
    HELPER_A_ACTOR,
    HELPER_B_ACTOR,
    STRANGER,
    SUPERVISOR,
)
notes = st.sampled_from(["", "  ", "已处理", "见附件", "已联系市民", "现场核实"])
levels = st.sampled_from(LEVELS)
pool_unit = st.sampled_from(POOL)
hours = st.integers(min_value=1, max_value=72).map(lambda h: timedelta(hours=h))


@st.composite
def deadlines_st(draw: st.DrawFn) -> Deadlines:
    respond = T0 + draw(hours)
    feedback = respond + draw(hours)
    resolve = feedback + timedelta(days=draw(st.integers(min_value=1, max_value=15)))
    return Deadlines(respond_by=respond, feedback_by=feedback, resolve_by=resolve)


DISPATCH_BACK = st.builds(Dispatch, assignee=pool_unit, level=levels, deadlines=deadlines_st())
"""A refused return's dispatch back: to the unit that returned it, or (refused) another."""

COMMAND_ST: dict[str, st.SearchStrategy[Command]] = {
    "await_dispatch": st.builds(
        AwaitDispatch,
        reason=notes,
        suggestion=st.none() | pool_unit,
        alternatives=st.lists(pool_unit, max_size=2).map(tuple),
        risk=st.sampled_from(["red", "yellow", "blue"]),
    ),
    "dispatch": st.builds(
        Dispatch,
        assignee=pool_unit,
        level=levels,
        deadlines=deadlines_st(),
        helpers=st.lists(pool_unit, max_size=2, unique=True).map(tuple),
    ),
    "accept": st.just(Accept()),
    "return": st.builds(Return, reason=notes),
    "feedback": st.builds(Feedback, note=notes),
    "conclude": st.builds(Conclude, result=notes),
    "conclude_at_desk": st.builds(
        ConcludeAtDesk, result=notes, revisit=st.sampled_from([None, "sms", "phone"])
    ),
    "verify": st.builds(Verify, passed=st.booleans(), note=notes),
    "revisit": st.builds(
        Revisit, satisfaction=st.sampled_from(["satisfied", "basically_satisfied", "unsatisfied"])
    ),
    "escalate": st.builds(
        Escalate,
        to_level=levels,
        reason=notes,
        suggestion=st.none() | pool_unit,
        supervisors=st.lists(st.sampled_from(["sup-1", "sup-2"]), max_size=2).map(tuple),
    ),
    "extend": st.builds(
        RequestExtension,
        until=st.integers(min_value=0, max_value=40 * 24).map(lambda h: T0 + timedelta(hours=h)),
        reason=notes,
    ),
    "decide_extension": st.builds(DecideExtension, approve=st.booleans(), note=notes),
    "resolve_on_site": st.builds(ResolveOnSite, note=notes),
    "merge": st.builds(Merge, into=st.sampled_from(["C-1", "C-2"])),
    "review_return": st.builds(
        ReviewReturn,
        approve=st.booleans(),
        back=st.none() | DISPATCH_BACK,
        note=notes,
    ),
    "appeal": st.builds(AppealRating, reason=notes),
    "decide_appeal": st.builds(DecideAppeal, upheld=st.booleans(), note=notes),
    "regrade": st.builds(Regrade, risk=st.sampled_from(["red", "yellow", "blue"]), reason=notes),
}
commands: st.SearchStrategy[Command] = st.one_of(*COMMAND_ST.values())
actors = st.sampled_from(ACTORS)
minutes_st = st.integers(min_value=0, max_value=10_000)
steps_st = st.lists(st.tuples(commands, actors, minutes_st), max_size=40)
RARE = {"merge": 1, "resolve_on_site": 1, "return": 2, "escalate": 2}


@functools.cache
def step_strategy(
    allowed: tuple[str, ...], units: tuple[str, ...]
) -> st.SearchStrategy[tuple[Command, Actor, int]]:
    """Mostly an action the table allows now (endings and loops back rarely, so that runs get
    deep) by a unit of the case; sometimes any command by anyone, so that refusals keep being
    exercised."""
    unit_actors = [Actor(f"h-{code}", "handler", code) for code in units for _ in range(3)]
    weighted = [a for a in allowed for _ in range(RARE.get(a, 6))]
    choices = weighted + ["*"] * max(1, len(weighted) // 4)  # "*": any command at all
    return st.tuples(
        st.sampled_from(choices).flatmap(lambda a: commands if a == "*" else COMMAND_ST[a]),
        st.sampled_from([*ACTORS, *unit_actors]),
        minutes_st,
    )


def guided_step(data: st.DataObject, state: CaseState) -> tuple[Command, Actor, int]:
    units = [state.assignee.code] if state.assignee else []
    units += [h.unit.code for h in state.helpers]
    return data.draw(step_strategy(tuple(allowed_actions(state)), tuple(units)))


def check_invariants(previous: CaseState, out: Outcome, actor: Actor, at: datetime) -> None:
    state, step = out.state, out.step
    assert isinstance(state.status, CaseStatus)
    assert step.from_status is previous.status
    assert step.to_status is state.status
    assert step.actor is actor
    assert step.at == at
    assert step.action in ACTIONS or step.action == "conclude_part"
    design_action = "conclude" if step.action == "conclude_part" else step.action
    assert step.from_status.value in DESIGN_SOURCES[design_action]
    assert (
        step.from_status in ACTIONS["conclude" if step.action == "conclude_part" else step.action]
    )
    if state.status in OPEN:
        assert state.assignee is not None
        assert state.deadlines is not None
    if state.status is S.PENDING_DISPATCH:
        assert state.assignee is None
        assert state.helpers == ()
        assert state.deadlines is None
    for helper in state.helpers:
        assert helper.accepted or not helper.concluded
        assert state.assignee is None or helper.unit.code != state.assignee.code
    if state.status is S.CLOSED:  # or closed by an upheld appeal (不满意甄别), unrated
        assert state.satisfaction in ("satisfied", "basically_satisfied") or (
            state.appeal == "upheld" and state.satisfaction is None
        )
    if state.extension is not None:
        assert state.status in OPEN
    assert state.reopens >= previous.reopens
    assert state.returns >= previous.returns
    for spec, data in out.facts:
        assert spec.source == "dispatch"
        assert type(data) is spec.data
    if state.status is S.CONCLUDED and previous.status is not S.CONCLUDED:
        assert all(h.concluded for h in state.helpers)
    if state.status is S.MERGED:
        assert state.merged_into is not None
    if state.verified:
        assert state.status in (S.CONCLUDED, S.CLOSED)
    pending = state.extension is not None and state.status in OPEN
    assert ("decide_extension" in allowed_actions(state)) is pending


def reworked(previous: CaseState) -> CaseStatus:
    """Where a reopened case lands: back with its unit, or (直办: no unit ever held it) waiting
    for one click."""
    return S.IN_PROGRESS if previous.assignee is not None else S.PENDING_DISPATCH


def check_landing(previous: CaseState, command: Command, actor: Actor, out: Outcome) -> None:
    """A small reference model: where each accepted command lands and what it announces."""
    state, step = out.state, out.step
    same = previous.status
    types = fact_types(out)
    match command:
        case AwaitDispatch():
            want, facts = S.PENDING_DISPATCH, ["case.awaiting_dispatch"]
            assert (state.suggestion, state.alternatives) == (
                command.suggestion,
                command.alternatives,
            )
        case Dispatch():
            want, facts = S.DISPATCHED, ["case.dispatched"]
            assert (state.assignee, state.deadlines) == (command.assignee, command.deadlines)
            assert [h.unit for h in state.helpers] == list(command.helpers)
        case Accept() if state.status is same:
            want, facts = same, ["case.accepted"]
            assert sum(h.accepted for h in state.helpers) == 1 + sum(
                h.accepted for h in previous.helpers
            )
            assert [h.unit.code for h in state.helpers if h.accepted] == [
                h.unit.code for h in previous.helpers if h.accepted or h.unit.code == actor.unit
            ]
        case Accept():
            want, facts = S.ACCEPTED, ["case.accepted"]
            assert same is S.DISPATCHED
        case Return():
            want, facts = S.PENDING_DISPATCH, ["case.returned"]
            assert command.reason.strip()
        case Feedback():
            want, facts = S.IN_PROGRESS, ["case.feedback"]
            assert command.note.strip()
        case Conclude() if step.action == "conclude_part":
            want, facts = same, []
            # the acting helper has reported its part; no other unit changed
            assert [h for h in state.helpers if h.unit.code == actor.unit] == [
                Helper(h.unit, accepted=True, concluded=True)
                for h in previous.helpers
                if h.unit.code == actor.unit
            ]
            others = [h for h in state.helpers if h.unit.code != actor.unit]
            assert others == [h for h in previous.helpers if h.unit.code != actor.unit]
            assert len(others) == len(state.helpers) - 1
        case Conclude():
            want, facts = S.CONCLUDED, ["case.concluded"]
            assert command.result.strip()
        case ConcludeAtDesk():
            want, facts = S.CONCLUDED, ["case.concluded"]
            assert same is S.RECEIVED and command.result.strip()
            assert out.facts[0][1] == CaseConcluded(
                result=command.result, by=actor.user, at_desk=True, revisit=command.revisit
            )
        case Verify(passed=True):
            want, facts = same, ["case.verified"]
            assert state.verified
        case Verify():
            want, facts = reworked(previous), ["case.verified", "case.reopened"]
            assert not any(h.concluded for h in state.helpers)
        case Revisit(satisfaction="unsatisfied"):
            want, facts = reworked(previous), ["case.reopened"]
        case Revisit():
            want, facts = S.CLOSED, ["case.closed"]
        case Escalate():
            want, facts = S.PENDING_DISPATCH, ["case.escalated"]
            assert LEVELS.index(state.level) > LEVELS.index(previous.level)
            assert state.level == command.to_level
        case RequestExtension():
            want, facts = same, ["case.extension_requested"]
            assert previous.extension is None
            assert previous.deadlines is not None
            assert command.until > previous.deadlines.resolve_by
            assert command.reason.strip()
            assert state.extension is not None
            assert previous.assignee is not None
            assert state.extension.unit == previous.assignee.code
        case DecideExtension():
            want, facts = same, ["case.extension_decided"]
            assert previous.extension is not None
            assert previous.deadlines is not None
            assert state.deadlines is not None
            until = previous.extension.until if command.approve else previous.deadlines.resolve_by
            assert state.deadlines.resolve_by == until
            assert state.deadlines.respond_by == previous.deadlines.respond_by
            assert state.deadlines.feedback_by == previous.deadlines.feedback_by
            assert state.extension is None
        case ResolveOnSite():
            want, facts = S.RESOLVED_ON_SITE, ["case.resolved_on_site"]
        case Merge():
            want, facts = S.MERGED, ["case.merged"]
            assert state.merged_into == command.into
        case ReviewReturn(approve=True):
            want, facts = same, ["case.return_reviewed"]
            assert previous.return_review is not None and state.return_review is None
        case ReviewReturn():
            want, facts = S.DISPATCHED, ["case.return_reviewed", "case.dispatched"]
            assert state.assignee == previous.return_review is not None
        case AppealRating():
            want, facts = same, ["case.rating_appealed"]
            assert previous.satisfaction == "unsatisfied" and state.appeal == "pending"
        case DecideAppeal(upheld=True):
            want, facts = S.CLOSED, ["case.rating_appeal_decided"]
            assert previous.appeal == "pending" and state.satisfaction is None
        case DecideAppeal():
            want, facts = same, ["case.rating_appeal_decided"]
            assert state.satisfaction == "unsatisfied" and state.appeal == "rejected"
        case Regrade():
            want, facts = same, ["case.risk_changed"]
            assert previous.risk != command.risk == state.risk
        case _:
            raise AssertionError(f"unexpected command {command!r}")
    assert state.status is want
    assert types == facts
    if isinstance(command, Revisit):
        assert state.satisfaction == command.satisfaction
    check_fact_data(previous, command, actor, out)


def check_fact_data(previous: CaseState, command: Command, actor: Actor, out: Outcome) -> None:
    """What each fact says agrees with the command, the actor and the states around it."""
    state = out.state
    for _, data in out.facts:
        if "by" in type(data).model_fields:
            assert getattr(data, "by") == actor.user  # noqa: B009
        match data:
            case CaseDispatched():
                assert data.dispatched_by == actor.user
                assert (data.assignee, data.level, data.deadlines) == (
                    state.assignee,
                    state.level,
                    state.deadlines,
                )
                assert data.helpers == [h.unit for h in state.helpers]
            case CaseAccepted(role="lead"):
                assert data.assignee == state.assignee
                assert actor.unit in (None, data.assignee.code)
            case CaseAccepted():
                assert data.role == "assist"
                assert data.assignee.code == actor.unit
                assert data.assignee in [h.unit for h in state.helpers]
            case CaseReturned():
                assert data.assignee == previous.assignee
                assert isinstance(command, Return)
                assert data.reason == command.reason
            case CaseEscalated():
                assert isinstance(command, Escalate)
                assert (data.from_level, data.to_level) == (previous.level, state.level)
                assert data.supervisors == list(command.supervisors)
                assert (data.unit, data.reason) == (command.unit, command.reason)
            case CaseVerified():
                assert isinstance(command, Verify)
                assert (data.passed, data.note) == (command.passed, command.note)
            case CaseClosed():
                assert data.satisfaction == state.satisfaction
            case CaseExtensionRequested():
                assert isinstance(command, RequestExtension)
                assert (data.until, data.reason) == (command.until, command.reason)
            case CaseExtensionDecided():
                assert isinstance(command, DecideExtension)
                assert previous.extension is not None
                assert (data.approved, data.until) == (command.approve, previous.extension.until)
                assert data.deadlines == state.deadlines
            case CaseMerged():
                assert data.into == state.merged_into


@settings(max_examples=200, deadline=None)
@given(data=st.data(), length=st.integers(min_value=0, max_value=40))
def test_random_command_sequences_keep_the_invariants(data: st.DataObject, length: int) -> None:
    state = CaseState(status=S.RECEIVED, level="micro_grid")
    reopened = returned = 0
    for _ in range(length):
        command, actor, minutes = guided_step(data, state)
        at = T0 + timedelta(minutes=minutes)
        before = copy.deepcopy(state)
        try:
            out = handle(state, command, actor, at)
        except IllegalTransition as error:
            assert error.status is state.status
            assert error.allowed == allowed_actions(state)
            assert f"a case that is {state.status.value}" in str(error)
            assert state == before
            continue
        except NotYourCase:
            # only a named unit other than the lead: a stranger, or a helper returning; a
            # concluded case's "unsatisfied" is appealed (不满意甄别) by its lead alone
            assert state.status in OPEN | {S.CONCLUDED}
            assert state.assignee is not None
            assert actor.unit is not None
            assert actor.unit != state.assignee.code
            assert state == before
            continue
        assert state == before, "handle mutated its input"
        check_invariants(state, out, actor, at)
        check_landing(state, command, actor, out)
        types = fact_types(out)
        reopened += types.count("case.reopened")
        returned += types.count("case.returned")
        state = out.state
        assert state.reopens == reopened
        assert state.returns == returned


@settings(max_examples=200, deadline=None)
@given(steps=steps_st)
def test_refusals_agree_with_the_table(steps: list[tuple[Command, Actor, int]]) -> None:
    """Uniformly random commands: refused for the status alone exactly when the DESIGN's table
    forbids the action in that status; otherwise accepted or refused with a reason given."""
    state = CaseState(status=S.RECEIVED, level="micro_grid")
    for command, actor, minutes in steps:
        action = ACTION_OF[type(command)]
        try:
            out = handle(state, command, actor, T0 + timedelta(minutes=minutes))
        except IllegalTransition as error:
            for_status_alone = str(error).split("; allowed now")[0] == (
                f"cannot {action} a case that is {state.status.value}"
            )
            assert for_status_alone is (state.status.value not in DESIGN_SOURCES[action])
            continue
        except NotYourCase:
            continue
        assert state.status.value in DESIGN_SOURCES[action]
        assert action in allowed_actions(state)
        state = out.state


# --- refusals added after review ------------------------------------------------------------


def test_a_helper_cannot_report_its_part_twice() -> None:
    state = dispatched(Helper(HELPER_A, accepted=True, concluded=True), status=S.IN_PROGRESS)
    with pytest.raises(IllegalTransition, match="has reported its part already") as refused:
        handle(state, Conclude("又办完了"), HELPER_A_ACTOR, T0)
    assert refused.value.status is S.IN_PROGRESS


def test_a_helper_cannot_feed_back_before_signing_for_its_part() -> None:
    state = dispatched(Helper(HELPER_A), status=S.ACCEPTED)
    with pytest.raises(IllegalTransition, match="has not signed for its part"):
        handle(state, Feedback("已到现场"), HELPER_A_ACTOR, T0)
    signed = dispatched(Helper(HELPER_A, accepted=True), status=S.ACCEPTED)
    assert handle(signed, Feedback("已到现场"), HELPER_A_ACTOR, T0).state.status is S.IN_PROGRESS


def test_a_helper_named_twice_is_refused() -> None:
    state = CaseState(status=S.PENDING_DISPATCH, level="district")
    command = Dispatch(LEAD, "district", DEADLINES, helpers=(HELPER_A, HELPER_A))
    with pytest.raises(IllegalTransition, match="a helper is named twice"):
        handle(state, command, OPERATOR, T0)


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_escalation_needs_a_reason(reason: str) -> None:
    with pytest.raises(IllegalTransition, match="a reason is required"):
        handle(dispatched(), Escalate("street", reason), LEAD_ACTOR, T0)


def test_a_desk_case_reopened_waits_for_dispatch_since_no_unit_ever_held_it() -> None:
    """直办 concluded at the desk, then the citizen is unsatisfied: no unit holds the case to
    work it again, so it waits for one click (转), as a case no rule could route does."""
    received = CaseState(status=S.RECEIVED, level="district")
    concluded = handle(received, AT_DESK, OPERATOR, T0).state
    assert concluded.status is S.CONCLUDED and concluded.assignee is None
    out = handle(concluded, Revisit(satisfaction="unsatisfied"), OPERATOR, T0)
    assert out.state.status is S.PENDING_DISPATCH
    assert out.state.reopens == 1
    assert fact_types(out) == ["case.reopened"]
    assert "dispatch" in allowed_actions(out.state)


def test_a_regrade_to_the_same_risk_is_refused_and_the_risk_is_kept_afterwards() -> None:
    state = replace(base_state(S.ACCEPTED), risk="yellow")
    error = assert_refused(state, Regrade(risk="yellow", reason="再次确认"), OPERATOR, "regrade")
    assert "yellow already" in str(error)
    out = handle(state, Regrade(risk="blue", reason="经核实为一般诉求"), OPERATOR, AT)
    assert (out.state.risk, out.state.status) == ("blue", S.ACCEPTED)
    later = handle(out.state, Feedback(note="已联系"), LEAD_ACTOR, AT)
    assert later.state.risk == "blue"
