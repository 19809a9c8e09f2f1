"""信访 by the law: the petition's own clocks (``kernel.petition``: 受理告知 15 days, 办理 60 days
of acceptance, one extension of at most 30, 复查 and 复核 asked within 30 days of the answer and
answered within 30), and the lifecycle steps that keep them (acknowledge, extend, answer,
request_review) through dispatch's handlers over the in-memory unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.actions import (
    AcceptAction,
    AcknowledgeAction,
    AnswerAction,
    ConcludeAction,
    DispatchAction,
    ExtendAction,
    LifecycleAction,
    RequestReviewAction,
)
from contracts.events import PetitionAnswered, PetitionReviewRequested
from kernel.petition import (
    BEIJING,
    PetitionLimits,
    PetitionPlan,
    PetitionRefused,
    end_of_day_after,
)
from kernel.sla import SlaPolicy
from services.dispatch import handlers
from services.dispatch.commands import ActOnCase, BadCommand
from services.dispatch.config import DispatchConfig
from services.dispatch.lifecycle import Actor, IllegalTransition
from tests.support.fake_dispatch import FakeDispatchUnitOfWork
from tests.unit.test_dispatch_handlers import NOW, POLLUTION, config, county_grid, received

__all__ = ["config"]  # the module's fixture, shared

PLAN = PetitionPlan()
FILED = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 1 March, 10:00 in the county
SUPERVISOR = Actor("sup-1", "supervisor")
HANDLER = Actor("h-1", "handler")
OPERATOR = Actor("op-1", "operator")


def beijing(day: str) -> datetime:
    """The end of a Beijing day, as a limit runs out."""
    return datetime.fromisoformat(day).replace(tzinfo=BEIJING) + timedelta(days=1)


# --- the clocks -----------------------------------------------------------------------------


def test_a_filed_petition_must_be_acknowledged_in_15_days_and_answered_in_60() -> None:
    clocks = PLAN.filed(FILED)
    assert clocks.acknowledge_by == beijing("2026-03-16")
    assert clocks.answer_by == beijing("2026-04-30")
    assert clocks.stage == "handling" and clocks.accepted_at is None


def test_acceptance_counts_the_answer_from_its_own_day() -> None:
    accepted = PLAN.acknowledged(PLAN.filed(FILED), FILED + timedelta(days=10))
    assert accepted.answer_by == beijing("2026-05-10")
    assert accepted.acknowledge_by == beijing("2026-03-16")  # kept: it was met or not
    with pytest.raises(PetitionRefused):
        PLAN.acknowledged(accepted, FILED + timedelta(days=11))


def test_the_day_of_filing_is_not_counted_late_evening_included() -> None:
    late = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 23:30 on 1 March in Beijing
    assert PLAN.filed(late).acknowledge_by == beijing("2026-03-16")
    after_midnight = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 00:30 on 2 March
    assert PLAN.filed(after_midnight).acknowledge_by == beijing("2026-03-17")


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1),
                    timezones=st.just(UTC)), st.integers(1, 365))  # fmt: skip
def test_n_days_run_out_at_a_beijing_midnight_more_than_n_days_later(
    start: datetime, days: int
) -> None:
    due = end_of_day_after(start, days)
    assert due.astimezone(BEIJING).time().hour == 0
    assert timedelta(days=days) < due - start <= timedelta(days=days + 1)


def test_one_extension_of_at_most_30_days() -> None:
    accepted = PLAN.acknowledged(PLAN.filed(FILED), FILED)
    latest = accepted.answer_by + timedelta(days=30)
    PLAN.check_extension(accepted, latest)
    with pytest.raises(PetitionRefused, match="30"):
        PLAN.check_extension(accepted, latest + timedelta(seconds=1))
    with pytest.raises(PetitionRefused, match="一次"):
        PLAN.check_extension(PLAN.extended(accepted, latest), latest)


def test_a_review_is_asked_within_30_days_of_the_answer_and_answered_in_30() -> None:
    accepted = PLAN.acknowledged(PLAN.filed(FILED), FILED)
    answered = PLAN.answered(accepted, datetime(2026, 4, 1, 2, 0, tzinfo=UTC))
    assert answered.review_asked_by == beijing("2026-05-01")
    review = PLAN.review_asked(answered, datetime(2026, 4, 20, 2, 0, tzinfo=UTC))
    assert (review.stage, review.answer_by) == ("review", beijing("2026-05-20"))
    assert review.answered_at is None and not review.extended


def test_a_late_review_is_refused_with_the_day_it_fell_due() -> None:
    answered = PLAN.answered(PLAN.acknowledged(PLAN.filed(FILED), FILED), FILED)
    with pytest.raises(PetitionRefused, match="2026-03-31") as refusal:
        PLAN.review_asked(answered, beijing("2026-03-31"))
    assert refusal.value.fell_due == beijing("2026-03-31")


def test_a_re_review_follows_a_review_and_nothing_follows_a_re_review() -> None:
    clocks = PLAN.answered(PLAN.acknowledged(PLAN.filed(FILED), FILED), FILED)
    clocks = PLAN.answered(PLAN.review_asked(clocks, FILED), FILED)
    re_review = PLAN.review_asked(clocks, FILED)
    assert re_review.stage == "re_review"
    final = PLAN.answered(re_review, FILED)
    assert final.review_asked_by is None
    with pytest.raises(PetitionRefused, match="最终"):
        PLAN.review_asked(final, FILED)


def test_the_limits_come_from_sla_yml_and_a_wrong_one_names_its_field() -> None:
    text = "default: {respond: PT2H, feedback: PT24H, resolve: P5D}\n"
    policy = SlaPolicy.from_text(text + "petition:\n  acknowledge: 10\n")
    assert policy.petition == PetitionLimits(acknowledge=10)
    assert SlaPolicy.from_text(text).petition == PetitionLimits()
    with pytest.raises(Exception, match=r"line 3.*petition.answr"):
        SlaPolicy.from_text(text + "petition:\n  answr: 10\n")
    with pytest.raises(Exception, match="whole number of days"):
        SlaPolicy.from_text(text + "petition:\n  answer: sixty\n")


# --- the steps, through dispatch ------------------------------------------------------------


def act(uow: FakeDispatchUnitOfWork, config: DispatchConfig, action: LifecycleAction,
        at: datetime, actor: Actor = HANDLER) -> Any:  # fmt: skip
    return handlers.act(uow, ActOnCase("P-1", action, actor), county_grid(), config, at)


def petition(uow: FakeDispatchUnitOfWork, config: DispatchConfig) -> None:
    filed = received("P-1", channel="petition", source="petition", form="letter", **POLLUTION)
    handlers.route_cases(uow, [filed], county_grid(), config, NOW)
    if uow.stored("P-1").status == "pending_dispatch":  # petitions wait for a person's click
        act(uow, config, DispatchAction(), NOW, OPERATOR)


def test_a_petition_is_dispatched_with_its_own_deadlines(config: DispatchConfig) -> None:
    uow = FakeDispatchUnitOfWork()
    petition(uow, config)
    case = uow.stored("P-1")
    filed = NOW - timedelta(minutes=1)
    assert case.status == "dispatched"
    dispatched = next(e.data for e in uow.events if e.type == "case.dispatched")
    assert dispatched.deadlines.acknowledge_by == PLAN.filed(filed).acknowledge_by
    assert dispatched.deadlines.answer_by == PLAN.filed(filed).answer_by
    assert "acknowledge" in case.view().actions and "answer" not in case.view().actions


def test_a_petition_walks_acceptance_extension_answer_review_and_re_review(
    config: DispatchConfig,
) -> None:
    uow = FakeDispatchUnitOfWork()
    petition(uow, config)
    day = timedelta(days=1)
    act(uow, config, AcceptAction(), NOW + day)
    seen = act(uow, config, AcknowledgeAction(note="已受理"), NOW + 2 * day)
    assert seen.deadlines.answer_by == end_of_day_after(NOW + 2 * day, 60)
    with pytest.raises(IllegalTransition, match="answer"):
        act(uow, config, ConcludeAction(result="已办"), NOW + 3 * day)

    latest = seen.deadlines.answer_by + timedelta(days=30)
    with pytest.raises(BadCommand, match="until: 延长期限不得超过30日"):
        act(uow, config, ExtendAction(until=latest + day, reason="需现场核查"), NOW + 3 * day)
    act(uow, config, ExtendAction(until=latest, reason="需现场核查"), NOW + 3 * day)
    with pytest.raises(IllegalTransition, match="only a supervisor decides"):
        act(uow, config, ExtendAction(approve=True), NOW + 4 * day)  # the unit's handler
    extended = act(uow, config, ExtendAction(approve=True), NOW + 4 * day, SUPERVISOR)
    assert extended.deadlines.answer_by == latest and extended.petition["extended"] is True
    with pytest.raises(BadCommand, match="只能延长一次"):
        act(uow, config, ExtendAction(until=latest + day, reason="再延"), NOW + 5 * day)

    answered = act(uow, config, AnswerAction(opinion="经核查，责令企业整改。"), NOW + 30 * day)
    assert answered.status == "concluded" and answered.petition["answered_at"]
    review = act(uow, config, RequestReviewAction(reason="整改不到位"), NOW + 50 * day,
                 OPERATOR)  # fmt: skip
    assert (review.status, review.petition["stage"]) == ("pending_dispatch", "review")
    assert review.level == "district" and review.deadlines is None

    unit = answered.assignee.code
    act(uow, config, DispatchAction(assignee=unit), NOW + 51 * day, OPERATOR)
    act(uow, config, AcceptAction(), NOW + 52 * day)
    reviewed = act(uow, config, AnswerAction(opinion="复查维持原处理意见"), NOW + 60 * day)
    assert reviewed.petition["review_asked_by"] is not None
    re_review = act(uow, config, RequestReviewAction(reason="仍不服"), NOW + 61 * day, OPERATOR)
    assert re_review.petition["stage"] == "re_review"
    act(uow, config, DispatchAction(assignee=unit), NOW + 62 * day, OPERATOR)
    act(uow, config, AcceptAction(), NOW + 62 * day)
    final = act(uow, config, AnswerAction(opinion="复核维持"), NOW + 70 * day)
    assert final.petition["review_asked_by"] is None and "request_review" not in final.actions

    types = [e.type for e in uow.events]
    assert types.count("petition.answered") == 3 and types.count("petition.review_requested") == 2
    asked = next(e.data for e in uow.events if isinstance(e.data, PetitionReviewRequested))
    assert asked.answer_by == end_of_day_after(NOW + 50 * day, 30)
    stages = [e.data.stage for e in uow.events if isinstance(e.data, PetitionAnswered)]
    assert stages == ["handling", "review", "re_review"]


def test_a_late_review_is_refused_naming_the_day(config: DispatchConfig) -> None:
    uow = FakeDispatchUnitOfWork()
    petition(uow, config)
    act(uow, config, AcceptAction(), NOW)
    act(uow, config, AcknowledgeAction(), NOW)
    answered_at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    act(uow, config, AnswerAction(opinion="答复"), answered_at)
    with pytest.raises(BadCommand, match=r"action: 复查申请已超过30日期限（截止2026-12-31）"):
        act(uow, config, RequestReviewAction(reason="不服"), beijing("2026-12-31"), OPERATOR)
    assert uow.stored("P-1").status == "concluded"


def test_no_answer_before_acceptance_and_no_petition_step_on_other_lines(
    config: DispatchConfig,
) -> None:
    uow = FakeDispatchUnitOfWork()
    petition(uow, config)
    act(uow, config, AcceptAction(), NOW)
    with pytest.raises(BadCommand, match="尚未受理告知"):
        act(uow, config, AnswerAction(opinion="答复"), NOW)
    other = FakeDispatchUnitOfWork()
    handlers.route_cases(other, [received("P-1", **POLLUTION)], county_grid(), config, NOW)
    with pytest.raises(BadCommand, match="only a petition"):
        act(other, config, AcknowledgeAction(), NOW)
    assert "acknowledge" not in other.stored("P-1").view().actions
