"""The dead-letter queues, for operators: what is parked and why, back to work, or away.

Every work queue ``<queue>`` parks what it cannot take in ``<queue>.dlq`` (the kit, with
``x-reject-reason``; or the broker, after ``x-delivery-limit``, with ``x-death``), and intake
parks refused inbound messages in ``civicflow.inbound.rejected``. ``replay`` publishes each
message back to the queue it came from, with publisher confirms, and only then removes it from
the dead-letter queue: a replay cut off half-way loses nothing (it may repeat one, which the
services' idempotent consumers absorb).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import amqp

from contracts.inbound import INBOUND_REJECTED_QUEUE
from kit.amqp import AmqpTls
from kit.amqp import connection as amqp_connection
from kit.messaging import REPLAYED_AS
from kit.topology import DLQ_SUFFIX

MANAGEMENT_PORT = 15672
PARKING_HEADERS = (
    "x-reject-reason",
    "x-parked-at",
    "x-original-exchange",
    "x-original-routing-key",
)


class NotADeadLetterQueue(ValueError):
    """Only dead-letter queues are for these commands."""


@dataclass(frozen=True)
class Parked:
    message_id: str | None
    reason: str
    origin: str
    routing_key: str | None
    parked_at: str | None
    body: bytes


def parking_header(name: str) -> bool:
    """Headers the parking added (ours and the broker's): a replayed message starts clean."""
    return name in PARKING_HEADERS or name == "x-original-queue" or "-death" in name


def is_dead_letter_queue(name: str) -> bool:
    return name.endswith(DLQ_SUFFIX) or name == INBOUND_REJECTED_QUEUE


def origin_of(queue: str, headers: dict[str, Any]) -> str:
    """The work queue a parked message came from."""
    if headers.get("x-original-queue"):
        return str(headers["x-original-queue"])
    if headers.get("x-first-death-queue"):
        return str(headers["x-first-death-queue"])
    return queue.removesuffix(DLQ_SUFFIX)


def first_routing_key(headers: dict[str, Any]) -> str:
    """The routing key a parked message first came with: consumers pick the handler by it."""
    if headers.get(REPLAYED_AS):
        return str(headers[REPLAYED_AS])
    if headers.get("x-original-routing-key"):
        return str(headers["x-original-routing-key"])
    deaths = headers.get("x-death") or []
    keys = deaths[0].get("routing-keys") if deaths else None
    return str(keys[0]) if keys else ""


def reason_of(headers: dict[str, Any]) -> str:
    if headers.get("x-reject-reason"):
        return str(headers["x-reject-reason"])
    deaths = headers.get("x-death") or []
    if deaths:
        death = deaths[0]
        return f"broker: {death.get('reason')} after {death.get('count')} deliveries"
    return "unknown"


def list_queues(uri: str) -> list[tuple[str, int]]:
    """Every dead-letter queue of the vhost and how many messages it holds."""
    parts = urllib.parse.urlsplit(uri)
    vhost = urllib.parse.unquote(parts.path[1:]) or "/"
    url = (f"http://{parts.hostname}:{MANAGEMENT_PORT}/api/queues/"
           f"{urllib.parse.quote(vhost, safe='')}?columns=name,messages")  # fmt: skip
    credentials = f"{parts.username or 'guest'}:{urllib.parse.unquote(parts.password or 'guest')}"
    request = urllib.request.Request(
        url, headers={"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        queues = json.loads(answer.read())
    return sorted(
        (q["name"], int(q.get("messages") or 0)) for q in queues if is_dead_letter_queue(q["name"])
    )


@contextmanager
def channel_to(uri: str, confirm: bool = False, tls: AmqpTls | None = None) -> Iterator[Any]:
    """A py-amqp channel (over TLS for ``amqps://``); with ``confirm``, each publish returns
    once the broker has taken it. One attempt: an operator's command fails at once."""
    with amqp_connection(
        uri, tls, connect_timeout=10, transport_options={"confirm_publish": confirm}
    ) as connection:
        connection.ensure_connection(max_retries=0, reraise_as_library_errors=False)
        yield connection.channel()


def _checked(queue: str) -> str:
    if not is_dead_letter_queue(queue):
        raise NotADeadLetterQueue(f"{queue} is not a dead-letter queue (*.dlq)")
    return queue


def peek(uri: str, queue: str, limit: int = 10, tls: AmqpTls | None = None) -> list[Parked]:
    """The first messages of a dead-letter queue, left where they are."""
    found = []
    with channel_to(uri, tls=tls) as channel:
        for _ in range(limit):
            message = channel.basic_get(_checked(queue), no_ack=False)
            if message is None:
                break
            headers = dict(message.properties.get("application_headers") or {})
            found.append(Parked(
                message.properties.get("message_id"), reason_of(headers), origin_of(queue, headers),
                headers.get("x-original-routing-key"), headers.get("x-parked-at"), message.body,
            ))  # fmt: skip
        # unacked messages return to the queue, in order, when the channel closes
    return found


def replay(uri: str, queue: str, limit: int | None = None, tls: AmqpTls | None = None) -> int:
    """Back to the queues they came from; how many went. Only what is parked now: a message
    that fails again is parked again behind them, not replayed in a loop."""
    moved = 0
    with channel_to(uri, confirm=True, tls=tls) as channel:
        _, parked_now, _ = channel.queue_declare(_checked(queue), passive=True)
        limit = parked_now if limit is None else min(limit, parked_now)
        while moved < limit:
            message = channel.basic_get(_checked(queue), no_ack=False)
            if message is None:
                break
            headers = dict(message.properties.get("application_headers") or {})
            kept = {k: v for k, v in headers.items() if not parking_header(k)}
            kept[REPLAYED_AS] = first_routing_key(headers)
            properties = {k: v for k, v in message.properties.items() if k != "application_headers"}
            again = amqp.Message(message.body, application_headers=kept, **properties)
            channel.basic_publish(again, exchange="", routing_key=origin_of(queue, headers))
            channel.basic_ack(message.delivery_tag)
            moved += 1
    return moved


def purge(uri: str, queue: str, tls: AmqpTls | None = None) -> int:
    with channel_to(uri, tls=tls) as channel:
        purged: int = channel.queue_purge(_checked(queue))
        return purged
