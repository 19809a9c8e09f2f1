"""The relay's own encoding of ``basic.publish`` is byte for byte what py-amqp writes."""

from __future__ import annotations

import json
from typing import Any

import amqp
import pytest
from amqp import spec
from amqp.method_framing import frame_writer
from amqp.serialization import dumps

from kit.outbox import event_properties, publish_all

FRAME_MAX = 4096


class Transport:
    """What py-amqp's writer (and ours) hands to the socket, write by write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))


class Connection:
    def __init__(self, frame_max: int = FRAME_MAX) -> None:
        self.frame_max = frame_max
        self.transport = Transport()
        self.bytes_sent = 0


class Channel:
    def __init__(self, connection: Connection, channel_id: int = 3) -> None:
        self.connection = connection
        self.channel_id = channel_id


EVENTS = [
    ("e-1", "case.received", "intake", 1_796_000_000, json.dumps({"content": "路灯不亮"})),
    ("e-2", "case.dispatched", "dispatch", 1_796_000_001, "{}"),
    ("e-3", "sla.overdue", "supervision", 0, ""),  # an empty body: no body frame
    ("e-" + "9" * 60, "case.escalated", "supervision", 2**40, "x" * 10_000),  # three frames
    ("e-5", "case.closed", "dispatch", 1_796_000_002, "y" * (FRAME_MAX - 8)),  # exactly one
]


def py_amqps_bytes(
    frame_max: int, exchange: str, events: list[tuple[str, str, str, int, str]]
) -> bytes:
    connection = Connection(frame_max)
    write = frame_writer(connection, connection.transport)
    for event_id, event_type, app_id, timestamp, body in events:
        message = amqp.Message(
            body,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
            message_id=event_id,
            type=event_type,
            app_id=app_id,
            timestamp=timestamp,
        )
        arguments = dumps("Bssbb", (0, exchange, event_type, False, False))
        write(1, 3, spec.Basic.Publish, arguments, message)
    return b"".join(connection.transport.writes)


@pytest.mark.parametrize("frame_max", [FRAME_MAX, 131_072])
def test_a_batch_is_the_bytes_py_amqp_writes_for_its_messages_in_one_write(
    frame_max: int,
) -> None:
    connection = Connection(frame_max)
    publish_all(
        Channel(connection),
        "civicflow.events",
        [
            (event_type, event_properties(event_id, event_type, app_id, timestamp), body)
            for event_id, event_type, app_id, timestamp, body in EVENTS
        ],
    )
    assert connection.transport.writes == [py_amqps_bytes(frame_max, "civicflow.events", EVENTS)]
    assert connection.bytes_sent == 1  # the heartbeat check sees the connection was used


def test_the_properties_read_back_as_sent() -> None:
    message = amqp.Message()
    message._load_properties(
        spec.Basic.Publish[0], event_properties("e-1", "case.received", "intake", 1_796_000_000), 0
    )
    assert message.properties == {
        "content_type": "application/json",
        "content_encoding": "utf-8",
        "delivery_mode": 2,
        "message_id": "e-1",
        "timestamp": 1_796_000_000,
        "type": "case.received",
        "app_id": "intake",
    }


def test_a_property_too_long_for_a_short_string_is_refused() -> None:
    with pytest.raises(ValueError, match="short string"):
        event_properties("e" * 256, "case.received", "intake", 0)
