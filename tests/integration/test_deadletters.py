"""``civicflow dlq``: a poison message parked in dispatch's dead-letter queue is listed and
shown with its reason; a parked good message replayed is handled; a purge empties the queue."""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pika
import pytest

from civicflow.cli import cmd_dlq
from contracts.events import CASE_RECEIVED, CaseReceived, Reporter
from tests.support.harness import EventTap, running, settings_for_test

pytestmark = [pytest.mark.broker]

DLQ = "dispatch.route_case.dlq"


def dlq(settings: object, action: str, queue: str | None = None, limit: int | None = None) -> int:
    return cmd_dlq(argparse.Namespace(action=action, queue=queue, limit=limit), settings)  # type: ignore[arg-type]


def test_parked_messages_are_listed_shown_replayed_and_purged(
    vhost_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for_test(vhost_uri, tmp_path)
    tap = EventTap(vhost_uri, "case.*", exchange="dispatch.events")
    with running(settings, ["dispatch"]):
        connection = pika.BlockingConnection(pika.URLParameters(vhost_uri))
        channel = connection.channel()
        channel.confirm_delivery()
        # a poison message: not an event at all
        channel.basic_publish("intake.events", "case.received", b'{"type": "case.received"}',
                              pika.BasicProperties(message_id="poison-1"))  # fmt: skip
        wait_for_depth(settings, capsys, 1)
        assert dlq(settings, "show", DLQ, 5) == 0
        shown = capsys.readouterr().out
        assert "poison-1" in shown and "from dispatch.route_case" in shown
        assert "reason: " in shown and "case.received" in shown
        # a good message parked while, say, the database was down: replayed, it is handled
        good = CASE_RECEIVED.new(CaseReceived(
            channel="hotline", source="hotline", external_id=uuid.uuid4().hex,
            reporter=Reporter(), content="化工厂排污", category="environment.pollution",
            received_at=datetime.now(UTC),
        ), case_id=f"CF-{uuid.uuid4().hex[:10]}")  # fmt: skip
        parked_as = pika.BasicProperties(message_id=good.event_id, headers={
            "x-original-queue": "dispatch.route_case", "x-original-routing-key": "case.received",
            "x-reject-reason": "database unavailable",
        })  # fmt: skip
        channel.basic_publish("civicflow.dlx", DLQ, good.model_dump_json().encode(), parked_as)
        connection.close()
        assert dlq(settings, "replay", DLQ) == 0
        assert capsys.readouterr().out.strip() == f"replayed 2 from {DLQ}"
        # the good one, handled at last (routed to one click: no grid runs here to name a unit)
        routed = tap.wait_for("case.awaiting_dispatch", good.case_id, timeout=30)
        assert routed["data"]["reason"]
        depth = wait_for_depth(settings, capsys, 1)  # the poison one, parked again
        assert dlq(settings, "purge", DLQ) == 0
        assert capsys.readouterr().out.strip() == f"purged 1 from {DLQ}"
        assert wait_for_depth(settings, capsys, 0) == 0 and depth == 1
    tap.close()


def wait_for_depth(settings: object, capsys: pytest.CaptureFixture[str], depth: int) -> int:
    """The dead-letter queue's depth as ``dlq list`` prints it, once it is ``depth``."""
    deadline = time.monotonic() + 10
    while True:
        dlq(settings, "list")
        listed = dict(reversed(line.split()) for line in capsys.readouterr().out.splitlines())
        if int(listed.get(DLQ, 0)) == depth:
            return depth
        assert time.monotonic() < deadline, listed
        time.sleep(0.3)


def test_only_dead_letter_queues_are_touched(
    vhost_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for_test(vhost_uri, tmp_path)
    assert dlq(settings, "purge", "dispatch.route_case") == 2
    assert "not a dead-letter queue" in capsys.readouterr().err
