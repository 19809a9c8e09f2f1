"""What a notification says and to whom, free of I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from contracts.events import Assignee, CaseAwaitingDispatch, CaseDispatched

SMS_SEGMENT_CHARS = 70
LOCAL_TIME = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Recipient:
    key: str
    """Stable identity of the recipient for exactly-once records (no phone number in it)."""
    name: str
    phone: str


class ContactDirectory:
    """Duty phones of departments (``departments.yml``)."""

    def __init__(self, phones: Mapping[str, tuple[str, str]]) -> None:
        self._phones = dict(phones)

    @classmethod
    def from_config(cls, departments_doc: Mapping[str, Any]) -> ContactDirectory:
        return cls(
            {
                entry["code"]: (entry["name"], str(entry["phone"]))
                for entry in departments_doc.get("departments") or []
                if entry.get("phone")
            }
        )

    def recipient_for(self, assignee: Assignee) -> Recipient | None:
        found = self._phones.get(assignee.code)
        if found is None:
            return None
        name, phone = found
        return Recipient(key=f"{assignee.kind}:{assignee.code}", name=name, phone=phone)


def summary(text: str, limit: int) -> str:
    if limit <= 0:
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


CENTRE = Assignee(kind="department", code="D-ZZB", name="综治中心")
"""The centre's duty line (综治中心值班室): red risk is reported there at once."""


def red_risk_sms(case_id: str, waiting: CaseAwaitingDispatch) -> str:
    """The alert the centre gets the moment a red-risk case waits for a person."""
    head = f"【综治中心】红色风险工单{case_id}待研判派单,请立即处理。"
    room = SMS_SEGMENT_CHARS - len(head)
    return head + (summary(waiting.reason, room) if room > 6 else "")


def dispatch_sms(case_id: str, dispatched: CaseDispatched, content: str = "") -> str:
    """The SMS a unit gets when a case is dispatched to it (one segment when it can)."""
    respond_by = dispatched.deadlines.respond_by.astimezone(LOCAL_TIME).strftime("%m-%d %H:%M")
    head = f"【综治中心】工单{case_id}已派至{dispatched.assignee.name},请于{respond_by}前签收。"
    room = SMS_SEGMENT_CHARS - len(head)
    return head + (summary(content, room) if content and room > 6 else "")
