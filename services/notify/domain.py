"""What a notification says and to whom, free of I/O."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from contracts.common import mask_phone
from contracts.events import Assignee

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


def masked(address: str, channel: str) -> str:
    """What records and events may show of an address: a masked phone, a clipped openid."""
    if channel == "sms":
        return mask_phone(address)
    return address[:4] + "****" if len(address) > 4 else "****"


CENTRE = Assignee(kind="department", code="D-ZZB", name="综治中心")
"""The centre's duty line (综治中心值班室): red risk is reported there at once."""


# --- what the templates are given ---------------------------------------------------------------

LEVEL_NAMES = {"micro_grid": "微网格", "grid": "网格", "community": "社区", "street": "街道",
               "district": "区县"}  # fmt: skip
CLOCK_NAMES = {"respond": "签收", "feedback": "反馈", "resolve": "办结", "order": "督办"}
GRADE_NAMES = {"normal": "普通", "yellow": "黄牌", "red": "红牌"}


def local_time(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TIME).strftime("%m-%d %H:%M")


def variables_of(event_type: str, case_id: str, data: Any, summary: str) -> dict[str, str]:
    """The variables an event gives its template (notify.yml says which each may use)."""
    values: dict[str, str] = {"case_no": case_id, "summary": summary}
    assignee = getattr(data, "assignee", None)
    if assignee is not None:
        values["unit"] = assignee.name
    level = getattr(data, "level", None)
    if level:
        values["level"] = LEVEL_NAMES.get(level, level)
    if event_type == "case.dispatched":
        values["deadline"] = local_time(data.deadlines.respond_by)
    elif event_type in ("sla.warning", "sla.overdue", "supervision.order"):
        values["deadline"] = local_time(data.due_at)
    if event_type in ("sla.warning", "sla.overdue"):
        values["clock"] = CLOCK_NAMES.get(data.clock, data.clock)
    if event_type == "supervision.order":
        values["grade"], values["note"] = GRADE_NAMES[data.grade], data.note
    if event_type == "case.escalated":
        values["from_level"] = LEVEL_NAMES.get(data.from_level, data.from_level)
        values["to_level"] = LEVEL_NAMES.get(data.to_level, data.to_level)
        values["reason"] = data.reason
    if event_type == "case.awaiting_dispatch":
        values["reason"] = data.reason
    if event_type == "notification.failed":
        values["reason"] = f"{data.recipient} {data.channel}: {data.error}"
    if event_type == "supervision.alert_routed":
        values["alert"] = data.summary
    return values


ANSWERS = {
    "1": "satisfied", "2": "basically_satisfied", "3": "unsatisfied",
    "满意": "satisfied", "基本满意": "basically_satisfied", "不满意": "unsatisfied",
}  # fmt: skip


def revisit_answer(reply: str) -> str | None:
    """A citizen's SMS reply to the revisit question: 1, 2 or 3 (full-width too, with or
    without words around the digit), or the words themselves; None when it is neither."""
    text = unicodedata.normalize("NFKC", reply).strip().strip("。.!！ ")
    if text in ANSWERS:
        return ANSWERS[text]
    digits = [c for c in text if c in "123"]
    if len(digits) == 1 and not any(c.isdigit() and c not in "123" for c in text):
        return ANSWERS[digits[0]]
    return None
