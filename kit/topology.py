"""The exchanges and queues of the platform, declared the same way by every process.

Each service publishes to its own ``<service>.events`` exchange (nameko's convention); the
broker itself forwards the public types to ``civicflow.events`` through exchange-to-exchange
bindings, so an event is published once whoever listens.
"""

from __future__ import annotations

from typing import Any

from kombu.entity import Exchange, Queue

from contracts.events import PUBLIC_EXCHANGE, owned_by
from contracts.inbound import INBOUND_EXCHANGE
from kit.amqp import AmqpTls
from kit.amqp import connection as amqp_connection

DEAD_LETTER_EXCHANGE = "civicflow.dlx"
DLQ_SUFFIX = ".dlq"


def service_exchange(service: str) -> Exchange:
    return Exchange(f"{service}.events", type="topic", durable=True, delivery_mode=2)


public_exchange = Exchange(PUBLIC_EXCHANGE, type="topic", durable=True, delivery_mode=2)
inbound_exchange = Exchange(INBOUND_EXCHANGE, type="topic", durable=True, delivery_mode=2)
dead_letter_exchange = Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True, delivery_mode=2)


def work_queue_arguments(dead_letter_queue: str, delivery_limit: int) -> dict[str, Any]:
    """Quorum: replicated, and the broker itself parks a message that keeps killing its
    consumer (``x-delivery-limit``) in the dead-letter queue."""
    return {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": dead_letter_queue,
        "x-delivery-limit": delivery_limit,
    }


def dead_letter_queue(name: str) -> Queue:
    return Queue(
        name,
        exchange=dead_letter_exchange,
        routing_key=name,
        durable=True,
        queue_arguments={"x-queue-type": "quorum"},
    )


def declare_publisher_topology(channel: Any, service: str) -> None:
    """Exchanges a service publishes to, and the forwarding of its public events."""
    for exchange in (service_exchange(service), public_exchange, dead_letter_exchange):
        exchange(channel).declare()
    inbound_exchange(channel).declare()
    for spec in owned_by(service):
        if spec.public:
            channel.exchange_bind(
                destination=PUBLIC_EXCHANGE, source=f"{service}.events", routing_key=spec.type
            )


def bind_subscriber_queue(
    amqp_uri: str, queue: str, routing_keys: list[str], tls: AmqpTls | None = None
) -> None:
    """A subscriber's own durable queue on ``civicflow.events``, bound to what it chose.

    Quorum like every queue here, so alerts wait for a subscriber that is away.
    """

    with amqp_connection(amqp_uri, tls, connect_timeout=5) as connection:
        channel = connection.channel()
        public_exchange(channel).declare()
        declared = Queue(
            queue, exchange=public_exchange, durable=True,
            queue_arguments={"x-queue-type": "quorum"},
        )(channel)  # fmt: skip
        declared.declare()
        for key in routing_keys:
            declared.bind_to(exchange=PUBLIC_EXCHANGE, routing_key=key)
