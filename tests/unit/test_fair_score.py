"""A fair score (一单考评): the lifecycle of 退单审核 (return review) and 不满意甄别 (rating
appeal), and how an assignment's figures follow their decisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from contracts.events import (
    CASE_DISPATCHED,
    CASE_RATING_APPEAL_DECIDED,
    CASE_RATING_APPEALED,
    CASE_RETURN_REVIEWED,
    Assignee,
    CaseReturnReviewed,
    Deadlines,
    RatingAppealDecided,
)
from services.dispatch.lifecycle import (
    Accept,
    Actor,
    AppealRating,
    CaseState,
    CaseStatus,
    Conclude,
    DecideAppeal,
    Dispatch,
    IllegalTransition,
    NotYourCase,
    Return,
    ReviewReturn,
    Revisit,
    allowed_actions,
    handle,
)
from services.supervision.assessment import AssignmentRecord
from services.supervision.domain import Fact, PlannedClock, settle
from services.supervision.tallies import tally_of

S = CaseStatus
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
LEAD = Assignee(kind="department", code="D-CG", name="城管局")
OTHER = Assignee(kind="department", code="D-SW", name="水务局")
HELPER = Assignee(kind="grid", code="G-0101", name="幸福社区第一网格")
LIMITS = Deadlines(respond_by=T0 + 2 * HOUR, feedback_by=T0 + 24 * HOUR,
                   resolve_by=T0 + 120 * HOUR)  # fmt: skip
OPERATOR = Actor("op-1", "operator")
SUPERVISOR = Actor("sup-1", "supervisor")
UNIT = Actor("h-lead", "handler", LEAD.code)


def to(unit: Assignee, at: datetime = T0) -> Dispatch:
    return Dispatch(assignee=unit, level="district", deadlines=replace_limits(at))


def replace_limits(at: datetime) -> Deadlines:
    return Deadlines(respond_by=at + 2 * HOUR, feedback_by=at + 24 * HOUR,
                     resolve_by=at + 120 * HOUR)  # fmt: skip


def returned() -> CaseState:
    """Dispatched to LEAD, which returned it."""
    state = handle(CaseState(status=S.PENDING_DISPATCH, level="district"), to(LEAD), OPERATOR,
                   T0).state  # fmt: skip
    return handle(state, Return("非本单位职责"), UNIT, T0 + HOUR).state


def rated_unsatisfied() -> CaseState:
    """Dispatched to LEAD, concluded, and the citizen answered "unsatisfied" (reopened)."""
    state = handle(CaseState(status=S.PENDING_DISPATCH, level="district"), to(LEAD), OPERATOR,
                   T0).state  # fmt: skip
    for command in (Accept(), Conclude("已处理")):
        state = handle(state, command, UNIT, T0 + HOUR).state
    return handle(state, Revisit("unsatisfied", "没修好"), OPERATOR, T0 + 2 * HOUR).state


# --- 退单审核 ------------------------------------------------------------------------------


def test_a_return_waits_for_the_centres_check() -> None:
    state = returned()
    assert state.status is S.PENDING_DISPATCH
    assert state.return_review == LEAD
    assert "review_return" in allowed_actions(state)


def test_an_approved_return_keeps_the_case_waiting_for_dispatch() -> None:
    out = handle(returned(), ReviewReturn(approve=True, note="确非职责"), OPERATOR, T0 + 2 * HOUR)
    assert out.state.status is S.PENDING_DISPATCH
    assert out.state.return_review is None
    assert out.step.action == "review_return"
    assert out.step.reason == "approved: 确非职责"
    assert [(spec, data) for spec, data in out.facts] == [
        (CASE_RETURN_REVIEWED, CaseReturnReviewed(assignee=LEAD, approved=True, note="确非职责",
                                                  by="op-1")),
    ]  # fmt: skip
    assert "review_return" not in allowed_actions(out.state)


def test_a_refused_return_goes_back_to_the_unit_that_returned_it() -> None:
    at = T0 + 2 * HOUR
    out = handle(returned(), ReviewReturn(False, to(LEAD, at), "属本单位职责"), OPERATOR, at)
    assert out.state.status is S.DISPATCHED
    assert out.state.assignee == LEAD
    assert out.state.deadlines == replace_limits(at)
    assert out.state.return_review is None
    assert out.state.returns == 1  # the return stays on the case's record
    assert (out.step.action, out.step.from_status, out.step.to_status) == (
        "review_return", S.PENDING_DISPATCH, S.DISPATCHED)  # fmt: skip
    assert [spec for spec, _ in out.facts] == [CASE_RETURN_REVIEWED, CASE_DISPATCHED]
    reviewed = out.facts[0][1]
    assert isinstance(reviewed, CaseReturnReviewed) and reviewed.approved is False


def test_a_refused_return_cannot_go_to_another_unit() -> None:
    with pytest.raises(IllegalTransition, match="unit that returned it"):
        handle(returned(), ReviewReturn(False, to(OTHER)), OPERATOR, T0 + 2 * HOUR)
    with pytest.raises(IllegalTransition, match="unit that returned it"):
        handle(returned(), ReviewReturn(False, None), OPERATOR, T0 + 2 * HOUR)


def test_no_review_without_a_return_waiting() -> None:
    waiting = CaseState(status=S.PENDING_DISPATCH, level="district")
    with pytest.raises(IllegalTransition, match="no return waits for review"):
        handle(waiting, ReviewReturn(True), OPERATOR, T0)


def test_dispatching_elsewhere_leaves_the_return_unreviewed() -> None:
    out = handle(returned(), to(OTHER), OPERATOR, T0 + 2 * HOUR)
    assert out.state.return_review is None
    assert "review_return" not in allowed_actions(out.state)


# --- 不满意甄别 ----------------------------------------------------------------------------


def test_only_an_unsatisfied_rating_can_be_appealed() -> None:
    state = rated_unsatisfied()
    assert state.status is S.IN_PROGRESS
    assert "appeal" in allowed_actions(state)
    satisfied = replace(state, satisfaction="satisfied")
    assert "appeal" not in allowed_actions(satisfied)
    with pytest.raises(IllegalTransition, match='no "unsatisfied" to appeal'):
        handle(satisfied, AppealRating("理由"), UNIT, T0 + 3 * HOUR)


def test_the_unit_appeals_with_its_reasons_once() -> None:
    out = handle(rated_unsatisfied(), AppealRating("诉求超出政策范围"), UNIT, T0 + 3 * HOUR)
    assert out.state.appeal == "pending"
    assert out.state.status is S.IN_PROGRESS
    assert [spec for spec, _ in out.facts] == [CASE_RATING_APPEALED]
    assert "appeal" not in allowed_actions(out.state)
    assert "decide_appeal" in allowed_actions(out.state)
    with pytest.raises(IllegalTransition):
        handle(out.state, AppealRating("再次申请"), UNIT, T0 + 4 * HOUR)


def test_an_appeal_needs_a_reason_and_the_lead_unit() -> None:
    with pytest.raises(IllegalTransition, match="a reason is required"):
        handle(rated_unsatisfied(), AppealRating("  "), UNIT, T0 + 3 * HOUR)
    helped = replace(rated_unsatisfied(), helpers=())
    with pytest.raises(NotYourCase):
        handle(helped, AppealRating("理由"), Actor("x", "handler", "D-XX"), T0 + 3 * HOUR)


def test_an_upheld_appeal_closes_the_case_and_drops_the_rating() -> None:
    pending = handle(rated_unsatisfied(), AppealRating("理由"), UNIT, T0 + 3 * HOUR).state
    out = handle(pending, DecideAppeal(True, "答复合规"), SUPERVISOR, T0 + 4 * HOUR)
    assert out.state.status is S.CLOSED  # not reopened again for it
    assert out.state.satisfaction is None
    assert out.state.appeal == "upheld"
    assert allowed_actions(out.state) == []
    assert [(spec, data) for spec, data in out.facts] == [
        (CASE_RATING_APPEAL_DECIDED, RatingAppealDecided(upheld=True, note="答复合规", by="sup-1"))
    ]


def test_a_rejected_appeal_keeps_the_rating_and_the_rework() -> None:
    pending = handle(rated_unsatisfied(), AppealRating("理由"), UNIT, T0 + 3 * HOUR).state
    out = handle(pending, DecideAppeal(False, "答复不到位"), SUPERVISOR, T0 + 4 * HOUR)
    assert out.state.status is S.IN_PROGRESS
    assert out.state.satisfaction == "unsatisfied"
    assert out.state.appeal == "rejected"
    assert "appeal" not in allowed_actions(out.state)  # one appeal per rating
    # reworked and rated "unsatisfied" again: a new rating, which may be appealed
    again = handle(out.state, Conclude("再次处理"), UNIT, T0 + 5 * HOUR).state
    again = handle(again, Revisit("unsatisfied"), OPERATOR, T0 + 6 * HOUR).state
    assert again.appeal is None
    assert "appeal" in allowed_actions(again)


def test_no_decision_without_a_pending_appeal() -> None:
    with pytest.raises(IllegalTransition, match="no appeal is pending"):
        handle(rated_unsatisfied(), DecideAppeal(True), SUPERVISOR, T0 + 3 * HOUR)


# --- the score -----------------------------------------------------------------------------

CLOCKS = [PlannedClock(kind, T0, T0 + HOUR, T0 + due * HOUR)
          for kind, due in (("respond", 2), ("feedback", 24), ("resolve", 120))]  # fmt: skip


def figures(*facts: Fact) -> dict[str, int]:
    """What the assignment dispatched at T0 adds to its unit's day, given its facts."""
    settled = settle(T0, None, facts, CLOCKS, 0.8, True)
    record = AssignmentRecord(
        case_id="C-1", assignee_kind="department", assignee_code=LEAD.code,
        assignee_name=LEAD.name, level="district", dispatched_at=T0, clocks=(),
        returned=settled.returned, concluded=settled.concluded, reopened=settled.reopened,
        satisfaction=settled.satisfaction, orders=(),  # type: ignore[arg-type]
    )  # fmt: skip
    return tally_of(record)


RETURNED = Fact("returned", T0 + HOUR)
CONCLUDED = Fact("concluded", T0 + 2 * HOUR)
UNSATISFIED = Fact("reopened", T0 + 3 * HOUR, satisfaction="unsatisfied")


def test_an_approved_return_does_not_count_against_the_unit() -> None:
    assert figures(RETURNED)["returned"] == 1  # waiting for the check: counted
    assert figures(RETURNED, Fact("return_approved", T0 + 2 * HOUR))["returned"] == 0


def test_a_refused_return_counts_against_the_unit() -> None:
    assert figures(RETURNED, Fact("return_refused", T0 + 2 * HOUR))["returned"] == 1


def test_an_upheld_appeal_takes_the_rating_and_its_rework_out_of_the_score() -> None:
    rated = figures(CONCLUDED, UNSATISFIED, Fact("appealed", T0 + 4 * HOUR))
    assert (rated["revisited"], rated["satisfied"], rated["reopened"]) == (1, 0, 1)
    upheld = figures(CONCLUDED, UNSATISFIED, Fact("appeal_upheld", T0 + 5 * HOUR))
    assert (upheld["revisited"], upheld["satisfied"], upheld["reopened"]) == (0, 0, 0)
    assert upheld["concluded"] == 1


def test_a_rejected_appeal_leaves_the_rating_in_the_score() -> None:
    rejected = figures(CONCLUDED, UNSATISFIED, Fact("appeal_rejected", T0 + 5 * HOUR))
    assert (rejected["revisited"], rejected["satisfied"], rejected["reopened"]) == (1, 0, 1)


def test_an_upheld_appeal_excuses_only_the_rating_it_contested() -> None:
    failed_check = Fact("reopened", T0 + 150 * HOUR)  # 核查未通过: no rating, still rework
    first = Fact("reopened", T0 + 3 * HOUR, satisfaction="unsatisfied")
    later = Fact("reopened", T0 + 6 * HOUR, satisfaction="unsatisfied")
    upheld = Fact("appeal_upheld", T0 + 7 * HOUR)
    counted = figures(CONCLUDED, first, later, upheld)
    assert (counted["revisited"], counted["reopened"]) == (1, 1)  # the first one stays
    assert figures(CONCLUDED, failed_check)["reopened"] == 1
