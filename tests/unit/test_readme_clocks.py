"""The README's "Clocks" worked examples, computed through ``kernel/``: a case dispatched at
22:00 on a working-hours clock, and a petition's 15/60/30-day limits. Each figure is also
looked for in the README, so the text and the arithmetic cannot drift apart."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kernel.calendar import SHANGHAI
from kernel.petition import PetitionPlan, PetitionRefused
from kernel.sla import SlaPolicy

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
CLOCKS = README[README.index("## Clocks") : README.index("## Supervision")]
WORKING_SLA = """\
default:
  respond: PT2H
  feedback: PT24H
  resolve: P5D
  runs_on: {respond: working_hours, feedback: working_hours}
warn_at: 0.8
"""


def bj(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


def end_of(month: int, day: int) -> datetime:
    """24:00 Beijing at the end of the day: how a petition's limit runs out."""
    return bj(month, day) + timedelta(days=1)


def shown(text: str) -> str:
    assert text in CLOCKS, f"the README's Clocks section no longer says {text!r}"
    return text


def test_a_case_dispatched_at_22_00_on_a_working_hours_clock() -> None:
    policy = SlaPolicy.from_text(WORKING_SLA)
    dispatched = bj(3, 3, 22)  # Monday
    assert shown("**22:00 on Monday 3 March 2025**") and dispatched.weekday() == 0
    deadlines = policy.deadlines(dispatched, channel="hotline", risk="blue", unit="S-001")
    assert deadlines.respond_by == bj(3, 4, 10, 30) and shown("Tue 4 March 10:30")
    assert deadlines.feedback_by == bj(3, 7, 10) and shown("Fri 7 March 10:00")
    assert deadlines.resolve_by == bj(3, 10, 22) and shown("Mon 10 March 22:00")
    red = policy.deadlines(dispatched, channel="hotline", risk="red", unit="S-001")
    assert red.respond_by == bj(3, 4) and shown("Tue 4 March 00:00")
    warn = policy.warn_times(dispatched, deadlines)
    assert warn.respond_at == bj(3, 4, 8) and shown("comes at 08:00 on Tuesday")


def test_a_petition_s_15_60_and_30_days() -> None:
    plan = PetitionPlan()
    filed = plan.filed(bj(3, 3, 10))
    assert shown("**filed at 10:00 on Monday 3 March 2025**")
    assert filed.acknowledge_by == end_of(3, 18) and shown("end of Tue 18 March")
    assert filed.answer_by == end_of(5, 2) and shown("end of Fri 2 May")
    accepted = plan.acknowledged(filed, bj(3, 10, 9))
    assert shown("accepted (受理) Mon 10 March 09:00")
    assert accepted.answer_by == end_of(5, 9) and shown("end of Fri 9 May")
    latest = plan.latest_extension(accepted)
    assert latest == end_of(6, 8) and shown("end of Sun 8 June at the latest")
    with pytest.raises(PetitionRefused):
        plan.check_extension(accepted, latest + timedelta(seconds=1))
    answered = plan.answered(plan.extended(accepted, latest), bj(6, 5, 15))
    assert shown("answered (处理意见书) Thu 5 June 15:00")
    assert answered.review_asked_by == end_of(7, 5) and shown("end of Sat 5 July")
    review = plan.review_asked(answered, bj(6, 20, 9))
    assert shown("复查 asked Fri 20 June 09:00")
    assert review.answer_by == end_of(7, 20) and shown("end of Sun 20 July")
    with pytest.raises(PetitionRefused) as late:
        plan.review_asked(answered, end_of(7, 5))
    assert late.value.fell_due == end_of(7, 5)
