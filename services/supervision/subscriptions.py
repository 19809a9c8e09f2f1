"""Supervisors' subscriptions: which alerts, about which cases, by which channels."""

from __future__ import annotations

from datetime import datetime

from contracts.common import mask_phone
from contracts.events import AlertKind
from contracts.rpc import SubscriptionRequest
from kit.pii import PhoneVault
from services.supervision.domain import Scope, Subscription
from services.supervision.models import SubscriptionRow

QUEUE_PREFIX = "civicflow.sub."

# alert kinds and the public routing keys an AMQP subscriber's queue is bound to
ALERT_ROUTING_KEYS: dict[AlertKind, str] = {
    "warning": "sla.warning",
    "overdue": "sla.overdue",
    "escalated": "case.escalated",
    "red_risk": "supervision.red_risk",
    "order": "supervision.order",
}


def queue_of(subscriber: str) -> str:
    """The subscriber's own durable queue on ``civicflow.events``."""
    return f"{QUEUE_PREFIX}{subscriber}"


def routing_keys(request: SubscriptionRequest) -> list[str]:
    return sorted({ALERT_ROUTING_KEYS[kind] for kind in request.kinds})


def new_subscription(
    request: SubscriptionRequest, vault: PhoneVault, now: datetime
) -> SubscriptionRow:
    """The row, with the phone and openid sealed: they leave supervision only sealed."""
    return SubscriptionRow(
        subscriber=request.subscriber, kinds=sorted(set(request.kinds)),
        scope_kind=request.scope.kind, scope_value=request.scope.value,
        channels=sorted(set(request.channels)),
        phone_sealed=vault.seal(request.phone) if request.phone else None,
        phone_masked=mask_phone(request.phone) if request.phone else None,
        wechat_sealed=vault.seal(request.wechat_openid) if request.wechat_openid else None,
        queue=queue_of(request.subscriber) if "amqp" in request.channels else None,
        created_at=now,
    )  # fmt: skip


def view_of(row: SubscriptionRow) -> dict[str, object]:
    return {
        "subscription_id": row.id, "subscriber": row.subscriber, "kinds": row.kinds,
        "scope": {"kind": row.scope_kind, "value": row.scope_value}, "channels": row.channels,
        "phone": row.phone_masked, "wechat": bool(row.wechat_sealed), "queue": row.queue,
        "created_at": row.created_at.isoformat(),
    }  # fmt: skip


def subscription_of(row: SubscriptionRow) -> Subscription:
    return Subscription(
        row.id, row.subscriber, frozenset(row.kinds),  # type: ignore[arg-type]
        Scope(row.scope_kind, row.scope_value), frozenset(row.channels),  # type: ignore[arg-type]
    )  # fmt: skip


def address_of(row: SubscriptionRow, channel: str) -> str | None:
    return row.phone_sealed if channel == "sms" else row.wechat_sealed
