"""The outbox relay: publishes committed events with publisher confirms, then marks them sent.

A batch is published back to back and confirmed as a whole (one round trip, not one per
message). Whatever is not confirmed stays unsent and goes again: consumers are idempotent on
``event_id``, so at-least-once here is exactly-once in effect.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import amqp
from kombu.connection import Connection

from kit import metrics
from kit.amqp import AmqpTls
from kit.amqp import connection as amqp_connection
from kit.db import Store
from kit.topology import declare_publisher_topology

log = logging.getLogger(__name__)


class OutboxRelay:
    batch_size = 500
    gather_seconds = 0.01
    """After a wake, how long the relay lets other commits add their events to its round: each
    round is a read, a confirmed publish and a write, whatever it carries."""
    idle_poll_seconds = 0.5
    confirm_timeout = 10.0
    standby_poll_seconds = 2.0

    def __init__(
        self,
        store: Store,
        amqp_uri: str,
        service: str,
        tls: AmqpTls | None = None,
        *,
        heartbeat: float = 30.0,
    ) -> None:
        self.store = store
        self.heartbeat = heartbeat
        self.amqp_uri = amqp_uri
        self.tls = tls
        self.service = service
        self.exchange = f"{service}.events"
        self._wake = threading.Event()
        self._stopping = False
        self.connected = False
        self.standing_by = False
        self.published_on_channel = 0
        """Publishes on the current confirm channel: the broker numbers them 1, 2, 3… and
        confirms them by that number."""
        store.listeners.append(self)

    def outbox_committed(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def run(self) -> None:
        lock = FileLock.beside(self.store.url, "relay") if self.store.is_sqlite else None
        if lock is not None and not lock.acquire():
            log.info(
                "outbox of %s: another instance relays it (SQLite has one relay per database);"
                " standing by", self.service,
            )  # fmt: skip
            self.standing_by = True
            while not self._stopping and not lock.acquire():
                self._wake.wait(self.standby_poll_seconds)
                self._wake.clear()
            self.standing_by = False
            if self._stopping:
                return
            log.info("outbox of %s: the relay is ours now", self.service)
        try:
            self._relay()
        finally:
            if lock is not None:
                lock.release()

    def _relay(self) -> None:
        backoff = 0.5
        while not self._stopping:
            try:
                with amqp_connection(
                    self.amqp_uri, self.tls, heartbeat=self.heartbeat
                ) as connection:
                    connection.ensure_connection(max_retries=1)
                    channel = connection.channel()
                    declare_publisher_topology(channel, self.service)
                    channel.confirm_select()
                    self.published_on_channel = 0  # the broker numbers a channel's publishes
                    self.connected = True
                    backoff = 0.5
                    with Heartbeats(connection, self.heartbeat / 4) as beats:
                        self._pump(connection, channel, beats)
            except Exception as exc:  # the broker or the database went away: retry, lose nothing
                if self._stopping:
                    break
                log.warning("outbox relay of %s: %r; retrying in %.1fs", self.service, exc, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                self.connected = False

    def _pump(self, connection: Connection, channel: Any, beats: Heartbeats) -> None:
        next_gauge = 0.0
        while not self._stopping:
            if self._wake.wait(self.idle_poll_seconds) and self.gather_seconds:
                time.sleep(self.gather_seconds)  # green: the commits meanwhile join this round
            self._wake.clear()
            while (
                not self._stopping
                and self.relay_batch(connection, channel, beats) == self.batch_size
            ):
                pass
            with beats.using:
                keep_alive(connection)
            if time.monotonic() >= next_gauge:
                count, age = self.store.outbox_backlog()
                metrics.OUTBOX_BACKLOG.labels(self.service).set(count)
                metrics.OUTBOX_AGE.labels(self.service).set(age)
                next_gauge = time.monotonic() + 5.0

    def relay_batch(self, connection: Connection, channel: Any, beats: Heartbeats) -> int:
        with self.store.outbox_batch(self.batch_size) as batch:
            if not batch.rows:
                return 0
            with beats.using:
                confirmed = self._publish_confirmed(connection, channel, batch.rows)
            if confirmed:  # may wait long for a database lock: the heartbeats go on meanwhile
                batch.mark_sent(confirmed)
        metrics.OUTBOX_RELAYED.labels(self.service).inc(len(confirmed))
        return len(batch.rows)

    def _publish_confirmed(
        self, connection: Connection, channel: Any, rows: list[tuple[int, str, str, str]]
    ) -> list[int]:
        """Publish the rows' events back to back, then wait for the broker's confirms of them
        all; the ids of the rows whose events it acked."""
        outcome: dict[int, bool] = {}
        first = self.published_on_channel + 1
        tags = list(range(first, first + len(rows)))

        def on_ack(tag: int, multiple: bool) -> None:
            _settle(outcome, tags, tag, multiple, True)

        def on_nack(tag: int, multiple: bool) -> None:
            _settle(outcome, tags, tag, multiple, False)

        channel.events["basic_ack"].add(on_ack)
        channel.events["basic_nack"].add(on_nack)
        try:
            now = int(time.time())
            for _row_id, event_id, event_type, body in rows:
                channel.basic_publish(
                    self.event_message(event_id, event_type, body, now),
                    exchange=self.exchange,
                    routing_key=event_type,
                )
                self.published_on_channel += 1
            deadline = time.monotonic() + self.confirm_timeout
            while len(outcome) < len(tags):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(tags) - len(outcome)} publishes not confirmed")
                connection.drain_events(timeout=remaining)
        finally:
            channel.events["basic_ack"].discard(on_ack)
            channel.events["basic_nack"].discard(on_nack)
        by_tag = dict(zip(tags, (row[0] for row in rows), strict=True))
        return [by_tag[tag] for tag, ok in outcome.items() if ok]

    def event_message(self, event_id: str, event_type: str, body: str, timestamp: int) -> Any:
        """An event as DESIGN publishes it: JSON in UTF-8, persistent, the event id as message
        id, the time, the type, the publishing service."""
        return amqp.Message(
            body,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
            message_id=event_id,
            timestamp=timestamp,
            type=event_type,
            app_id=self.service,
        )


def keep_alive(connection: Connection) -> None:
    """Send our heartbeat when due and read what the broker sent. An idle publisher never
    reads its socket otherwise, so the broker's heartbeats pile up unread and the client
    gives its own healthy connection up for dead ("Too many heartbeats missed")."""
    with contextlib.suppress(TimeoutError):
        connection.drain_events(timeout=0)
    connection.heartbeat_check()


class Heartbeats:
    """A connection's heartbeats kept going while its owner is busy elsewhere (waiting for a
    database lock, say): the owner holds ``using`` whenever it talks on the connection, and a
    green thread beside it sends and reads heartbeats in between. Without it a relay waiting
    longer than two heartbeats to mark a batch sent would be dropped by the broker."""

    def __init__(self, connection: Connection, interval: float) -> None:
        self.connection = connection
        self.interval = interval
        self.using = threading.Lock()  # green once monkey-patched
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="heartbeats", daemon=True)

    def __enter__(self) -> Heartbeats:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join(timeout=self.interval + 1.0)

    def _beat(self) -> None:
        while not self._stopped.wait(self.interval):
            with self.using:
                try:
                    keep_alive(self.connection)
                except Exception:  # the connection is gone: its owner finds out when it next
                    return  # uses it, and connects again


class FileLock:
    """An exclusive ``flock`` on a file: one holder across processes, given up when the holder
    dies, even by ``kill -9``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @classmethod
    def beside(cls, sqlite_url: str, role: str) -> FileLock:
        database = Path(sqlite_url.split(":///", 1)[1])
        return cls(database.with_name(f"{database.name}.{role}.lock"))

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _settle(outcome: dict[int, bool], tags: list[int], tag: int, multiple: bool, ok: bool) -> None:
    if multiple:
        for pending in tags:
            if pending <= tag and pending not in outcome:
                outcome[pending] = ok
    elif tag in tags:
        outcome[tag] = ok
