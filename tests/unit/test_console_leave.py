"""请假 as the console reads the form: dates on Beijing time, an end date counted whole, each
wrong field named; only supervisors and administrators record it."""

from __future__ import annotations

from datetime import datetime

import pytest

from kernel.calendar import SHANGHAI
from services.console.domain import Principal
from services.console.leave import must_record, read_leave
from services.console.refusals import BadFields, NotPermitted


def test_dates_are_beijing_days_and_the_end_date_counts_whole() -> None:
    person, starts, ends, reason = read_leave(
        {"person": "department:D-HBJ", "from": "2027-01-04", "to": "2027-01-05", "reason": "病假"}
    )
    assert person == "department:D-HBJ" and reason == "病假"
    assert starts == datetime(2027, 1, 4, tzinfo=SHANGHAI)
    assert ends == datetime(2027, 1, 6, tzinfo=SHANGHAI)  # the 5th included


def test_a_moment_may_be_given_with_its_time() -> None:
    _, starts, ends, _ = read_leave(
        {"person": "person:P-01", "from": "2027-01-04T13:30", "to": "2027-01-04T17:30+08:00"}
    )
    assert (ends - starts).total_seconds() == 4 * 3600


@pytest.mark.parametrize(
    ("body", "wrong"),
    [
        ({"person": "D-HBJ", "from": "2027-01-04", "to": "2027-01-05"}, ["person"]),
        ({"person": "person:P-01", "from": "2027-02-30", "to": "2027-03-01"}, ["from"]),
        ({"person": "person:P-01", "from": "2027-01-05", "to": "2027-01-03"}, ["to"]),
        ({"person": "person:P-01", "from": "2027-01-01", "to": "2029-01-01"}, ["to"]),
        ({"person": "person:P-01", "from": "2027-01-01", "to": "9999-12-31"}, ["to"]),
        ({"person": 7, "from": 1, "to": None, "reason": ["x"]}, ["person", "from", "to", "reason"]),
    ],
)
def test_each_wrong_field_is_named(body: dict[str, object], wrong: list[str]) -> None:
    with pytest.raises(BadFields) as refused:
        read_leave(body)
    assert [field for field, _ in refused.value.problems] == wrong


def test_only_supervisors_and_administrators_record_leave() -> None:
    must_record(Principal("sup", "supervisor", 0, unit="370113"))
    must_record(Principal("admin", "admin", 0))
    for role in ("operator", "handler", "grid_worker"):
        with pytest.raises(NotPermitted):
            must_record(Principal("x", role, 0, unit="D-HBJ"))
