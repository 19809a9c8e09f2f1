"""Payloads of the read RPCs between services (``dispatch.get_case``, ``grid.units``,
``dispatch.export_cases``, ``grid.locate``, ``grid.staff``, ``grid.departments_for``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import AwareDatetime, Field, model_validator

from contracts.actions import RequiredText
from contracts.attachments import CaseAttachment, Note
from contracts.common import Channel, Contract, GeoPoint, MaskedPhone, Phone, RiskGrade
from contracts.desk import ShownCitizen
from contracts.events import (
    AlertKind,
    Assignee,
    Deadlines,
    Level,
    OrderGrade,
    SubscriptionChannel,
)


class TimelineEntry(Contract):
    at: AwareDatetime
    action: str
    from_status: str | None
    to_status: str
    actor: str
    role: str | None = None
    unit: str | None = None
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
    alternatives: list[Assignee] = []
    helpers: list[Assignee] = []
    pending_extension: dict[str, str] | None = None
    return_review: Assignee | None = None
    """退单审核: the unit whose return waits for the centre's check."""
    appeal: Literal["pending", "upheld", "rejected"] | None = None
    """不满意甄别 of the citizen's "unsatisfied"."""
    petition: dict[str, Any] | None = None
    """信访 only: ``stage`` (handling | review | re_review), ``filed_at``, ``accepted_at``,
    ``answered_at``, ``acknowledge_by``, ``answer_by``, ``review_asked_by``, ``extended``."""
    returns: int = 0
    reopens: int = 0
    merged_into: str | None = None
    routing_rule: str | None = None
    routing_reason: str | None = None
    place: list[dict[str, Any]] = []
    """The case's chain in the territory, micro-grid → district, as grid located it."""
    location: GeoPoint | None = None
    """Where it was reported, when the source said (the grid map draws it)."""
    received_at: AwareDatetime
    version: int = 1
    """Send it back as ``expected_version`` so that acting on a stale view is refused."""
    actions: list[str] = []
    """The lifecycle actions allowed in the case's present state."""
    timeline: list[TimelineEntry]
    address: str | None = None
    citizen: ShownCitizen | None = None
    """The citizen's name and masked number (the audited reveal shows the number whole)."""
    photos: list[str] = []
    repeat_of: list[str] = []
    """The same citizen's earlier matters this one repeats."""
    repeats: list[str] = []
    """The same citizen's later matters repeating this one."""
    risk_rules: list[str] = []
    """Why this risk: the risk rules that fired."""
    received_by: str | None = None
    """首问负责: who registered it at the centre's desk."""
    details: dict[str, Any] = {}
    """The line's own particulars (``contracts.desk.Particulars.details``)."""
    notes: list[Note] = []
    """内部备注: the console's own, filled in by the console (never shown to the source)."""
    attachments: list[CaseAttachment] = []
    """Files uploaded to the case (现场照片, documents): the console's own."""


class CasePage(Contract):
    """A page of cases, newest first. ``next``: the cursor of the page after it (None: this
    is the last). ``total`` is counted up to 10,000 only (dispatch's ``TOTAL_CAP``), so that
    no page counts the whole table; ``total_capped`` says there are more than that."""

    items: list[CaseView]
    total: int
    page: int
    page_size: int
    next: str | None = None
    total_capped: bool = False


class ExportedCase(Contract):
    """A case as a row of the case export (导出) needs it, shaped as ``CaseView`` is (the
    same names, a few of them): no history, nothing a row does not show. The number is
    masked, as every event holds it."""

    case_id: str
    received_at: AwareDatetime
    channel: Channel
    category: str | None
    risk: RiskGrade
    status: str
    assignee: Assignee | None
    level: Level | None
    content: str
    address: str | None = None
    citizen: ShownCitizen | None = None
    deadlines: Deadlines | None = None


class ExportPage(Contract):
    """A page of the export's cases, newest first (``dispatch.export_cases``), by the list's
    keyset cursor; ``next``: where the page after begins (None: this is the last). Unlike a
    ``CasePage`` it counts nothing: an export reads every match anyway."""

    items: list[ExportedCase]
    next: str | None = None


class GridUnit(Contract):
    code: str
    name: str
    level: Level
    parent: str | None


# --- grid: locate, staff, duty lists, the category catalogue --------------------------------

ExclusiveType = Literal["school", "hospital", "market", "enterprise", "construction_site"]
"""Kinds of exclusive grid (专属网格): 学校, 医院, 市场, 企业, 建筑工地."""

StaffRole = Literal[
    "party_leader",
    "police",
    "grid_worker",
    "mediator",
    "volunteer",
    "micro_grid_worker",
    "supervisor",
]
"""一格四员 and their neighbours: 党小组长, 指导员 (公安民警), 专职网格员, 矛盾纠纷调解员,
志愿者; 微网格员 of a micro-grid; 督导 (supervisors) of any unit."""

DutyRole = Literal["lead", "assist"]
"""主办 or 协办 in the duty list (职责清单)."""

NotLocated = Literal["outside", "unknown_code", "no_match", "ambiguous", "invalid", "no_input"]
"""Why ``grid.locate`` found nothing: the point lies outside every unit, the code is unknown,
the address names no unit, names several, the input is malformed, or there was none."""


class ExclusiveGridRef(Contract):
    """An exclusive grid (专属网格) overlaying the basic grids at a place."""

    code: str
    name: str
    type: ExclusiveType
    parent: str | None


class Location(Contract):
    """``grid.locate``'s answer. ``chain`` runs from the deepest unit found (a micro-grid when
    the point is inside one) up to the district; empty when not located."""

    located: bool
    by: Literal["point", "code", "address"] | None = None
    reason: NotLocated | None = None
    detail: str = ""
    chain: list[GridUnit] = []
    exclusive: list[ExclusiveGridRef] = []
    matched: list[str] = []
    """For an address: the unit names (or aliases) recognised in it."""
    candidates: list[GridUnit] = []
    """For an ambiguous address: the units it could mean (at most ten)."""


class StaffMember(Contract):
    """One person of a unit; the phone is masked, the sealed number stays in grid."""

    person_id: str
    unit: str
    role: StaffRole
    name: str
    phone: MaskedPhone | None
    wechat: str | None = None


class DepartmentDuty(Contract):
    """A department (职能部门) that handles a category at a level, from the duty list."""

    department: str
    name: str
    level: Level
    unit: str | None
    """The street a street-level department belongs to; None at district level."""
    category: str
    """The category the duty names: the one asked for, or its parent group."""
    role: DutyRole
    phone: MaskedPhone | None = None
    contact: str | None = None


class CategoryEntry(Contract):
    """One entry of the category catalogue (what Open311 ``services.json`` lists)."""

    code: str
    name: str
    parent: str | None = None
    group: bool = False
    """A group only gathers categories; matters are filed under its children."""
    resolve: str | None = None
    """Default time limit, an ISO 8601 duration (P5D)."""
    risk: RiskGrade | None = None
    department: str | None = None
    level: Level | None = None
    keywords: list[str] = []


# --- supervision: orders (督办) and subscriptions ----------------------------------------------


class OrderRequest(Contract):
    """A supervisor's order on a case. Without ``due_at`` the grade's time from sla.yml."""

    grade: OrderGrade
    note: str = Field(default="", max_length=2000)
    due_at: AwareDatetime | None = None


class OrderReply(Contract):
    reply: str = Field(min_length=1, max_length=2000)


class AccountabilityRequest(Contract):
    """问责记录 opened on a red card (红牌督办): who is held to account, for what, and the
    decision taken."""

    person: Annotated[RequiredText, Field(max_length=64)]
    what: Annotated[RequiredText, Field(max_length=2000)]
    decision: Annotated[RequiredText, Field(max_length=2000)]


class SubscriptionScope(Contract):
    """``all``; ``unit`` (a grid unit and its subtree); ``department``; ``risk`` (a grade)."""

    kind: Literal["all", "unit", "department", "risk"] = "all"
    value: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _value_fits(self) -> SubscriptionScope:
        if self.kind == "all" and self.value is not None:
            raise ValueError("scope all takes no value")
        if self.kind != "all" and not self.value:
            raise ValueError(f"scope {self.kind} needs a value")
        if self.kind == "risk" and self.value not in get_args(RiskGrade):
            raise ValueError(f"risk {self.value!r} is not red, yellow or blue")
        return self


class SubscriptionRequest(Contract):
    """What a supervisor wants to hear of, about which cases, and how."""

    subscriber: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    kinds: list[AlertKind] = Field(min_length=1)
    scope: SubscriptionScope = SubscriptionScope()
    channels: list[SubscriptionChannel] = Field(min_length=1)
    phone: Phone | None = None
    wechat_openid: str | None = Field(default=None, min_length=6, max_length=64)

    @model_validator(mode="after")
    def _reachable(self) -> SubscriptionRequest:
        if "sms" in self.channels and self.phone is None:
            raise ValueError("channel sms needs a phone")
        if "wechat" in self.channels and self.wechat_openid is None:
            raise ValueError("channel wechat needs a wechat_openid")
        return self
