"""The queue consumer's batched acks, against a channel that settles as RabbitMQ does: a
``multiple`` ack settles every outstanding delivery up to its tag, so it must never cover one
still in hand."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from kit.messaging import RawQueueConsumer


@dataclass
class Channel:
    """What the broker keeps of a channel: its outstanding deliveries, and the acks sent."""

    outstanding: set[int] = field(default_factory=set)
    acks: list[tuple[int, bool]] = field(default_factory=list)
    connection: object | None = True

    def basic_ack(self, tag: int, multiple: bool = False) -> None:
        self.acks.append((tag, multiple))
        settled = {t for t in self.outstanding if t <= tag} if multiple else {tag}
        assert settled <= self.outstanding, f"ack of {tag} settles what is not outstanding"
        self.outstanding -= settled


@dataclass(eq=False)
class Delivery:
    delivery_tag: int
    channel: Channel

    def ack(self) -> None:
        self.channel.basic_ack(self.delivery_tag)


def consumer_on(channel: Channel) -> RawQueueConsumer:
    consumer = RawQueueConsumer()
    consumer._unsettled, consumer._unsettled_channel = {}, channel
    return consumer


def deliver(consumer: RawQueueConsumer, channel: Channel, tags: range) -> dict[int, Delivery]:
    deliveries = {}
    for tag in tags:
        channel.outstanding.add(tag)
        deliveries[tag] = Delivery(tag, channel)
        consumer._unsettled[tag] = False  # what hand_over notes of each delivery
    return deliveries


def test_a_batch_handled_in_order_is_acked_with_one_multiple_ack() -> None:
    channel = Channel()
    consumer = consumer_on(channel)
    d = deliver(consumer, channel, range(1, 6))
    consumer.ack_all([d[1], d[2], d[3], d[4], d[5]])
    assert channel.acks == [(5, True)] and not channel.outstanding


def test_a_delivery_still_in_hand_is_never_covered() -> None:
    channel = Channel()
    consumer = consumer_on(channel)
    d = deliver(consumer, channel, range(1, 7))
    consumer.ack_all([d[1], d[2], d[4], d[5]])  # 3 is held (a database outage, say), 6 not done
    assert channel.acks == [(2, True), (4, False), (5, False)]
    assert channel.outstanding == {3, 6}
    consumer.ack_message(d[3])
    consumer.ack_all([d[6]])
    assert channel.acks[-2:] == [(3, False), (6, True)] and not channel.outstanding


def test_a_delivery_of_a_channel_gone_is_not_acked_on_the_new_one() -> None:
    old, new = Channel(connection=None), Channel()
    consumer = consumer_on(old)
    stale = deliver(consumer, old, range(1, 3))
    consumer._unsettled, consumer._unsettled_channel = {}, new  # a reconnection
    fresh = deliver(consumer, new, range(1, 3))
    consumer.ack_all([stale[1], stale[2], fresh[1]])
    assert old.acks == [] and new.acks == [(1, True)] and new.outstanding == {2}


@given(st.data())
def test_whatever_the_order_exactly_the_handled_deliveries_are_settled(data: st.DataObject) -> None:
    channel = Channel()
    consumer = consumer_on(channel)
    count = data.draw(st.integers(1, 40))
    d = deliver(consumer, channel, range(1, count + 1))
    handled: set[int] = set()
    pending = list(d)
    while pending:
        batch = data.draw(st.lists(st.sampled_from(pending), min_size=1, unique=True))
        for tag in batch:
            pending.remove(tag)
        if data.draw(st.booleans()):
            consumer.ack_all([d[tag] for tag in batch])
        else:
            for tag in batch:
                consumer.ack_message(d[tag])
        handled |= set(batch)
        assert channel.outstanding == set(d) - handled
    assert not consumer._unsettled
