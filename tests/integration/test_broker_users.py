"""RabbitMQ users from ``civicflow broker setup``: intake and dispatch run under their own users
and the flow works; the grid app may only write to civicflow.inbound; a subscriber may only read
its own queue; a service may not consume another's queue."""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
from pika.exceptions import ChannelClosedByBroker

from civicflow.registry import service_class
from kit import brokeradmin
from kit.runner import InProcess
from tests.support.harness import EventTap, http, migrate_all, settings_for_test, signed_headers

pytestmark = [pytest.mark.broker]

GUEST = ("guest", "guest")


@pytest.fixture
def users(vhost_uri: str) -> Iterator[dict[str, str]]:
    """The users for this test's vhost (a prefix of their own: users are broker-wide)."""
    prefix = f"cft{uuid.uuid4().hex[:6]}"
    vhost = urllib.parse.unquote(urllib.parse.urlsplit(vhost_uri).path[1:])
    brokeradmin.apply(vhost_uri, brokeradmin.definitions(vhost, prefix, environ={}), GUEST)
    parts = urllib.parse.urlsplit(vhost_uri)

    def uri(user: str) -> str:
        name = f"{prefix}-{user}"
        return f"amqp://{name}:dev-{name}@{parts.hostname}:{parts.port or 5672}{parts.path}"

    yield {user: uri(user) for user in ("intake", "dispatch", "pub-gridapp", "sub-screen")}
    brokeradmin.remove_users(vhost_uri, list(brokeradmin.users(prefix)), GUEST)


def refused(uri: str, act: object) -> bool:
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    try:
        act(channel)  # type: ignore[operator]
    except ChannelClosedByBroker as closed:
        return closed.reply_code == 403
    finally:
        if connection.is_open:
            connection.close()
    return False


def test_services_work_under_their_own_users(
    vhost_uri: str, tmp_path: Path, users: dict[str, str]
) -> None:
    base = settings_for_test(vhost_uri, tmp_path)
    migrate_all(base, ["intake", "dispatch"])
    tap = EventTap(vhost_uri, "case.*", exchange="dispatch.events")
    processes = [
        InProcess([service_class(name)], dataclasses.replace(base, amqp_uri=users[name])).start()
        for name in ("intake", "dispatch")
    ]
    try:
        ticket = {
            "ticket_no": f"T-{uuid.uuid4().hex[:8]}", "received_at": "2026-11-21T10:00:00+08:00",
            "caller": {"phone": "13900001111"}, "content": "化工厂排污",
        }  # fmt: skip
        body = json.dumps(ticket).encode()
        url = f"http://127.0.0.1:{base.ports['intake']}/api/v1/hotline/tickets"
        answer = http("POST", url, body, signed_headers(body))
        assert answer.status == 202, answer.body
        # routed (without grid running, to one click): intake published, dispatch consumed
        tap.wait_for("case.awaiting_dispatch", answer.body["case_id"], timeout=30)
    finally:
        for process in processes:
            process.kill()
        tap.close()


def test_each_user_is_held_to_its_own_part(users: dict[str, str]) -> None:
    def publish(exchange: str, key: str) -> object:
        return lambda channel: (
            channel.confirm_delivery(),
            channel.basic_publish(exchange, key, b"{}"),
        )

    gridapp, screen, dispatch = users["pub-gridapp"], users["sub-screen"], users["dispatch"]
    assert not refused(gridapp, publish("civicflow.inbound", "grid.report"))
    assert refused(gridapp, publish("dispatch.events", "case.dispatched"))
    assert refused(
        gridapp,
        lambda channel: channel.exchange_declare("civicflow.inbound", "topic", durable=True),
    )

    def subscribe(channel: object) -> None:
        channel.queue_declare("civicflow.sub.screen", durable=True)  # type: ignore[attr-defined]
        channel.queue_bind("civicflow.sub.screen", "civicflow.events", "sla.overdue")  # type: ignore[attr-defined]
        channel.basic_get("civicflow.sub.screen")  # type: ignore[attr-defined]

    assert not refused(screen, subscribe)
    assert refused(screen, publish("civicflow.events", "sla.overdue"))
    assert refused(screen, lambda channel: channel.queue_declare("civicflow.sub.other"))
    assert refused(dispatch, lambda channel: channel.basic_get("civicflow.inbound.intake"))
    assert refused(dispatch, publish("intake.events", "case.received"))
