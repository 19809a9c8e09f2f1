"""What the four lines hand over: payloads of ``POST /api/v1/...`` and of ``civicflow.inbound``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field

from contracts.common import (
    Channel,
    Content,
    Contract,
    GeoPoint,
    Identifier,
    Phone,
    ShortText,
    Text,
)

Address = Annotated[Text, Field(min_length=1, max_length=500)]
CategoryCode = Annotated[Identifier, Field(max_length=32)]
Url = Annotated[str, Field(min_length=8, max_length=2000, pattern=r"^https?://\S+$")]


class InboundPayload(Contract):
    """Common face of the four lines' payloads."""

    content: Content

    @property
    def external_id(self) -> str:
        raise NotImplementedError

    @property
    def occurred_at(self) -> datetime:
        raise NotImplementedError


class Caller(Contract):
    name: ShortText | None = None
    phone: Phone


class HotlineTicket(InboundPayload):
    """A 12345 hotline ticket (市民服务热线工单)."""

    ticket_no: Identifier
    received_at: AwareDatetime
    caller: Caller
    category: CategoryCode | None = None
    address: Address | None = None
    location: GeoPoint | None = None
    urgent: bool = False

    @property
    def external_id(self) -> str:
        return self.ticket_no

    @property
    def occurred_at(self) -> datetime:
        return self.received_at


class GridReport(InboundPayload):
    """A grid worker's report from the grid app (网格员上报)."""

    report_id: Identifier
    reported_at: AwareDatetime
    grid_code: Identifier
    reporter_id: Identifier
    category: CategoryCode | None = None
    location: GeoPoint | None = None
    photos: Annotated[list[Url], Field(max_length=20)] = []
    resolved_on_site: bool = False

    @property
    def external_id(self) -> str:
        return self.report_id

    @property
    def occurred_at(self) -> datetime:
        return self.reported_at


OpinionPlatform = Literal["weibo", "wechat", "douyin", "news", "forum", "other"]


class OpinionItem(InboundPayload):
    """An item from the public-opinion monitoring feed (舆情)."""

    item_id: Identifier
    platform: OpinionPlatform
    published_at: AwareDatetime
    url: Url | None = None
    heat: Annotated[int, Field(ge=0)] = 0
    address: Address | None = None
    location: GeoPoint | None = None

    @property
    def external_id(self) -> str:
        return self.item_id

    @property
    def occurred_at(self) -> datetime:
        return self.published_at


PetitionForm = Literal["visit", "letter", "phone", "online"]


class Petitioner(Contract):
    name: ShortText
    phone: Phone | None = None


class Petition(InboundPayload):
    """A petition registered by the petition bureau (信访: 来访 来信 来电 网上)."""

    petition_no: Identifier
    form: PetitionForm
    filed_at: AwareDatetime
    petitioners: Annotated[list[Petitioner], Field(min_length=1, max_length=500)]
    group_size: Annotated[int, Field(ge=1)] | None = None
    address: Address | None = None
    category: CategoryCode | None = None
    accused_unit: Identifier | None = None
    """被反映单位 (1.1): the code of the department or grid unit the petition accuses, or the
    unit of the person it accuses. The petition is never routed to it (回避)."""

    @property
    def external_id(self) -> str:
        return self.petition_no

    @property
    def occurred_at(self) -> datetime:
        return self.filed_at


@dataclass(frozen=True)
class InboundLine:
    """One of the four lines as it arrives: its channel, HTTP path and AMQP routing key."""

    channel: Channel
    routing_key: str
    path: str
    model: type[InboundPayload]


INBOUND_EXCHANGE = "civicflow.inbound"
INBOUND_REJECTED_QUEUE = "civicflow.inbound.rejected"
REJECT_REASON_HEADER = "x-reject-reason"

HOTLINE = InboundLine("hotline", "hotline.ticket", "/api/v1/hotline/tickets", HotlineTicket)
GRID = InboundLine("grid", "grid.report", "/api/v1/grid/reports", GridReport)
OPINION = InboundLine("opinion", "opinion.item", "/api/v1/opinion/items", OpinionItem)
PETITION = InboundLine("petition", "petition.filed", "/api/v1/petitions", Petition)

LINES: tuple[InboundLine, ...] = (HOTLINE, GRID, OPINION, PETITION)
LINES_BY_ROUTING_KEY = {line.routing_key: line for line in LINES}
LINES_BY_CHANNEL = {line.channel: line for line in LINES}


# --- what intake answers ---


class Accepted(Contract):
    """202 for a new matter; 200 with ``duplicate: true`` for one already received."""

    case_id: str
    status: Literal["received"] = "received"
    duplicate: bool


class ErrorItem(Contract):
    loc: list[str | int]
    msg: str
    type: str | None = None


class Errors(Contract):
    errors: list[ErrorItem]


class SourceTimelineEntry(Contract):
    at: datetime
    type: str
    status: str | None
    note: str | None = None


class SourceCaseView(Contract):
    """``GET /api/v1/cases/{case_id}``: a source's own case as dispatch and supervision left it."""

    case_id: str
    external_id: str
    channel: Channel
    status: str
    risk: str | None
    repeat_of: list[str]
    assignee: dict[str, str] | None
    level: str | None
    deadlines: dict[str, str] | None
    received_at: datetime
    timeline: list[SourceTimelineEntry]
    address: str | None = None
    citizen: dict[str, str | None] | None = None
    """The citizen's name and masked number."""
    photos: list[str] = []
    repeats: list[str] = []
    """Later matters of the same citizen that repeat this one."""
    risk_rules: list[str] = []
    received_by: str | None = None
    details: dict[str, Any] = {}
