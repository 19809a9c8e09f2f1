"""The duty roster (值班表), deputies (AB岗) and leave (请假): who is on duty when, who stands in
for whom, and duty.yml refused with its reason (a gap where a unit promises 24/7, shifts that
overlap, a person nobody declared)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kernel.calendar import SHANGHAI
from kernel.duty import DutyError, DutyRoster, Leave

DEPLOYED = Path(__file__).resolve().parents[2] / "deploy" / "config" / "duty.yml"

PEOPLE = """\
people:
  A: {name: 甲, phone: "13900000001"}
  B: {name: 乙, phone: "13900000002"}
  C: {name: 丙, phone: "13900000003"}
  H: {name: 环保B岗, phone: "13900000004"}
deputies:
  "department:D-HBJ": H
  "person:A": C
  "person:B": C
"""
WEEK = """\
around_the_clock:
  D-YJJ:
    weekly:
      - {days: [mon, tue, wed, thu, fri, sat, sun], from: "08:00", to: "20:00", person: A}
      - {days: [mon, tue, wed, thu, fri, sat, sun], from: "20:00", to: "08:00", person: B}
    shifts:
      - {from: "2027-02-05 20:00", to: "2027-02-06 08:00", person: C}
"""
ROSTER = DutyRoster.from_text(PEOPLE + WEEK)


def bj(month: int, day: int, hour: int, minute: int = 0, year: int = 2027) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def leave(person: str, starts: datetime, days: int = 1) -> Leave:
    return Leave("L-1", person, starts, starts + timedelta(days=days))


# --- who is on duty ---------------------------------------------------------------------------


def test_the_weekly_pattern_says_who_is_on_duty_day_and_night() -> None:
    assert ROSTER.on_duty("D-YJJ", bj(1, 4, 9)).id == "A"  # type: ignore[union-attr]
    assert ROSTER.on_duty("D-YJJ", bj(1, 4, 19, 59)).id == "A"  # type: ignore[union-attr]
    assert ROSTER.on_duty("D-YJJ", bj(1, 4, 20)).id == "B"  # type: ignore[union-attr]
    # Sunday night runs into Monday morning: the week wraps
    assert ROSTER.on_duty("D-YJJ", bj(1, 4, 3)).id == "B"  # type: ignore[union-attr]
    assert ROSTER.on_duty("D-HBJ", bj(1, 4, 9)) is None  # not a 24/7 unit


def test_a_dated_shift_replaces_the_pattern_while_it_lasts() -> None:
    assert ROSTER.on_duty("D-YJJ", bj(2, 5, 23)).id == "C"  # type: ignore[union-attr]
    assert ROSTER.on_duty("D-YJJ", bj(2, 6, 7, 59)).id == "C"  # type: ignore[union-attr]
    assert ROSTER.on_duty("D-YJJ", bj(2, 6, 8)).id == "A"  # type: ignore[union-attr]


def test_the_deployed_roster_is_read() -> None:
    roster = DutyRoster.from_text(DEPLOYED.read_text(encoding="utf-8"))
    assert roster.around_the_clock("D-YJJ")
    assert roster.deputy("department:D-HBJ") is not None


# --- who is told (AB岗) ---------------------------------------------------------------------


def test_a_24_7_unit_s_alert_goes_to_whoever_is_on_duty_now() -> None:
    found = ROSTER.stand_in("department:D-YJJ", "D-YJJ", bj(1, 4, 23), ())
    assert found is not None and found.key == "person:B"


def test_the_person_on_duty_on_leave_is_replaced_by_their_deputy() -> None:
    away = [leave("person:B", bj(1, 4, 0))]
    found = ROSTER.stand_in("department:D-YJJ", "D-YJJ", bj(1, 4, 23), away)
    assert found is not None and found.key == "person:C"


def test_a_holder_on_leave_is_replaced_by_the_deputy_only_while_it_lasts() -> None:
    away = [leave("department:D-HBJ", bj(1, 4, 0), days=2)]
    during = ROSTER.stand_in("department:D-HBJ", "D-HBJ", bj(1, 5, 10), away)
    assert during is not None and during.key == "person:H" and during.phone == "13900000004"
    assert ROSTER.stand_in("department:D-HBJ", "D-HBJ", bj(1, 6, 0), away) is None
    assert ROSTER.stand_in("department:D-HBJ", "D-HBJ", bj(1, 3, 23, 59), away) is None


def test_a_holder_without_a_deputy_or_whose_deputy_is_away_is_told_all_the_same() -> None:
    away = [leave("department:D-CGJ", bj(1, 4, 0))]
    assert ROSTER.stand_in("department:D-CGJ", "D-CGJ", bj(1, 4, 10), away) is None
    both = [leave("department:D-HBJ", bj(1, 4, 0)), leave("person:H", bj(1, 4, 0))]
    assert ROSTER.stand_in("department:D-HBJ", "D-HBJ", bj(1, 4, 10), both) is None


def test_a_shift_worker_is_off_duty_between_shifts_and_their_deputy_is_told() -> None:
    # A stands days at D-YJJ; an alert for A personally at night goes to A's deputy
    assert ROSTER.off_duty("person:A", bj(1, 4, 23))
    assert not ROSTER.off_duty("person:A", bj(1, 4, 10))
    found = ROSTER.stand_in("person:A", None, bj(1, 4, 23), ())
    assert found is not None and found.key == "person:C"
    assert not ROSTER.off_duty("department:D-HBJ", bj(1, 4, 23))  # no shifts: never off duty


def test_who_is_on_duty_now() -> None:
    assert ROSTER.is_on_duty("person:B", bj(1, 4, 23))
    assert not ROSTER.is_on_duty("person:A", bj(1, 4, 23))
    assert not ROSTER.is_on_duty("department:D-HBJ", bj(1, 4, 10))


# --- duty.yml refused -------------------------------------------------------------------------


def refused(text: str) -> str:
    with pytest.raises(DutyError) as caught:
        DutyRoster.from_text(text)
    return str(caught.value)


def test_a_week_with_a_gap_is_refused_naming_the_unit_and_the_gap() -> None:
    gap = WEEK.replace('from: "20:00", to: "08:00"', 'from: "20:00", to: "07:00"')
    message = refused(PEOPLE + gap)
    assert message.startswith("duty.yml line 12: around_the_clock.D-YJJ.weekly:")
    assert "D-YJJ works around the clock but nobody is on duty from mon 07:00 to mon 08:00" in (
        message
    )


def test_a_weekend_left_out_is_a_gap() -> None:
    weekdays = WEEK.replace("[mon, tue, wed, thu, fri, sat, sun]", "[mon, tue, wed, thu, fri]")
    assert "nobody is on duty from sat 08:00 to mon 08:00" in refused(PEOPLE + weekdays)


def test_overlapping_weekly_shifts_are_refused() -> None:
    overlap = WEEK.replace('from: "08:00", to: "20:00"', 'from: "08:00", to: "21:00"')
    message = refused(PEOPLE + overlap)
    assert "around_the_clock.D-YJJ.weekly[1]" in message
    assert "two people are on duty at mon 20:00" in message


def test_overlapping_dated_shifts_are_refused() -> None:
    twice = WEEK + '      - {from: "2027-02-06 07:00", to: "2027-02-06 09:00", person: A}\n'
    message = refused(PEOPLE + twice)
    assert "around_the_clock.D-YJJ.shifts[1]" in message
    assert "overlaps the one from 2027-02-05 20:00 to 2027-02-06 08:00" in message


def test_dated_shifts_alone_must_follow_one_another() -> None:
    dated = """\
around_the_clock:
  D-YJJ:
    shifts:
      - {from: "2027-02-05 08:00", to: "2027-02-05 20:00", person: A}
      - {from: "2027-02-05 21:00", to: "2027-02-06 08:00", person: B}
"""
    message = refused(PEOPLE + dated)
    assert "nobody is on duty from 2027-02-05 20:00 to 2027-02-05 21:00" in message


def test_a_unit_with_nobody_on_duty_is_refused() -> None:
    assert "D-YJJ works around the clock but nobody is ever on duty" in refused(
        PEOPLE + "around_the_clock:\n  D-YJJ: {}\n"
    )


@pytest.mark.parametrize(
    ("text", "where", "why"),
    [
        (PEOPLE + WEEK.replace("person: A}", "person: Z}"), "weekly[0].person", "'Z' is not one"),
        (PEOPLE.replace('"department:D-HBJ": H', '"department:D-HBJ": Q'),
         "deputies.department:D-HBJ", "'Q' is not one of the people"),
        (PEOPLE.replace('"person:A": C', '"person:A": A'), "deputies.person:A", "own deputy"),
        (PEOPLE + WEEK.replace('"2027-02-05 20:00"', '"2027-02-30 20:00"'), "shifts[0].from",
         "is not a date and time"),
        (PEOPLE + WEEK.replace('to: "20:00"', 'to: "25:00"'), "weekly[0].to", "is not a time"),
        (PEOPLE + WEEK.replace("[mon,", "[mon, xyz,"), "weekly[0].days[1]",
         "should be 'mon'"),
        (PEOPLE.replace('phone: "13900000001"', "phone: call-me"), "people.A.phone", ""),
        (PEOPLE + "rosta: {}\n", "rosta", ""),
    ],
)  # fmt: skip
def test_a_wrong_field_is_named_with_its_line(text: str, where: str, why: str) -> None:
    message = refused(text)
    assert message.startswith("duty.yml line ")
    assert where in message
    assert why in message
