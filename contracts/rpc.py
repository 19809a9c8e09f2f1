"""Payloads of the read RPCs between services (``dispatch.get_case``, ``grid.units``)."""

from __future__ import annotations

from pydantic import AwareDatetime

from contracts.common import Channel, Contract, RiskGrade
from contracts.events import Assignee, Deadlines, Level


class TimelineEntry(Contract):
    at: AwareDatetime
    action: str
    from_status: str | None
    to_status: str
    actor: str
    reason: str | None = None


class CaseView(Contract):
    """A case as the console and intake's status endpoint answer it."""

    case_id: str
    status: str
    channel: Channel
    source: str
    category: str | None
    risk: RiskGrade
    content: str
    assignee: Assignee | None
    level: Level | None
    deadlines: Deadlines | None
    suggestion: Assignee | None = None
    routing_reason: str | None = None
    received_at: AwareDatetime
    timeline: list[TimelineEntry]


class CasePage(Contract):
    items: list[CaseView]
    total: int
    page: int
    page_size: int


class GridUnit(Contract):
    code: str
    name: str
    level: Level
    parent: str | None
