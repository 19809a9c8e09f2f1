"""Server-sent events from ``civicflow.events``: live pages (the overdue board, the big screen)
hear that something happened and fetch again.

One exclusive, auto-deleted queue per process bound to the public exchange, held only while a
browser listens (and a little after, for a page being reloaded): with nobody watching, every
public event would otherwise cost the broker a delivery and this process a decode. Each browser
gets a bounded queue of its own (a slow one loses old notices, never blocks the others). Only
the event type and time travel to the browser: what it may see it fetches through its scoped
API, so no case number reaches a user outside its reach.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Generator
from typing import Any

from kombu.entity import Queue
from kombu.messaging import Consumer
from nameko.extensions import DependencyProvider

from contracts.events import PUBLIC_EXCHANGE
from kit.amqp import AmqpTls
from kit.amqp import connection as amqp_connection
from kit.topology import public_exchange

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
BACKLOG = 100
BIND_WAIT_SECONDS = 5.0
"""How long a new browser's stream waits for the queue to be bound before it starts."""
LINGER_SECONDS = 30.0
"""How long the queue stays bound after the last browser left."""


class Broadcast:
    """Fans each public event out to the connected browsers."""

    def __init__(self) -> None:
        self.listeners: set[queue.Queue[str]] = set()
        self.wanted = threading.Event()  # green once monkey-patched: some browser listens
        self.bound = threading.Event()  # the process's queue is bound and consumed

    def publish(self, notice: dict[str, Any]) -> None:
        frame = f"event: {notice['type']}\ndata: {json.dumps(notice)}\n\n"
        for listener in list(self.listeners):
            # a browser that stopped reading misses this one
            with contextlib.suppress(queue.Full):
                listener.put_nowait(frame)

    def frames(self, heartbeat: float = HEARTBEAT_SECONDS) -> Generator[str, None, None]:
        """The stream of one browser: events as they come, a comment line while it is quiet
        (proxies close silent connections)."""
        mine: queue.Queue[str] = queue.Queue(maxsize=BACKLOG)
        self.listeners.add(mine)
        self.wanted.set()
        try:
            # the first line goes once the queue is bound: from then on, no event is missed
            self.bound.wait(BIND_WAIT_SECONDS)
            yield "retry: 3000\n\n"
            while True:
                try:
                    yield mine.get(timeout=heartbeat)
                except queue.Empty:
                    yield ": still here\n\n"
        finally:
            self.listeners.discard(mine)
            if not self.listeners:
                self.wanted.clear()


class PublicStream(DependencyProvider):  # type: ignore[misc]
    """The worker sees the ``Broadcast``; the container runs its consumer."""

    def setup(self) -> None:
        self.broadcast = Broadcast()
        self.uri: str = self.container.config["AMQP_URI"]
        settings = self.container.config.get("CIVICFLOW")
        self.tls: AmqpTls | None = settings.amqp_tls if settings is not None else None
        self.heartbeat: float = settings.amqp_heartbeat if settings is not None else 30.0
        self.running = True
        self.linger = LINGER_SECONDS

    def start(self) -> None:
        self.container.spawn_managed_thread(self._consume)

    def stop(self) -> None:
        self.running = False

    def kill(self) -> None:
        self.running = False

    def get_dependency(self, worker_ctx: Any) -> Broadcast:
        return self.broadcast

    def _consume(self) -> None:
        while self.running:
            if not self.broadcast.wanted.wait(timeout=1):
                continue
            try:
                self._drain()
            except Exception as exc:  # the broker went away: try again shortly
                log.warning("public stream interrupted: %s", exc)
                if self.running:
                    time.sleep(2)  # green once monkey-patched

    def _drain(self) -> None:
        listen = Queue(
            exchange=public_exchange, routing_key="#", exclusive=True, auto_delete=True,
            durable=False,
        )  # fmt: skip
        with amqp_connection(self.uri, self.tls, heartbeat=self.heartbeat) as connection:
            consumer = Consumer(
                connection, queues=[listen], on_message=self._on_message, no_ack=True
            )
            with consumer:
                self.broadcast.bound.set()
                try:
                    self._drain_while_wanted(connection)
                finally:
                    self.broadcast.bound.clear()

    def _drain_while_wanted(self, connection: Any) -> None:
        last_wanted = time.monotonic()
        while self.running:
            if self.broadcast.wanted.is_set():
                last_wanted = time.monotonic()
            elif time.monotonic() - last_wanted > self.linger:
                return  # nobody has listened for a while: the queue goes with the connection
            try:
                connection.drain_events(timeout=1)
            except TimeoutError:
                connection.heartbeat_check()

    def _on_message(self, message: Any) -> None:
        try:
            event = json.loads(message.body)
        except ValueError:
            return
        self.broadcast.publish({"type": event.get("type"), "occurred_at": event.get("occurred_at")})


__all__ = ["PUBLIC_EXCHANGE", "Broadcast", "PublicStream"]
