"""A fair score, the rest (issue 23 §4): on-site resolutions (就地化解) credited and
spot-revisited (抽查回访), per-person figures, accountability records' request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.events import (
    CASE_REOPENED,
    CASE_RESOLVED_ON_SITE,
    CaseReopened,
    CaseResolvedOnSite,
    Envelope,
)
from contracts.rpc import AccountabilityRequest, OrderRequest
from services.supervision import handlers
from services.supervision.accountability import NotARedCard, open_record
from services.supervision.assessment import (
    AssessmentConfig,
    AssessmentConfigError,
    AssignmentRecord,
    OnSite,
    Weights,
    assess,
)
from services.supervision.commands import IssueOrder
from services.supervision.domain import ON_SITE, Fact, settle
from services.supervision.models import Assignment, ClockRow, Mark
from services.supervision.on_site import SPOT_CHECK, spot_checked, spot_draw
from services.supervision.orders import UnknownOrder
from services.supervision.people import PersonStep, figures_of, step_of
from services.supervision.tallied import TALLIED
from services.supervision.tallies import UnitTotals, assessment_of, tally_of
from tests.support.fake_supervision import FakeSupervisionUnitOfWork
from tests.unit.test_supervision_handlers import AT, GRID, POLICY, TERRITORY, dispatched

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
CONFIG = AssessmentConfig(Weights(satisfaction=1, no_reopen=1))


# --- the spot draw ------------------------------------------------------------------------------


def test_the_draw_is_the_case_ids_hash_and_the_same_every_time() -> None:
    # SHA-256("C-1") begins 0x1f1d…: recomputable by anyone from the id alone
    import hashlib

    expected = int.from_bytes(hashlib.sha256(b"C-1").digest()[:8], "big") / 2**64
    assert spot_draw("C-1") == expected == spot_draw("C-1")


@given(st.text(min_size=1, max_size=32))
def test_the_draw_falls_in_the_unit_interval(case_id: str) -> None:
    assert 0 <= spot_draw(case_id) < 1


@given(st.text(min_size=1, max_size=32), st.floats(0, 1), st.floats(0, 1))
def test_a_larger_share_keeps_every_case_a_smaller_one_drew(
    case_id: str, low: float, high: float
) -> None:
    low, high = sorted((low, high))
    assert not spot_checked(case_id, low) or spot_checked(case_id, high)


def test_none_and_all_and_about_the_share_in_between() -> None:
    ids = [f"C-2026-{n:05d}" for n in range(2000)]
    assert not any(spot_checked(i, 0.0) for i in ids)
    assert all(spot_checked(i, 1.0) for i in ids)
    drawn = sum(spot_checked(i, 0.2) for i in ids)
    assert 320 <= drawn <= 480  # 20 % of 2000, give or take what chance gives


def test_the_share_is_read_from_assessment_yml_and_refused_above_one() -> None:
    text = "weights: {satisfaction: 1}\non_site:\n  spot_revisit: 0.25\n"
    assert AssessmentConfig.from_text(text).on_site == OnSite(spot_revisit=0.25)
    assert AssessmentConfig.from_text("weights: {satisfaction: 1}").on_site == OnSite()
    with pytest.raises(AssessmentConfigError, match=r"line 3: on_site\.spot_revisit: is a share"):
        AssessmentConfig.from_text("weights: {satisfaction: 1}\non_site:\n  spot_revisit: 2\n")
    with pytest.raises(AssessmentConfigError, match=r"on_site\.spot_revisit.*negative"):
        AssessmentConfig.from_text("weights: {satisfaction: 1}\non_site: {spot_revisit: -1}\n")


# --- an on-site resolution settled and counted -------------------------------------------------


def test_an_on_site_resolution_is_its_grids_concluded_assignment_ended_at_once() -> None:
    settled = settle(T0, None, [Fact(ON_SITE, T0)], [], 0.8, False)
    assert settled.concluded and not settled.returned and not settled.reopened
    assert (settled.ended_at, settled.ended_by) == (T0, ON_SITE)


def test_a_bad_spot_revisit_counts_as_rework_and_unsatisfied_against_the_grid() -> None:
    facts = [Fact(ON_SITE, T0), Fact("reopened", T0 + HOUR, "unsatisfied")]
    settled = settle(T0, None, facts, [], 0.8, False)
    assert settled.reopened and settled.satisfaction == "unsatisfied"
    good = settle(T0, None, [Fact(ON_SITE, T0), Fact("closed", T0 + HOUR, "satisfied")], [],
                  0.8, False)  # fmt: skip
    assert not good.reopened and good.satisfaction == "satisfied"


def test_the_resolution_does_not_fall_to_the_assignment_that_ended_before_it() -> None:
    earlier = T0 - 5 * HOUR
    facts = [Fact("returned", T0 - HOUR), Fact(ON_SITE, T0)]
    settled = settle(earlier, T0, facts, [], 0.8, False)
    assert settled.returned and not settled.concluded and settled.ended_by == "returned"


def record(
    on_site: bool, satisfaction: str | None = None, reopened: bool = False
) -> AssignmentRecord:
    return AssignmentRecord(
        case_id="C-1", assignee_kind="grid", assignee_code="G-0101", assignee_name="第一网格",
        level="grid", dispatched_at=T0, clocks=(), returned=False, concluded=True,
        reopened=reopened, satisfaction=satisfaction,  # type: ignore[arg-type]
        orders=(), on_site=on_site,
    )  # fmt: skip


def test_the_grid_is_credited_in_its_score_and_the_figure_shows() -> None:
    rows = assess([record(True, "satisfied"), record(True)], CONFIG, T0)
    assert [(r.resolved_on_site, r.dispatched, r.satisfaction_rate, r.score) for r in rows] == [
        (2, 2, 1.0, 100.0)
    ]
    worse = assess([record(True, "unsatisfied", reopened=True)], CONFIG, T0)[0]
    assert (worse.reopen_rate, worse.satisfaction_rate, worse.score) == (1.0, 0.0, 0.0)


def test_the_counters_agree_with_the_scan() -> None:
    records = [record(True, "satisfied"), record(True, "unsatisfied", True), record(False)]
    totals = dict.fromkeys(TALLIED, 0)
    for one in records:
        for metric, count in tally_of(one).items():
            totals[metric] += count
    assert totals["resolved_on_site"] == 2
    counted = assessment_of(UnitTotals("grid", "G-0101", "第一网格", totals), CONFIG)
    assert counted == assess(records, CONFIG, T0)[0]


# --- per-person figures -------------------------------------------------------------------------


def step(person: str, what: str, on_time: bool | None, kind: str = "department") -> PersonStep:
    return PersonStep(person, kind, "D-CG" if kind == "department" else "G-0101",
                      "城管局" if kind == "department" else "第一网格", what, on_time)  # type: ignore[arg-type]  # fmt: skip


def test_each_persons_steps_on_time_and_late() -> None:
    rows = figures_of([
        step("h-1", "accepted", True), step("h-1", "feedback", False),
        step("h-1", "concluded", True), step("gw-7", ON_SITE, None, "grid"),
    ])  # fmt: skip
    first, second = (row.as_dict() for row in rows)
    assert first == {
        "person": "h-1", "role": "handler", "unit_kind": "department", "unit_code": "D-CG",
        "unit_name": "城管局", "signed": 1, "fed_back": 1, "concluded": 1,
        "resolved_on_site": 0, "on_time": 2, "late": 1, "on_time_rate": 2 / 3,
    }  # fmt: skip
    assert (second["person"], second["role"], second["resolved_on_site"]) == (
        "gw-7",
        "grid_worker",
        1,
    )
    assert second["on_time_rate"] is None  # nothing timed: neither rewarded nor punished


def test_a_step_is_judged_by_its_own_clock_of_the_assignment_it_fell_to() -> None:
    held = Assignment(id="E-1", case_id="C-1", assignee_kind="department", assignee_code="D-CG",
                      assignee_name="城管局", level="district", dispatched_at=T0)  # fmt: skip
    clocks = [
        ClockRow(owner="E-1", kind="respond", due_at=T0 + 2 * HOUR),
        ClockRow(owner="E-1", kind="feedback", due_at=T0 + 24 * HOUR),
        ClockRow(owner="E-0", kind="respond", due_at=T0 - HOUR),  # an earlier dispatch's
    ]
    signed = Mark(what="accepted", at=T0 + 3 * HOUR, detail={"by": "h-1"}, case_id="C-1")
    fed = Mark(what="feedback", at=T0 + 3 * HOUR, detail={"by": "h-1"}, case_id="C-1")
    anonymous = Mark(what="accepted", at=T0, detail=None, case_id="C-1")
    assert step_of(signed, held, clocks) == PersonStep(
        "h-1", "department", "D-CG", "城管局", "accepted", False
    )
    assert step_of(fed, held, clocks).on_time is True  # type: ignore[union-attr]
    assert step_of(anonymous, held, clocks) is None  # older marks named no one


# --- the accountability record's request --------------------------------------------------------


def test_an_accountability_record_says_who_what_and_the_decision() -> None:
    wanted = AccountabilityRequest.model_validate(
        {"person": " 张三 ", "what": "逾期未办结", "decision": "通报批评"}
    )
    assert (wanted.person, wanted.what, wanted.decision) == ("张三", "逾期未办结", "通报批评")
    with pytest.raises(ValidationError) as refused:
        AccountabilityRequest.model_validate({"person": "  ", "what": "x"})
    assert {e["loc"][0] for e in refused.value.errors()} == {"person", "decision"}


# --- supervision following an on-site resolution, and opening a record (in memory) -------------


def resolved_on_site(case_id: str, at: datetime) -> Envelope[Any]:
    data = CaseResolvedOnSite(note="现场调解", by="gw-7", grid=GRID, territory=TERRITORY)
    return CASE_RESOLVED_ON_SITE.new(data, case_id=case_id, occurred_at=at)


def test_a_drawn_resolution_is_credited_to_its_grid_and_waits_for_a_spot_revisit() -> None:
    uow = FakeSupervisionUnitOfWork()
    resolved = resolved_on_site("CF-1", AT)
    handlers.follow(uow, [resolved], POLICY, spot_share=1.0)

    credited = uow.records.assignment_rows[resolved.event_id]
    assert (credited.assignee_code, credited.concluded, credited.ended_by) == (
        "G-0101",
        True,
        ON_SITE,
    )
    [waiting] = uow.records.clocks_of("CF-1")
    assert (waiting.kind, waiting.owner, waiting.state, waiting.assignee_code) == (
        "revisit",
        f"{SPOT_CHECK}{resolved.event_id}",
        "open",
        "centre",
    )
    detail = uow.records.marks[resolved.event_id].detail or {}
    assert detail["spot_check"] is True and detail["spot_share"] == 1.0
    assert detail["spot_draw"] == round(spot_draw("CF-1"), 6) and detail["by"] == "gw-7"
    assert uow.records.followed["CF-1"].territory == TERRITORY

    # the bad spot check: the grid's rework and dissatisfaction, no rework clock for it
    reopened = CASE_REOPENED.new(
        CaseReopened(reason="回访不满意", by="op", satisfaction="unsatisfied"),
        case_id="CF-1", occurred_at=AT + HOUR,
    )  # fmt: skip
    handlers.follow(uow, [reopened], POLICY, spot_share=1.0)
    assert (credited.reopened, credited.satisfaction) == (True, "unsatisfied")
    assert [(c.kind, c.state) for c in uow.records.clocks_of("CF-1")] == [("revisit", "stopped")]


def test_a_resolution_not_drawn_is_credited_and_waits_for_nobody() -> None:
    uow = FakeSupervisionUnitOfWork()
    resolved = resolved_on_site("CF-2", AT)
    handlers.follow(uow, [resolved], POLICY, spot_share=0.0)
    assert uow.records.assignment_rows[resolved.event_id].concluded
    assert uow.records.clocks_of("CF-2") == []
    assert (uow.records.marks[resolved.event_id].detail or {})["spot_check"] is False


def test_only_a_red_card_opens_an_accountability_record() -> None:
    uow = FakeSupervisionUnitOfWork()
    handlers.follow(uow, [dispatched("CF-3")], POLICY)
    red, yellow = (
        handlers.issue_order(uow, IssueOrder("CF-3", OrderRequest(grade=g), "sup-1"), POLICY, AT)
        for g in ("red", "yellow")
    )
    wanted = AccountabilityRequest(person="张三", what="逾期未整改", decision="诫勉谈话")

    record = open_record(uow, red.order_id, wanted, "sup-1", AT + HOUR)

    assert (record.case_id, record.order_id, record.assignee) == ("CF-3", red.order_id,
                                                                  GRID.model_dump())  # fmt: skip
    assert uow.records.accountability_rows == {record.record_id: record}
    with pytest.raises(NotARedCard, match=r"^grade: 该督办为黄牌督办"):
        open_record(uow, yellow.order_id, wanted, "sup-1", AT + HOUR)
    with pytest.raises(UnknownOrder):
        open_record(uow, "O-none", wanted, "sup-1", AT + HOUR)
    assert len(uow.records.accountability_rows) == 1
