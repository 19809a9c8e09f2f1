"""The kit against a real broker and real databases: outbox, idempotency, parking."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import eventlet
import kombu
import kombu.exceptions
import pika
import pytest
from nameko.containers import ServiceContainer
from nameko.rpc import Responder
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import MetaData, func, select
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.exc import OperationalError

import kit.parking
from contracts.events import CASE_RECEIVED, CaseReceived, Envelope, Reporter
from kit.base import ServiceBase
from kit.db import Store, kit_tables
from kit.messaging import Rejected, on_event, on_event_batch
from kit.outbox import OutboxRelay
from kit.providers import Database
from kit.rpc import rpc
from kit.runner import InProcess, container_config
from kit.settings import Settings
from tests.support.databases import store_with_tables
from tests.support.harness import EventTap, management_get, settings_for_test

pytestmark = pytest.mark.broker

PROBE_METADATA = MetaData()
PROBE_TABLES = kit_tables(PROBE_METADATA)


def received(content: str = "噪音扰民", case_id: str = "CF261121-AAAAAA") -> Envelope[CaseReceived]:
    data = CaseReceived(
        channel="hotline",
        source="hotline",
        external_id=case_id,
        reporter=Reporter(),
        content=content,
        received_at=datetime.now(UTC),
    )
    return CASE_RECEIVED.new(data, case_id=case_id)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with store_with_tables(database_url, "probe", PROBE_TABLES, PROBE_METADATA) as store:
        yield store


def outbox_rows(store: Store) -> list[dict[str, Any]]:
    with store.read() as session:
        rows = session.execute(select(store.tables.outbox)).mappings()
        return [dict(row) for row in rows]


def test_an_event_leaves_only_with_its_transaction(store: Store) -> None:
    with store.unit_of_work("probe.test") as uow:
        uow.emit(received())
        # leaving without commit: the business write failed, the event must not exist
    assert outbox_rows(store) == []
    with store.unit_of_work("probe.test") as uow:
        uow.emit(received())
        uow.commit()
    rows = outbox_rows(store)
    assert len(rows) == 1 and rows[0]["type"] == "case.received" and rows[0]["sent_at"] is None


def test_first_time_is_true_once_per_consumer(store: Store) -> None:
    for consumer, expected in (("a.h", True), ("a.h", False), ("b.h", True)):
        with store.unit_of_work(consumer) as uow:
            assert uow.first_time("event-1") is expected
            uow.commit()
    with store.read() as session:
        count = session.scalar(select(func.count()).select_from(store.tables.processed_events))
    assert count == 2


def test_first_times_takes_each_new_id_once_in_one_statement(store: Store) -> None:
    with store.unit_of_work("a.h") as uow:
        assert uow.first_time("seen-before") is True
        uow.commit()
    statements: list[str] = []
    with store.unit_of_work("a.h") as uow:
        bind = uow.session.get_bind()
        sqlalchemy_event.listen(bind, "before_cursor_execute", _record(statements))
        fresh = uow.first_times(["new-1", "seen-before", "new-2", "new-1"])
        # a redelivery in the same batch: the id is taken by its first occurrence only
        taken = [fresh.take(i) for i in ("new-1", "seen-before", "new-2", "new-1")]
        uow.commit()
    assert taken == [True, False, True, False]
    assert len([s for s in statements if "processed_events" in s]) == 1
    with store.unit_of_work("a.h") as uow:
        assert not uow.first_times(["new-1", "new-2", "seen-before"])
        assert uow.first_times([]) == set()
    with store.unit_of_work("b.h") as uow:  # another consumer has seen none of them
        assert uow.first_times(["new-1", "seen-before"]) == {"new-1", "seen-before"}


def _record(statements: list[str]) -> Callable[..., None]:
    def before_cursor_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    return before_cursor_execute


def test_relay_publishes_with_confirms_and_marks_sent(store: Store, vhost_uri: str) -> None:
    tap = EventTap(vhost_uri)
    relay = OutboxRelay(store, vhost_uri, "intake")
    worker = threading.Thread(target=relay.run, daemon=True)
    worker.start()
    try:
        # the relay declares the exchanges; the tap is bound already, so nothing is missed
        envelopes = [received(case_id=f"CF261121-{i:06d}") for i in range(120)]
        with store.unit_of_work("probe.test") as uow:
            for envelope in envelopes:
                uow.emit(envelope)
            uow.commit()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(tap.of_type("case.received")) < 120:
            time.sleep(0.05)
        got = [e["event_id"] for e in tap.of_type("case.received")]
        assert got == [e.event_id for e in envelopes]  # all, once, in commit order
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(r["sent_at"] is None for r in outbox_rows(store)):
            time.sleep(0.05)
        assert all(row["sent_at"] is not None for row in outbox_rows(store))
    finally:
        relay.stop()
        worker.join(5)
        tap.close()


def published_with_properties(uri: str, count: int, timeout: float = 10.0) -> list[Any]:
    """What a subscriber of ``civicflow.events`` receives: each message's properties."""
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    channel.exchange_declare("civicflow.events", "topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "civicflow.events", "#")
    found: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(found) < count:
            method, props, _body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                time.sleep(0.05)
                continue
            found.append((method.routing_key, props))
    finally:
        connection.close()
    return found


def test_relay_publishes_each_event_with_design_s_properties(store: Store, vhost_uri: str) -> None:
    tap = EventTap(vhost_uri)  # declares civicflow.events, so the subscriber below can bind
    relay = OutboxRelay(store, vhost_uri, "intake")
    worker = threading.Thread(target=relay.run, daemon=True)
    envelopes = [received(case_id=f"CF261121-{i:06d}") for i in range(3)]
    with store.unit_of_work("probe.test") as uow:
        for envelope in envelopes:
            uow.emit(envelope)
        uow.commit()
    got: list[Any] = []
    subscriber = threading.Thread(
        target=lambda: got.extend(published_with_properties(vhost_uri, 3)), daemon=True
    )
    subscriber.start()
    time.sleep(0.5)  # its queue is bound before the relay starts
    before = int(time.time())
    worker.start()
    try:
        subscriber.join(15)
        assert [props.message_id for _key, props in got] == [e.event_id for e in envelopes]
        for routing_key, props in got:
            assert routing_key == "case.received"
            assert props.content_type == "application/json"
            assert props.content_encoding == "utf-8"
            assert props.delivery_mode == 2
            assert props.type == "case.received"
            assert props.app_id == "intake"
            assert before - 1 <= props.timestamp <= int(time.time()) + 1
    finally:
        relay.stop()
        worker.join(5)
        tap.close()


def test_relay_keeps_the_events_the_broker_refuses_until_it_takes_them(
    store: Store, vhost_uri: str
) -> None:
    """A queue that is full and refuses more (``reject-publish``) makes the broker nack the
    publishes it cannot take: those events stay unsent and go again until it takes them."""
    tap = EventTap(vhost_uri)
    full = tap.channel.queue_declare(
        "full", arguments={"x-max-length": 1, "x-overflow": "reject-publish"}
    ).method.queue
    tap.channel.queue_bind(full, "civicflow.events", "#")
    relay = OutboxRelay(store, vhost_uri, "intake")
    worker = threading.Thread(target=relay.run, daemon=True)
    with store.unit_of_work("probe.test") as uow:
        for i in range(3):
            uow.emit(received(case_id=f"CF261121-{i:06d}"))
        uow.commit()
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(tap.of_type("case.received")) < 6:
            time.sleep(0.05)  # the refused two went again at least once
        in_order = sorted(outbox_rows(store), key=lambda row: int(row["id"]))
        assert [row["sent_at"] is not None for row in in_order] == [True, False, False]
        tap.channel.queue_delete(full)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(r["sent_at"] is None for r in outbox_rows(store)):
            time.sleep(0.05)
        assert all(row["sent_at"] is not None for row in outbox_rows(store))
    finally:
        relay.stop()
        worker.join(5)
        tap.close()


def test_relay_counts_its_publishes_afresh_on_a_new_channel(store: Store, vhost_uri: str) -> None:
    """The broker numbers a channel's publishes from 1: after the channel is lost (here to a
    publish to an exchange deleted meanwhile), the relay connects again and matches the new
    channel's confirms to its own publishes."""
    tap = EventTap(vhost_uri)
    relay = OutboxRelay(store, vhost_uri, "intake")
    relay.confirm_timeout = 2.0
    worker = threading.Thread(target=relay.run, daemon=True)
    worker.start()
    try:
        for round_ in range(2):
            with store.unit_of_work("probe.test") as uow:
                for i in range(5):
                    uow.emit(received(case_id=f"CF26112{round_}-{i:06d}"))
                uow.commit()
            wait_for_events(tap, 5 * (round_ + 1))
            if round_ == 0:
                assert relay.published_on_channel == 5
                tap.channel.exchange_delete("intake.events")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(r["sent_at"] is None for r in outbox_rows(store)):
            time.sleep(0.05)
        assert len(tap.of_type("case.received")) == 10
        assert all(row["sent_at"] is not None for row in outbox_rows(store))
        assert relay.published_on_channel == 5  # the second round, on a channel of its own
    finally:
        relay.stop()
        worker.join(5)
        tap.close()


def test_two_relays_share_one_outbox_and_publish_each_event_once(
    store: Store, vhost_uri: str
) -> None:
    """Two instances of a service: on PostgreSQL both relay, claiming rows with SKIP LOCKED;
    on SQLite one holds the relay's file lock and the other stands by until it goes."""
    tap = EventTap(vhost_uri)
    relays = [OutboxRelay(store, vhost_uri, "intake") for _ in range(2)]
    for relay in relays:
        relay.batch_size = 7  # many small batches, so the two really interleave
    workers = [threading.Thread(target=relay.run, daemon=True) for relay in relays]
    for worker in workers:
        worker.start()
    try:
        first = [received(case_id=f"CF261121-{i:06d}") for i in range(300)]
        for chunk in range(0, 300, 30):
            with store.unit_of_work("probe.test") as uow:
                for envelope in first[chunk : chunk + 30]:
                    uow.emit(envelope)
                uow.commit()
        wait_for_events(tap, 300)
        standing_by = [relay.standing_by for relay in relays]
        assert sorted(standing_by) == ([False, True] if store.is_sqlite else [False, False])
        if store.is_sqlite:  # the relay that holds the lock goes: the other takes over
            holder = standing_by.index(False)
            relays[holder].stop()
            workers[holder].join(5)
        second = [received(case_id=f"CF261122-{i:06d}") for i in range(20)]
        with store.unit_of_work("probe.test") as uow:
            for envelope in second:
                uow.emit(envelope)
            uow.commit()
        got = wait_for_events(tap, 320)
        assert sorted(got) == sorted(e.event_id for e in first + second)  # each exactly once
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(r["sent_at"] is None for r in outbox_rows(store)):
            time.sleep(0.05)
        assert all(row["sent_at"] is not None for row in outbox_rows(store))
    finally:
        for relay in relays:
            relay.stop()
        for worker in workers:
            worker.join(5)
        tap.close()


def wait_for_events(tap: EventTap, count: int, timeout: float = 15.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(tap.of_type("case.received")) < count:
        time.sleep(0.05)
    time.sleep(0.3)  # a duplicate would arrive right behind
    return [e["event_id"] for e in tap.of_type("case.received")]


def test_relay_keeps_events_until_the_broker_answers(store: Store, tmp_path: Path) -> None:
    relay = OutboxRelay(store, "amqp://guest:guest@127.0.0.1:1/", "intake")
    worker = threading.Thread(target=relay.run, daemon=True)
    with store.unit_of_work("probe.test") as uow:
        uow.emit(received())
        uow.commit()
    worker.start()
    time.sleep(1.0)
    relay.stop()
    worker.join(5)
    assert [row["sent_at"] for row in outbox_rows(store)] == [None]


# --- consuming: a probe service whose handler fails on demand ---

ATTEMPTS: list[str] = []
OUTAGE = threading.Event()
"""Set: the probe's database is down (its handler meets what SQLAlchemy raises then)."""


def database_down() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))


class ProbeService(ServiceBase):
    name = "probe"
    db = Database(PROBE_TABLES)

    @on_event(CASE_RECEIVED)
    def handle(self, event: Envelope[CaseReceived]) -> None:
        ATTEMPTS.append(event.data.content)
        if event.data.content == "contract":
            raise Rejected("this case can never be handled")
        if event.data.content == "flaky":
            raise ConnectionError("the database went away")
        if event.data.content == "outage" and OUTAGE.is_set():
            raise database_down()
        if event.data.content == "sql mistake":
            raise OperationalError("SELECT x", {}, sqlite3.OperationalError("no such table: x"))
        with self.db.unit_of_work() as uow:
            if uow.first_time(event.event_id):
                uow.commit()


@pytest.fixture
def probe(vhost_uri: str, tmp_path: Path) -> Iterator[Store]:
    settings = settings_for_test(vhost_uri, tmp_path)
    settings.ports["probe"] = 0  # type: ignore[index]
    store = Store(settings.database_url_for("probe"), "probe", PROBE_TABLES)
    PROBE_METADATA.create_all(store.engine)
    ATTEMPTS.clear()
    OUTAGE.clear()
    services = InProcess([ProbeService], settings).start()
    yield store
    services.kill()
    store.dispose()


def publish_event(
    uri: str, envelope: Envelope[Any] | bytes, routing_key: str = "case.received"
) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    channel.confirm_delivery()
    body = envelope if isinstance(envelope, bytes) else envelope.model_dump_json().encode()
    channel.basic_publish(
        "intake.events",
        routing_key,
        body,
        pika.BasicProperties(content_type="application/json", delivery_mode=2, message_id="m1"),
    )
    connection.close()


def parked(uri: str, queue: str, timeout: float = 10.0) -> list[tuple[dict[str, Any], bytes]]:
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    found: list[tuple[dict[str, Any], bytes]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not found:
        method, props, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            time.sleep(0.05)
            continue
        found.append((dict(props.headers or {}), body))
    connection.close()
    return found


def processed_count(store: Store) -> int:
    with store.read() as session:
        return int(
            session.scalar(select(func.count()).select_from(store.tables.processed_events)) or 0
        )


def test_work_queues_are_quorum_with_a_dead_letter_queue(probe: Store, vhost_uri: str) -> None:
    vhost = vhost_uri.rsplit("/", 1)[1]
    queue = management_get(vhost_uri, f"queues/{vhost}/probe.handle")
    assert queue["durable"] is True
    assert queue["arguments"]["x-queue-type"] == "quorum"
    assert queue["arguments"]["x-dead-letter-exchange"] == "civicflow.dlx"
    assert queue["arguments"]["x-dead-letter-routing-key"] == "probe.handle.dlq"
    assert queue["arguments"]["x-delivery-limit"] >= 3
    management_get(vhost_uri, f"queues/{vhost}/probe.handle.dlq")  # exists, or raises


def test_a_handled_event_is_recorded_once_even_when_redelivered(
    probe: Store, vhost_uri: str
) -> None:
    envelope = received("fine")
    publish_event(vhost_uri, envelope)
    publish_event(vhost_uri, envelope)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(ATTEMPTS) < 2:
        time.sleep(0.05)
    assert ATTEMPTS == ["fine", "fine"]
    assert processed_count(probe) == 1, ATTEMPTS


def test_a_contract_breaking_message_is_parked_at_once_with_its_reason(
    probe: Store, vhost_uri: str
) -> None:
    publish_event(vhost_uri, received("contract"))
    [(headers, body)] = parked(vhost_uri, "probe.handle.dlq")
    assert headers["x-reject-reason"] == "Rejected: this case can never be handled"
    assert headers["x-original-queue"] == "probe.handle"
    assert json.loads(body)["data"]["content"] == "contract"
    assert ATTEMPTS == ["contract"]


def test_an_undecodable_body_is_parked_and_the_consumer_lives_on(
    probe: Store, vhost_uri: str
) -> None:
    publish_event(vhost_uri, b"\xff\xfe not json")
    [(headers, body)] = parked(vhost_uri, "probe.handle.dlq")
    assert headers["x-reject-reason"].startswith("not JSON")
    assert body == b"\xff\xfe not json"
    publish_event(vhost_uri, received("after the poison"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not ATTEMPTS:
        time.sleep(0.05)
    assert ATTEMPTS == ["after the poison"]


def test_a_park_that_hangs_is_given_up_and_the_message_parked_on_its_next_delivery(
    probe: Store, vhost_uri: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(kit.parking, "PARKING_PATIENCE_SECONDS", 0.5)
    publish = kombu.Producer.publish
    hung: list[str] = []

    def first_park_hangs(producer: kombu.Producer, body: Any, **options: Any) -> Any:
        if options.get("routing_key") == "probe.handle.dlq" and not hung:
            hung.append(options["headers"]["x-reject-reason"])
            eventlet.sleep(3600)  # a confirm that never comes
        return publish(producer, body, **options)

    monkeypatch.setattr(kombu.Producer, "publish", first_park_hangs)
    publish_event(vhost_uri, b"not json")
    [(headers, body)] = parked(vhost_uri, "probe.handle.dlq", timeout=15)
    assert body == b"not json" and headers["x-reject-reason"].startswith("not JSON")
    assert len(hung) == 1
    assert "could not park a message; it goes back to the queue" in caplog.text
    assert parked(vhost_uri, "probe.handle.dlq", timeout=1) == []  # parked once, not twice


def test_a_failing_handler_is_retried_then_parked_after_the_delivery_limit(
    probe: Store, vhost_uri: str
) -> None:
    publish_event(vhost_uri, received("flaky"))
    [(headers, _body)] = parked(vhost_uri, "probe.handle.dlq", timeout=20)
    assert ATTEMPTS == ["flaky"] * 3  # delivery_limit of the test settings
    assert "gave up after 3 attempts" in headers["x-reject-reason"]
    assert "ConnectionError" in headers["x-reject-reason"]


def test_a_message_is_held_not_parked_while_the_database_is_down(
    probe: Store, vhost_uri: str
) -> None:
    """An outage longer than the delivery limit's backoff: the message keeps its attempts,
    waits, and is handled once the database answers again."""
    OUTAGE.set()
    publish_event(vhost_uri, received("outage"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(ATTEMPTS) < 5:  # past the limit of 3
        time.sleep(0.05)
    OUTAGE.clear()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and processed_count(probe) == 0:
        time.sleep(0.05)
    assert processed_count(probe) == 1, ATTEMPTS
    assert len(ATTEMPTS) >= 5, ATTEMPTS
    assert parked(vhost_uri, "probe.handle.dlq", timeout=0.5) == []


def test_an_sql_mistake_is_not_an_outage_and_is_parked_after_the_limit(
    probe: Store, vhost_uri: str
) -> None:
    publish_event(vhost_uri, received("sql mistake"))
    [(headers, _body)] = parked(vhost_uri, "probe.handle.dlq", timeout=20)
    assert ATTEMPTS == ["sql mistake"] * 3
    assert "no such table" in headers["x-reject-reason"]


# --- RPC: a reply that cannot go does not take the service down ---


class AnsweringService(ServiceBase):
    name = "answering"

    @rpc
    def echo(self, text: str) -> str:
        return text


def test_an_rpc_reply_lost_to_the_broker_leaves_the_service_running(
    vhost_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker goes away while a method runs: its reply cannot be published. nameko would
    let that kill the container; ours logs it and answers the next call."""
    settings = settings_for_test(vhost_uri, tmp_path)
    settings.ports["answering"] = 0  # type: ignore[index]
    services = InProcess([AnsweringService], settings).start()
    real_send = Responder.send_response
    lost: list[str] = []

    def send_once_lost(self: Responder, result: Any, exc_info: Any) -> Any:
        if not lost:
            lost.append(result)
            raise kombu.exceptions.OperationalError("[Errno 111] ECONNREFUSED")
        return real_send(self, result, exc_info)

    monkeypatch.setattr(Responder, "send_response", send_once_lost)
    try:
        with ClusterRpcProxy({"AMQP_URI": vhost_uri}, timeout=10) as cluster:
            # the first reply is lost; the request, never acked, comes again and is answered
            assert cluster.answering.echo("first") == "first"
            assert cluster.answering.echo("second") == "second"
        assert lost == ["first"]
        assert all(not container._died.ready() for container in services.containers)
    finally:
        services.kill()


# --- nameko's queue consumer stopped early (kit.nameko_fixes) ---


class OneQueueService:
    """Consumers only (nameko's web server, too, cannot stop before it started)."""

    name = "probe"

    @on_event(CASE_RECEIVED)
    def handle(self, event: Envelope[CaseReceived]) -> None:
        ATTEMPTS.append(event.data.content)


class TwoQueuesService(OneQueueService):
    @on_event(CASE_RECEIVED)
    def handle_too(self, event: Envelope[CaseReceived]) -> None:
        ATTEMPTS.append(event.data.content)


def probe_settings(vhost_uri: str, tmp_path: Path) -> Settings:
    settings = settings_for_test(vhost_uri, tmp_path)
    settings.ports["probe"] = 0  # type: ignore[index]
    return settings


def stopped_in_time(container: ServiceContainer) -> bool:
    """Stop the container; whether it stopped, without an error, within 10 s."""
    stopping = eventlet.spawn(container.stop)
    with eventlet.Timeout(10, False):
        stopping.wait()
        return True
    stopping.kill()
    return False


def test_a_service_stopped_before_it_started_stops(vhost_uri: str, tmp_path: Path) -> None:
    """nameko's queue consumer, stopped before start, reaches for the thread start makes (a
    start that failed on another extension, say)."""
    settings = probe_settings(vhost_uri, tmp_path)
    container = ServiceContainer(OneQueueService, container_config(settings, "probe"))
    container.extensions.all.setup()  # set up, as a start does first, and never started
    assert stopped_in_time(container)


def test_a_service_of_two_queues_stopped_while_starting_stops(
    vhost_uri: str, tmp_path: Path
) -> None:
    """nameko's queue consumer, stopped before its consumers are ready, signals "last
    provider gone" once per provider, and the second signal raises."""
    ATTEMPTS.clear()
    settings = probe_settings(vhost_uri, tmp_path)
    container = ServiceContainer(TwoQueuesService, container_config(settings, "probe"))
    container.extensions.all.setup()
    assert stopped_in_time(container)
    # and, started, it consumes both queues
    services = InProcess([TwoQueuesService], settings).start()
    try:
        publish_event(vhost_uri, received("both"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(ATTEMPTS) < 2:
            time.sleep(0.05)
        assert ATTEMPTS == ["both", "both"]
    finally:
        services.stop()


# --- a batch: one path for every message, poison parked alone ---


BATCHES: list[list[str]] = []


class BatchProbeService(ServiceBase):
    name = "probe"
    db = Database(PROBE_TABLES)

    @on_event_batch(CASE_RECEIVED, batch_size=10)
    def handle_batch(self, batch: list[tuple[Envelope[CaseReceived]]]) -> list[None]:
        contents = [event.data.content for (event,) in batch]
        BATCHES.append(contents)
        if "poison" in contents:
            raise ValueError("the batch's transaction failed")
        if "refused" in contents:
            raise Rejected("a refusal of the whole batch")
        with self.db.unit_of_work() as uow:
            for (event,) in batch:
                uow.first_time(event.event_id)
            uow.commit()
        return [None] * len(batch)


def publish_events(uri: str, envelopes: list[Envelope[Any]]) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    for envelope in envelopes:  # unconfirmed, back to back: they arrive together
        channel.basic_publish(
            "intake.events",
            "case.received",
            envelope.model_dump_json().encode(),
            pika.BasicProperties(content_type="application/json", delivery_mode=2),
        )
    channel.confirm_delivery()
    channel.basic_publish("intake.events", "none", b"")  # confirmed: all before it went out
    connection.close()


@pytest.mark.parametrize(
    ("bad", "reason", "tried_alone"),
    [
        ("poison", "gave up after 3 attempts: ValueError", 2),  # its 2nd and 3rd attempt
        ("refused", "Rejected: a refusal of the whole batch", 1),  # alone, parked at once
    ],
)
def test_a_batch_that_fails_settles_each_message_and_parks_only_the_poison(
    vhost_uri: str, tmp_path: Path, bad: str, reason: str, tried_alone: int
) -> None:
    """Each message of a failed batch is settled by the one rule: put back (attempt 1), then,
    having failed before, tried alone; the neighbours go through, the bad one is parked."""
    settings = probe_settings(vhost_uri, tmp_path)
    store = Store(settings.database_url_for("probe"), "probe", PROBE_TABLES)
    PROBE_METADATA.create_all(store.engine)
    BATCHES.clear()
    services = InProcess([BatchProbeService], settings).start()
    try:
        contents = ["a", "b", bad, "c", "d"]
        publish_events(vhost_uri, [received(content) for content in contents])
        [(headers, body)] = parked(vhost_uri, "probe.handle_batch.dlq", timeout=30)
        assert json.loads(body)["data"]["content"] == bad
        assert headers["x-reject-reason"].startswith(reason)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and processed_count(store) < 4:
            time.sleep(0.05)
        assert processed_count(store) == 4
        first = next(batch for batch in BATCHES if bad in batch)
        assert len(first) > 1  # it came with neighbours, and failed with them
        retried = [b for b in BATCHES[BATCHES.index(first) + 1 :] if set(b) & set(first)]
        assert all(len(batch) == 1 for batch in retried)  # then each came alone
        neighbours = [content for content in first if content != bad]
        assert sorted(c for b in retried for c in b) == sorted(neighbours + [bad] * tried_alone)
        assert parked(vhost_uri, "probe.handle_batch.dlq", timeout=0.5) == []
    finally:
        services.stop()
        store.dispose()
