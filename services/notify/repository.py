"""Notify's repository."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kit.db import insert_if_absent
from services.notify.models import Delivery


class DeliveryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, **values: object) -> Delivery:
        """The delivery record for (event, recipient, channel), created if absent."""
        insert_if_absent(self.session, Delivery, **values)
        return self.session.scalars(
            select(Delivery).where(
                Delivery.trigger_event_id == values["trigger_event_id"],
                Delivery.recipient_key == values["recipient_key"],
                Delivery.channel == values["channel"],
            )
        ).one()

    def get(self, delivery_id: int) -> Delivery:
        return self.session.get_one(Delivery, delivery_id)
