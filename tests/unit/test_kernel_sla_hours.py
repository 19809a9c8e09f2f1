"""sla.yml's ``runs_on``: per limit, channel, category and risk, the wall clock or the unit's
working hours; red risk always on the wall clock; a wrong choice named by line and field."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kernel.calendar import SHANGHAI
from kernel.durations import PolicyError
from kernel.sla import SlaPolicy
from kernel.working_hours import HoursBook
from kit.sla import load_sla_policy
from tests.unit.conftest import CONFIG_DIR

SLA = """\
default:
  respond: PT2H
  feedback: PT24H
  resolve: P5D
  runs_on: {respond: working_hours, feedback: working_hours}
overrides:
  - when: {channel: hotline}
    runs_on: {feedback: wall_clock}
  - when: {category: safety}
    respond: PT1H
"""
HOURS = HoursBook.from_text("units:\n  S-NIGHT: [18:00-23:00]\n")
POLICY = SlaPolicy.from_text(SLA, hours=HOURS)
MONDAY_22 = datetime(2024, 3, 4, 22, tzinfo=SHANGHAI)


def bj(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=SHANGHAI)


def test_a_working_hours_clock_from_22_00_runs_from_the_next_morning() -> None:
    deadlines = POLICY.deadlines(MONDAY_22, channel="grid", category="dispute.land", risk="blue")
    assert deadlines.respond_by == bj(5, 10, 30)
    # 24 working hours at 7.5 a day: three days and 1.5 h, Tuesday to Friday 10:00
    assert deadlines.feedback_by == bj(8, 10)
    # days count working days as before: the fifth working day after Monday, at 22:00
    assert deadlines.resolve_by == bj(11, 22)


def test_an_override_chooses_per_channel_and_keeps_the_default_choice_of_the_others() -> None:
    limits = POLICY.limits_for(channel="hotline", risk="blue")
    assert limits.working_hours == frozenset({"respond"})
    deadlines = POLICY.deadlines(MONDAY_22, channel="hotline", risk="blue")
    assert deadlines.feedback_by == MONDAY_22 + timedelta(hours=24)
    # an override that sets a limit but no runs_on keeps the default's choice for it
    safety = POLICY.deadlines(MONDAY_22, category="safety.fire", risk="yellow")
    assert safety.respond_by == bj(5, 9, 30)


def test_red_risk_always_runs_on_the_wall_clock() -> None:
    assert POLICY.limits_for(channel="grid", risk="red").working_hours == frozenset()
    deadlines = POLICY.deadlines(MONDAY_22, channel="grid", risk="red")
    assert deadlines.respond_by == MONDAY_22 + timedelta(hours=2)


def test_the_assigned_units_own_hours_count() -> None:
    deadlines = POLICY.deadlines(MONDAY_22, channel="grid", risk="blue", unit="S-NIGHT")
    assert deadlines.respond_by == bj(5, 19)  # one hour on Monday night, one on Tuesday


def test_without_runs_on_every_hour_limit_stays_on_the_wall_clock() -> None:
    plain = SlaPolicy.from_text("default: {respond: PT2H, feedback: PT24H, resolve: P5D}\n")
    deadlines = plain.deadlines(MONDAY_22, risk="blue")
    assert deadlines.respond_by == MONDAY_22 + timedelta(hours=2)
    assert deadlines.feedback_by == MONDAY_22 + timedelta(hours=24)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "default:\n  respond: PT2H\n  feedback: PT24H\n  resolve: P5D\n"
            "  runs_on: {respond: office}\n",
            "sla.yml line 5: default.runs_on.respond: 'office' is not wall_clock or working_hours",
        ),
        (
            "default: {respond: PT2H, feedback: PT24H, resolve: P5D}\noverrides:\n"
            "  - when: {risk: red}\n    runs_on: {respond: working_hours}\n",
            "sla.yml line 4: overrides[0].runs_on: red risk always runs on the wall clock",
        ),
        (
            "default: {respond: PT2H, feedback: PT24H, resolve: P5D}\noverrides:\n"
            "  - when: {risk: blue}\n    runs_on: {answer: working_hours}\n",
            "sla.yml line 4: overrides[0].runs_on.answer: unknown field",
        ),
    ],
)
def test_a_wrong_runs_on_is_refused_naming_line_and_field(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as refused:
        SlaPolicy.from_text(text)
    assert str(refused.value).startswith(message), str(refused.value)


def test_the_shipped_configuration_loads_hours_yml(tmp_path: Path) -> None:
    policy = load_sla_policy(CONFIG_DIR)
    assert str(policy.hours.default) == "08:30-12:00, 13:30-17:30"
    broken = tmp_path / "config"
    broken.mkdir()
    (broken / "sla.yml").write_text((CONFIG_DIR / "sla.yml").read_text(encoding="utf-8"))
    (broken / "hours.yml").write_text("default:\n  - 08:30-12:00\n  - 09:00-10:00\n")
    with pytest.raises(Exception, match=r"hours.yml line 3: default\[1\]: 09:00-10:00 overlaps"):
        load_sla_policy(broken)
