"""One-ticket assessment (一单考评): every figure of a hand-built month checked against arithmetic
written out below, the CSV export, periods on the Beijing calendar, and assessment.yml errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.supervision.assessment import (
    BEIJING,
    CSV_COLUMNS,
    AssessmentConfig,
    AssessmentConfigError,
    AssigneeKind,
    AssignmentRecord,
    ClockKind,
    ClockOutcome,
    Deductions,
    OnSite,
    OrderGrade,
    Period,
    Satisfaction,
    UnitAssessment,
    Verdict,
    Weights,
    assess,
    clock_verdict,
    to_csv,
)
from tests.unit.conftest import CONFIG_DIR


def bj(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Beijing wall time."""
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


def clock(
    kind: ClockKind,
    due: datetime,
    *,
    stopped: datetime | None = None,
    cancelled: datetime | None = None,
    overdue: bool = False,
) -> ClockOutcome:
    return ClockOutcome(kind, due, stopped, cancelled, overdue)


Unit = tuple[AssigneeKind, str, str, str]

HOUSING: Unit = ("department", "D-ZJJ", "县住房和城乡建设局", "district")
MARKET: Unit = ("department", "D-SCJ", "县市场监督管理局", "district")
GRID: Unit = ("grid", "37011300100101", "城关街道第1网格", "grid")


def record(
    case_id: str,
    unit: Unit,
    dispatched: datetime,
    clocks: tuple[ClockOutcome, ...],
    *,
    returned: bool = False,
    concluded: bool = False,
    reopened: bool = False,
    satisfaction: Satisfaction | None = None,
    orders: tuple[OrderGrade, ...] = (),
) -> AssignmentRecord:
    kind, code, name, level = unit
    return AssignmentRecord(
        case_id=case_id,
        assignee_kind=kind,
        assignee_code=code,
        assignee_name=name,
        level=level,
        dispatched_at=dispatched,
        clocks=clocks,
        returned=returned,
        concluded=concluded,
        reopened=reopened,
        satisfaction=satisfaction,
        orders=orders,
    )


@dataclass(frozen=True)
class End:
    """How a clock ended (or not yet)."""

    stopped: datetime | None = None
    cancelled: datetime | None = None
    overdue: bool = False


def stop(at: datetime, *, overdue: bool = False) -> End:
    return End(stopped=at, overdue=overdue)


def cancel(at: datetime) -> End:
    return End(cancelled=at)


RUNNING = End()


def limits(
    dispatched: datetime, respond: End, feedback: End, resolve: End
) -> tuple[ClockOutcome, ...]:
    """The three clocks of a dispatch: respond due in 2 hours, feedback in 24, resolve in 5 days
    (wall clock: the working calendar is the SLA policy's business, not the assessment's)."""
    due = (timedelta(hours=2), timedelta(hours=24), timedelta(days=5))
    kinds: tuple[ClockKind, ...] = ("respond", "feedback", "resolve")
    return tuple(
        ClockOutcome(kind, dispatched + after, end.stopped, end.cancelled, end.overdue)
        for kind, after, end in zip(kinds, due, (respond, feedback, resolve), strict=True)
    )


NOW = bj(2026, 11, 25, 12, 0)
CONFIG = AssessmentConfig.from_file(CONFIG_DIR / "assessment.yml")

# November 2026, three units. Each clock's due time is noted, and its verdict when it is not on
# time: late, or - (not counted).
A1 = bj(2026, 11, 2, 9)
A2 = bj(2026, 11, 3, 9)
A3 = bj(2026, 11, 10, 9)
A4 = bj(2026, 11, 24, 9)
B1 = bj(2026, 11, 5, 9)
B2 = bj(2026, 11, 20, 9)
C1 = bj(2026, 11, 8, 9)
C2 = bj(2026, 11, 23, 9)
RECORDS = [
    # housing: respond on, feedback on, resolve on; concluded, satisfied
    record(
        "C-001",
        HOUSING,
        A1,
        limits(
            A1,
            stop(bj(2026, 11, 2, 10)),  # due 11:00
            stop(bj(2026, 11, 2, 15)),  # due 3rd 09:00
            stop(bj(2026, 11, 5, 17)),  # due 7th 09:00
        ),
        concluded=True,
        satisfaction="satisfied",
    ),
    # housing: respond on, feedback late (an hour after due, alert raised), resolve on;
    # concluded, reworked (返工), basically satisfied, a yellow card
    record(
        "C-002",
        HOUSING,
        A2,
        limits(
            A2,
            stop(bj(2026, 11, 3, 10, 30)),  # due 11:00
            stop(bj(2026, 11, 4, 10), overdue=True),  # due 4th 09:00
            stop(bj(2026, 11, 6, 16)),  # due 8th 09:00
        ),
        concluded=True,
        reopened=True,
        satisfaction="basically_satisfied",
        orders=("yellow",),
    ),
    # housing: accepted on time, then sent back (退单): feedback and resolve cancelled before due
    record(
        "C-003",
        HOUSING,
        A3,
        limits(
            A3,
            stop(bj(2026, 11, 10, 9, 40)),  # due 11:00
            cancel(bj(2026, 11, 10, 14)),  # due 11th 09:00: -
            cancel(bj(2026, 11, 10, 14)),  # due 15th 09:00: -
        ),
        returned=True,
    ),
    # housing: accepted late (alert raised), fed back on time, resolve still running, due after
    # NOW; a plain supervision order
    record(
        "C-004",
        HOUSING,
        A4,
        limits(
            A4,
            stop(bj(2026, 11, 24, 11, 30), overdue=True),  # due 11:00: late
            stop(bj(2026, 11, 24, 16)),  # due 25th 09:00
            RUNNING,  # due 29th 09:00, NOW is 25th 12:00: -
        ),
        orders=("normal",),
    ),
    # market: respond on, feedback on, resolve two days late (alert raised); concluded,
    # unsatisfied; a yellow and a red card
    record(
        "C-005",
        MARKET,
        B1,
        limits(
            B1,
            stop(bj(2026, 11, 5, 9, 20)),  # due 11:00
            stop(bj(2026, 11, 5, 18)),  # due 6th 09:00
            stop(bj(2026, 11, 12, 9), overdue=True),  # due 10th 09:00: late
        ),
        concluded=True,
        satisfaction="unsatisfied",
        orders=("yellow", "red"),
    ),
    # market: accepted on time, escalated an hour after the feedback fell due without feeding
    # back (late, though the escalation beat the alert); resolve cancelled before due
    record(
        "C-006",
        MARKET,
        B2,
        limits(
            B2,
            stop(bj(2026, 11, 20, 9, 30)),  # due 11:00
            cancel(bj(2026, 11, 21, 10)),  # due 21st 09:00: late
            cancel(bj(2026, 11, 21, 10)),  # due 25th 09:00: -
        ),
    ),
    # grid: everything on time; concluded, satisfied
    record(
        "C-007",
        GRID,
        C1,
        limits(
            C1,
            stop(bj(2026, 11, 8, 9, 15)),  # due 11:00
            stop(bj(2026, 11, 8, 12)),  # due 9th 09:00
            stop(bj(2026, 11, 9, 17)),  # due 13th 09:00
        ),
        concluded=True,
        satisfaction="satisfied",
    ),
    # grid: accepted on time; feedback still running past due (the alert not raised yet: the
    # supervision tick has not come round), resolve running, not yet due
    record(
        "C-008",
        GRID,
        C2,
        limits(
            C2,
            stop(bj(2026, 11, 23, 10)),  # due 11:00
            RUNNING,  # due 24th 09:00, NOW is 25th 12:00: late
            RUNNING,  # due 28th 09:00: -
        ),
    ),
]

# grid (2 dispatched)
#   respond  on, on            = 2/2 = 1.0
#   feedback on, late          = 1/2 = 0.5
#   resolve  on, -             = 1/1 = 1.0
#   overdue 0; returned 0/2 = 0.0; reworked 0 of 1 concluded = 0.0; satisfied 1 of 1 = 1.0
#   score: weights 15 15 30 30 5 5 (sum 100), all rates present
#     15×1 + 15×0.5 + 30×1 + 30×1 + 5×(1−0) + 5×(1−0) = 15 + 7.5 + 30 + 30 + 5 + 5 = 92.5
#     100 × 92.5 / 100 = 92.5; no deductions -> 92.5
GRID_ROW = UnitAssessment(
    assignee_kind="grid",
    assignee_code="37011300100101",
    assignee_name="城关街道第1网格",
    dispatched=2,
    respond_on_time_rate=1.0,
    feedback_on_time_rate=0.5,
    resolve_on_time_rate=1.0,
    overdue=0,
    return_rate=0.0,
    reopen_rate=0.0,
    satisfaction_rate=1.0,
    orders=0,
    yellow_cards=0,
    red_cards=0,
    score=92.5,
)
# housing (4 dispatched)
#   respond  on, on, on, late  = 3/4 = 0.75
#   feedback on, late, -, on   = 2/3
#   resolve  on, on, -, -      = 2/2 = 1.0
#   overdue 2 (C-002 feedback, C-004 respond); returned 1/4 = 0.25
#   reworked 1 of 2 concluded = 0.5; satisfied + basically 2 of 2 revisited = 1.0
#   orders 2: a normal and a yellow
#   score: 15×0.75 + 15×2/3 + 30×1 + 30×1 + 5×(1−0.25) + 5×(1−0.5)
#        = 11.25 + 10 + 30 + 30 + 3.75 + 2.5 = 87.5;  100 × 87.5 / 100 = 87.5
#     deductions 2 overdue × 1 + 1 normal × 0.5 + 1 yellow × 3 = 5.5 -> 87.5 − 5.5 = 82.0
HOUSING_ROW = UnitAssessment(
    assignee_kind="department",
    assignee_code="D-ZJJ",
    assignee_name="县住房和城乡建设局",
    dispatched=4,
    respond_on_time_rate=0.75,
    feedback_on_time_rate=2 / 3,
    resolve_on_time_rate=1.0,
    overdue=2,
    return_rate=0.25,
    reopen_rate=0.5,
    satisfaction_rate=1.0,
    orders=2,
    yellow_cards=1,
    red_cards=0,
    score=82.0,
)
# market (2 dispatched)
#   respond  on, on            = 2/2 = 1.0
#   feedback on, late          = 1/2 = 0.5
#   resolve  late, -           = 0/1 = 0.0
#   overdue 1; returned 0/2 = 0.0; reworked 0 of 1 concluded = 0.0; unsatisfied: 0 of 1 = 0.0
#   orders 2: a yellow and a red
#   score: 15×1 + 15×0.5 + 30×0 + 30×0 + 5×1 + 5×1 = 15 + 7.5 + 0 + 0 + 5 + 5 = 32.5
#     deductions 1 overdue × 1 + 1 yellow × 3 + 1 red × 10 = 14 -> 32.5 − 14 = 18.5
MARKET_ROW = UnitAssessment(
    assignee_kind="department",
    assignee_code="D-SCJ",
    assignee_name="县市场监督管理局",
    dispatched=2,
    respond_on_time_rate=1.0,
    feedback_on_time_rate=0.5,
    resolve_on_time_rate=0.0,
    overdue=1,
    return_rate=0.0,
    reopen_rate=0.0,
    satisfaction_rate=0.0,
    orders=2,
    yellow_cards=1,
    red_cards=1,
    score=18.5,
)


# --- the month ---------------------------------------------------------------------------------


def test_every_figure_of_the_month_best_score_first() -> None:
    # 92.5 > 82.0 > 18.5
    assert assess(RECORDS, CONFIG, NOW) == [GRID_ROW, HOUSING_ROW, MARKET_ROW]


def test_the_order_of_the_records_does_not_matter() -> None:
    assert assess(reversed(RECORDS), CONFIG, NOW) == [GRID_ROW, HOUSING_ROW, MARKET_ROW]


def test_a_running_clock_turns_late_once_its_due_time_passes() -> None:
    # a week later the housing unit's C-004 resolve (due 29th 09:00) is late:
    # resolve on, on, -, late = 2/3; score 15×0.75 + 15×2/3 + 30×2/3 + 30×1 + 3.75 + 2.5
    #   = 11.25 + 10 + 20 + 30 + 3.75 + 2.5 = 77.5; − 5.5 = 72.0
    # and the market unit's C-006 resolve was cancelled before due: still not counted
    later = {row.assignee_code: row for row in assess(RECORDS, CONFIG, bj(2026, 12, 2))}
    assert later["D-ZJJ"].resolve_on_time_rate == 2 / 3
    assert later["D-ZJJ"].score == 72.0
    assert later["D-SCJ"] == MARKET_ROW


def test_as_dict_is_json_friendly() -> None:
    row = assess(RECORDS, CONFIG, NOW)[1]
    assert row.as_dict() == {
        "assignee_kind": "department",
        "assignee_code": "D-ZJJ",
        "assignee_name": "县住房和城乡建设局",
        "dispatched": 4,
        "respond_on_time_rate": 0.75,
        "feedback_on_time_rate": 2 / 3,
        "resolve_on_time_rate": 1.0,
        "overdue": 2,
        "return_rate": 0.25,
        "reopen_rate": 0.5,
        "satisfaction_rate": 1.0,
        "orders": 2,
        "yellow_cards": 1,
        "red_cards": 0,
        "score": 82.0,
        "resolved_on_site": 0,
    }
    assert json.loads(json.dumps(row.as_dict(), ensure_ascii=False)) == row.as_dict()


# --- clock verdicts ----------------------------------------------------------------------------

DUE = bj(2026, 11, 21, 11)
BEFORE = DUE - timedelta(minutes=1)
AFTER = DUE + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("outcome", "now", "verdict"),
    [
        (clock("respond", DUE, stopped=DUE), AFTER, "on_time"),  # at the due minute: in time
        (clock("respond", DUE, stopped=BEFORE), AFTER, "on_time"),
        (clock("respond", DUE, stopped=AFTER), AFTER, "late"),  # late without an alert
        (clock("respond", DUE, stopped=AFTER, overdue=True), AFTER, "late"),
        (clock("respond", DUE, overdue=True), AFTER, "late"),  # alerted, still running
        (clock("respond", DUE, cancelled=AFTER, overdue=True), AFTER, "late"),
        (clock("respond", DUE, cancelled=AFTER), AFTER, "late"),  # escalated after due
        (clock("respond", DUE, cancelled=BEFORE), AFTER, None),  # taken away in time
        (clock("respond", DUE, cancelled=DUE), AFTER, None),
        (clock("respond", DUE), AFTER, "late"),  # running past due
        (clock("respond", DUE), DUE, None),  # running, due this very minute
        (clock("respond", DUE), BEFORE, None),  # running, not yet due
        # the stop reached supervision after the alert: the unit was on time
        (clock("respond", DUE, stopped=BEFORE, overdue=True), AFTER, "on_time"),
        # a due time in UTC compares by the instant: 03:00 UTC is 11:00 Beijing
        (clock("respond", DUE.astimezone(UTC), stopped=BEFORE), AFTER, "on_time"),
    ],
)
def test_clock_verdict(outcome: ClockOutcome, now: datetime, verdict: Verdict | None) -> None:
    assert clock_verdict(outcome, now) == verdict


# --- scores ------------------------------------------------------------------------------------


def lone(**changes: Any) -> AssignmentRecord:
    """One dispatch to the market unit: respond on time, feedback late (alert raised), resolve
    running and not due; not concluded, not revisited, not returned, no orders."""
    dispatched = bj(2026, 11, 24, 9)
    base = record(
        "C-100",
        MARKET,
        dispatched,
        limits(
            dispatched,
            stop(bj(2026, 11, 24, 9, 30)),  # due 11:00
            stop(bj(2026, 11, 25, 11), overdue=True),  # due 25th 09:00
            RUNNING,  # due 29th 09:00, NOW is 25th 12:00
        ),
    )
    return replace(base, **changes)


def test_rates_without_a_value_drop_out_and_the_others_share_their_weight() -> None:
    # respond 1/1 = 1.0, feedback 0/1 = 0.0, resolve None (running, not due);
    # satisfaction None (not revisited), reopen None (not concluded), return 0/1 = 0.0
    # weights with a value: respond 15 + feedback 15 + no_return 5 = 35
    # 100 × (15×1 + 15×0 + 5×(1−0)) / 35 = 100 × 20 / 35 = 57.142857…
    # 1 overdue × 1 -> 56.142857… -> 56.14
    [row] = assess([lone()], CONFIG, NOW)
    assert (row.resolve_on_time_rate, row.satisfaction_rate, row.reopen_rate) == (None, None, None)
    assert row.respond_on_time_rate == 1.0
    assert row.feedback_on_time_rate == 0.0
    assert row.return_rate == 0.0
    assert row.overdue == 1
    assert row.score == 56.14


def test_no_weighted_rate_scores_100_less_deductions() -> None:
    # only satisfaction weighs, and nobody was revisited: 100 − 1 overdue × 1 − 1 red × 10 = 89
    config = AssessmentConfig(Weights(satisfaction=1), CONFIG.deductions)
    [row] = assess([lone(orders=("red",))], config, NOW)
    assert row.satisfaction_rate is None
    assert row.score == 89.0


def test_the_score_is_floored_at_zero() -> None:
    # 100 × 20 / 35 = 57.14…, less 1 overdue and 6 red cards × 10 = 61: below 0 -> 0
    [row] = assess([lone(orders=("red",) * 6)], CONFIG, NOW)
    assert (row.orders, row.red_cards, row.yellow_cards) == (6, 6, 0)
    assert row.score == 0.0


def test_weights_are_relative() -> None:
    # the shipped weights divided by 5 (3 3 6 6 1 1) give the same scores
    weights = Weights(3, 3, 6, 6, 1, 1)
    scaled = assess(RECORDS, AssessmentConfig(weights, CONFIG.deductions), NOW)
    assert [row.score for row in scaled] == [92.5, 82.0, 18.5]


def test_rework_counts_only_against_concluded_work() -> None:
    # reworked but not marked concluded (inconsistent data): 0 concluded -> rate None, not 1/0
    [row] = assess([lone(reopened=True)], CONFIG, NOW)
    assert row.reopen_rate is None


def test_a_renamed_unit_is_reported_under_its_latest_name() -> None:
    old = lone(case_id="C-101", assignee_name="县工商局", dispatched_at=bj(2026, 11, 1))
    [row] = assess([lone(), old], CONFIG, NOW)
    assert (row.assignee_name, row.dispatched) == ("县市场监督管理局", 2)


def test_equal_scores_are_ordered_by_code() -> None:
    twins = [lone(assignee_code=code) for code in ("D-ZZB", "D-GAJ", "D-SCJ")]
    assert [row.assignee_code for row in assess(twins, CONFIG, NOW)] == ["D-GAJ", "D-SCJ", "D-ZZB"]


def test_a_department_and_a_grid_sharing_a_code_are_two_units() -> None:
    rows = assess([lone(), lone(assignee_kind="grid")], CONFIG, NOW)
    assert sorted(row.assignee_kind for row in rows) == ["department", "grid"]


def test_nothing_to_assess() -> None:
    assert assess([], CONFIG, NOW) == []


def test_now_must_carry_a_time_zone() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        assess(RECORDS, CONFIG, datetime(2026, 11, 25, 12))


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_line_by_line() -> None:
    text = to_csv(assess(RECORDS, CONFIG, NOW), "2026-11")
    assert text.splitlines() == [
        "period,kind,code,name,dispatched,respond_on_time_rate,feedback_on_time_rate,"
        "resolve_on_time_rate,overdue,return_rate,reopen_rate,satisfaction_rate,orders,"
        "yellow_cards,red_cards,score",
        # rates in percent with one decimal: 2/3 -> 66.7
        "2026-11,grid,37011300100101,城关街道第1网格,2,100.0,50.0,100.0,0,0.0,0.0,100.0,0,0,0,92.50",
        "2026-11,department,D-ZJJ,县住房和城乡建设局,4,75.0,66.7,100.0,2,25.0,50.0,100.0,2,1,0,82.00",
        "2026-11,department,D-SCJ,县市场监督管理局,2,100.0,50.0,0.0,1,0.0,0.0,0.0,2,1,1,18.50",
    ]
    assert text.endswith("\n")
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)


def test_csv_leaves_missing_rates_empty_and_quotes_awkward_names() -> None:
    # the renormalisation case: resolve, reopen and satisfaction have no value
    rows = assess([lone(assignee_name='县市场监督管理局,"城关所"')], CONFIG, NOW)
    assert to_csv(rows, "2026-Q4").splitlines()[1] == (
        '2026-Q4,department,D-SCJ,"县市场监督管理局,""城关所""",1,100.0,0.0,,1,0.0,,,0,0,0,56.14'
    )


def test_csv_of_nothing_is_the_header() -> None:
    assert to_csv([], "2026") == ",".join(CSV_COLUMNS) + "\n"


# --- periods -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-11", bj(2026, 11, 1), bj(2026, 12, 1)),
        ("2026-12", bj(2026, 12, 1), bj(2027, 1, 1)),
        ("2026-02", bj(2026, 2, 1), bj(2026, 3, 1)),
        ("2026-Q1", bj(2026, 1, 1), bj(2026, 4, 1)),
        ("2026-Q4", bj(2026, 10, 1), bj(2027, 1, 1)),
        ("2026", bj(2026, 1, 1), bj(2027, 1, 1)),
        ("2026-11-21", bj(2026, 11, 21), bj(2026, 11, 22)),
        ("2026-12-31", bj(2026, 12, 31), bj(2027, 1, 1)),
        ("2028-02-29", bj(2028, 2, 29), bj(2028, 3, 1)),
    ],
)
def test_period_parse(text: str, start: datetime, end: datetime) -> None:
    period = Period.parse(text)
    assert (period.label, period.start, period.end) == (text, start, end)
    assert period.start.utcoffset() == timedelta(hours=8)


def test_periods_start_and_end_at_beijing_midnight() -> None:
    november = Period.parse("2026-11")
    # Beijing midnight is 16:00 UTC the day before
    assert november.start == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert november.end == datetime(2026, 11, 30, 16, tzinfo=UTC)
    late_evening = bj(2026, 11, 30, 23, 30)
    just_after = bj(2026, 12, 1, 0, 10)
    assert just_after.astimezone(UTC).date().isoformat() == "2026-11-30"  # still Nov in UTC
    assert november.contains(late_evening)
    assert not november.contains(just_after)
    assert Period.parse("2026-12").contains(just_after)
    assert november.contains(november.start)  # half-open: the start is in,
    assert not november.contains(november.end)  # the end is not
    assert november.contains(datetime(2026, 10, 31, 16, tzinfo=UTC))
    assert not november.contains(datetime(2026, 10, 31, 15, 59, tzinfo=UTC))


def test_callers_filter_by_period_on_the_beijing_calendar() -> None:
    november = Period.parse("2026-11")
    evening = lone(case_id="C-201", dispatched_at=bj(2026, 11, 30, 23, 30))
    after_midnight = lone(case_id="C-202", dispatched_at=bj(2026, 12, 1, 0, 10))
    kept = [r for r in (evening, after_midnight) if november.contains(r.dispatched_at)]
    assert [r.case_id for r in kept] == ["C-201"]
    assert assess(kept, CONFIG, NOW)[0].dispatched == 1


def test_contains_refuses_a_naive_moment() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        Period.parse("2026-11").contains(datetime(2026, 11, 5))


FORMS = (
    r"expected a year \(2026\), a quarter \(2026-Q4\), a month \(2026-11\) or a day \(2026-11-21\)"
)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "26",
        "2026-1",
        "2026-011",
        "2026/11",
        "2026-11-1",
        "2026-Q0",
        "2026-Q5",
        "2026-q4",
        "2026Q4",
        " 2026-11",
        "2026-11 ",
        "２０２６-11",  # full-width digits
        "2026-11-21T00:00",
        "November 2026",
    ],
)
def test_period_refuses_other_shapes(text: str) -> None:
    with pytest.raises(ValueError, match=f"^period {text!r}: {FORMS}$"):
        Period.parse(text)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2026-13", "month must be in 1..12"),
        ("2026-00", "month must be in 1..12"),
        ("2026-02-29", "day is out of range for month"),
        ("2026-11-31", "day is out of range for month"),
        ("0000", "year 0 is out of range"),
        ("9999", "year 10000 is out of range"),  # its end is past the last date
    ],
)
def test_period_refuses_dates_that_do_not_exist(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=f"^period '{text}': {FORMS} \\({why}\\)$"):
        Period.parse(text)


# --- assessment.yml ----------------------------------------------------------------------------


def test_the_shipped_config() -> None:
    assert (
        AssessmentConfig(
            Weights(
                respond_on_time=15,
                feedback_on_time=15,
                resolve_on_time=30,
                satisfaction=30,
                no_return=5,
                no_reopen=5,
            ),
            Deductions(overdue=1, order_normal=0.5, order_yellow=3, order_red=10),
            OnSite(spot_revisit=0.2),
        )
        == CONFIG
    )


def test_missing_keys_weigh_nothing() -> None:
    config = AssessmentConfig.from_text("weights:\n  resolve_on_time: 2\ndeductions:\n")
    assert config == AssessmentConfig(Weights(resolve_on_time=2.0), Deductions())
    assert AssessmentConfig.from_text("weights: {satisfaction: 1}").deductions == Deductions()


# Line numbers matter below: the error messages name them.
TEXT = """\
# weights of the rates
weights:
  respond_on_time: 15
  satisfaction: 30
deductions:
  order_red: 10
"""
WEIGHT_NAMES = (
    "respond_on_time, feedback_on_time, resolve_on_time, satisfaction, no_return or no_reopen"
)


def test_the_error_text_is_valid_without_changes() -> None:
    assert AssessmentConfig.from_text(TEXT) == AssessmentConfig(
        Weights(respond_on_time=15, satisfaction=30), Deductions(order_red=10)
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "satisfaction: 30",
            "satisfaction: x",
            "assessment.yml line 4: weights.satisfaction: 'x' is not a number",
        ),
        (
            "satisfaction: 30",
            "satisfaction: '30'",
            "assessment.yml line 4: weights.satisfaction: '30' is not a number",
        ),
        (
            "satisfaction: 30",
            "satisfaction: yes",  # YAML 1.1 reads yes as true
            "assessment.yml line 4: weights.satisfaction: True is not a number",
        ),
        (
            "satisfaction: 30",
            "satisfaction:",
            "assessment.yml line 4: weights.satisfaction: None is not a number",
        ),
        (
            "satisfaction: 30",
            "satisfaction: -30",
            "assessment.yml line 4: weights.satisfaction: -30 is negative (0 or more)",
        ),
        (
            "order_red: 10",
            "order_red: -0.5",
            "assessment.yml line 6: deductions.order_red: -0.5 is negative (0 or more)",
        ),
        (
            "order_red: 10",
            "order_red: .inf",
            "assessment.yml line 6: deductions.order_red: inf is not a number",
        ),
        (
            "order_red: 10",
            "order_red: .nan",
            "assessment.yml line 6: deductions.order_red: nan is not a number",
        ),
        (
            "respond_on_time: 15",
            "respond_ontime: 15",
            f"assessment.yml line 3: weights.respond_ontime: unknown field "
            f"(expected {WEIGHT_NAMES})",
        ),
        (
            "order_red: 10",
            "red_card: 10",
            "assessment.yml line 6: deductions.red_card: unknown field "
            "(expected overdue, order_normal, order_yellow or order_red)",
        ),
        (
            "deductions:",
            "deduction:",
            "assessment.yml line 5: deduction: unknown field"
            " (expected weights, deductions or on_site)",
        ),
        (
            "deductions:\n  order_red: 10",
            "deductions: [10]",
            "assessment.yml line 5: deductions: [10] is not a mapping of "
            "overdue, order_normal, order_yellow or order_red",
        ),
        (
            "respond_on_time: 15\n  satisfaction: 30",
            "respond_on_time: 0\n  satisfaction: 0",
            "assessment.yml line 2: weights: all zero: give at least one rate a positive weight",
        ),
        (
            "weights:\n  respond_on_time: 15\n  satisfaction: 30",
            "weights: 5",
            f"assessment.yml line 2: weights: missing (a mapping of {WEIGHT_NAMES}), not 5",
        ),
        (
            "weights:\n  respond_on_time: 15\n  satisfaction: 30",
            "weights:",
            f"assessment.yml line 2: weights: missing (a mapping of {WEIGHT_NAMES})",
        ),
        (
            "weights:\n  respond_on_time: 15\n  satisfaction: 30\n",
            "",
            # the line where the document starts, where the field should have been given
            f"assessment.yml line 2: weights: missing (a mapping of {WEIGHT_NAMES})",
        ),
        (
            "satisfaction: 30",
            "satisfaction: 30\n  satisfaction: 20",
            "assessment.yml line 5: weights.satisfaction: given twice",
        ),
    ],
)
def test_config_errors_name_the_line_and_the_field(old: str, new: str, message: str) -> None:
    assert old in TEXT
    with pytest.raises(AssessmentConfigError) as raised:
        AssessmentConfig.from_text(TEXT.replace(old, new))
    assert str(raised.value) == message


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "- 15\n", "weights\n"])
def test_config_that_is_not_a_mapping(text: str) -> None:
    with pytest.raises(AssessmentConfigError) as raised:
        AssessmentConfig.from_text(text)
    assert str(raised.value) == (
        "assessment.yml line 1: must be a mapping with weights (and deductions)"
    )


def test_config_that_is_not_yaml() -> None:
    with pytest.raises(AssessmentConfigError, match=r"^assessment.yml line 2: not valid YAML: "):
        AssessmentConfig.from_text("weights: {satisfaction: 1\n")


def test_from_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "county.yml"
    path.write_text(TEXT.replace("30", "三十"), encoding="utf-8")
    with pytest.raises(AssessmentConfigError) as raised:
        AssessmentConfig.from_file(path)
    assert str(raised.value) == "county.yml line 4: weights.satisfaction: '三十' is not a number"
    assert isinstance(raised.value, ValueError)
