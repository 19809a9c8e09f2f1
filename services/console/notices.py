"""信访: the written notices a petition's steps give the petitioner, generated from a template
as HTML and kept on the case as its files: 受理告知书 with the acceptance (``acknowledge``),
处理意见书 / 复查意见书 / 复核意见书 with each stage's written answer (``answer``).

The console renders them: it owns the case's files. A notice is named by its case, its step and
its stage, so the same action carried out again (a retried request, an ``Idempotency-Key``
replayed) finds its notice kept already and keeps no second one."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from jinja2 import Environment, PackageLoader, select_autoescape

from kernel.petition import NEXT_STAGE, NOTICE_OF_STAGE, PetitionStage

BEIJING: Final = timezone(timedelta(hours=8))
ACKNOWLEDGE_NOTICE: Final = "受理告知书"
STAGES: Final[tuple[PetitionStage, ...]] = ("handling", "review", "re_review")
STAGE_NAMES: Final[dict[PetitionStage, str]] = {
    "handling": "办理", "review": "复查", "re_review": "复核",
}  # fmt: skip
NOTICE_STEPS: Final = frozenset({"acknowledge", "answer"})
"""The lifecycle actions that give the petitioner a written notice."""

_TEMPLATES: Final = Environment(
    loader=PackageLoader("services.console", "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Notice:
    """A notice to keep: its file's id, name and bytes."""

    attachment_id: str
    name: str
    content: bytes


def stage_of(case: dict[str, Any]) -> PetitionStage:
    """The stage a petition is in: each 复查 / 复核 asked is a step of its timeline."""
    asked = sum(1 for step in case.get("timeline", []) if step.get("action") == "request_review")
    return STAGES[min(asked, len(STAGES) - 1)]


def notice_for(action: str, case: dict[str, Any], body: dict[str, Any], now: datetime) -> Notice:
    """The notice ``action`` gives, for the case as it stands after it."""
    stage = stage_of(case)
    title = ACKNOWLEDGE_NOTICE if action == "acknowledge" else NOTICE_OF_STAGE[stage]
    following = NEXT_STAGE[stage]
    citizen = case.get("citizen") or {}
    deadlines = case.get("deadlines") or {}
    html = _TEMPLATES.get_template("petition_notice.html").render(
        title=title, kind=action, case_id=case["case_id"],
        petitioner=citizen.get("name") or "信访人", content=case.get("content", ""),
        filed=_day(case.get("received_at")), answer_by=_last_day(deadlines.get("answer_by")),
        stage_name=STAGE_NAMES[stage], opinion=body.get("opinion", ""),
        next_step=STAGE_NAMES[following] if following else None,
        unit=(case.get("assignee") or {}).get("name", ""), today=_day(now.isoformat()),
    )  # fmt: skip
    key = f"{case['case_id']}\n{action}\n{stage}"
    attachment_id = hashlib.sha256(key.encode()).hexdigest()[:32]
    return Notice(attachment_id, f"{title}-{case['case_id']}.html", html.encode())


def _day(at: str | None) -> str:
    if not at:
        return ""
    return f"{datetime.fromisoformat(at).astimezone(BEIJING):%Y年%m月%d日}"


def _last_day(at: str | None) -> str:
    """A limit runs out at a Beijing midnight: the day before it is the last one."""
    if not at:
        return ""
    return _day((datetime.fromisoformat(at) - timedelta(microseconds=1)).isoformat())
