"""notify.yml and the pure parts of notify: templates checked at start and rendered to fit an
SMS, token buckets, backoff, quiet hours, the citizen's revisit answer."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.events import Assignee, CaseDispatched, Deadlines, SlaOverdue
from services.notify.domain import LOCAL_TIME, masked, revisit_answer, variables_of
from services.notify.rules import (
    Bucket,
    NotifyRules,
    QuietHours,
    Retry,
    RulesError,
    clip,
    sms_segments,
)
from tests.unit.conftest import CONFIG_DIR

FAST = settings(max_examples=150, deadline=None, database=None)
RULES = NotifyRules.from_file(CONFIG_DIR / "notify.yml")
HBJ = Assignee(kind="department", code="D-HBJ", name="市生态环境局县分局")
T0 = datetime(2026, 11, 21, 1, 30, tzinfo=UTC)  # 09:30 in Beijing


def dispatched(summary: str = "") -> CaseDispatched:
    limits = Deadlines(respond_by=T0, feedback_by=T0 + timedelta(hours=22), resolve_by=T0)
    return CaseDispatched(assignee=HBJ, level="district", deadlines=limits,
                          dispatched_by="auto", summary=summary)  # fmt: skip


def dispatch_text(summary: str) -> str:
    variables = variables_of("case.dispatched", "CF261121-7K3QX9", dispatched(summary), summary)
    return RULES.render("case_dispatched", variables, "sms")


# --- the shipped file ------------------------------------------------------------------------


def test_the_shipped_rules_name_who_hears_of_what() -> None:
    assert [(r.to, r.channels) for r in RULES.rules_for("case.dispatched")] == [
        ("assignee", ("sms",))
    ]
    assert RULES.rules_for("case.awaiting_dispatch", "blue") == []
    assert [r.to for r in RULES.rules_for("case.awaiting_dispatch", "red")] == ["centre"]
    assert [r.to for r in RULES.rules_for("case.concluded")] == ["citizen"]
    assert RULES.providers == {"sms": "file", "wechat": "file", "wecom": "file"}
    assert RULES.quiet_hours == QuietHours(time(22), time(8))


def test_a_dispatch_sms_says_the_deadline_in_beijing_and_fits_one_message() -> None:
    text = dispatch_text("化工厂夜间偷排污水,附近居民反映气味刺鼻,希望尽快派人查处" * 3)
    assert text.startswith(
        "【综治中心】工单CF261121-7K3QX9已派至市生态环境局县分局,请于11-21 09:30前签收。"
    )
    assert len(text) == 70 and text.endswith("…") and sms_segments(text) == 1


def test_a_short_summary_is_kept_whole_and_none_leaves_the_head() -> None:
    assert dispatch_text("噪音").endswith("签收。噪音")
    assert dispatch_text("").endswith("签收。")


def test_two_segments_give_the_summary_more_room() -> None:
    document = (CONFIG_DIR / "notify.yml").read_text(encoding="utf-8")
    longer = NotifyRules.from_text(document.replace("sms_segments: 1", "sms_segments: 2"))
    variables = variables_of("case.dispatched", "CF1", dispatched("很" * 200), "很" * 200)
    text = longer.render("case_dispatched", variables, "sms")
    assert len(text) == 134 and sms_segments(text) == 2


@FAST
@given(st.text(min_size=0, max_size=300))
def test_an_sms_never_takes_more_parts_than_allowed(summary: str) -> None:
    assert sms_segments(dispatch_text(summary)) == 1


def test_sms_segments_follow_the_70_and_67_rule() -> None:
    assert [sms_segments("字" * n) for n in (0, 70, 71, 134, 135)] == [1, 1, 2, 2, 3]
    assert (
        clip("一二三四五", 4) == "一二三…"
        and clip("一二三", 3) == ""
        and clip("一二", 10) == "一二"
    )


def test_an_overdue_alert_names_the_clock_and_the_limit_in_chinese() -> None:
    alert = SlaOverdue(clock="respond", due_at=T0, assignee=HBJ, level="district")
    variables = variables_of("sla.overdue", "CF1", alert, "")
    assert RULES.render("sla_overdue", variables, "sms") == (
        "【综治中心】工单CF1已超时(签收,时限11-21 09:30),请立即办理。"
    )


# --- refused at start, with the line -------------------------------------------------------------


def edit(old: str, new: str) -> str:
    text = (CONFIG_DIR / "notify.yml").read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            "请于{{ deadline }}前签收",
            "请于{{ due }}前签收",
            "case_dispatched:",
            "templates.case_dispatched: uses due, which case.dispatched does not provide",
        ),
        (
            "  - event: case.concluded\n    to: citizen",
            "  - event: case.concluded\n    to: mayor",
            "to: mayor",
            "to: Input should be 'assignee', 'supervisors', 'centre', 'citizen' or 'subscribers'",
        ),
        (
            "  - event: case.escalated\n    to: supervisors",
            "  - event: case.escalated\n    to: citizen",
            "to: citizen",
            "escalated names no citizen",
        ),
        (
            "    channels: [sms, wecom]",
            "    channels: [sms, fax]",
            "channels: [sms, fax]",
            "channels[1]: Input should be 'sms', 'wechat' or 'wecom'",
        ),
        (
            "  sms: file",
            "  sms: twilio",
            "sms: twilio",
            "providers.sms: Input should be 'file', 'aliyun' or 'tencent'",
        ),
        (
            'quiet_hours: {start: "22:00"',
            'quiet_hours: {start: "25:00"',
            "quiet_hours",
            "quiet_hours.start: '25:00' is not a time like 22:00",
        ),
        (
            "recipient: {rate: 0.2, burst: 5}",
            "recipient: {rate: 0, burst: 5}",
            "recipient:",
            "rate_limits.recipient.rate: 0 must be a positive number",
        ),
        (
            "retry: {attempts: 5",
            "retry: {attempts: 50",
            "retry:",
            "retry.attempts: 50 must be a whole number from 1 to 20",
        ),
        (
            "已办结。请回复",
            "{% if %}已办结。请回复",
            "revisit_question:",
            "templates.revisit_question: not a valid template",
        ),
    ],
    ids=[
        "variable",
        "recipient",
        "reach",
        "channel",
        "provider",
        "quiet",
        "rate",
        "retry",
        "syntax",
    ],
)
def test_a_wrong_file_is_refused_naming_the_line(
    old: str, new: str, field: str, message: str
) -> None:
    text = edit(old, new)
    with pytest.raises(RulesError) as refused:
        NotifyRules.from_text(text)
    assert f"notify.yml line {line_of(text, field)}: " in str(refused.value)
    assert message in str(refused.value)


def test_a_bucket_that_never_holds_a_token_is_refused() -> None:
    text = edit("recipient: {rate: 0.2, burst: 5}", "recipient: {rate: 0.2, burst: 0.5}")
    with pytest.raises(RulesError) as refused:
        NotifyRules.from_text(text)
    assert str(refused.value) == (
        f"notify.yml line {line_of(text, 'recipient:')}: rate_limits.recipient.burst: "
        "must be at least 1: a bucket that never holds a token"
    )


def test_sections_left_empty_take_their_defaults() -> None:
    text = edit('quiet_hours: {start: "22:00", end: "08:00", staff: true}', "quiet_hours:")
    text = text.replace("recipient: {rate: 0.2, burst: 5}", "recipient: {rate: 2}")
    rules = NotifyRules.from_text(text)
    assert (rules.quiet_hours.start, rules.quiet_hours.end) == (time(22), time(8))
    assert (rules.recipient_limit.rate, rules.recipient_limit.burst) == (2.0, 2.0)


def test_a_bare_on_would_be_read_as_true_so_rules_say_event() -> None:
    with pytest.raises(RulesError, match=r"rules\[0\].True: unknown field"):
        NotifyRules.from_text(edit("  - event: case.dispatched", "  - on: case.dispatched"))


# --- buckets, backoff, quiet hours -----------------------------------------------------------


def test_a_bucket_gives_its_burst_then_one_token_per_interval() -> None:
    bucket = Bucket(rate=2, burst=3)
    tokens, now, waits = 3.0, 100.0, []
    for _ in range(5):
        tokens, wait = bucket.take(tokens, now, now)
        waits.append(wait)
    assert waits == [0, 0, 0, 0.5, 0.5]
    assert bucket.take(0.0, 100.0, 100.5) == (0.0, 0.0)  # half a second refilled one token
    assert bucket.take(0.0, 100.0, 1000.0) == (2.0, 0.0)  # never more than the burst


def test_backoff_doubles_up_to_its_cap_within_the_jitter() -> None:
    retry = Retry(5, timedelta(seconds=2), timedelta(seconds=10), 0.3)
    rng = random.Random(1)
    delays = [retry.delay(n, rng).total_seconds() for n in range(1, 6)]
    plain = [2, 4, 8, 10, 10]
    assert all(p * 0.7 <= d <= p * 1.3 for d, p in zip(delays, plain, strict=True))
    assert Retry(5, timedelta(seconds=2), timedelta(seconds=10), 0).delay(3) == timedelta(seconds=8)


def test_quiet_hours_across_midnight_in_beijing() -> None:
    quiet = QuietHours(time(22), time(8))
    night = datetime(2026, 11, 21, 23, 30, tzinfo=LOCAL_TIME)
    assert quiet.holds(night) and quiet.holds(night + timedelta(hours=8))
    assert not quiet.holds(night + timedelta(hours=9))  # 08:30
    assert quiet.end_after(night) == datetime(2026, 11, 22, 8, 0, tzinfo=LOCAL_TIME)
    # 15:00 UTC is 23:00 in Beijing: the zone of the clock does not matter
    assert quiet.holds(datetime(2026, 11, 21, 15, 0, tzinfo=UTC))


# --- the citizen's answer ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "answer"),
    [("1", "satisfied"), ("２", "basically_satisfied"), (" 3。", "unsatisfied"),
     ("满意", "satisfied"), ("不满意", "unsatisfied"), ("3 还是有味道", "unsatisfied"),
     ("你好", None), ("12", None), ("4", None), ("1395", None), ("", None)],
)  # fmt: skip
def test_a_revisit_reply_reads_as_an_answer_or_as_nothing(reply: str, answer: str | None) -> None:
    assert revisit_answer(reply) == answer


def test_addresses_are_masked_for_records_and_events() -> None:
    assert masked("13800138000", "sms") == "138****8000"
    assert masked("oX1234567890", "wechat") == "oX12****"
