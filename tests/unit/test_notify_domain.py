"""Notify's pure rules: the duty-phone directory and the text of a dispatch SMS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.events import Assignee, CaseDispatched, Deadlines
from services.notify.domain import (
    LOCAL_TIME,
    SMS_SEGMENT_CHARS,
    ContactDirectory,
    Recipient,
    dispatch_sms,
    summary,
)

FAST = settings(max_examples=150, deadline=None, database=None)

CASE_ID = "CF260301-7K3QX9"
# 01:30 UTC is 09:30 in Shanghai.
RESPOND_BY = datetime(2026, 3, 1, 1, 30, tzinfo=UTC)


def dispatched(
    name: str = "县公安局", respond_by: datetime = RESPOND_BY, kind: str = "department"
) -> CaseDispatched:
    return CaseDispatched.model_validate(
        {
            "assignee": {"kind": kind, "code": "D-GAJ", "name": name},
            "level": "district",
            "deadlines": Deadlines(
                respond_by=respond_by,
                feedback_by=respond_by + timedelta(hours=22),
                resolve_by=respond_by + timedelta(days=5),
            ).model_dump(),
            "dispatched_by": "auto",
        }
    )


def head(name: str = "县公安局", when: str = "03-01 09:30") -> str:
    return f"【综治中心】工单{CASE_ID}已派至{name},请于{when}前签收。"


# --- ContactDirectory ----------------------------------------------------------------------


def test_directory_from_the_real_departments(departments_doc: dict[str, Any]) -> None:
    directory = ContactDirectory.from_config(departments_doc)
    recipient = directory.recipient_for(Assignee(kind="department", code="D-GAJ", name="x"))
    assert recipient == Recipient(key="department:D-GAJ", name="县公安局", phone="13800000003")
    other = directory.recipient_for(Assignee(kind="department", code="D-GDJ", name="x"))
    assert other is not None
    assert other.phone == "13800000018"
    assert other.name == "国网县供电公司"


def test_unknown_unit_has_no_recipient(departments_doc: dict[str, Any]) -> None:
    directory = ContactDirectory.from_config(departments_doc)
    assert directory.recipient_for(Assignee(kind="department", code="D-NOPE", name="x")) is None
    assert directory.recipient_for(Assignee(kind="grid", code="370113001", name="x")) is None


def test_directory_skips_departments_without_a_phone() -> None:
    doc = {
        "departments": [
            {"code": "A", "name": "甲", "level": "district", "phone": "13800000001"},
            {"code": "B", "name": "乙", "level": "district"},
            {"code": "C", "name": "丙", "level": "district", "phone": ""},
            {"code": "D", "name": "丁", "level": "district", "phone": 13800000004},
        ]
    }
    directory = ContactDirectory.from_config(doc)
    assert directory.recipient_for(Assignee(kind="department", code="B", name="乙")) is None
    assert directory.recipient_for(Assignee(kind="department", code="C", name="丙")) is None
    unquoted = directory.recipient_for(Assignee(kind="department", code="D", name="丁"))
    assert unquoted is not None
    assert unquoted.phone == "13800000004"


@pytest.mark.parametrize("document", [{}, {"departments": None}, {"departments": []}])
def test_empty_directory(document: dict[str, Any]) -> None:
    directory = ContactDirectory.from_config(document)
    assert directory.recipient_for(Assignee(kind="department", code="D-GAJ", name="x")) is None


def test_recipient_key_names_the_kind_and_code_but_no_phone() -> None:
    directory = ContactDirectory({"G-1": ("第1网格", "13900000000")})
    recipient = directory.recipient_for(Assignee(kind="grid", code="G-1", name="ignored"))
    assert recipient == Recipient(key="grid:G-1", name="第1网格", phone="13900000000")
    assert "1390" not in recipient.key


def test_directory_copies_its_input() -> None:
    phones = {"A": ("甲", "13800000001")}
    directory = ContactDirectory(phones)
    phones.clear()
    assert directory.recipient_for(Assignee(kind="department", code="A", name="甲")) is not None


# --- dispatch_sms --------------------------------------------------------------------------


def test_sms_without_content_is_the_head_only() -> None:
    text = dispatch_sms(CASE_ID, dispatched())
    assert text == head()
    assert len(text) <= SMS_SEGMENT_CHARS


def test_sms_shows_the_respond_by_time_in_shanghai() -> None:
    assert LOCAL_TIME.key == "Asia/Shanghai"
    text = dispatch_sms(CASE_ID, dispatched())
    assert "请于03-01 09:30前签收" in text
    assert "01:30" not in text


def test_sms_local_time_crosses_midnight() -> None:
    text = dispatch_sms(CASE_ID, dispatched(respond_by=datetime(2026, 12, 31, 17, 5, tzinfo=UTC)))
    assert "请于01-01 01:05前签收" in text


def test_sms_time_is_the_same_whatever_zone_the_deadline_carries() -> None:
    new_york = timezone(timedelta(hours=-5))
    in_new_york = RESPOND_BY.astimezone(new_york)
    assert dispatch_sms(CASE_ID, dispatched(respond_by=in_new_york)) == head()


def test_short_content_is_appended_whole() -> None:
    text = dispatch_sms(CASE_ID, dispatched(), "广场舞噪音扰民")
    assert text == head() + "广场舞噪音扰民"
    assert len(text) <= SMS_SEGMENT_CHARS


def test_long_content_is_cut_to_fit_one_segment() -> None:
    content = "楼上邻居每天深夜装修施工噪音严重影响休息" * 5
    text = dispatch_sms(CASE_ID, dispatched(), content)
    assert len(text) == SMS_SEGMENT_CHARS
    assert text.startswith(head())
    assert text.endswith("…")
    tail = text[len(head()) : -1]
    assert content.startswith(tail)
    assert len(tail) == SMS_SEGMENT_CHARS - len(head()) - 1


def test_content_that_exactly_fits_is_not_cut() -> None:
    room = SMS_SEGMENT_CHARS - len(head())
    content = "字" * room
    text = dispatch_sms(CASE_ID, dispatched(), content)
    assert text == head() + content
    assert len(text) == SMS_SEGMENT_CHARS


def test_content_is_dropped_when_almost_no_room_is_left() -> None:
    name = "名" * (SMS_SEGMENT_CHARS - len(head(name="")) - 6)  # leaves exactly 6 characters
    text = dispatch_sms(CASE_ID, dispatched(name=name), "内容内容内容内容")
    assert text == head(name=name)
    assert len(text) == SMS_SEGMENT_CHARS - 6


def test_content_is_kept_with_seven_characters_of_room() -> None:
    name = "名" * (SMS_SEGMENT_CHARS - len(head(name="")) - 7)
    text = dispatch_sms(CASE_ID, dispatched(name=name), "内容内容内容内容")
    assert text == head(name=name) + "内容内容内容…"
    assert len(text) == SMS_SEGMENT_CHARS


def test_head_longer_than_a_segment_is_still_sent_whole() -> None:
    name = "很长的部门名称" * 10
    text = dispatch_sms(CASE_ID, dispatched(name=name), "内容")
    assert text == head(name=name)
    assert "内容" not in text


@FAST
@given(
    name=st.text("县区市局街道办公室委员会中心网格第一二三", min_size=1, max_size=20),
    content=st.text(min_size=0, max_size=200),
)
def test_sms_fits_one_segment_whenever_the_head_does(name: str, content: str) -> None:
    text = dispatch_sms(CASE_ID, dispatched(name=name), content)
    expected_head = head(name=name)
    assert text.startswith(expected_head)
    assert len(text) <= max(SMS_SEGMENT_CHARS, len(expected_head))
    rest = text[len(expected_head) :]
    assert (
        rest == ""
        or content.startswith(rest)
        or (rest.endswith("…") and content.startswith(rest[:-1]))
    )


# --- summary -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("", 5, ""),
        ("abc", 5, "abc"),
        ("abcde", 5, "abcde"),
        ("abcdef", 5, "abcd…"),
        ("噪音扰民严重", 3, "噪音…"),
        ("ab", 1, "…"),
        ("a", 1, "a"),
    ],
)
def test_summary(text: str, limit: int, expected: str) -> None:
    assert summary(text, limit) == expected


@FAST
@given(text=st.text(max_size=100), limit=st.integers(min_value=1, max_value=120))
def test_summary_never_exceeds_the_limit(text: str, limit: int) -> None:
    short = summary(text, limit)
    assert len(short) <= limit
    if len(text) <= limit:
        assert short == text
    else:
        assert short.endswith("…")
        assert text.startswith(short[:-1])
        assert len(short) == limit


def test_summary_with_no_room_is_empty() -> None:
    assert len(summary("hello", 0)) <= 0
