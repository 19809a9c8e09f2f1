"""A plain AMQP connection reads its socket ahead (``kit.amqp._read_ahead``): far fewer reads
than frames, and every message whole and in order, through timeouts between them."""

from __future__ import annotations

import socket
from typing import Any

import kombu
import pytest
from amqp.transport import TCPTransport

import kit.amqp  # noqa: F401  (installs the read-ahead)

MESSAGES = 60


def test_a_consumer_reads_many_frames_per_socket_read(vhost_uri: str) -> None:
    assert TCPTransport._read.__name__ == "_read_ahead"
    bodies = [f"消息 {n} " * (n % 7 * 40 + 1) for n in range(MESSAGES)]  # 20 B to 3 KB
    with kombu.Connection(vhost_uri) as connection:
        queue = kombu.Queue("read-ahead", channel=connection.default_channel, durable=False)
        queue.declare()
        producer = connection.Producer()
        for body in bodies:
            producer.publish(body, routing_key="read-ahead", serializer="raw")
    received: list[str] = []
    with kombu.Connection(vhost_uri) as connection:
        connection.connect()
        transport = connection.connection.transport
        reads = counted(transport)
        with connection.Consumer(
            kombu.Queue("read-ahead", durable=False),
            callbacks=[lambda body, message: (received.append(body), message.ack())],
            accept=["text/plain"],
        ):
            frames_before = len(reads)
            while len(received) < MESSAGES:
                connection.drain_events(timeout=5)
            with pytest.raises(socket.timeout):  # nothing left: a timeout, nothing lost
                connection.drain_events(timeout=0.2)
    assert received == bodies
    socket_reads = len(reads) - frames_before
    # three frames a message, each read in three parts by py-amqp: 540 reads without read-ahead
    assert socket_reads < MESSAGES, socket_reads


def counted(transport: Any) -> list[int]:
    """Every call of the transport's socket read, with the size asked."""
    reads: list[int] = []
    recv = transport._quick_recv

    def counting(size: int) -> bytes:
        reads.append(size)
        data: bytes = recv(size)
        return data

    transport._quick_recv = counting
    return reads
