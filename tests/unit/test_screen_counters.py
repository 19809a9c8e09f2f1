"""The counters behind 一单考评 and the big screen, pure: an assignment's figures on its unit's
day sum to what the scan of every assignment gives, a change adds only its difference, and the
screen's counters place a case once and count each step where it lies."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.events import (
    CASE_AWAITING_DISPATCH,
    CASE_CLOSED,
    CASE_CONCLUDED,
    CASE_DISPATCHED,
    CASE_ESCALATED,
    CASE_RECEIVED,
    SLA_OVERDUE,
    SUPERVISION_RED_RISK,
    Assignee,
    CaseAwaitingDispatch,
    CaseClosed,
    CaseConcluded,
    CaseDispatched,
    CaseEscalated,
    CaseReceived,
    Deadlines,
    Envelope,
    RedRiskRaised,
    Reporter,
    SlaOverdue,
)
from services.console import screen
from services.console.screen_counts import PlacedCase, effect_of
from services.supervision.assessment import (
    AssessmentConfig,
    AssignmentRecord,
    ClockOutcome,
    Deductions,
    Weights,
    assess,
)
from services.supervision.tallied import TALLIED
from services.supervision.tallies import (
    TallyKey,
    UnitTotals,
    assess_totals,
    changes,
    key_of,
    tally_of,
)
from tests.support.fake_console import FakeConsoleUnitOfWork

CONFIG = AssessmentConfig(
    Weights(respond_on_time=15, feedback_on_time=15, resolve_on_time=30, satisfaction=30,
            no_return=5, no_reopen=5),
    Deductions(overdue=1, order_normal=1, order_yellow=3, order_red=10),
)  # fmt: skip
START = datetime(2026, 11, 1, tzinfo=UTC)
UNITS = [("grid", "G-01", "城关一网格"), ("grid", "G-02", "城关二网格"),
         ("department", "D-ZJJ", "县住建局")]  # fmt: skip


def random_clock(
    rng: random.Random, kind: str, dispatched: datetime, now: datetime
) -> ClockOutcome:
    due = dispatched + timedelta(hours=rng.choice([2, 24, 120]))
    fate = rng.choice(["stopped", "stopped_late", "cancelled", "overdue", "running", "both"])
    stopped = cancelled = None
    overdue = fate in ("overdue", "both")
    if fate in ("stopped", "both"):
        stopped = due - timedelta(minutes=rng.randint(1, 60))
    elif fate == "stopped_late":
        stopped = due + timedelta(minutes=rng.randint(1, 60))
    elif fate == "cancelled":
        cancelled = due + timedelta(minutes=rng.choice([-30, 30]))
    elif fate == "running" and due < now:
        overdue = True  # the scanner raised its alert at its due time
    return ClockOutcome(kind, due, stopped, cancelled, overdue)  # type: ignore[arg-type]


def random_record(rng: random.Random, now: datetime) -> AssignmentRecord:
    kind, code, name = rng.choice(UNITS)
    at = START + timedelta(minutes=rng.randint(0, 60 * 24 * 29))
    return AssignmentRecord(
        case_id=f"CF-{rng.randint(0, 10**9)}", assignee_kind=kind, assignee_code=code,  # type: ignore[arg-type]
        assignee_name=name, level="grid", dispatched_at=at,
        clocks=tuple(random_clock(rng, k, at, now) for k in ("respond", "feedback", "resolve")),
        returned=rng.random() < 0.2, concluded=rng.random() < 0.7, reopened=rng.random() < 0.2,
        satisfaction=rng.choice([None, "satisfied", "basically_satisfied", "unsatisfied"]),
        orders=tuple(rng.choice(["normal", "yellow", "red"]) for _ in range(rng.randint(0, 2))),
    )  # fmt: skip


def summed(records: list[AssignmentRecord]) -> list[UnitTotals]:
    """What the counters of the period's days add up to, unit by unit."""
    totals: dict[tuple[str, str], Counter[str]] = {}
    names: dict[tuple[str, str], tuple[str, str]] = {}
    for record in records:
        key = key_of(record)
        unit = (key.assignee_kind, key.assignee_code)
        totals.setdefault(unit, Counter()).update(tally_of(record))
        names[unit] = max(names.get(unit, ("", "")), (key.day, key.assignee_name))
    return [UnitTotals(kind, code, names[(kind, code)][1], {m: t[m] for m in TALLIED})
            for (kind, code), t in totals.items()]  # fmt: skip


@pytest.mark.parametrize("seed", range(20))
def test_the_counters_sum_to_what_the_scan_of_every_assignment_gives(seed: int) -> None:
    rng, now = random.Random(seed), START + timedelta(days=40)
    records = [random_record(rng, now) for _ in range(rng.randint(1, 60))]
    assert assess_totals(summed(records), CONFIG) == assess(records, CONFIG, now)


def test_a_running_clock_counts_once_its_alert_is_raised() -> None:
    rng, now = random.Random(1), START + timedelta(days=40)
    record = random_record(rng, now)
    running = ClockOutcome("respond", START, None, None, overdue=False)
    alerted = ClockOutcome("respond", START, None, None, overdue=True)
    before = tally_of(AssignmentRecord(**{**record.__dict__, "clocks": (running,)}))
    after = tally_of(AssignmentRecord(**{**record.__dict__, "clocks": (alerted,)}))
    assert (before["respond_late"], before["overdue"]) == (0, 0)
    assert (after["respond_late"], after["overdue"]) == (1, 1)


def test_a_change_adds_its_difference_and_a_move_takes_from_the_old_day() -> None:
    day1 = TallyKey("2026-11-01", "grid", "G-01", "城关一网格")
    day2 = TallyKey("2026-11-02", "grid", "G-01", "城关一网格")
    old = dict.fromkeys(TALLIED, 0) | {"dispatched": 1}
    new = old | {"respond_on_time": 1}
    assert changes(None, (day1, old)) == {day1: old}
    assert changes((day1, old), (day1, old)) == {}  # the same fact again adds nothing
    assert changes((day1, old), (day1, new)) == {
        day1: dict.fromkeys(TALLIED, 0) | {"respond_on_time": 1}
    }
    moved = changes((day1, old), (day2, new))
    assert moved[day1]["dispatched"] == -1 and moved[day2] == new


# --- the big screen ------------------------------------------------------------------------------

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
TERRITORY = {"grid": "G-01", "community": "C-01", "street": "S-01", "district": "D-01"}
GRID = Assignee(kind="grid", code="G-01", name="城关一网格")


def received(case_id: str, at: datetime, channel: str = "hotline", source: str = "hotline",
             category: str | None = "road.lamp") -> Envelope[Any]:  # fmt: skip
    data = CaseReceived(channel=channel, source=source, external_id=case_id, reporter=Reporter(),
                        content="路灯坏了", category=category, received_at=at,
                        location={"lat": 30.1, "lon": 120.2}, risk="red")  # fmt: skip
    return CASE_RECEIVED.new(data, case_id, at)


def dispatched(
    case_id: str, at: datetime, resolve_in: timedelta, risk: str = "blue"
) -> Envelope[Any]:
    limits = Deadlines(respond_by=at + timedelta(hours=2), feedback_by=at + timedelta(hours=24),
                       resolve_by=at + resolve_in)  # fmt: skip
    data = CaseDispatched(assignee=GRID, level="grid", deadlines=limits, dispatched_by="auto",
                          territory=TERRITORY, risk=risk)  # fmt: skip
    return CASE_DISPATCHED.new(data, case_id, at)


def step(spec: Any, data: Any, case_id: str, at: datetime) -> Envelope[Any]:
    return spec.new(data, case_id, at)  # type: ignore[no-any-return]


def history() -> list[Envelope[Any]]:
    """Three cases in three days: one concluded in time and satisfied, one late and
    unsatisfied, one from the centre's desk, overdue and escalated; a red-risk alert."""
    day, hour = timedelta(days=1), timedelta(hours=1)
    a, b, c = NOW - 2 * day, NOW - day, NOW
    waits = CaseAwaitingDispatch(reason="红色风险", territory=TERRITORY)
    escalated = CaseEscalated(from_level="grid", to_level="street", reason="超时", unit="城关街道")
    return [
        received("CF-A", a),
        dispatched("CF-A", a, day),
        step(CASE_CONCLUDED, CaseConcluded(result="已修", by="w"), "CF-A", a + 3 * hour),
        step(CASE_CLOSED, CaseClosed(satisfaction="satisfied", by="op"), "CF-A", a + 5 * hour),
        received("CF-B", b, "grid", "gridapp", "dispute.neighbour"),
        step(CASE_AWAITING_DISPATCH, waits, "CF-B", b),
        dispatched("CF-B", b, hour),
        step(CASE_CONCLUDED, CaseConcluded(result="已调解", by="w"), "CF-B", b + 3 * hour),
        step(CASE_CLOSED, CaseClosed(satisfaction="unsatisfied", by="op"), "CF-B", b + 4 * hour),
        received("CF-C", c, "petition", "centre"),
        dispatched("CF-C", c, day, risk="red"),
        step(SLA_OVERDUE, SlaOverdue(clock="respond", due_at=c, assignee=GRID), "CF-C", c),
        step(CASE_ESCALATED, escalated, "CF-C", c),
        step(SUPERVISION_RED_RISK, RedRiskRaised(category="road.lamp"), "CF-C", c),
    ]


def test_the_screen_counts_trends_hot_spots_rankings_and_the_ticker() -> None:
    uow = FakeConsoleUnitOfWork()
    screen.count_events(uow, history())
    names = screen.Names({"S-01": "城关街道"}, {"G-01": "城关一网格"}, {"road.lamp": "路灯"})

    figures = screen.screen(uow, NOW, names)

    assert figures["received"]["petition"] == 1 and figures["desk"] == 1
    assert [d["received"] for d in figures["trend_7"][-3:]] == [1, 1, 1]
    assert [d["concluded"] for d in figures["trend_30"][-3:]] == [1, 1, 0]
    assert len(figures["trend_30"]) == 30 and figures["trend_30"][-1]["day"] == "2026-11-21"
    assert figures["categories"][0] == {"code": "road.lamp", "name": "路灯", "count": 2}
    # each case placed once, though CF-B was placed by two events
    assert figures["hot_streets"] == [{"code": "S-01", "name": "城关街道", "count": 3}]
    assert figures["hot_grids"] == [{"code": "G-01", "name": "城关一网格", "count": 3}]
    [street] = figures["streets"]
    assert (street["name"], street["on_time_rate"], street["satisfaction_rate"]) == (
        "城关街道",
        0.5,
        0.5,
    )
    assert street["overdue"] == 1
    # the three at the same moment: newest first, in no particular order among them
    assert sorted(t["kind"] for t in figures["ticker"]) == ["escalated", "overdue", "red_risk"]
    assert {t["unit"] for t in figures["ticker"]} == {"城关一网格", "城关街道", ""}
    assert figures["points"] == [{"lat": 30.1, "lon": 120.2, "risk": "red"}]


def test_the_screens_counters_count_a_redelivered_event_once() -> None:
    events = history()
    uow = FakeConsoleUnitOfWork()
    screen.count_events(uow, events)
    once = screen.screen(uow, NOW)
    screen.count_events(uow, events + events[:3])  # the whole history delivered again
    assert screen.screen(uow, NOW) == once


def test_a_conclusion_before_the_dispatch_is_known_counts_no_verdict() -> None:
    concluded = CASE_CONCLUDED.new(CaseConcluded(result="已修", by="w"), "CF-X", NOW)
    effect = effect_of(concluded, None)
    assert effect.counts == [("2026-11-21", "concluded", "")]
    placed = PlacedCase("CF-X", "2026-11-21", street="S-01", resolve_by=NOW - timedelta(hours=1))
    late = effect_of(concluded, placed)
    assert ("2026-11-21", "late", "S-01") in late.counts
