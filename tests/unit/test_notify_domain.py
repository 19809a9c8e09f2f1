"""Notify's pure rules: the duty-phone directory and the text of a dispatch SMS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import settings

from contracts.events import Assignee, CaseDispatched, Deadlines
from services.notify.domain import (
    ContactDirectory,
    Recipient,
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
