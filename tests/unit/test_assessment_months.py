"""一单考评 by months: which periods are whole months, and a burst's days summed by month."""

from __future__ import annotations

import pytest

from services.supervision.assessment import Period
from services.supervision.counting import months_of
from services.supervision.tallied import TALLIED


@pytest.mark.parametrize(
    ("label", "months"),
    [("2026", ("2026-01", "2027-01")), ("2026-Q4", ("2026-10", "2027-01")),
     ("2026-Q1", ("2026-01", "2026-04")), ("2026-11", ("2026-11", "2026-12")),
     ("2026-12", ("2026-12", "2027-01")), ("2026-11-01", None), ("2026-12-31", None)],
)  # fmt: skip
def test_a_month_a_quarter_and_a_year_are_whole_months_a_day_is_not(
    label: str, months: tuple[str, str] | None
) -> None:
    assert Period.parse(label).months() == months


def day(on: str, code: str, name: str, **figures: int) -> dict[str, object]:
    return {"day": on, "assignee_kind": "department", "assignee_code": code,
            "assignee_name": name, **dict.fromkeys(TALLIED, 0), **figures}  # fmt: skip


def test_a_bursts_days_are_summed_by_unit_and_month_named_as_the_last_day() -> None:
    days = [
        day("2026-11-02", "D-1", "住建局", dispatched=2, overdue=1),
        day("2026-11-02", "D-2", "水务局", dispatched=1),
        day("2026-11-28", "D-1", "住房和城乡建设局", dispatched=1, concluded=-1),
        day("2026-12-01", "D-1", "住房和城乡建设局", dispatched=5),
    ]
    months = months_of(days)
    assert [(m["month"], m["assignee_code"]) for m in months] == [
        ("2026-11", "D-1"), ("2026-11", "D-2"), ("2026-12", "D-1")]  # fmt: skip
    november = months[0]
    assert (november["assignee_name"], november["last_day"]) == ("住房和城乡建设局", "2026-11-28")
    assert (november["dispatched"], november["overdue"], november["concluded"]) == (3, 1, -1)
    assert months[2]["dispatched"] == 5
