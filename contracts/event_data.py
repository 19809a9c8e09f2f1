"""The data of every event: what each fact says. Named in the past tense; immutable; tolerant
of fields a newer minor version adds. The envelope and the catalogue are in ``contracts.events``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from contracts.common import (
    Channel,
    Contract,
    GeoPoint,
    MaskedPhone,
    RiskGrade,
    Text,
    clean_text,
)

Level = Literal["micro_grid", "grid", "community", "street", "district"]
"""Levels of the territory, 大中小微: 区 > 街镇 > 村居 > 网格 > 微网格."""

ClockKind = Literal["respond", "feedback", "resolve"]
"""The three limits of every dispatch (2 h / 24 h / the category's days)."""

AlertClock = Literal["respond", "feedback", "resolve", "order", "revisit", "acknowledge", "answer"]
"""What an SLA alert is about: one of the three limits, a supervision order's due time, the
revisit by phone a concluded case waits for (回访), or a petition's own clocks: 受理告知
(``acknowledge``) and the written answer (``answer``: 办理, 复查 or 复核)."""

PetitionStage = Literal["handling", "review", "re_review"]
"""信访: 办理 (the first answer), 复查 (its review), 复核 (the review's re-review)."""

RevisitBy = Literal["sms", "phone"]
"""How a concluded case is revisited (回访): by SMS, or by an operator's call when no SMS can
reach the citizen (the grid and opinion lines, no mobile number)."""

IntakeForm = Literal["visit", "letter", "phone", "online"]
"""How a petition or a matter at the centre's desk came: 来访, 来信, 来电, 网上."""

Territory = dict[Level, str]
"""Where a case lies, by level: ``{"grid": "G-...", "community": ..., "district": ...}``."""


class EventData(BaseModel):
    """Base of every event's ``data``: immutable; tolerant of fields added by newer
    minor versions so a subscriber does not break when a producer grows."""

    model_config = ConfigDict(frozen=True, extra="ignore")


# --- the case ----------------------------------------------------------------------------


class Reporter(Contract):
    """Who raised the matter, as events may show it: the number masked."""

    name: str | None = None
    phone: MaskedPhone | None = None
    kind: Literal["citizen", "grid_worker", "monitor", "petitioner"] = "citizen"
    id: str | None = None


class HandledAtDesk(Contract):
    """直办: solved on the spot at the centre's desk, and how."""

    result: Annotated[str, BeforeValidator(clean_text), Field(min_length=1, max_length=2000)]


class CaseReceived(EventData):
    """接: intake accepted a matter from one of the four lines as a canonical case."""

    channel: Channel
    source: str
    external_id: str
    reporter: Reporter
    content: Text
    category: str | None = None
    address: str | None = None
    location: GeoPoint | None = None
    grid_code: str | None = None
    risk: RiskGrade = "blue"
    risk_rules: list[str] = []
    repeat_of: list[str] = []
    repeat_count: int = 0
    urgent: bool = False
    resolved_on_site: bool = False
    received_at: AwareDatetime
    attachments: list[str] = []
    heat: int | None = None
    group_size: int | None = None
    form: IntakeForm | None = None
    received_by: str | None = None
    """首问负责: the staff member who registered the matter at the centre's desk."""
    handled_at_desk: HandledAtDesk | None = None
    accused_unit: str | None = None
    """被反映单位 (1.1), petitions only: the unit the petition accuses; routing never sends
    the case to it (回避)."""


class Assignee(Contract):
    kind: Literal["department", "grid"]
    code: str
    name: str


class Deadlines(Contract):
    respond_by: AwareDatetime
    feedback_by: AwareDatetime
    resolve_by: AwareDatetime
    acknowledge_by: AwareDatetime | None = None
    """信访 only: 受理告知, decide and tell the petitioner (15 calendar days of filing)."""
    answer_by: AwareDatetime | None = None
    """信访 only: the written answer of the stage (办理 60 days of acceptance; 复查, 复核 30)."""

    @model_serializer(mode="wrap")
    def _petition_limits_only_on_petitions(
        self, handler: SerializerFunctionWrapHandler
    ) -> dict[str, Any]:
        """The two petition limits are absent, not null, on every other case: 1.0's
        subscribers read each key of ``deadlines`` as a time."""
        data: dict[str, Any] = handler(self)
        return {key: at for key, at in data.items() if at is not None}


class CaseAwaitingDispatch(EventData):
    """转: routing could not decide alone; the case waits for one click (一键派单)."""

    reason: str
    suggestion: Assignee | None = None
    alternatives: list[Assignee] = []
    risk: RiskGrade = "blue"
    territory: Territory = {}
    summary: str | None = None


class CaseDispatched(EventData):
    """转: assigned to a department or a grid; the respond clock starts."""

    assignee: Assignee
    level: Level
    deadlines: Deadlines
    dispatched_by: str
    category: str | None = None
    rule: str | None = None
    channel: Channel | None = None
    risk: RiskGrade = "blue"
    helpers: list[Assignee] = []
    """协办 units; ``assignee`` is the lead (主办)."""
    territory: Territory = {}
    """The units the case lies in, by level, so supervisors of a subtree can follow it."""
    summary: str | None = None
    """The matter in a few words (its content, cut), for messages and screens."""


class CaseAccepted(EventData):
    """见: a unit signed for the case (签收): the lead, or a helper for its part."""

    assignee: Assignee
    by: str
    role: Literal["lead", "assist"] = "lead"


class CaseReturned(EventData):
    """退单: not this unit's duty; back to one-click dispatch."""

    assignee: Assignee
    reason: str
    by: str


class CaseFeedback(EventData):
    """办: progress reported to the citizen and the centre."""

    note: str
    by: str


class CaseConcluded(EventData):
    """结: the unit reported its result (办结), or the desk solved it on the spot (直办)."""

    result: str
    by: str
    at_desk: bool = False
    """直办: concluded at the centre's desk as it was registered."""
    revisit: RevisitBy | None = None
    """How the citizen will be revisited; ``phone`` puts the case in the 待回访 list."""


class CaseClosed(EventData):
    """访: revisited (回访) and the citizen's satisfaction recorded."""

    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"] | None = None
    by: str


class CaseReopened(EventData):
    """返工: an unsatisfied revisit or a failed verification sends the case back."""

    reason: str
    by: str
    satisfaction: Literal["unsatisfied"] | None = None
    """Set when the citizen's revisit sent it back, so satisfaction figures can count it."""


class CaseEscalated(EventData):
    """上报 / 格呼街应: the case moves up the territory, to be dispatched at that level."""

    from_level: Level
    to_level: Level
    unit: str | None = None
    reason: str
    supervisors: list[str] = []
    by: str = "auto"


class CaseExtensionRequested(EventData):
    """延期: the lead unit asks for more time; a supervisor decides."""

    until: AwareDatetime
    reason: str
    by: str


class CaseExtensionDecided(EventData):
    """The extension was approved (deadlines move) or refused (they do not)."""

    approved: bool
    until: AwareDatetime
    deadlines: Deadlines | None = None
    note: str = ""
    by: str


class CaseReturnReviewed(EventData):
    """退单审核: the centre checked a unit's return. Approved, the return does not count against
    the unit; refused, the case goes back to it (a ``case.dispatched`` follows)."""

    assignee: Assignee
    """The unit that returned the case."""
    approved: bool
    note: str = ""
    by: str


class RatingAppealed(EventData):
    """不满意甄别: the unit contests the citizen's "unsatisfied"; a supervisor decides."""

    assignee: Assignee
    reason: str
    by: str


class RatingAppealDecided(EventData):
    """不满意甄别's decision. Upheld, the rating leaves the score and the case is closed
    (not reopened again for it); rejected, it stays."""

    upheld: bool
    note: str = ""
    by: str


class CaseVerified(EventData):
    """核查: the centre checked a conclusion; a failed check reopens the case."""

    passed: bool
    note: str = ""
    by: str


class CaseResolvedOnSite(EventData):
    """就地化解: a grid worker solved it in the grid; nothing to dispatch."""

    note: str
    by: str
    grid: Assignee | None = None
    """The grid it was solved in, credited with it in 一单考评 (None: the case lies in none)."""
    territory: Territory = Field(default_factory=dict)


class CaseMerged(EventData):
    """A duplicate of another case, followed there."""

    into: str
    by: str


class CaseRiskChanged(EventData):
    """调整风险等级: a person graded the case's risk anew (``from`` → ``to``), and why."""

    model_config = EventData.model_config | ConfigDict(
        serialize_by_alias=True, validate_by_name=True, validate_by_alias=True
    )
    from_: RiskGrade = Field(alias="from")
    to: RiskGrade
    reason: str
    by: str


class PetitionAcknowledged(EventData):
    """受理告知: the petition is accepted and the petitioner told (受理告知书); the answer is
    now due ``answer_by``."""

    answer_by: AwareDatetime
    by: str
    note: str = ""


class PetitionAnswered(EventData):
    """The written answer of a stage: 处理意见书 (handling), 复查意见书 (review), 复核意见书
    (re-review). ``review_asked_by``: the last moment the next review may be asked (None after
    a re-review: it is final)."""

    stage: PetitionStage
    by: str
    review_asked_by: AwareDatetime | None = None


class PetitionReviewRequested(EventData):
    """复查 (or 复核) asked in time: the case goes to the level above, its answer due
    ``answer_by``."""

    stage: PetitionStage
    reason: str
    to_level: Level
    answer_by: AwareDatetime
    by: str


class SlaAlert(EventData):
    clock: AlertClock
    due_at: AwareDatetime
    assignee: Assignee | None = None
    level: Level | None = None
    order_id: str | None = None
    """Set when ``clock`` is ``order``: which supervision order fell due."""


class SlaWarning(SlaAlert):
    """A limit is near: ``warn_at`` of it has passed."""


class SlaOverdue(SlaAlert):
    """A limit has passed."""


OrderGrade = Literal["normal", "yellow", "red"]
"""督办 grades: a normal order, a yellow card (黄牌督办), a red card (红牌督办)."""


class SupervisionOrder(EventData):
    """督办: a supervisor's order on a case: normal, yellow card or red card."""

    grade: OrderGrade
    due_at: AwareDatetime
    issued_by: str
    note: str = ""
    order_id: str | None = None
    assignee: Assignee | None = None
    """The unit holding the case when the order was issued: the one that must reply."""


class SupervisionOrderReplied(EventData):
    """The unit answered a supervision order (督办回复)."""

    order_id: str
    reply: str
    by: str
    on_time: bool


class EscalationRequested(EventData):
    """格呼街应、街呼区应: a limit is past and the ladder says the level above must take the case.

    Supervision asks; dispatch, which owns the case, escalates it (and says so with
    ``case.escalated``) unless the case has moved on meanwhile.
    """

    from_level: Level
    to_level: Level
    clock: ClockKind
    due_at: AwareDatetime
    reason: str


class RedRiskRaised(EventData):
    """A red-risk (红色) case came in: supervisors subscribed to red risk must know at once."""

    risk: RiskGrade = "red"
    category: str | None = None
    territory: Territory = {}
    assignee: Assignee | None = None


AlertKind = Literal["warning", "overdue", "escalated", "red_risk", "order"]
"""What a supervisor may subscribe to."""

SubscriptionChannel = Literal["sms", "wechat", "amqp"]


class AlertRecipient(Contract):
    subscriber: str
    channel: Literal["sms", "wechat"]
    address_sealed: str
    """The phone number or WeChat openid, sealed with the platform's PII key (never plain)."""


class AlertRouted(EventData):
    """An alert matched supervisors' subscriptions: notify tells each of them."""

    alert: AlertKind
    trigger_event_id: str
    trigger_type: str
    recipients: list[AlertRecipient]
    summary: str


class NotificationSent(EventData):
    channel: Literal["sms", "wechat", "wecom", "file"]
    recipient: str
    provider: str
    provider_message_id: str | None = None
    trigger_event_id: str


class NotificationFailed(EventData):
    channel: Literal["sms", "wechat", "wecom", "file"]
    recipient: str
    provider: str
    error: str
    attempts: int
    trigger_event_id: str


class RevisitAnswered(EventData):
    """回访: the citizen answered the revisit question by SMS (1, 2 or 3)."""

    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    phone: MaskedPhone
    reply: str


# --- the territory ---------------------------------------------------------------------------


class UnitChanged(EventData):
    """Grid units were created, changed or removed; caches of the territory must refresh."""

    codes: list[str]
    change: Literal["imported", "updated", "removed"]


class StaffChanged(EventData):
    """The people of some units (一格四员, supervisors) or departments changed."""

    units: list[str]
    change: Literal["imported", "updated", "removed"]


# --- duty and leave (AB岗) ---------------------------------------------------------------------

LeaveHolder = Annotated[str, Field(pattern=r"^(department|grid|person):[A-Za-z0-9_.\-]{1,64}$")]
"""A role as notify names its recipients: ``department:D-HBJ``, ``person:P-01``."""


class LeaveRecorded(EventData):
    """请假 recorded in the console: while it lasts, ``person``'s alerts go to their deputy (B岗).
    ``ends`` is excluded. The reason stays in the console."""

    leave_id: str
    person: LeaveHolder
    starts: AwareDatetime
    ends: AwareDatetime
    by: str


class LeaveCancelled(EventData):
    """A recorded leave withdrawn (销假): ``person`` is told their alerts again."""

    leave_id: str
    person: LeaveHolder
    by: str
