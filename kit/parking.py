"""Parking a message: a copy of it, with the reason, confirmed into its dead-letter queue.

The copy is published on a connection of its own and confirmed within
``PARKING_PATIENCE_SECONDS``; only then is the original acked (by the entrypoint that parks).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import eventlet
import eventlet.semaphore

from contracts.inbound import REJECT_REASON_HEADER
from kit.amqp import config_connection
from kit.topology import dead_letter_exchange

if TYPE_CHECKING:
    from kit.messaging import RawMessage

PARKING_PATIENCE_SECONDS = 30.0
"""How long parking one message may take, connecting included. A park the broker has not
confirmed by then is given up and the message goes back to its queue, to be parked on its next
delivery. RabbitMQ withholds the confirm while the dead-letter queue has no majority of its
nodes (a split cluster); without a limit the park would wait, silent, holding its message
unsettled until the service stopped."""

PARKING_CONNECTIONS = 8
"""Parks under way at once for one queue: a flood of poison opens no more connections."""


class Parking:
    """Where one work queue parks what it cannot take: its dead-letter queue."""

    def __init__(self, config: Mapping[str, Any], queue: str, dead_letter_queue: str) -> None:
        self.config = config
        self.queue = queue
        self.dead_letter_queue = dead_letter_queue
        self.under_way = eventlet.semaphore.Semaphore(PARKING_CONNECTIONS)

    def park(self, raw: RawMessage, reason: str) -> None:
        """Copy the message to the dead-letter queue with the reason and where it came from;
        return once the broker confirmed the copy, or raise."""
        headers = {
            **{k: v for k, v in raw.headers.items() if k != "x-delivery-count"},
            REJECT_REASON_HEADER: reason,
            "x-original-exchange": raw.exchange,
            "x-original-routing-key": raw.routing_key,
            "x-original-queue": self.queue,
            "x-parked-at": datetime.now(UTC).isoformat(),
        }
        with self.under_way:
            self.publish(raw, headers)

    def publish(self, raw: RawMessage, headers: dict[str, Any]) -> None:
        """Publish the copy and wait for the broker's confirm, on a connection of its own,
        within ``PARKING_PATIENCE_SECONDS``. Given up, the connection is dropped without the
        closing handshake: it may be what hung, and a late confirm must answer no one."""
        connection = config_connection(
            self.config, transport_options={"confirm_publish": True}, connect_timeout=5
        )
        try:
            with eventlet.Timeout(PARKING_PATIENCE_SECONDS):
                connection.Producer().publish(
                    raw.body,
                    exchange=dead_letter_exchange,
                    routing_key=self.dead_letter_queue,
                    headers=headers,
                    content_type=raw.content_type or "application/octet-stream",
                    content_encoding="binary",
                    message_id=raw.message_id,
                    app_id=raw.app_id,
                    delivery_mode=2,
                )
                connection.release()
        except BaseException:
            connection.collect()
            raise
