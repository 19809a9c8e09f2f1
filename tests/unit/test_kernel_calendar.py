"""The working calendar beyond chinesecalendar's years: holidays.yml, the uncertain flag, and
``civicflow calendar check``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from civicflow.cli import main
from kernel.calendar import SHANGHAI, WorkingCalendar, package_last_year
from kernel.config import ConfigError
from kernel.durations import WorkingDuration
from kernel.holidays import HolidayArrangements, HolidaysError
from kernel.sla import SlaPolicy
from kit.sla import read_holidays
from tests.unit.conftest import CONFIG_DIR

# a year chinesecalendar does not know, with a made-up arrangement: fixture text, not a forecast
YEAR = package_last_year() + 1
FIXTURE = f"""\
years:
  {YEAR}:
    holidays:
      - name: 元旦
        from: {YEAR}-01-01
      - name: 春节
        from: {YEAR}-02-08
        to: {YEAR}-02-14
    working_days:
      - name: 春节调休
        date: {YEAR}-02-07
"""


def first(weekday: int, month: int) -> date:
    """The first ``weekday`` (Monday 0) of ``month`` in YEAR."""
    day = date(YEAR, month, 1)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def beijing(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar("chinese", HolidayArrangements.from_text(FIXTURE))


def test_a_year_from_the_file_counts_its_holidays_and_make_up_days(
    calendar: WorkingCalendar,
) -> None:
    assert calendar.knows(YEAR) and not WorkingCalendar().knows(YEAR)
    assert not calendar.is_working_day(date(YEAR, 2, 10))  # 春节
    assert calendar.is_working_day(date(YEAR, 2, 7))  # 调休: worked, whatever the weekday
    assert not calendar.is_working_day(first(5, 3))  # an ordinary Saturday
    assert calendar.is_working_day(first(0, 3))  # an ordinary Monday
    assert calendar.warned_years == ()


def test_working_days_step_over_the_holiday_and_onto_the_make_up_day(
    calendar: WorkingCalendar,
) -> None:
    due = calendar.add_working_days(beijing(date(YEAR, 2, 6)), 1)
    assert due.astimezone(SHANGHAI).date() == date(YEAR, 2, 7)
    after = calendar.add_working_days(beijing(date(YEAR, 2, 7)), 1)
    assert after.astimezone(SHANGHAI).date() > date(YEAR, 2, 14)


def test_the_calendar_reaches_the_file_s_last_year_without_a_gap(
    calendar: WorkingCalendar,
) -> None:
    coverage = calendar.coverage()
    assert coverage.package_last_year == YEAR - 1
    assert (coverage.last_year, coverage.last_day) == (YEAR, date(YEAR, 12, 31))
    # the year after, alone (its make-up day left out: the 7th of February is a weekday then)
    holidays_only = FIXTURE.split("    working_days:")[0]
    gap = HolidayArrangements.from_text(holidays_only.replace(f"  {YEAR}:", f"  {YEAR + 1}:", 1)
                                        .replace(f"{YEAR}-", f"{YEAR + 1}-"))  # fmt: skip
    assert WorkingCalendar("chinese", gap).coverage().last_year == YEAR - 1


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (f"to: {YEAR}-02-14", f"to: {YEAR}-02-30",
         rf"^holidays.yml line 8: years\.{YEAR}\.holidays\[1\]\.to: .*date"),
        (f"date: {YEAR}-02-07", f"date: {YEAR}-02-10",
         rf"^holidays.yml line 11: years\.{YEAR}\.working_days\[0\]\.date: {YEAR}-02-10 is "
         "listed both as a holiday and as a working day$"),
        (f"from: {YEAR}-01-01", f"from: {YEAR + 1}-01-01",
         rf"^holidays.yml line 5: years\.{YEAR}\.holidays\[0\]\.from: .* is not in {YEAR}$"),
        ("      - name: 元旦\n", "      - name: 元旦\n        day: 1\n",
         rf"^holidays.yml line 5: years\.{YEAR}\.holidays\[0\]\.day: Extra inputs"),
        (f"date: {YEAR}-02-07", f"date: {first(2, 3).isoformat()}",
         rf"^holidays.yml line 11: years\.{YEAR}\.working_days\[0\]\.date: "
         rf"{first(2, 3).isoformat()} is a Wednesday, not a Saturday or Sunday"),
    ],
    ids=["impossible-date", "holiday-and-working-day", "other-year", "unknown-field",
         "make-up-day-on-a-weekday"],
)  # fmt: skip
def test_a_wrong_file_is_refused_naming_line_and_field(old: str, new: str, message: str) -> None:
    assert old in FIXTURE
    with pytest.raises(HolidaysError, match=message):
        HolidayArrangements.from_text(FIXTURE.replace(old, new, 1))
    assert issubclass(HolidaysError, ConfigError)


def test_the_shipped_file_lists_no_unannounced_year() -> None:
    shipped = read_holidays(CONFIG_DIR)
    assert all(year <= package_last_year() for year in shipped.years)


def test_a_working_day_limit_in_an_unknown_year_is_uncertain_and_counted_monday_to_friday() -> None:
    policy = SlaPolicy.from_text("default: {respond: PT2H, feedback: PT24H, resolve: P5D}\n")
    start = beijing(first(0, 3))  # a Monday of the unknown year
    due = policy.due(start, WorkingDuration(days=5))
    assert due.astimezone(SHANGHAI).date() == first(0, 3) + timedelta(days=7)
    assert policy.uncertain(start, due, WorkingDuration(days=5))
    assert not policy.uncertain(start, start + timedelta(hours=2), timedelta(hours=2))
    known = SlaPolicy.from_text(
        "default: {respond: PT2H, feedback: PT24H, resolve: P5D}\n",
        holidays=HolidayArrangements.from_text(FIXTURE),
    )
    assert not known.uncertain(
        start, known.due(start, WorkingDuration(days=5)), WorkingDuration(days=5)
    )
    weekends = SlaPolicy.from_text(
        "default: {respond: PT2H, feedback: PT24H, resolve: P5D}\ncalendar: weekends\n"
    )
    assert not weekends.uncertain(start, due, WorkingDuration(days=5))


def test_a_span_reaching_into_an_unknown_year_is_not_known() -> None:
    last = datetime(YEAR - 1, 12, 30, 2, tzinfo=UTC)
    assert WorkingCalendar().knows_span(last, last + timedelta(hours=1))
    assert not WorkingCalendar().knows_span(last, last + timedelta(days=5))


def test_calendar_check_prints_the_last_known_year(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "holidays.yml").write_text(FIXTURE, encoding="utf-8")
    monkeypatch.setenv("CIVICFLOW_CONFIG_DIR", str(tmp_path))
    assert main(["calendar", "check"]) == 0
    printed = capsys.readouterr().out
    assert f"last known year: {YEAR}\n" in printed and f"{YEAR}-12-31" in printed


def test_calendar_check_refuses_a_wrong_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = FIXTURE.replace(f"date: {YEAR}-02-07", f"date: {YEAR}-02-10")
    (tmp_path / "holidays.yml").write_text(bad, encoding="utf-8")
    monkeypatch.setenv("CIVICFLOW_CONFIG_DIR", str(tmp_path))
    assert main(["calendar", "check"]) != 0
    assert "holidays.yml line 11: " in capsys.readouterr().err
