"""The console's live stream on a real broker: its queue on ``civicflow.events`` exists only
while a browser listens, so that nobody watching costs the broker nothing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import eventlet
import pika
import pika.exceptions
import pytest

from contracts.events import PUBLIC_EXCHANGE
from kit.stream import PublicStream

pytestmark = pytest.mark.broker

OVERDUE = {
    "event_id": "e-1", "type": "sla.overdue", "occurred_at": "2026-12-06T10:00:00+00:00",
    "case_id": "CF-SECRET", "data": {},
}  # fmt: skip


def routable(uri: str) -> bool:
    """Whether an event published now on ``civicflow.events`` reaches any queue."""
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    try:
        channel = connection.channel()
        channel.exchange_declare(PUBLIC_EXCHANGE, exchange_type="topic", durable=True)
        channel.confirm_delivery()
        try:
            channel.basic_publish(
                PUBLIC_EXCHANGE, "sla.overdue", json.dumps(OVERDUE).encode(), mandatory=True
            )
        except pika.exceptions.UnroutableError:
            return False
        return True
    finally:
        connection.close()


def routable_within(uri: str, wanted: bool, seconds: float = 10.0) -> bool:
    """Whether ``routable`` answers ``wanted`` within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if routable(uri) == wanted:
            return True
        time.sleep(0.2)
    return False


class Wanted(threading.Event):
    """``Broadcast.wanted`` that also tells when the stream's consumer has looked for a
    browser and found none: by then, an eager consumer would have bound its queue."""

    def __init__(self) -> None:
        super().__init__()
        self.found_nobody = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        wanted = super().wait(timeout)
        if not wanted:
            self.found_nobody.set()
        return wanted


@pytest.fixture
def stream(vhost_uri: str) -> Iterator[PublicStream]:
    provider = PublicStream()
    provider.container = SimpleNamespace(  # what the provider asks of its nameko container
        config={"AMQP_URI": vhost_uri}, spawn_managed_thread=eventlet.spawn
    )
    provider.setup()
    provider.broadcast.wanted = Wanted()
    provider.linger = 0.5
    provider.start()
    yield provider
    provider.stop()


def test_the_stream_holds_a_queue_only_while_a_browser_listens(
    stream: PublicStream, vhost_uri: str
) -> None:
    wanted = stream.broadcast.wanted
    assert isinstance(wanted, Wanted)
    assert wanted.found_nobody.wait(10), "the stream's consumer never looked for a browser"
    assert not routable(vhost_uri), "a queue was bound with no browser listening"

    browser = stream.broadcast.frames()
    assert next(browser) == "retry: 3000\n\n"  # only once the queue is bound
    assert routable(vhost_uri)
    notice = next(browser)
    assert notice.startswith("event: sla.overdue\n") and "CF-SECRET" not in notice

    browser.close()  # the browser went away
    assert routable_within(vhost_uri, False), "the queue outlived its last browser's linger"

    again = stream.broadcast.frames()
    assert next(again) == "retry: 3000\n\n"
    assert routable(vhost_uri)
    again.close()
