"""The case list and the assessment as downloads (导出): the columns in Chinese, categories,
statuses, lines and levels by their Chinese names (no raw codes), phone numbers masked, only
the cases within the user's reach. Pure: rows from the documents the other services answer;
``kit.tabular`` writes them out as CSV or XLSX."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from contracts.common import mask_phone, mask_phones_in
from kit.tabular import FORMATS, Cell, Format
from services.console.refusals import BadField

BEIJING: Final = ZoneInfo("Asia/Shanghai")

STATUS_NAMES: Final = {
    "received": "已接收", "pending_dispatch": "待派单", "dispatched": "已派单",
    "accepted": "已签收", "in_progress": "办理中", "concluded": "已办结",
    "closed": "已办结归档", "resolved_on_site": "就地化解", "merged": "已合并",
}  # fmt: skip
CHANNEL_NAMES: Final = {
    "hotline": "12345热线", "grid": "网格上报", "opinion": "舆情", "petition": "信访",
}  # fmt: skip
RISK_NAMES: Final = {"red": "红", "yellow": "黄", "blue": "蓝"}
LEVEL_NAMES: Final = {
    "micro_grid": "微网格", "grid": "网格", "community": "社区", "street": "街道",
    "district": "区县",
}  # fmt: skip
KIND_NAMES: Final = {"department": "部门", "grid": "网格"}

CASE_COLUMNS: Final = (
    "工单编号", "受理时间", "渠道", "事项分类", "风险等级", "状态", "承办单位", "承办层级",
    "诉求内容", "地址", "联系人", "联系电话", "办结时限",
)  # fmt: skip
ASSESSMENT_COLUMNS: Final = (
    "承办对象", "类型", "派单", "签收及时率", "反馈及时率", "办结及时率", "超时", "退单率",
    "返工率", "满意率", "督办", "黄牌", "红牌", "得分",
)  # fmt: skip


def export_format(value: str | None) -> Format:
    """``format``: csv or xlsx; anything else is refused naming the field."""
    for known in FORMATS:
        if value == known:
            return known
    raise BadField("format", "导出格式只能是 csv 或 xlsx")


def beijing_time(value: Any) -> str:
    """An ISO time as ``2026-11-21 10:00`` in Beijing; empty when there is none."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return ""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _named(names: Mapping[str, str], code: Any) -> str:
    """A code by its Chinese name; one without a name is left out rather than shown raw."""
    return names.get(str(code), "") if code else ""


def _masked(phone: Any) -> str:
    """Whatever number the case holds, masked (an already masked one stays as it is)."""
    return mask_phone(str(phone)) if phone else ""


def case_row(case: Mapping[str, Any], categories: Mapping[str, str]) -> list[Cell]:
    """One case as a row of ``CASE_COLUMNS``."""
    assignee = case.get("assignee") or {}
    citizen = case.get("citizen") or {}
    deadlines = case.get("deadlines") or {}
    return [
        case.get("case_id", ""),
        beijing_time(case.get("received_at")),
        _named(CHANNEL_NAMES, case.get("channel")),
        _named(categories, case.get("category")),
        _named(RISK_NAMES, case.get("risk")),
        _named(STATUS_NAMES, case.get("status")),
        assignee.get("name", ""),
        _named(LEVEL_NAMES, case.get("level")),
        mask_phones_in(str(case.get("content") or "")),
        mask_phones_in(str(case.get("address") or "")),
        str(citizen.get("name") or ""),
        _masked(citizen.get("phone")),
        beijing_time(deadlines.get("resolve_by")),
    ]


def case_rows(
    cases: Iterable[Mapping[str, Any]], categories: Mapping[str, str]
) -> Iterator[list[Cell]]:
    return (case_row(case, categories) for case in cases)


def _rate(value: Any) -> str:
    return "" if value is None else f"{float(value) * 100:.1f}%"


def assessment_row(row: Mapping[str, Any]) -> list[Cell]:
    """One unit's 一单考评 as a row of ``ASSESSMENT_COLUMNS``."""
    score = row.get("score")
    return [
        row.get("assignee_name", ""), _named(KIND_NAMES, row.get("assignee_kind")),
        row.get("dispatched"), _rate(row.get("respond_on_time_rate")),
        _rate(row.get("feedback_on_time_rate")), _rate(row.get("resolve_on_time_rate")),
        row.get("overdue"), _rate(row.get("return_rate")), _rate(row.get("reopen_rate")),
        _rate(row.get("satisfaction_rate")), row.get("orders"), row.get("yellow_cards"),
        row.get("red_cards"), None if score is None else round(float(score), 1),
    ]  # fmt: skip


def assessment_rows(rows: Sequence[Mapping[str, Any]]) -> list[list[Cell]]:
    """The units best first, as the assessment page shows them."""
    ordered = sorted(rows, key=lambda r: -1 if r.get("score") is None else -float(r["score"]))
    return [assessment_row(row) for row in ordered]


def filename(what: str, kind: Format, now: datetime) -> str:
    """``工单导出-20261121-1005.csv``: what, and when in Beijing."""
    return f"{what}-{now.astimezone(BEIJING).strftime('%Y%m%d-%H%M')}.{kind}"
