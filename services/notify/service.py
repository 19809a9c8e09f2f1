"""Notify's entrypoints: the unit a case was dispatched to gets an SMS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.common import mask_phone
from contracts.events import (
    CASE_AWAITING_DISPATCH,
    CASE_DISPATCHED,
    NOTIFICATION_SENT,
    CaseAwaitingDispatch,
    CaseDispatched,
    Envelope,
    NotificationSent,
)
from kit.base import ServiceBase
from kit.messaging import on_event
from kit.providers import Configured, Database
from kit.settings import Settings
from services.notify import domain
from services.notify.models import TABLES
from services.notify.providers import FileProvider, SmsProvider
from services.notify.repository import DeliveryRepository


@dataclass(frozen=True)
class NotifyConfig:
    directory: domain.ContactDirectory
    sms: SmsProvider


def load_config(settings: Settings) -> NotifyConfig:
    directory = domain.ContactDirectory.from_config(settings.load_yaml("departments.yml"))
    return NotifyConfig(directory, FileProvider(settings.data_dir / "notify" / "sms.jsonl"))


class NotifyService(ServiceBase):
    name = "notify"
    db = Database(TABLES)
    config = Configured(load_config)

    @on_event(CASE_AWAITING_DISPATCH)
    def alert_red_risk(self, event: Envelope[CaseAwaitingDispatch]) -> None:
        """Red risk waits for a person, and the centre's duty line hears of it at once."""
        recipient = self.config.directory.recipient_for(domain.CENTRE)
        if event.data.risk != "red" or recipient is None or event.case_id is None:
            return
        self._deliver_sms(
            event, event.case_id, recipient, domain.red_risk_sms(event.case_id, event.data)
        )

    @on_event(CASE_DISPATCHED)
    def notify_assignee(self, event: Envelope[CaseDispatched]) -> None:
        recipient = self.config.directory.recipient_for(event.data.assignee)
        if recipient is None or event.case_id is None:
            return
        text = domain.dispatch_sms(event.case_id, event.data)
        self._deliver_sms(event, event.case_id, recipient, text)

    def _deliver_sms(
        self, event: Envelope[Any], case_id: str, recipient: domain.Recipient, text: str
    ) -> None:
        """Record first, then call the provider, then record the outcome and its event."""
        provider = self.config.sms
        with self.db.unit_of_work() as uow:
            delivery = DeliveryRepository(uow.session).claim(
                trigger_event_id=event.event_id,
                case_id=case_id,
                recipient_key=recipient.key,
                recipient_masked=mask_phone(recipient.phone),
                channel="sms",
                provider=provider.name,
                text=text,
                status="pending",
                attempts=0,
                created_at=datetime.now(UTC),
            )
            if delivery.status == "sent":
                return
            delivery.attempts += 1
            delivery_id = delivery.id
            uow.commit()
        message_id = provider.send_sms(recipient.phone, text, reference=f"{delivery_id}")
        with self.db.unit_of_work() as uow:
            delivery = DeliveryRepository(uow.session).get(delivery_id)
            delivery.status, delivery.provider_message_id = "sent", message_id
            delivery.sent_at = datetime.now(UTC)
            sent = NotificationSent(
                channel="sms",
                recipient=delivery.recipient_masked,
                provider=provider.name,
                provider_message_id=message_id,
                trigger_event_id=event.event_id,
            )
            uow.emit(NOTIFICATION_SENT.new(sent, case_id=case_id))
            uow.commit()
