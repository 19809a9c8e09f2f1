"""直办's counters, pure: what a case concluded at the desk adds to the desk's days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.supervision.tallies import DESK, changes, desk_tally

# 2026-11-10 17:00 UTC is already the 11th in Beijing
EVENING = datetime(2026, 11, 10, 17, 0, tzinfo=UTC)


def test_counted_on_the_beijing_day_of_its_first_conclusion_at_the_desk() -> None:
    later = EVENING + timedelta(days=30)
    counted = desk_tally([later, EVENING], [])
    assert counted is not None
    key, tally = counted
    assert (key.day, key.assignee_kind, key.assignee_code) == ("2026-11-11", "desk", "centre")
    assert key.assignee_name == DESK.assignee_name
    assert (tally["concluded"], tally["revisited"], tally["satisfied"]) == (1, 0, 0)
    assert tally["dispatched"] == 0  # never taken for a unit's row


def test_the_last_answer_counts_whenever_it_came() -> None:
    answers = [(EVENING + timedelta(days=40), "basically_satisfied"),
               (EVENING + timedelta(days=1), "unsatisfied")]  # fmt: skip
    counted = desk_tally([EVENING], answers)
    assert counted is not None
    assert (counted[1]["revisited"], counted[1]["satisfied"]) == (1, 1)
    unhappy = desk_tally([EVENING], [(EVENING + timedelta(days=2), "unsatisfied")])
    assert unhappy is not None
    assert (unhappy[1]["revisited"], unhappy[1]["satisfied"]) == (1, 0)


def test_a_case_never_concluded_at_the_desk_adds_nothing() -> None:
    assert desk_tally([], [(EVENING, "satisfied")]) is None


def test_an_answer_after_the_conclusion_adds_only_itself() -> None:
    concluded = desk_tally([EVENING], [])
    answered = desk_tally([EVENING], [(EVENING + timedelta(days=1), "satisfied")])
    assert concluded is not None and answered is not None
    [(key, diff)] = changes(concluded, answered).items()
    assert key == concluded[0]
    assert {metric: by for metric, by in diff.items() if by} == {"revisited": 1, "satisfied": 1}
    assert changes(answered, answered) == {}
