"""Consuming from RabbitMQ without nameko's traps.

nameko acks and drops a message whose handler raises, loops forever on ``requeue_on_error``,
crashes its consumer on a body it cannot decode, and declares queues without arguments. Here
every work queue is a durable quorum queue with a dead-letter queue of its own; a message that
can never succeed (it breaks its contract) is parked at once with ``x-reject-reason``; one that
fails for a passing cause is retried with backoff and parked after ``delivery_limit`` attempts.
Nothing is acked before it is either handled or parked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar, cast

import eventlet
from kombu.entity import Queue, binding
from kombu.message import Message
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer
from pydantic import ValidationError

from contracts.events import CATALOGUE, EventSpec
from contracts.inbound import INBOUND_REJECTED_QUEUE, LINES
from kit import metrics
from kit.amqp import LOST_CONNECTION, config_connection
from kit.db import store_unavailable
from kit.nameko_fixes import StoppableQueueConsumer
from kit.parking import Parking
from kit.queue_gauges import QueueGauges
from kit.topology import (
    DLQ_SUFFIX,
    dead_letter_exchange,
    dead_letter_queue,
    inbound_exchange,
    service_exchange,
    work_queue_arguments,
)

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class Rejected(Exception):
    """The message can never be handled as it is: park it with this reason, do not retry."""


"""What settling a message raises when the broker connection is gone."""

STORE_PATIENCE_SECONDS = 900.0
"""How long a message is held, retried in place, while its service's database is unavailable."""

REPLAYED_AS = "x-replayed-routing-key"
"""Set by ``civicflow dlq replay``: the routing key the message first came with."""


@dataclass(frozen=True)
class RawMessage:
    """A delivery as the broker gave it, before anyone trusted its body."""

    body: bytes
    routing_key: str
    exchange: str
    message_id: str | None
    app_id: str | None
    content_type: str | None
    headers: dict[str, Any] = field(default_factory=dict)
    delivery_count: int = 0

    @classmethod
    def from_kombu(cls, message: Message) -> RawMessage:
        props = message.properties
        headers = dict(message.headers or {})
        body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
        return cls(
            body=body,
            # a replayed message comes straight to its queue: it says what it was sent as
            routing_key=headers.get(REPLAYED_AS) or message.delivery_info.get("routing_key", ""),
            exchange=message.delivery_info.get("exchange", ""),
            message_id=props.get("message_id"),
            app_id=props.get("app_id"),
            content_type=props.get("content_type"),
            headers=headers,
            delivery_count=int(headers.get("x-delivery-count", 0) or 0),
        )


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, ValidationError) and exc.errors()[0]["type"] == "json_invalid":
        return f"not JSON: {exc.errors()[0]['msg']}"[:900]
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}"
            for err in exc.errors()
        )
        return f"schema: {problems}"[:900]
    return f"{type(exc).__name__}: {exc}"[:900]


class RawQueueConsumer(StoppableQueueConsumer):
    """nameko's queue consumer, handing each delivery undecoded to its entrypoint, on the
    consumer's own thread, so a body that cannot be decoded cannot kill it."""

    largest_prefetch = 0

    def register_provider(self, provider: MessageEntrypoint) -> None:
        self.largest_prefetch = max(self.largest_prefetch, provider.prefetch)
        super().register_provider(provider)

    @property
    def prefetch_count(self) -> int:
        """One channel carries every consumer, so one prefetch: large enough for the largest
        batch any entrypoint here asks for."""
        return max(int(super().prefetch_count), self.largest_prefetch)

    def get_consumers(self, consumer_cls: Any, channel: Any) -> Any:
        def undecoded(*, callbacks: list[Callable[..., None]], **options: Any) -> Any:
            [handle] = callbacks
            return consumer_cls(on_message=partial(handle, None), **options)

        return super().get_consumers(undecoded, channel)

    def handle_message(self, provider: MessageEntrypoint, body: None, message: Message) -> None:
        provider.receive(message)


class MessageEntrypoint(Consumer):  # type: ignore[misc]
    """A durable quorum work queue with its own dead-letter queue.

    ``decode`` turns the raw delivery into the handler's arguments, raising ``Rejected`` or a
    pydantic ``ValidationError`` for a message that breaks its contract.
    """

    queue_consumer = RawQueueConsumer()
    gauges = QueueGauges()
    prefetch = 0
    """Deliveries this entrypoint wants in hand at once (0: as many as the service's workers)."""

    def __init__(
        self,
        bindings: Callable[[str], Sequence[binding]],
        decode: Callable[[RawMessage], tuple[Any, ...]],
        queue_name: str | None = None,
        dead_letter_queue_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.bindings_for = bindings
        self.decode = decode
        self.queue_name = queue_name
        self.dead_letter_queue_name = dead_letter_queue_name
        kwargs.setdefault("expected_exceptions", (Rejected, ValidationError))
        super().__init__(queue=None, **kwargs)

    def setup(self) -> None:
        settings = self.container.config["CIVICFLOW"]
        self.amqp_uri = self.container.config["AMQP_URI"]
        self.delivery_limit = settings.delivery_limit
        name = self.queue_name or f"{self.container.service_name}.{self.method_name}"
        self.dlq_name = self.dead_letter_queue_name or name + DLQ_SUFFIX
        self.queue = Queue(
            name,
            bindings=list(self.bindings_for(self.container.service_name)),
            durable=True,
            queue_arguments=work_queue_arguments(self.dlq_name, self.delivery_limit + 1),
        )
        with config_connection(self.container.config) as connection:
            channel = connection.default_channel
            dead_letter_exchange(channel).declare()
            dead_letter_queue(self.dlq_name)(channel).declare()
            for item in self.queue.bindings:
                item.exchange(channel).declare()
        self.gauges.watch(name, self.dlq_name)
        self._held: dict[int, float] = {}
        self.parking = Parking(self.container.config, name, self.dlq_name)
        super().setup()

    # --- delivery ---

    def settle(self, action: Callable[[Message], None], message: Message) -> None:
        """Ack or requeue; when the connection went away meanwhile (a broker restart), the
        broker already holds the message for redelivery, and handling it again changes nothing
        (consumers are idempotent): a lost ack must not take the service down."""
        self._held.pop(message.delivery_tag, None)
        try:
            action(message)
        except LOST_CONNECTION as lost:
            log.warning("%s: connection lost before settling a message (%s); the broker "
                        "delivers it again", self.queue.name, type(lost).__name__)  # fmt: skip

    def receive(self, message: Message) -> None:
        """A delivery, on the consumer's own thread. Decoding it is all done here: cheaper in
        place than on a green thread of its own (one each cost the console a fifth of its
        CPU). The handler runs on a worker, and parking a broken message, a confirmed
        publish, on a thread of its own: neither holds up the deliveries behind it."""
        self.take(self.decode_or_park(message, partial(self.spawn, self.park)), message)

    def handle_raw(self, message: Message) -> None:
        """A held message tried again, on its worker's thread (parked, if broken, in place)."""
        self.take(self.decode_or_park(message, self.park), message)

    def spawn(self, action: Callable[..., None], *args: Any) -> None:
        self.container.spawn_managed_thread(
            partial(action, *args), identifier=f"{action.__qualname__}[{self.queue.name}]"
        )

    def decode_or_park(
        self, message: Message, park: Callable[[Message, RawMessage, str], None]
    ) -> tuple[RawMessage, tuple[Any, ...]] | None:
        """The handler's arguments, or None when the message broke its contract and was
        handed to ``park`` with the reason."""
        raw = RawMessage.from_kombu(message)
        try:
            return raw, self.decode(raw)
        except (Rejected, ValidationError, ValueError) as exc:
            park(message, raw, describe_error(exc))
            return None

    def take(self, decoded: tuple[RawMessage, tuple[Any, ...]] | None, message: Message) -> None:
        """Start the handler of a decoded message (None: it was parked)."""
        if decoded is None:
            return
        raw, args = decoded
        started = time.perf_counter()
        try:
            self.container.spawn_worker(
                self,
                args,
                {},
                context_data={},
                handle_result=partial(self.handle_outcome, message, raw, started),
            )
        except ContainerBeingKilled:
            self.settle(self.queue_consumer.requeue_message, message)

    def retry_or_park(self, message: Message, raw: RawMessage, exc: BaseException) -> None:
        """A failed attempt: park at once if the message broke its contract, or after the
        last attempt; otherwise back off and put it back."""
        queue = self.queue.name
        metrics.MESSAGES_FAILED.labels(queue, raw.routing_key).inc()
        if store_unavailable(exc) and self.hold_until_stored(message, exc):
            return
        attempt = raw.delivery_count + 1
        if isinstance(exc, Rejected | ValidationError):
            self.park(message, raw, describe_error(exc))
        elif attempt >= self.delivery_limit:
            self.park(message, raw, f"gave up after {attempt} attempts: {describe_error(exc)}")
        else:
            log.warning("%s: attempt %d failed (%s); retrying", queue, attempt, describe_error(exc))
            eventlet.sleep(min(0.2 * 2**attempt, 10.0))
            self.settle(self.queue_consumer.requeue_message, message)

    def hold_until_stored(self, message: Message, exc: BaseException) -> bool:
        """While the database is down or locked, keep the message (unacked) and try it again
        here, without spending one of its attempts: an outage is not the message's fault and
        must not turn healthy messages into dead letters. The broker takes an unacked message
        back from a consumer after its ``consumer_timeout`` (30 min by default); well before
        that, the hold ends and the attempt counts as usual (False)."""
        tag = message.delivery_tag
        held_since = self._held.setdefault(tag, time.monotonic())
        waited = time.monotonic() - held_since
        if waited > STORE_PATIENCE_SECONDS:
            del self._held[tag]
            return False
        log.warning("%s: the database is unavailable (%s); holding the message %.0fs so far",
                    self.queue.name, describe_error(exc), waited)  # fmt: skip
        eventlet.sleep(min(0.25 + waited / 4, 5.0))
        self.handle_raw(message)
        return True

    def handle_outcome(
        self,
        message: Message,
        raw: RawMessage,
        started: float,
        worker_ctx: Any,
        result: Any = None,
        exc_info: Any = None,
    ) -> tuple[Any, Any]:
        queue = self.queue.name
        metrics.HANDLER_SECONDS.labels(queue).observe(time.perf_counter() - started)
        if exc_info is None:
            metrics.MESSAGES_CONSUMED.labels(queue, raw.routing_key).inc()
            self.settle(self.queue_consumer.ack_message, message)
            return result, exc_info
        self.retry_or_park(message, raw, exc_info[1])
        return result, exc_info

    def park(self, message: Message, raw: RawMessage, reason: str) -> None:
        """Copy the message to its dead-letter queue with the reason, confirmed, then ack; if
        the copy cannot be made, put the message back to be parked on its next delivery."""
        try:
            self.parking.park(raw, reason)
        except (Exception, eventlet.Timeout):
            log.exception(
                "%s: could not park a message; it goes back to the queue", self.queue.name
            )
            eventlet.sleep(1.0)
            self.settle(self.queue_consumer.requeue_message, message)
            return
        log.warning(
            "%s: parked %s in %s: %s", self.queue.name, raw.message_id, self.dlq_name, reason
        )
        metrics.MESSAGES_PARKED.labels(self.queue.name, raw.routing_key).inc()
        self.settle(self.queue_consumer.ack_message, message)


@dataclass
class _Delivery:
    message: Message
    raw: RawMessage
    args: tuple[Any, ...]


LINGER_SECONDS = 0.02
"""How long a batch waits for company after its first message. Every batch pays a transaction,
a commit and a wake of the outbox relay whatever its size, so under load the wait buys more
than it costs: at 5 ms the four lines mixed went through at 255 cases a second, at 20 ms at
280–309; at 50 cases a second the wait adds its 20 ms once to ``received → dispatched``."""


class BatchFailed(Exception):
    """A batch of several failed as a whole for a refusal no one message is known to cause."""


def each_outcome(batch_size: int, exc: BaseException) -> BaseException:
    """What a failure of the whole batch is for each of its messages: the same failure,
    settled by the same rule as a failure of its own. Only a refusal (``Rejected``, a
    ``ValidationError``), which parks at once, is not pinned on all of several: for each it
    counts as a passing failure, so each is tried again, alone (see ``BatchEntrypoint``)."""
    if batch_size > 1 and isinstance(exc, Rejected | ValidationError):
        return BatchFailed(f"its batch was refused: {describe_error(exc)}")
    return exc


class BatchEntrypoint(MessageEntrypoint):
    """Hands its handler up to ``batch_size`` messages at once (or what came within
    ``linger`` seconds), so their work shares one transaction. The handler returns one outcome
    per message in order: None when done, or the exception that message met; an exception of
    the whole batch is each message's outcome (``each_outcome``). Each message is then settled
    by the one rule: acked when done, otherwise retried or parked (``retry_or_park``).

    A message that comes again after a failure is handed over in a batch of its own: a poison
    message that failed its batch fails alone next time, is parked alone, and never takes its
    neighbours with it.
    """

    def __init__(
        self, *args: Any, batch_size: int = 100, linger: float = LINGER_SECONDS, **kwargs: Any
    ):
        self.batch_size = batch_size
        self.linger = linger
        self.prefetch = batch_size * 2
        super().__init__(*args, **kwargs)

    def setup(self) -> None:
        self._pending: list[_Delivery] = []
        self._flush_timer: Any = None
        super().setup()

    def take(self, decoded: tuple[RawMessage, tuple[Any, ...]] | None, message: Message) -> None:
        """Put a decoded message with the batch; the batch goes when full or lingered. A
        message tried before goes in a batch of its own."""
        if decoded is None:
            return
        delivery = _Delivery(message, *decoded)
        if delivery.raw.delivery_count > 0:
            self.spawn_batch([delivery])
            return
        self._pending.append(delivery)
        if len(self._pending) >= self.batch_size:
            self.flush()
        elif self._flush_timer is None:
            self._flush_timer = eventlet.spawn_after(self.linger, self.flush)

    def flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        batch, self._pending = self._pending, []
        if batch:
            self.spawn_batch(batch)

    def spawn_batch(self, batch: list[_Delivery]) -> None:
        started = time.perf_counter()
        try:
            self.container.spawn_worker(
                self,
                ([delivery.args for delivery in batch],),
                {},
                context_data={},
                handle_result=partial(self.handle_batch_outcome, batch, started),
            )
        except ContainerBeingKilled:
            for delivery in batch:
                self.settle(self.queue_consumer.requeue_message, delivery.message)

    def handle_batch_outcome(
        self,
        batch: list[_Delivery],
        started: float,
        worker_ctx: Any,
        result: Any = None,
        exc_info: Any = None,
    ) -> tuple[Any, Any]:
        """Settle each message by its outcome: acked when done; a failure retried or parked on
        a thread of its own, so that one's backoff does not hold up the others'."""
        metrics.HANDLER_SECONDS.labels(self.queue.name).observe(time.perf_counter() - started)
        if exc_info is None:
            outcomes = list(result)
        else:
            log.warning("%s: a batch of %d failed: %s", self.queue.name, len(batch),
                        describe_error(exc_info[1]))  # fmt: skip
            outcomes = [each_outcome(len(batch), exc_info[1])] * len(batch)
        for delivery, outcome in zip(batch, outcomes, strict=True):
            if outcome is None:
                metrics.MESSAGES_CONSUMED.labels(self.queue.name, delivery.raw.routing_key).inc()
                self.settle(self.queue_consumer.ack_message, delivery.message)
            else:
                self.spawn(self.retry_or_park, delivery.message, delivery.raw, outcome)
        return result, exc_info


# --- the ways services consume ---


def _decode_event(specs: dict[str, EventSpec[Any]], raw: RawMessage) -> tuple[Any, ...]:
    spec = specs.get(raw.routing_key) or CATALOGUE.get(raw.routing_key)
    if spec is None or spec.type not in specs:
        raise Rejected(f"no handler here for routing key {raw.routing_key!r}")
    return (spec.parse(raw.body),)


def on_event(*specs: EventSpec[Any]) -> Callable[[F], F]:
    """Handle events of these catalogue types; the method receives the parsed ``Envelope``.

    Queue ``<service>.<method>``, bound to each type on its owner's exchange.
    """
    by_type: dict[str, EventSpec[Any]] = {spec.type: spec for spec in specs}

    def bindings(_service: str) -> list[binding]:
        return [binding(service_exchange(spec.source), routing_key=spec.type) for spec in specs]

    decorator = MessageEntrypoint.decorator(
        bindings=bindings, decode=partial(_decode_event, by_type)
    )
    return cast(Callable[[F], F], decorator)


def on_event_batch(*specs: EventSpec[Any], batch_size: int = 100) -> Callable[[F], F]:
    """Like ``on_event``, for work that is cheap per event and dear per transaction (a
    counter): the method receives a list of ``(Envelope,)`` and returns one outcome each."""
    by_type: dict[str, EventSpec[Any]] = {spec.type: spec for spec in specs}

    def bindings(_service: str) -> list[binding]:
        return [binding(service_exchange(spec.source), routing_key=spec.type) for spec in specs]

    decorator = BatchEntrypoint.decorator(
        bindings=bindings, decode=partial(_decode_event, by_type), batch_size=batch_size
    )
    return cast(Callable[[F], F], decorator)


def on_inbound(
    decode: Callable[[RawMessage], tuple[Any, ...]], queue_name: str = "civicflow.inbound.intake"
) -> Callable[[F], F]:
    """Consume the four lines from ``civicflow.inbound`` in batches (the handler takes a list
    of decoded messages and returns an outcome per message); rejects go to the public
    ``civicflow.inbound.rejected`` queue."""

    def bindings(_service: str) -> list[binding]:
        return [binding(inbound_exchange, routing_key=line.routing_key) for line in LINES]

    decorator = BatchEntrypoint.decorator(
        bindings=bindings,
        decode=decode,
        queue_name=queue_name,
        dead_letter_queue_name=INBOUND_REJECTED_QUEUE,
    )
    return cast(Callable[[F], F], decorator)
