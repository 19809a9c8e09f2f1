"""What a notification says and to whom, free of I/O."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from contracts.common import mask_phone
from contracts.events import Assignee
from kernel.catalogue import Department, read_departments

if TYPE_CHECKING:
    from services.notify.rules import Bucket

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
        """The departments of departments.yml that have a duty phone, read as every service
        reads the catalogue (``kernel.catalogue``)."""
        return cls.of(read_departments(departments_doc))

    @classmethod
    def of(cls, departments: Mapping[str, Department]) -> ContactDirectory:
        """The departments that have a duty phone."""
        return cls({d.code: (d.name, d.phone) for d in departments.values() if d.phone})

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


# --- rate limits ------------------------------------------------------------------------------


class BucketLevel(Protocol):
    """What a stored token bucket holds: its tokens, and when (epoch seconds) it last gave one."""

    tokens: float
    updated: float


def take_tokens(
    levels: Sequence[BucketLevel], buckets: Sequence[tuple[str, Bucket]], now: float
) -> tuple[float, str]:
    """One token from each bucket, or none at all: the seconds to wait and the bucket that
    holds the message back (0 and "" when the tokens were taken). ``levels`` are the buckets'
    stored states, in the same order, changed in place.

    All or nothing, so a provider's account is not spent on a message its recipient's limit
    holds back."""
    takes = [
        bucket.take(level.tokens, level.updated, now)
        for level, (_, bucket) in zip(levels, buckets, strict=True)
    ]
    wait, holder = max((w, key) for (_, w), (key, _) in zip(takes, buckets, strict=True))
    for level, (tokens, bucket_wait) in zip(levels, takes, strict=True):
        if wait > 0 and bucket_wait == 0:
            tokens += 1.0  # another bucket holds the message back: this one's token stays
        level.tokens, level.updated = tokens, max(now, level.updated)
    return (wait, holder) if wait > 0 else (0.0, "")
