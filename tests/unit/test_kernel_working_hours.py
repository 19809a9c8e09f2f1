"""Working hours (工作时间): N working minutes after an instant, across lunch, nights, weekends,
调休 make-up days, the new year and a year taken from holidays.yml; hours.yml refused with its
reason; and the properties (hypothesis) that the arithmetic never goes backwards and adds up."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.calendar import SHANGHAI, WorkingCalendar, package_last_year
from kernel.holidays import HolidayArrangements
from kernel.working_hours import (
    DEFAULT_HOURS,
    HoursBook,
    HoursError,
    WorkingHours,
    add_working_time,
    read_period,
)

CALENDAR = WorkingCalendar()
OFFICE = DEFAULT_HOURS  # 08:30-12:00, 13:30-17:30


def bj(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def after(start: datetime, minutes: float, calendar: WorkingCalendar = CALENDAR) -> datetime:
    return add_working_time(calendar, OFFICE, start, timedelta(minutes=minutes)).astimezone(
        SHANGHAI
    )


# --- the worked cases --------------------------------------------------------------------------


def test_inside_a_period_it_is_the_wall_clock() -> None:
    assert after(bj(2024, 3, 4, 9), 60) == bj(2024, 3, 4, 10)  # a Monday


def test_lunch_stands_still() -> None:
    # 11:00 + 2 h: one hour before noon, one after 13:30
    assert after(bj(2024, 3, 4, 11), 120) == bj(2024, 3, 4, 14, 30)


def test_used_up_at_noon_is_due_at_noon_not_after_lunch() -> None:
    assert after(bj(2024, 3, 4, 11), 60) == bj(2024, 3, 4, 12)


def test_a_start_at_lunch_waits_for_the_afternoon() -> None:
    assert after(bj(2024, 3, 4, 12, 30), 30) == bj(2024, 3, 4, 14)


def test_the_night_stands_still() -> None:
    # dispatched at 22:00 with 2 h to respond: 10:30 the next morning
    assert after(bj(2024, 3, 4, 22), 120) == bj(2024, 3, 5, 10, 30)
    assert after(bj(2024, 3, 5, 6), 120) == bj(2024, 3, 5, 10, 30)


def test_the_weekend_stands_still() -> None:
    # Friday 17:00 + 1 h: half an hour on Friday, the rest on Monday morning
    assert after(bj(2024, 3, 8, 17), 60) == bj(2024, 3, 11, 9)
    assert after(bj(2024, 3, 9, 10), 60) == bj(2024, 3, 11, 9, 30)  # from a Saturday


def test_a_make_up_saturday_counts() -> None:
    # 2024-10-12 (Saturday) was worked to make up for National Day (调休上班)
    assert after(bj(2024, 10, 11, 17), 60) == bj(2024, 10, 12, 9)


def test_the_spring_festival_stands_still_and_its_make_up_sunday_counts() -> None:
    # 2024: 10-17 February off, Sunday 18 February worked
    assert after(bj(2024, 2, 9, 17), 60) == bj(2024, 2, 18, 9)


def test_the_new_year_stands_still() -> None:
    # 31 December 2024 was a Tuesday, 1 January 2025 a holiday
    assert after(bj(2024, 12, 31, 17), 60) == bj(2025, 1, 2, 9)


def test_a_year_from_the_override_file_counts_its_own_holidays_and_make_up_days() -> None:
    year = package_last_year() + 1
    monday = next(d for d in (date(year, 3, day) for day in range(1, 8)) if d.weekday() == 0)
    saturday = monday - timedelta(days=2)
    friday = saturday - timedelta(days=1)
    arrangements = HolidayArrangements.from_text(
        f"years:\n  {year}:\n"
        f"    holidays:\n      - {{name: 假日, from: {monday}}}\n"
        f"    working_days:\n      - {{name: 调休, date: {saturday}}}\n"
    )
    calendar = WorkingCalendar(arrangements=arrangements)
    start = datetime.combine(friday, time(17), tzinfo=SHANGHAI)
    # Friday's last half hour, then the make-up Saturday; the Monday holiday is skipped
    assert after(start, 60, calendar) == datetime.combine(saturday, time(9), tzinfo=SHANGHAI)
    start = datetime.combine(saturday, time(17), tzinfo=SHANGHAI)
    tuesday = monday + timedelta(days=1)
    assert after(start, 60, calendar) == datetime.combine(tuesday, time(9), tzinfo=SHANGHAI)


def test_a_unit_with_other_hours_counts_its_own() -> None:
    evening = WorkingHours.of("18:00-22:00")
    due = add_working_time(CALENDAR, evening, bj(2024, 3, 4, 21), timedelta(hours=2))
    assert due.astimezone(SHANGHAI) == bj(2024, 3, 5, 19)


def test_nothing_to_add_is_the_start_itself_and_a_naive_start_is_refused() -> None:
    assert after(bj(2024, 3, 9, 3), 0) == bj(2024, 3, 9, 3)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_time(CALENDAR, OFFICE, datetime(2024, 3, 4, 9), timedelta(hours=1))
    with pytest.raises(ValueError, match="negative"):
        add_working_time(CALENDAR, OFFICE, bj(2024, 3, 4, 9), timedelta(hours=-1))


# --- hours.yml ---------------------------------------------------------------------------------


def test_hours_file_gives_units_their_own_hours_and_the_rest_the_default() -> None:
    book = HoursBook.from_text(
        "default: [08:00-12:00, 14:00-18:00]\nunits:\n  S-001: [09:00-17:00]\n"
    )
    assert book.of("S-001") == WorkingHours.of("09:00-17:00")
    assert book.of("G-0101") == WorkingHours.of("08:00-12:00", "14:00-18:00")
    assert book.of(None) == book.default
    assert HoursBook.from_text("") == HoursBook()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "default: [08:30-12:00]\nunits:\n  S-001:\n    - 08:30-12:00\n    - 11:30-17:30\n",
            "hours.yml line 5: units.S-001[1]: 11:30-17:30 overlaps 08:30-12:00",
        ),
        ("default: [08:30-12:00, 8-12]\n", "hours.yml line 1: default[1]: '8-12' is not a period"),
        ("default: [17:30-13:30]\n", "hours.yml line 1: default[0]: 17:30-13:30: ends before"),
        ("default: [08:30-25:00]\n", "hours.yml line 1: default[0]: '08:30-25:00' is not a time"),
        ("default: []\n", "hours.yml line 1: default: must be a list of periods"),
        ("default: [08:30-12:00]\nunit: {}\n", "hours.yml line 2: unit: Extra inputs"),
    ],
)
def test_a_wrong_hours_file_is_refused_naming_line_field_and_reason(
    text: str, message: str
) -> None:
    with pytest.raises(HoursError) as refused:
        HoursBook.from_text(text)
    assert str(refused.value).startswith(message), str(refused.value)


def test_working_hours_refuse_overlaps_and_sort_their_periods() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        WorkingHours.of("08:00-12:00", "11:00-13:00")
    hours = WorkingHours.of("13:30-17:30", "08:30-12:00")
    assert [str(p) for p in hours.periods] == ["08:30-12:00", "13:30-17:30"]
    assert hours.per_day == timedelta(hours=7, minutes=30)
    assert read_period("8:30 - 12:00") == read_period("08:30-12:00")


# --- properties --------------------------------------------------------------------------------

# 2023 to 2025: the Spring Festival, National Day and the new year, with their make-up days
starts = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2025, 12, 1), timezones=st.just(UTC)
)
amounts = st.integers(min_value=0, max_value=60 * 24 * 20).map(lambda m: timedelta(minutes=m))
hour_sets = st.sampled_from(
    [OFFICE, WorkingHours.of("00:00-23:59"), WorkingHours.of("09:00-09:01", "22:00-23:00")]
)


def add(hours: WorkingHours, start: datetime, amount: timedelta) -> datetime:
    return add_working_time(CALENDAR, hours, start, amount)


@settings(max_examples=300, deadline=None)
@given(start=starts, amount=amounts, hours=hour_sets)
def test_never_goes_backwards(start: datetime, amount: timedelta, hours: WorkingHours) -> None:
    assert add(hours, start, amount) >= start


@settings(max_examples=300, deadline=None)
@given(start=starts, first=amounts, second=amounts, hours=hour_sets)
def test_more_time_is_never_due_earlier_and_the_parts_add_up(
    start: datetime, first: timedelta, second: timedelta, hours: WorkingHours
) -> None:
    whole = add(hours, start, first + second)
    assert add(hours, start, first) <= whole
    assert add(hours, add(hours, start, first), second) == whole


@settings(max_examples=300, deadline=None)
@given(start=starts, later=amounts, amount=amounts, hours=hour_sets)
def test_a_later_start_is_never_due_earlier(
    start: datetime, later: timedelta, amount: timedelta, hours: WorkingHours
) -> None:
    assert add(hours, start, amount) <= add(hours, start + later, amount)


@settings(max_examples=300, deadline=None)
@given(start=starts, amount=amounts.filter(bool), hours=hour_sets)
def test_a_deadline_falls_inside_working_hours_of_a_working_day(
    start: datetime, amount: timedelta, hours: WorkingHours
) -> None:
    due = add(hours, start, amount).astimezone(SHANGHAI)
    assert CALENDAR.is_working_day(due.date())
    assert any(p.start < due.time() <= p.end for p in hours.periods), due


@settings(max_examples=200, deadline=None)
@given(start=starts, amount=amounts)
def test_the_wall_clock_span_is_never_shorter_than_the_working_time(
    start: datetime, amount: timedelta
) -> None:
    assert add(OFFICE, start, amount) - start >= amount
