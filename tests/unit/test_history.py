"""The demo's month, as planned (``civicflow.history``): the days it covers, the lines and the
statuses it spreads over, nothing after its end, and bodies each line's contract takes."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from shapely.geometry import Polygon

from civicflow.history import (
    EXTERNAL_PREFIX,
    LINES,
    HistoryPlan,
    Place,
    expected_status,
    parse_span,
    plan_history,
    submission,
    tally,
)
from civicflow.history_run import spots_in
from contracts.desk import DeskRegistration
from contracts.inbound import GridReport, HotlineTicket, OpinionItem, Petition
from kernel.calendar import SHANGHAI

END = datetime(2026, 11, 21, 16, 30, tzinfo=SHANGHAI)
PLACES = [
    Place(f"G-{n:03d}", f"S-{n % 6:03d}", f"第{n}网格", 36.4 + n / 1000, 116.6 + n / 1000)
    for n in range(40)
]


@pytest.fixture(scope="module")
def month() -> HistoryPlan:
    return plan_history(PLACES, END, 30)


def test_spans_are_days_or_weeks_and_at_most_a_quarter() -> None:
    assert parse_span("30d") == 30
    assert parse_span("7d") == 7
    assert parse_span("2w") == 14
    for bad in ("30", "0d", "93d", "1m", "d", ""):
        with pytest.raises(ValueError):
            parse_span(bad)


def test_every_day_of_the_month_has_matters_and_none_comes_after_the_end(
    month: HistoryPlan,
) -> None:
    days = tally(month)["day"]
    wanted = [(END.date() - timedelta(days=back)).isoformat() for back in range(29, -1, -1)]
    assert sorted(days) == wanted
    assert month.start == datetime(2026, 10, 23, tzinfo=SHANGHAI)
    assert all(month.start <= c.received_at < END for c in month.cases)
    assert all(c.received_at + s.after < END for c in month.cases for s in c.steps)
    weekdays = [n for d, n in days.items() if datetime.fromisoformat(d).weekday() < 5]
    assert sum(weekdays) / len(weekdays) > 6


def test_the_same_seed_gives_the_same_month_and_another_seed_another() -> None:
    again = plan_history(PLACES, END, 30)
    assert again == plan_history(PLACES, END, 30)
    assert again != plan_history(PLACES, END, 30, seed=7)


def test_matters_come_on_the_four_lines_and_the_desk_the_hotline_most(
    month: HistoryPlan,
) -> None:
    lines = tally(month)["line"]
    assert set(lines) == set(LINES)
    assert lines.most_common(1)[0][0] == "hotline"
    assert all(count >= 5 for count in lines.values())


def test_every_status_of_the_lifecycle_is_reached(month: HistoryPlan) -> None:
    statuses = tally(month)["status"]
    assert set(statuses) >= {
        "pending_dispatch", "dispatched", "accepted", "in_progress", "concluded", "closed",
        "resolved_on_site", "merged",
    }  # fmt: skip
    fates = tally(month)["fate"]
    # overdue and late, escalated, 督办, revisited unsatisfied (返工), 直办, 退单
    for fate in ("overdue", "late", "escalated", "supervised", "reworked", "direct", "returned"):
        assert fates[fate] > 0, fate


def test_a_month_old_case_is_mostly_closed_and_the_last_day_mostly_open(
    month: HistoryPlan,
) -> None:
    old = [c for c in month.cases if END - c.received_at > timedelta(days=10)]
    fresh = [c for c in month.cases if END - c.received_at < timedelta(days=1)]
    done = ("closed", "resolved_on_site", "merged")
    assert sum(expected_status(c) in done for c in old) / len(old) > 0.7
    assert sum(expected_status(c) not in done for c in fresh) / len(fresh) > 0.6


def test_steps_follow_one_another_and_every_revisit_follows_a_conclusion(
    month: HistoryPlan,
) -> None:
    for case in month.cases:
        times = [s.after for s in case.steps]
        assert times == sorted(times) and all(t > timedelta(0) for t in times), case.key
        actions = [s.action for s in case.steps]
        for n, action in enumerate(actions):
            if action == "revisit" and case.fate != "direct":
                assert "conclude" in actions[:n], case.key
            if action == "reply":
                assert "supervise" in actions[:n], case.key


def test_a_duplicate_is_merged_into_an_earlier_matter_of_its_day(month: HistoryPlan) -> None:
    keys = {c.key: c for c in month.cases}
    merged = [c for c in month.cases if c.fate == "merged"]
    assert merged
    for case in merged:
        first = keys[case.steps[0].body["into"]] if case.steps else None
        if first is not None:
            assert first.received_at <= case.received_at
            assert first.content == case.content


def test_the_timeline_is_in_time_order_each_arrival_before_its_steps(
    month: HistoryPlan,
) -> None:
    timeline = month.timeline()
    assert [m[0] for m in timeline] == sorted(m[0] for m in timeline)
    seen: set[str] = set()
    for _at, _n, case, step in timeline:
        if step is None:
            seen.add(case.key)
        else:
            assert case.key in seen
    assert len(timeline) == len(month.cases) + sum(len(c.steps) for c in month.cases)


def test_each_line_body_is_one_its_contract_takes(month: HistoryPlan) -> None:
    models = {"/api/v1/hotline/tickets": HotlineTicket, "/api/v1/grid/reports": GridReport,
              "/api/v1/opinion/items": OpinionItem, "/api/v1/petitions": Petition,
              "/api/v1/cases": DeskRegistration}  # fmt: skip
    sources: Counter[str] = Counter()
    for case in month.cases:
        path, source, body = submission(case, case.received_at)
        models[path].model_validate(body)
        sources[source] += 1
        assert case.key.startswith(EXTERNAL_PREFIX)
        if source == "centre" and case.fate == "direct":
            assert body["handled_at_desk"]["result"]
    assert set(sources) == {"hotline", "gridapp", "opinion", "petition", "centre"}


def test_a_grids_matters_stand_on_points_inside_it() -> None:
    square = Polygon([(116.60, 36.40), (116.61, 36.40), (116.61, 36.41), (116.60, 36.41)])
    spots = spots_in(square, "G-001")
    assert len(spots) == 4 and len(set(spots)) == 4
    assert all(36.40 < lat < 36.41 and 116.60 < lon < 116.61 for lat, lon in spots)
    assert spots_in(square, "G-001") == spots  # the same grid, the same points
    place = Place("G-001", "S-001", "第1网格", 36.405, 116.605, spots)
    month = plan_history([place], END, 7)
    points = {case.point for case in month.cases}
    assert len(points) > 1 and points <= {(36.405, 116.605), *spots}


def test_a_refused_step_names_what_it_needs_first_and_a_petition_concludes_by_its_answer() -> None:
    from civicflow.history_run import Replay

    assert Replay.needed_first("feedback", ["dispatch", "merge"]) == "dispatch"
    assert Replay.needed_first("conclude", ["accept", "feedback", "acknowledge"]) == "acknowledge"
    assert Replay.needed_first("conclude", ["feedback", "answer", "extend"]) == "answer"
    assert Replay.needed_first("feedback", ["accept", "escalate"]) == "accept"
    assert Replay.needed_first("revisit", ["accept", "escalate"]) is None
