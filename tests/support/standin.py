"""A stand-in for a service that publishes events: the test chooses every event and its time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pika

from contracts.events import EventData, EventSpec


class StandIn:
    """Publishes to ``<service>.events`` as that service's outbox relay would."""

    def __init__(self, amqp_uri: str, service: str) -> None:
        self.exchange = f"{service}.events"
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        self.channel.exchange_declare(self.exchange, "topic", durable=True)
        self.published: dict[str, tuple[str, bytes]] = {}

    def emit(self, spec: EventSpec[Any], data: EventData, case_id: str, at: datetime) -> str:
        envelope = spec.new(data, case_id=case_id, occurred_at=at)
        body = envelope.model_dump_json().encode()
        self.published[envelope.event_id] = (spec.type, body)
        self._publish(spec.type, body)
        return envelope.event_id

    def replay(self, event_id: str) -> None:
        """The same event again, as a redelivery or a relay's second try would bring it."""
        self._publish(*self.published[event_id])

    def _publish(self, routing_key: str, body: bytes) -> None:
        self.channel.basic_publish(
            self.exchange, routing_key, body,
            pika.BasicProperties(content_type="application/json", delivery_mode=2),
        )  # fmt: skip

    def close(self) -> None:
        self.connection.close()
