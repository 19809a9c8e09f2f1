"""Every event the platform publishes: its envelope, its data, and the one catalogue of types.

Events are facts, named in the past tense. Services subscribe through the ``EventSpec``
constants below, never through string literals.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.common import SCHEMA_VERSION
from contracts.event_data import (
    AlertClock,
    AlertKind,
    AlertRecipient,
    AlertRouted,
    Assignee,
    CaseAccepted,
    CaseAwaitingDispatch,
    CaseClosed,
    CaseConcluded,
    CaseDispatched,
    CaseEscalated,
    CaseExtensionDecided,
    CaseExtensionRequested,
    CaseFeedback,
    CaseMerged,
    CaseReceived,
    CaseReopened,
    CaseResolvedOnSite,
    CaseReturned,
    CaseReturnReviewed,
    CaseRiskChanged,
    CaseVerified,
    ClockKind,
    Deadlines,
    EscalationRequested,
    EventData,
    LeaveCancelled,
    LeaveRecorded,
    Level,
    NotificationFailed,
    NotificationSent,
    OrderGrade,
    PetitionAcknowledged,
    PetitionAnswered,
    PetitionReviewRequested,
    RatingAppealDecided,
    RatingAppealed,
    RedRiskRaised,
    Reporter,
    RevisitAnswered,
    SlaAlert,
    SlaOverdue,
    SlaWarning,
    StaffChanged,
    SubscriptionChannel,
    SupervisionOrder,
    SupervisionOrderReplied,
    Territory,
    UnitChanged,
)

__all__ = [  # the data classes are named here too, where subscribers have always found them
    "AlertClock",
    "AlertKind",
    "AlertRecipient",
    "AlertRouted",
    "Assignee",
    "CaseAccepted",
    "CaseAwaitingDispatch",
    "CaseClosed",
    "CaseConcluded",
    "CaseDispatched",
    "CaseEscalated",
    "CaseExtensionDecided",
    "CaseExtensionRequested",
    "CaseFeedback",
    "CaseMerged",
    "CaseReceived",
    "CaseReopened",
    "CaseResolvedOnSite",
    "CaseReturnReviewed",
    "CaseReturned",
    "CaseRiskChanged",
    "CaseVerified",
    "ClockKind",
    "Deadlines",
    "EscalationRequested",
    "EventData",
    "LeaveCancelled",
    "LeaveRecorded",
    "Level",
    "NotificationFailed",
    "NotificationSent",
    "OrderGrade",
    "PetitionAcknowledged",
    "PetitionAnswered",
    "PetitionReviewRequested",
    "RatingAppealDecided",
    "RatingAppealed",
    "RedRiskRaised",
    "Reporter",
    "RevisitAnswered",
    "SlaAlert",
    "SlaOverdue",
    "SlaWarning",
    "StaffChanged",
    "SubscriptionChannel",
    "SupervisionOrder",
    "SupervisionOrderReplied",
    "Territory",
    "UnitChanged",
]

PUBLIC_EXCHANGE = "civicflow.events"

D = TypeVar("D", bound=EventData)


class Envelope(BaseModel, Generic[D]):
    """``{"event_id", "type", "occurred_at", "schema_version", "case_id", "data"}``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str
    type: str
    occurred_at: AwareDatetime
    schema_version: int = SCHEMA_VERSION
    case_id: str | None = None
    data: D


# --- the catalogue -------------------------------------------------------------------------


@dataclass(frozen=True)
class EventSpec(Generic[D]):
    """One event type: its routing key, the service that owns it, its data, and whether it
    is forwarded to the public ``civicflow.events`` exchange."""

    type: str
    source: str
    data: builtins.type[D]
    public: bool = True

    @cached_property
    def envelope(self) -> builtins.type[Envelope[D]]:
        """``Envelope[data]``, made once: pydantic parametrises a generic model on every
        subscript, which cost more than the validation itself on the hot path."""
        return Envelope[self.data]  # type: ignore[name-defined]

    def new(
        self, data: D, case_id: str | None = None, occurred_at: datetime | None = None
    ) -> Envelope[D]:
        return self.envelope(
            event_id=str(uuid.uuid4()),
            type=self.type,
            occurred_at=occurred_at or datetime.now(UTC),
            case_id=case_id,
            data=data,
        )

    def parse(self, raw: bytes | str) -> Envelope[D]:
        envelope: Envelope[D] = self.envelope.model_validate_json(raw)
        if envelope.type != self.type:
            raise ValueError(f"expected an event of type {self.type!r}, got {envelope.type!r}")
        return envelope


CASE_RECEIVED: EventSpec[CaseReceived] = EventSpec("case.received", "intake", CaseReceived)
CASE_AWAITING_DISPATCH: EventSpec[CaseAwaitingDispatch] = EventSpec(
    "case.awaiting_dispatch", "dispatch", CaseAwaitingDispatch, public=False
)
CASE_DISPATCHED: EventSpec[CaseDispatched] = EventSpec(
    "case.dispatched", "dispatch", CaseDispatched
)
CASE_ACCEPTED: EventSpec[CaseAccepted] = EventSpec("case.accepted", "dispatch", CaseAccepted)
CASE_RETURNED: EventSpec[CaseReturned] = EventSpec("case.returned", "dispatch", CaseReturned)
CASE_FEEDBACK: EventSpec[CaseFeedback] = EventSpec("case.feedback", "dispatch", CaseFeedback)
CASE_CONCLUDED: EventSpec[CaseConcluded] = EventSpec("case.concluded", "dispatch", CaseConcluded)
CASE_CLOSED: EventSpec[CaseClosed] = EventSpec("case.closed", "dispatch", CaseClosed)
CASE_REOPENED: EventSpec[CaseReopened] = EventSpec("case.reopened", "dispatch", CaseReopened)
CASE_ESCALATED: EventSpec[CaseEscalated] = EventSpec("case.escalated", "dispatch", CaseEscalated)
CASE_EXTENSION_REQUESTED: EventSpec[CaseExtensionRequested] = EventSpec(
    "case.extension_requested", "dispatch", CaseExtensionRequested, public=False
)
CASE_EXTENSION_DECIDED: EventSpec[CaseExtensionDecided] = EventSpec(
    "case.extension_decided", "dispatch", CaseExtensionDecided, public=False
)
CASE_VERIFIED: EventSpec[CaseVerified] = EventSpec(
    "case.verified", "dispatch", CaseVerified, public=False
)
CASE_RESOLVED_ON_SITE: EventSpec[CaseResolvedOnSite] = EventSpec(
    "case.resolved_on_site", "dispatch", CaseResolvedOnSite, public=False
)
CASE_MERGED: EventSpec[CaseMerged] = EventSpec("case.merged", "dispatch", CaseMerged, public=False)
CASE_RISK_CHANGED: EventSpec[CaseRiskChanged] = EventSpec(
    "case.risk_changed", "dispatch", CaseRiskChanged
)
CASE_RETURN_REVIEWED: EventSpec[CaseReturnReviewed] = EventSpec(
    "case.return_reviewed", "dispatch", CaseReturnReviewed, public=False
)
CASE_RATING_APPEALED: EventSpec[RatingAppealed] = EventSpec(
    "case.rating_appealed", "dispatch", RatingAppealed, public=False
)
CASE_RATING_APPEAL_DECIDED: EventSpec[RatingAppealDecided] = EventSpec(
    "case.rating_appeal_decided", "dispatch", RatingAppealDecided, public=False
)
PETITION_ACKNOWLEDGED: EventSpec[PetitionAcknowledged] = EventSpec(
    "petition.acknowledged", "dispatch", PetitionAcknowledged
)
PETITION_ANSWERED: EventSpec[PetitionAnswered] = EventSpec(
    "petition.answered", "dispatch", PetitionAnswered
)
PETITION_REVIEW_REQUESTED: EventSpec[PetitionReviewRequested] = EventSpec(
    "petition.review_requested", "dispatch", PetitionReviewRequested
)
SLA_WARNING: EventSpec[SlaWarning] = EventSpec("sla.warning", "supervision", SlaWarning)
SUPERVISION_ORDER_REPLIED: EventSpec[SupervisionOrderReplied] = EventSpec(
    "supervision.order_replied", "supervision", SupervisionOrderReplied
)
SUPERVISION_ESCALATION_REQUESTED: EventSpec[EscalationRequested] = EventSpec(
    "supervision.escalation_requested", "supervision", EscalationRequested, public=False
)
SUPERVISION_RED_RISK: EventSpec[RedRiskRaised] = EventSpec(
    "supervision.red_risk", "supervision", RedRiskRaised
)
SUPERVISION_ALERT_ROUTED: EventSpec[AlertRouted] = EventSpec(
    "supervision.alert_routed", "supervision", AlertRouted, public=False
)
SLA_OVERDUE: EventSpec[SlaOverdue] = EventSpec("sla.overdue", "supervision", SlaOverdue)
SUPERVISION_ORDER: EventSpec[SupervisionOrder] = EventSpec(
    "supervision.order", "supervision", SupervisionOrder
)
NOTIFICATION_SENT: EventSpec[NotificationSent] = EventSpec(
    "notification.sent", "notify", NotificationSent
)
NOTIFICATION_FAILED: EventSpec[NotificationFailed] = EventSpec(
    "notification.failed", "notify", NotificationFailed
)

NOTIFY_REVISIT_ANSWERED: EventSpec[RevisitAnswered] = EventSpec(
    "notify.revisit_answered", "notify", RevisitAnswered, public=False
)

GRID_UNIT_CHANGED: EventSpec[UnitChanged] = EventSpec(
    "grid.unit_changed", "grid", UnitChanged, public=False
)
GRID_STAFF_CHANGED: EventSpec[StaffChanged] = EventSpec(
    "grid.staff_changed", "grid", StaffChanged, public=False
)

STAFF_LEAVE_RECORDED: EventSpec[LeaveRecorded] = EventSpec(
    "staff.leave_recorded", "console", LeaveRecorded
)
STAFF_LEAVE_CANCELLED: EventSpec[LeaveCancelled] = EventSpec(
    "staff.leave_cancelled", "console", LeaveCancelled
)

CATALOGUE: dict[str, EventSpec[Any]] = {
    spec.type: spec
    for spec in (
        CASE_RECEIVED,
        CASE_AWAITING_DISPATCH,
        CASE_DISPATCHED,
        CASE_ACCEPTED,
        CASE_RETURNED,
        CASE_FEEDBACK,
        CASE_CONCLUDED,
        CASE_CLOSED,
        CASE_REOPENED,
        CASE_ESCALATED,
        CASE_EXTENSION_REQUESTED,
        CASE_EXTENSION_DECIDED,
        CASE_VERIFIED,
        CASE_RESOLVED_ON_SITE,
        CASE_MERGED,
        CASE_RISK_CHANGED,
        CASE_RETURN_REVIEWED,
        CASE_RATING_APPEALED,
        CASE_RATING_APPEAL_DECIDED,
        PETITION_ACKNOWLEDGED,
        PETITION_ANSWERED,
        PETITION_REVIEW_REQUESTED,
        SLA_WARNING,
        SLA_OVERDUE,
        SUPERVISION_ORDER,
        SUPERVISION_ORDER_REPLIED,
        SUPERVISION_ESCALATION_REQUESTED,
        SUPERVISION_RED_RISK,
        SUPERVISION_ALERT_ROUTED,
        NOTIFICATION_SENT,
        NOTIFICATION_FAILED,
        NOTIFY_REVISIT_ANSWERED,
        GRID_UNIT_CHANGED,
        GRID_STAFF_CHANGED,
        STAFF_LEAVE_RECORDED,
        STAFF_LEAVE_CANCELLED,
    )
}

PUBLIC_TYPES: tuple[str, ...] = tuple(t for t, spec in CATALOGUE.items() if spec.public)


def owned_by(service: str) -> Iterator[EventSpec[Any]]:
    return (spec for spec in CATALOGUE.values() if spec.source == service)


MessageId = Annotated[str, Field(min_length=1, max_length=128)]
