"""The SLA policy from sla.yml text: overrides, line numbers, and working days on the Chinese
calendar (the 2026 National Day / Mid-Autumn arrangement, 调休 make-up days included)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.events import Deadlines
from kernel.calendar import SHANGHAI, WorkingCalendar
from kernel.durations import PolicyError, WorkingDuration, parse_limit
from kernel.sla import Limits, SlaPolicy, WarnTimes, When, locate
from kit.sla import load_sla_policy
from services.supervision.domain import plan_clocks
from tests.unit.conftest import CONFIG_DIR

FAST = settings(max_examples=200, deadline=None, database=None)
CALENDAR_LOG = "kernel.calendar"

# A year no chinesecalendar release will know for a long time: the fallback's test year.
UNKNOWN_YEAR = 2099


def bj(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Beijing wall time."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def days(n: int) -> WorkingDuration:
    return WorkingDuration(days=n)


# Line numbers matter below: the error messages name them.
TEXT = """\
default:
  respond: PT2H
  feedback: PT24H
  resolve: P5D
warn_at: 0.8
calendar: chinese
overrides:
  - when: {risk: red}
    respond: PT30M
    feedback: PT4H
  - when:
      channel: petition
    resolve: P60D
  - when: {category: dispute}
    resolve: P10D
  - when: {channel: opinion, category: safety}
    respond: PT1H
"""


def edit(old: str, new: str, text: str = TEXT) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


@pytest.fixture
def policy() -> SlaPolicy:
    return SlaPolicy.from_text(TEXT)


# --- the 2026 calendar as chinesecalendar has it ------------------------------------------------

# Printed from chinesecalendar 1.11.0 for 2026-09-19..2026-10-12: Mid-Autumn off Fri 25 to Sun
# 27 September, National Day off 1 to 7 October, make-up working days Sunday 20 September and
# Saturday 10 October. Everything else in the window follows the week.
OFF_2026 = {
    date(2026, 9, 19),  # Saturday
    date(2026, 9, 25),  # 中秋节
    date(2026, 9, 26),
    date(2026, 9, 27),
    *(date(2026, 10, day) for day in range(1, 8)),  # 国庆节
    date(2026, 10, 11),  # Sunday
}
MAKE_UP_2026 = (date(2026, 9, 20), date(2026, 10, 10))  # 调休上班: a Sunday and a Saturday


def test_the_installed_calendar_knows_2026() -> None:
    # if this fails the package lost 2026: every expectation below would be the fallback's
    assert chinese_calendar.is_workday(date(2026, 10, 10)) is True
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(UNKNOWN_YEAR, 1, 5))


def test_working_days_around_national_day_2026() -> None:
    calendar = WorkingCalendar()
    window = [date(2026, 9, 19) + timedelta(days=n) for n in range(24)]
    assert [day for day in window if not calendar.is_working_day(day)] == sorted(OFF_2026)
    assert [day.weekday() for day in MAKE_UP_2026] == [6, 5]
    assert all(calendar.is_working_day(day) for day in MAKE_UP_2026)
    assert calendar.warned_years == ()


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, utc(2026, 9, 30, 1, 0)),  # nothing to add: the start itself
        (1, utc(2026, 10, 8, 1, 0)),  # over the whole National Day holiday
        (2, utc(2026, 10, 9, 1, 0)),
        (3, utc(2026, 10, 10, 1, 0)),  # Saturday 10 October is a make-up working day
        (4, utc(2026, 10, 12, 1, 0)),  # Sunday 11 October is not
    ],
)
def test_add_working_days_across_national_day(count: int, expected: datetime) -> None:
    start = bj(2026, 9, 30, 9, 0)  # Wednesday, the last working day before the holiday
    due = WorkingCalendar().add_working_days(start, count)
    assert due == expected
    assert due.tzinfo is UTC


def test_the_september_make_up_sunday_counts() -> None:
    # Friday 18 September 17:00; the next working day is Sunday 20 September (调休)
    due = WorkingCalendar().add_working_days(bj(2026, 9, 18, 17, 0), 1)
    assert due == bj(2026, 9, 20, 17, 0)


def test_the_mid_autumn_long_weekend_is_skipped() -> None:
    # Thursday 24 September + 1: Friday 25 to Sunday 27 are off, Monday 28 works
    due = WorkingCalendar().add_working_days(bj(2026, 9, 24, 10, 30), 1)
    assert due == bj(2026, 9, 28, 10, 30)


def test_a_start_on_a_holiday_counts_from_the_next_working_day() -> None:
    due = WorkingCalendar().add_working_days(bj(2026, 10, 3, 11, 0), 1)
    assert due == bj(2026, 10, 8, 11, 0)


def test_a_friday_evening_start_is_due_on_monday_evening() -> None:
    friday_evening = bj(2026, 3, 6, 20, 30)
    assert WorkingCalendar().add_working_days(friday_evening, 1) == utc(2026, 3, 9, 12, 30)
    assert WorkingCalendar().add_working_days(friday_evening, 5) == bj(2026, 3, 13, 20, 30)


def test_days_are_beijing_days_not_utc_days() -> None:
    # Friday 18:00 UTC is already Saturday 02:00 in Beijing: the count starts from Saturday,
    # so one working day is Monday 02:00 Beijing (Sunday evening in UTC), not Monday 18:00 UTC
    due = WorkingCalendar().add_working_days(utc(2026, 3, 6, 18, 0), 1)
    assert due == bj(2026, 3, 9, 2, 0) == utc(2026, 3, 8, 18, 0)


def test_add_working_days_refuses_naive_and_negative() -> None:
    calendar = WorkingCalendar()
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.add_working_days(datetime(2026, 3, 2, 9, 0), 1)
    with pytest.raises(ValueError, match="negative"):
        calendar.add_working_days(utc(2026, 3, 2, 9, 0), -1)


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="lunar"):
        WorkingCalendar("lunar")  # type: ignore[arg-type]


# --- the weekends fallback ---------------------------------------------------------------------


def test_weekends_mode_ignores_the_holidays(caplog: pytest.LogCaptureFixture) -> None:
    calendar = WorkingCalendar("weekends")
    start = bj(2026, 9, 30, 9, 0)
    assert calendar.add_working_days(start, 1) == bj(2026, 10, 1, 9, 0)
    assert calendar.add_working_days(start, 8) == bj(2026, 10, 12, 9, 0)  # 10 October: Saturday
    assert not calendar.is_working_day(date(2026, 10, 10))
    assert calendar.is_working_day(date(UNKNOWN_YEAR, 1, 5))
    assert calendar.warned_years == ()
    assert caplog.records == []


def test_an_unknown_year_falls_back_to_weekends_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=CALENDAR_LOG)
    calendar = WorkingCalendar()
    friday = datetime(UNKNOWN_YEAR, 3, 6, 9, 0, tzinfo=SHANGHAI)
    assert friday.weekday() == 4
    assert calendar.add_working_days(friday, 1) == friday + timedelta(days=3)
    assert calendar.add_working_days(friday, 6) == friday + timedelta(days=10)
    assert not calendar.is_working_day(date(UNKNOWN_YEAR, 3, 7))
    warnings = [record for record in caplog.records if record.name == CALENDAR_LOG]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert str(UNKNOWN_YEAR) in warnings[0].getMessage()
    assert calendar.warned_years == (UNKNOWN_YEAR,)

    calendar.is_working_day(date(UNKNOWN_YEAR - 1, 6, 1))
    assert len([record for record in caplog.records if record.name == CALENDAR_LOG]) == 2
    assert list(calendar.warned_years) == [UNKNOWN_YEAR - 1, UNKNOWN_YEAR]  # sorted


def test_a_known_year_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=CALENDAR_LOG)
    calendar = WorkingCalendar()
    calendar.add_working_days(bj(2026, 9, 30, 9, 0), 10)
    assert calendar.warned_years == ()
    assert caplog.records == []


@FAST
@given(
    start=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    count=st.integers(min_value=0, max_value=40),
    mode=st.sampled_from(["chinese", "weekends"]),
)
def test_working_days_land_on_working_days_and_never_go_back(
    start: datetime, count: int, mode: Any
) -> None:
    # 2027 onwards is unknown to chinesecalendar 1.11.0: the fallback is exercised here too
    calendar = WorkingCalendar(mode)
    due = calendar.add_working_days(start, count)
    later = calendar.add_working_days(start, count + 1)
    assert start <= due < later
    assert calendar.is_working_day(later.astimezone(SHANGHAI).date())
    assert later.astimezone(SHANGHAI).time() == start.astimezone(SHANGHAI).time()
    if count:
        assert calendar.is_working_day(due.astimezone(SHANGHAI).date())
        # no working day is skipped: the one before lands strictly between
        assert calendar.add_working_days(start, count - 1) < due


# --- durations -----------------------------------------------------------------------------


def test_hour_limits_are_clock_time_and_day_limits_working_days() -> None:
    feedback = parse_limit("PT24H", "here")
    resolve = parse_limit("P1D", "here")
    assert feedback == resolve == timedelta(days=1)  # equal lengths...
    assert not isinstance(feedback, WorkingDuration)  # ...counted differently
    assert isinstance(resolve, WorkingDuration)
    mixed = parse_limit("P1DT12H", "here")
    assert isinstance(mixed, WorkingDuration)
    assert (mixed.days, mixed.clock) == (1, timedelta(hours=12))
    assert parse_limit("PT30M", "here") == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("P1W", r"^here: 'P1W' is not an ISO 8601 duration .*no weeks, months, years or fr"),
        ("P1M", r"^here: 'P1M' is not an ISO 8601 duration .*no weeks, months, years or fr"),
        ("P1.5D", r"^here: 'P1.5D' is not an ISO 8601 duration .*no weeks, months, years or fr"),
        ("PT1.5H", r"^here: 'PT1.5H' is not an ISO 8601 duration .*no weeks, months, years or"),
        ("soon", r"^here: 'soon' is not an ISO 8601 duration like PT2H or P5D$"),
        ("PT", r"^here: 'PT' is not"),
        ("P", r"^here: 'P' is not"),
        ("pt2h", r"^here: 'pt2h' is not"),
        ("P3651D", r"^here: 'P3651D' is longer than 3650 days$"),
        ("-P5D", r"^here: must be positive$"),
        ("PT0M", r"^here: must be positive$"),
        (8, r"^here: 8 is not"),
        (None, r"^here: None is not"),
    ],
)
def test_limits_refused(value: object, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_limit(value, "here")


# --- loading -------------------------------------------------------------------------------


def test_only_default_and_warn_at_is_a_valid_policy() -> None:
    policy = SlaPolicy.from_text("default: {respond: PT2H, feedback: PT24H, resolve: P5D}\n")
    assert policy.default == Limits(timedelta(hours=2), timedelta(hours=24), days(5))
    assert policy.warn_at == 0.8
    assert policy.overrides == ()
    assert policy.calendar == WorkingCalendar("chinese")


def test_the_real_sla_file() -> None:
    policy = load_sla_policy(CONFIG_DIR)
    assert policy.default == Limits(timedelta(hours=2), timedelta(hours=24), days(5))
    assert isinstance(policy.default.resolve, WorkingDuration)
    assert not isinstance(policy.default.feedback, WorkingDuration)
    assert (policy.warn_at, policy.calendar.mode, policy.overrides) == (0.8, "chinese", ())


def test_the_example_in_the_sla_file_comments_is_valid() -> None:
    text = (CONFIG_DIR / "sla.yml").read_text(encoding="utf-8")
    lines = text.splitlines()
    begin = lines.index("# overrides:")
    example = "\n".join(line.removeprefix("# ") for line in lines[begin:])
    policy = SlaPolicy.from_text(text + "\n" + example)
    assert [override.when for override in policy.overrides] == [
        When(channel="hotline"),
        When(risk="red"),
        When(channel="petition"),
        When(channel="opinion", category="safety"),
    ]


def test_the_overrides_read() -> None:
    policy = SlaPolicy.from_text(TEXT)
    first, second, third, fourth = policy.overrides
    assert (first.when, first.respond, first.feedback, first.resolve) == (
        When(risk="red"),
        timedelta(minutes=30),
        timedelta(hours=4),
        None,
    )
    assert (second.when, second.resolve) == (When(channel="petition"), days(60))
    assert (third.when, third.resolve) == (When(category="dispute"), days(10))
    assert fourth.when == When(channel="opinion", category="safety")


def test_weekends_calendar_from_the_file() -> None:
    policy = SlaPolicy.from_text(edit("calendar: chinese", "calendar: weekends"))
    assert policy.calendar.mode == "weekends"
    # five Monday-Friday days after Wednesday 30 September, holidays or not: Wednesday 7 October
    assert policy.deadlines(bj(2026, 9, 30, 9, 0)).resolve_by == bj(2026, 10, 7, 9, 0)


INVALID = [
    pytest.param(
        "respond: PT2H",
        "respond: soon",
        "sla.yml line 2: default.respond: 'soon' is not an ISO 8601 duration like PT2H or P5D",
        id="default.respond",
    ),
    pytest.param(
        "respond: PT2H",
        "respond: 2",
        "sla.yml line 2: default.respond: 2 is not an ISO 8601 duration like PT2H or P5D",
        id="bare number",
    ),
    pytest.param(
        "  feedback: PT24H\n",
        "",
        "sla.yml line 1: default.feedback: Field required",
        id="default.feedback missing",
    ),
    pytest.param(
        "resolve: P5D",
        "resolve: -P5D",
        "sla.yml line 4: default.resolve: must be positive",
        id="default.resolve",
    ),
    pytest.param(
        "resolve: P5D",
        "resolve: P5D\n  respnd: PT1H",
        "sla.yml line 5: default.respnd: unknown field "
        "(expected respond, feedback, resolve or runs_on)",
        id="default unknown",
    ),
    pytest.param(
        "resolve: P5D",
        "resolve: P5D\n  resolve: P7D",
        "sla.yml line 5: default.resolve: given twice",
        id="duplicate",
    ),
    pytest.param(
        "warn_at: 0.8",
        "warn_at: 1.5",
        "sla.yml line 5: warn_at: 1.5 must be a fraction between 0 and 1",
        id="warn_at",
    ),
    pytest.param(
        "warn_at: 0.8",
        "warn_at: yes",
        "sla.yml line 5: warn_at: True must be a fraction between 0 and 1",
        id="warn_at bool",
    ),
    pytest.param(
        "calendar: chinese",
        "calendar: lunar",
        "sla.yml line 6: calendar: 'lunar' is not chinese or weekends",
        id="calendar",
    ),
    pytest.param(
        "calendar: chinese",
        "calender: chinese",
        "sla.yml line 6: calender: unknown field "
        "(expected default, warn_at, calendar, overrides, pause_on_extension, escalation, "
        "orders, revisit or petition)",
        id="top unknown",
    ),
    pytest.param(
        "{risk: red}",
        "{risk: purple}",
        "sla.yml line 8: overrides[0].when.risk: 'purple' is not red, yellow or blue",
        id="risk",
    ),
    pytest.param(
        "{risk: red}",
        "{}",
        "sla.yml line 8: overrides[0].when: missing: "
        "give at least one of channel, category or risk",
        id="when empty",
    ),
    pytest.param(
        "{risk: red}",
        "{level: street}",
        "sla.yml line 8: overrides[0].when.level: unknown field "
        "(expected channel, category or risk)",
        id="when unknown",
    ),
    pytest.param(
        "feedback: PT4H",
        "feedbak: PT4H",
        "sla.yml line 10: overrides[0].feedbak: unknown field "
        "(expected when, respond, feedback, resolve or runs_on)",
        id="override unknown",
    ),
    pytest.param(
        "channel: petition",
        "channel: fax",
        "sla.yml line 12: overrides[1].when.channel: "
        "'fax' is not hotline, grid, opinion or petition",
        id="channel",
    ),
    pytest.param(
        "resolve: P60D",
        "resolve: P2W",
        "sla.yml line 13: overrides[1].resolve: 'P2W' is not an ISO 8601 duration like PT2H or "
        "P5D (whole days, hours or minutes: no weeks, months, years or fractions)",
        id="override resolve",
    ),
    pytest.param(
        "{category: dispute}",
        "{category: Dispute Land}",
        "sla.yml line 14: overrides[2].when.category: 'Dispute Land' is not a category code or "
        "group like dispute.land",
        id="category",
    ),
    pytest.param(
        "    resolve: P10D\n",
        "",
        "sla.yml line 14: overrides[2]: "
        "sets no limit (respond, feedback or resolve) and no runs_on",
        id="no limit",
    ),
    pytest.param(
        "  - when: {category: dispute}\n    resolve: P10D\n",
        "  - P10D\n",
        "sla.yml line 14: overrides[2]: 'P10D' is not a mapping with when and a limit",
        id="override not a mapping",
    ),
    pytest.param(
        "  - when: {category: dispute}\n",
        "  - ",
        "sla.yml line 14: overrides[2].when: missing: "
        "give at least one of channel, category or risk",
        id="override without when",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), INVALID)
def test_invalid_fields_are_named_with_their_line(old: str, new: str, message: str) -> None:
    with pytest.raises(PolicyError) as exc:
        SlaPolicy.from_text(edit(old, new))
    assert str(exc.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "sla.yml line 1: default: Field required"),
        (
            "- PT2H\n",
            "sla.yml line 1: ['PT2H'] is not a mapping with default (respond, feedback, resolve)",
        ),
        ("warn_at: 0.8\n", "sla.yml line 1: default: Field required"),
        (
            "warn_at: 0.8\ndefault:\n",
            "sla.yml line 2: default: missing: give respond, feedback and resolve",
        ),
        (
            "warn_at: 0.8\ndefault: PT2H\n",
            "sla.yml line 2: default: 'PT2H' is not a mapping with respond, feedback and resolve",
        ),
        (
            "default: {respond: PT2H, feedback: PT24H, resolve: P5D}\noverrides: {risk: red}\n",
            "sla.yml line 2: overrides: must be a list of {when: ..., respond/feedback/resolve}",
        ),
    ],
)
def test_invalid_documents(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as exc:
        SlaPolicy.from_text(text)
    assert str(exc.value) == message


def test_every_field_at_fault_is_named_on_a_line_of_its_own() -> None:
    text = edit("respond: PT2H", "respond: soon", edit("{risk: red}", "{risk: purple}"))
    with pytest.raises(PolicyError) as exc:
        SlaPolicy.from_text(text)
    assert str(exc.value).splitlines() == [
        "sla.yml line 2: default.respond: 'soon' is not an ISO 8601 duration like PT2H or P5D",
        "sla.yml line 8: overrides[0].when.risk: 'purple' is not red, yellow or blue",
    ]


def test_empty_sections_read_as_absent() -> None:
    text = "default: {respond: PT2H, feedback: PT24H, resolve: P5D}\n"
    empty = SlaPolicy.from_text(text + "overrides:\nescalation:\n  ladder:\norders:\n")
    assert empty == SlaPolicy.from_text(text)


def test_broken_yaml_is_refused_with_its_line() -> None:
    with pytest.raises(PolicyError, match=r"^sla.yml line 5: not valid YAML: "):
        SlaPolicy.from_text(edit("warn_at: 0.8", "warn_at: 0.8: 0.9"))


def test_the_file_name_is_the_one_given() -> None:
    with pytest.raises(PolicyError, match=r"^prod/sla.yml line 8: overrides\[0\]\.when\.risk: "):
        SlaPolicy.from_text(edit("{risk: red}", "{risk: pink}"), name="prod/sla.yml")


def test_from_config_names_the_field_without_a_line() -> None:
    document: dict[str, Any] = {
        "default": {"respond": "PT2H", "feedback": "PT24H", "resolve": "P5D"},
        "overrides": [{"when": {"risk": "purple"}, "respond": "PT1H"}],
    }
    with pytest.raises(PolicyError) as exc:
        SlaPolicy.from_config(document)
    assert str(exc.value) == "sla.yml: overrides[0].when.risk: 'purple' is not red, yellow or blue"


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ((), 1),
        (("default",), 1),
        (("default", "resolve"), 4),
        (("warn_at",), 5),
        (("overrides",), 7),
        (("overrides", 1), 11),
        (("overrides", 1, "when", "channel"), 12),
        (("overrides", 3, "when", "category"), 16),
        (("default", "missing"), 1),  # not there: where it belongs
        (("overrides", 9, "when"), 7),
    ],
)
def test_locate(path: tuple[str | int, ...], line: int) -> None:
    assert locate(TEXT, path) == line


# --- overrides and precedence --------------------------------------------------------------


def test_no_case_facts_no_override(policy: SlaPolicy) -> None:
    assert policy.limits_for() == policy.default


def test_override_by_risk(policy: SlaPolicy) -> None:
    assert policy.limits_for(risk="red") == Limits(
        timedelta(minutes=30), timedelta(hours=4), days(5)
    )
    assert policy.limits_for(risk="yellow") == policy.default


def test_override_by_channel(policy: SlaPolicy) -> None:
    limits = policy.limits_for(channel="petition")
    assert limits == Limits(timedelta(hours=2), timedelta(hours=24), days(60))
    assert policy.limits_for(channel="hotline") == policy.default


@pytest.mark.parametrize(
    ("category", "resolve"),
    [
        ("dispute", days(10)),  # the group itself
        ("dispute.land", days(10)),  # a code of the group
        ("disputes.land", days(5)),  # a prefix of the name is not the group
        ("labour.wage", days(5)),
        (None, days(5)),
    ],
)
def test_override_by_category_code_or_group(
    policy: SlaPolicy, category: str | None, resolve: timedelta
) -> None:
    assert policy.limits_for(category=category).resolve == resolve


def test_every_condition_of_an_override_must_match(policy: SlaPolicy) -> None:
    assert policy.limits_for(channel="opinion", category="safety.gas").respond == timedelta(hours=1)
    assert policy.limits_for(channel="opinion", category="city.road").respond == timedelta(hours=2)
    assert policy.limits_for(channel="hotline", category="safety.gas").respond == timedelta(hours=2)


def test_each_limit_takes_the_first_override_that_sets_it(policy: SlaPolicy) -> None:
    # red sets respond and feedback, petition resolve: both apply, each to its own limit
    both = policy.limits_for(channel="petition", risk="red", category="dispute.land")
    assert both == Limits(timedelta(minutes=30), timedelta(hours=4), days(60))
    # red comes before opinion+safety: its 30 minutes win over the hour
    red_opinion = policy.limits_for(channel="opinion", category="safety.gas", risk="red")
    assert red_opinion.respond == timedelta(minutes=30)


def test_the_order_of_overrides_decides() -> None:
    swapped = edit(
        "  - when:\n      channel: petition\n    resolve: P60D\n"
        "  - when: {category: dispute}\n    resolve: P10D\n",
        "  - when: {category: dispute}\n    resolve: P10D\n"
        "  - when:\n      channel: petition\n    resolve: P60D\n",
    )
    limits = SlaPolicy.from_text(swapped).limits_for(channel="petition", category="dispute.land")
    assert limits.resolve == days(10)


def test_the_categorys_own_limit_applies_when_no_override_sets_resolve(policy: SlaPolicy) -> None:
    own = timedelta(days=15)  # as dispatch parses categories.yml: a plain timedelta
    assert policy.limits_for(own, category="labour.wage").resolve == days(15)
    assert isinstance(policy.limits_for(own, category="labour.wage").resolve, WorkingDuration)
    assert policy.limits_for(own, risk="red").resolve == days(15)  # red sets no resolve
    assert policy.limits_for(own, channel="petition").resolve == days(60)
    assert policy.limits_for(own, category="dispute.land").resolve == days(10)


# --- deadlines -----------------------------------------------------------------------------


def test_deadlines_across_national_day(policy: SlaPolicy) -> None:
    start = bj(2026, 9, 30, 16, 0)
    assert policy.deadlines(start) == Deadlines(
        respond_by=bj(2026, 9, 30, 18, 0),
        feedback_by=bj(2026, 10, 1, 16, 0),  # hours run through the holiday
        # 8, 9, 10 (the make-up Saturday), 12, 13 October
        resolve_by=bj(2026, 10, 13, 16, 0),
    )


def test_deadlines_for_a_red_petition(policy: SlaPolicy) -> None:
    start = bj(2026, 9, 30, 16, 0)
    deadlines = policy.deadlines(start, timedelta(days=7), channel="petition", risk="red")
    assert deadlines.respond_by == bj(2026, 9, 30, 16, 30)
    assert deadlines.feedback_by == bj(2026, 9, 30, 20, 0)
    # 60 working days, the petition override over the category's 7: October has 18 after the
    # holiday (10 October included), November 21, and the 21st of December is the 29th
    assert deadlines.resolve_by == bj(2026, 12, 29, 16, 0)


def test_the_categorys_limit_counts_working_days(policy: SlaPolicy) -> None:
    deadlines = policy.deadlines(bj(2026, 9, 28, 10, 0), timedelta(days=5), category="labour.wage")
    # 29, 30 September, 8, 9, 10 October
    assert deadlines.resolve_by == bj(2026, 10, 10, 10, 0)


def test_a_day_and_hours_limit(policy: SlaPolicy) -> None:
    start = bj(2026, 9, 30, 10, 0)
    assert policy.due(start, parse_limit("P1DT4H", "x")) == bj(2026, 10, 8, 14, 0)
    assert policy.due(start, parse_limit("PT28H", "x")) == bj(2026, 10, 1, 14, 0)


def test_a_friday_evening_dispatch(policy: SlaPolicy) -> None:
    friday = bj(2026, 3, 6, 19, 0)
    deadlines = policy.deadlines(friday)
    assert deadlines.respond_by == bj(2026, 3, 6, 21, 0)
    assert deadlines.feedback_by == bj(2026, 3, 7, 19, 0)  # Saturday: the clock does not stop
    assert deadlines.resolve_by == bj(2026, 3, 13, 19, 0)


def test_deadlines_are_in_the_start_zone(policy: SlaPolicy) -> None:
    deadlines = policy.deadlines(bj(2026, 9, 30, 16, 0))
    moments = (deadlines.respond_by, deadlines.feedback_by, deadlines.resolve_by)
    assert {moment.utcoffset() for moment in moments} == {timedelta(hours=8)}
    in_utc = policy.deadlines(utc(2026, 9, 30, 8, 0))
    assert in_utc == deadlines
    assert in_utc.resolve_by.tzinfo is UTC


def test_a_deadline_in_an_unknown_year_warns_once(
    policy: SlaPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=CALENDAR_LOG)
    start = datetime(UNKNOWN_YEAR, 3, 6, 9, 0, tzinfo=SHANGHAI)  # a Friday
    for _ in range(3):
        assert policy.deadlines(start).resolve_by == start + timedelta(days=7)
    assert len([record for record in caplog.records if record.name == CALENDAR_LOG]) == 1
    assert policy.calendar.warned_years == (UNKNOWN_YEAR,)


def test_warn_times_at_the_fraction(policy: SlaPolicy) -> None:
    start = bj(2026, 9, 30, 16, 0)
    deadlines = policy.deadlines(start)
    warn = policy.warn_times(start, deadlines)
    assert warn == WarnTimes(
        respond_at=bj(2026, 9, 30, 17, 36),
        feedback_at=bj(2026, 10, 1, 11, 12),
        # 0.8 of the 13 calendar days to 13 October 16:00: 10 days 9 hours 36 minutes
        resolve_at=bj(2026, 10, 11, 1, 36),
    )
    # the same moments as the clocks supervision plans
    assert [plan.warn_at for plan in plan_clocks(start, deadlines, policy.warn_at)] == [
        warn.respond_at,
        warn.feedback_at,
        warn.resolve_at,
    ]


# --- extensions, the escalation ladder, orders ---------------------------------------------

LADDER_TEXT = """\
default:
  respond: PT2H
  feedback: PT24H
  resolve: P5D
pause_on_extension: no
escalation:
  clocks: [respond, feedback]
  max_levels: 1
  ladder:
    grid: PT30M
    street: P1D
orders:
  red: PT2H
"""


def test_the_ladder_extension_pause_and_order_limits_are_read() -> None:
    policy = SlaPolicy.from_text(LADDER_TEXT)
    assert policy.pause_on_extension is False
    ladder = policy.escalation
    assert ladder.clocks == frozenset({"respond", "feedback"})
    assert ladder.after == {"grid": timedelta(minutes=30), "street": days(1)}
    assert ladder.wait_after_due("grid", "respond", 0) == timedelta(minutes=30)
    # resolve is not on the ladder's clocks, community not among its levels, one climb only
    assert ladder.wait_after_due("grid", "resolve", 0) is None
    assert ladder.wait_after_due("community", "respond", 0) is None
    assert ladder.wait_after_due("grid", "respond", 1) is None
    # 格呼街应: without via_community the grid calls on its street
    assert ladder.above("grid") == "street"
    assert ladder.above("district") is None
    assert policy.orders == {
        "normal": timedelta(hours=24), "yellow": timedelta(hours=12), "red": timedelta(hours=2),
    }  # fmt: skip


def test_via_community_puts_the_community_on_the_ladder() -> None:
    text = LADDER_TEXT.replace("  max_levels: 1\n", "  max_levels: 1\n  via_community: yes\n")
    ladder = SlaPolicy.from_text(text).escalation
    assert ladder.steps.via_community is True
    assert [ladder.above(level) for level in ("micro_grid", "grid", "community", "street")] == [
        "grid", "community", "street", "district",
    ]  # fmt: skip


def test_via_community_must_be_yes_or_no() -> None:
    text = LADDER_TEXT.replace("  max_levels: 1\n", "  max_levels: 1\n  via_community: often\n")
    with pytest.raises(PolicyError, match=r"^sla.yml line 9: escalation\.via_community: "):
        SlaPolicy.from_text(text)


def test_a_file_without_the_new_sections_gets_their_defaults() -> None:
    policy = SlaPolicy.from_text("default:\n  respond: PT2H\n  feedback: PT24H\n  resolve: P5D\n")
    assert policy.pause_on_extension is True
    assert policy.escalation.max_levels == 2
    assert policy.escalation.after == {}
    assert policy.orders["red"] == timedelta(hours=4)


def test_the_shipped_policy_escalates_grids_after_an_hour() -> None:
    policy = load_sla_policy(CONFIG_DIR)
    assert policy.escalation.wait_after_due("grid", "respond", 0) == timedelta(hours=1)
    assert policy.escalation.wait_after_due("district", "respond", 0) is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "pause_on_extension: no",
            "pause_on_extension: sometimes",
            "sla.yml line 5: pause_on_extension: 'sometimes' must be yes or no",
        ),
        (
            "    grid: PT30M",
            "    county: PT30M",
            "sla.yml line 10: escalation.ladder.county: "
            "is not micro_grid, grid, community or street",
        ),
        (
            "    grid: PT30M",
            "    grid: 30",
            "sla.yml line 10: escalation.ladder.grid: "
            "30 is not an ISO 8601 duration like PT2H or P5D",
        ),
        (
            "  max_levels: 1",
            "  max_levels: 9",
            "sla.yml line 8: escalation.max_levels: 9 must be a whole number from 0 to 4",
        ),
        (
            "  clocks: [respond, feedback]",
            "  clocks: [respond, order]",
            "sla.yml line 7: escalation.clocks[1]: 'order' is not respond, feedback or resolve",
        ),
        (
            "  clocks: [respond, feedback]",
            "  clock: [respond]",
            "sla.yml line 7: escalation.clock: "
            "unknown field (expected clocks, max_levels, ladder or via_community)",
        ),
        (
            "  red: PT2H",
            "  purple: PT2H",
            "sla.yml line 13: orders.purple: unknown field (expected normal, yellow or red)",
        ),
        (
            "  clocks: [respond, feedback]",
            "  clocks: []",
            "sla.yml line 7: escalation.clocks: must be a list of respond, feedback or resolve",
        ),
    ],
    ids=["pause", "level", "wait", "max", "clock", "field", "grade", "no clocks"],
)
def test_bad_ladder_and_order_fields_are_named_with_their_line(
    old: str, new: str, message: str
) -> None:
    with pytest.raises(PolicyError) as exc:
        SlaPolicy.from_text(edit(old, new, LADDER_TEXT))
    assert str(exc.value) == message
