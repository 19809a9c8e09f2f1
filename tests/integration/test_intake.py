"""Intake's public contract over HTTP and AMQP, with the real broker."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
from sqlalchemy import func, select

from kit.db import Store
from services.intake.models import TABLES, Submission
from tests.integration.intake_waits import everything_before_is_told, inbound_handled, wait_until
from tests.support.harness import (
    EventTap,
    Platform,
    http,
    publisher,
    running,
    settings_for_test,
    signed_headers,
)

pytestmark = pytest.mark.broker

TICKETS = "/api/v1/hotline/tickets"


def ticket(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ticket_no": f"T-{uuid.uuid4().hex[:12]}",
        "received_at": "2026-11-21T10:00:00+08:00",
        "caller": {"name": "王先生", "phone": "13812341234"},
        "content": "小区楼下饭店油烟污染严重",
        "category": "environment.pollution",
    }
    base.update(overrides)
    return base


@pytest.fixture
def intake(vhost_uri: str, tmp_path: Path, database_url: str) -> Iterator[Platform]:
    settings = settings_for_test(vhost_uri, tmp_path, database_url)
    with running(settings, ["intake"]) as platform:
        yield platform


def stored(platform: Platform) -> int:
    store = Store(platform.settings.database_url_for("intake"), "intake", TABLES)
    try:
        with store.read() as session:
            return int(session.scalar(select(func.count()).select_from(Submission)) or 0)
    finally:
        store.dispose()


def outbox_size(platform: Platform) -> int:
    store = Store(platform.settings.database_url_for("intake"), "intake", TABLES)
    try:
        with store.read() as session:
            return int(session.scalar(select(func.count()).select_from(TABLES.outbox)) or 0)
    finally:
        store.dispose()


def test_a_signed_ticket_is_received_once(intake: Platform, vhost_uri: str) -> None:
    tap = EventTap(vhost_uri, "case.received")
    body = ticket()
    first = intake.submit(TICKETS, body)
    assert first.status == 202
    assert first.body["status"] == "received" and first.body["duplicate"] is False
    again = intake.submit(TICKETS, body)
    assert again.status == 200
    assert again.body == {"case_id": first.body["case_id"], "status": "received", "duplicate": True}
    event = tap.wait_for("case.received", first.body["case_id"])
    assert set(event) == {"event_id", "type", "occurred_at", "schema_version", "case_id", "data"}
    data = event["data"]
    assert (data["channel"], data["source"], data["external_id"]) == (
        "hotline",
        "hotline",
        body["ticket_no"],
    )
    assert data["reporter"]["phone"] == "138****1234"
    assert "13812341234" not in json.dumps(event)
    everything_before_is_told(intake, tap)
    assert len(tap.of_type("case.received", first.body["case_id"])) == 1
    assert len(tap.of_type("case.received")) == 2 and stored(intake) == 2
    tap.close()


@pytest.mark.parametrize(
    ("path", "source", "payload"),
    [
        (
            "/api/v1/grid/reports",
            "gridapp",
            {
                "report_id": "R-1",
                "reported_at": "2026-11-21T09:00:00+08:00",
                "grid_code": "37011300101",
                "reporter_id": "W-7",
                "content": "路灯不亮",
                "photos": ["https://img.example/1.jpg"],
            },
        ),
        (
            "/api/v1/opinion/items",
            "opinion",
            {
                "item_id": "O-1",
                "platform": "weibo",
                "published_at": "2026-11-21T09:00:00+08:00",
                "content": "某小区物业乱收费",
                "heat": 1200,
                "url": "https://weibo.example/1",
            },
        ),
        (
            "/api/v1/petitions",
            "petition",
            {
                "petition_no": "P-1",
                "form": "visit",
                "filed_at": "2026-11-21T09:00:00+08:00",
                "petitioners": [{"name": "李某", "phone": "13900001111"}, {"name": "张某"}],
                "content": "讨要拖欠工资",
            },
        ),
    ],
)
def test_every_line_arrives_over_http(
    intake: Platform, vhost_uri: str, path: str, source: str, payload: dict[str, Any]
) -> None:
    tap = EventTap(vhost_uri, "case.received")
    answer = intake.submit(path, payload, source=source)
    assert answer.status == 202, answer.body
    event = tap.wait_for("case.received", answer.body["case_id"])
    assert event["data"]["source"] == source
    tap.close()


def bad(intake: Platform, body: bytes, **header_overrides: str) -> Any:
    headers = signed_headers(body)
    headers.update(header_overrides)
    return http("POST", intake.url("intake", TICKETS), body, headers)


def test_bad_input_gets_a_clear_error_and_stores_nothing(intake: Platform) -> None:
    good = json.dumps(ticket()).encode()
    stale = signed_headers(good, timestamp=int(time.time()) - 301)
    cases: list[tuple[int, Any]] = [
        (401, bad(intake, good, **{"X-Signature": "sha256=" + "0" * 64})),
        (401, bad(intake, good, **{"X-Source": "nobody"})),
        (401, http("POST", intake.url("intake", TICKETS), good, stale)),
        (
            401,
            http("POST", intake.url("intake", TICKETS), good, {"Content-Type": "application/json"}),
        ),
        (400, bad(intake, b"{not json")),
        (415, bad(intake, good, **{"Content-Type": "text/plain"})),
        (413, bad(intake, b'{"content": "' + b"x" * (256 * 1024) + b'"}')),
        (400, bad(intake, b"[" * 50_000 + b"]" * 50_000)),  # nested deep enough to crash a parser
        (400, bad(intake, b'{"content": "\xff\xfe\xed"}')),  # not UTF-8
        (
            422,
            bad(intake, json.dumps({**ticket(), "content": "\ud800"}).encode()),
        ),  # a lone surrogate
        (
            403,
            http("POST", intake.url("intake", "/api/v1/grid/reports"), good, signed_headers(good)),
        ),
    ]
    for expected, answer in cases:
        assert answer.status == expected, (expected, answer.body)
        assert answer.body["errors"] and {"loc", "msg"} <= set(answer.body["errors"][0])
    assert stored(intake) == 0 and outbox_size(intake) == 0


def test_schema_errors_list_every_field(intake: Platform) -> None:
    body = json.dumps(
        {"ticket_no": "T-9", "received_at": "yesterday", "caller": {"phone": "12"}, "extra": 1}
    ).encode()
    answer = bad(intake, body)
    assert answer.status == 422
    fields = {tuple(error["loc"]) for error in answer.body["errors"]}
    assert {("received_at",), ("caller", "phone"), ("content",), ("extra",)} <= fields
    assert stored(intake) == 0


def test_the_same_ticket_over_amqp_makes_the_same_case(intake: Platform, vhost_uri: str) -> None:
    tap = EventTap(vhost_uri, "case.received")
    body = ticket()
    raw = json.dumps(body).encode()
    channel = publisher(vhost_uri)
    props = pika.BasicProperties(
        message_id=body["ticket_no"],
        app_id="hotline",
        content_type="application/json",
        delivery_mode=2,
    )
    channel.basic_publish("civicflow.inbound", "hotline.ticket", raw, props)
    event = tap.wait_for("case.received")
    answer = intake.submit(TICKETS, body)
    assert answer.status == 200 and answer.body["duplicate"] is True
    assert answer.body["case_id"] == event["case_id"]
    handled = inbound_handled(intake)
    channel.basic_publish("civicflow.inbound", "hotline.ticket", raw, props)
    wait_until(lambda: inbound_handled(intake) > handled)
    everything_before_is_told(intake, tap)
    assert len(tap.of_type("case.received", event["case_id"])) == 1
    assert len(tap.of_type("case.received")) == 2 and stored(intake) == 2
    tap.close()


def test_bad_amqp_messages_are_parked_with_a_reason(intake: Platform, vhost_uri: str) -> None:
    channel = publisher(vhost_uri)

    def props(message_id: str | None, app_id: str | None = "hotline") -> pika.BasicProperties:
        return pika.BasicProperties(
            message_id=message_id, app_id=app_id, content_type="application/json", delivery_mode=2
        )

    good = ticket()
    sent = [
        (b"{not json", props("m1"), "not JSON"),
        (json.dumps({"ticket_no": "x"}).encode(), props("x"), "schema: "),
        (json.dumps(good).encode(), props(None), "message_id is missing"),
        (json.dumps(good).encode(), props(good["ticket_no"], "stranger"), "unknown source"),
        (json.dumps(good).encode(), props(good["ticket_no"], "gridapp"), "may not submit"),
    ]
    for body, properties, _ in sent:
        channel.basic_publish("civicflow.inbound", "hotline.ticket", body, properties)
    reasons: list[str] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(reasons) < len(sent):
        method, properties, _body = channel.basic_get("civicflow.inbound.rejected", auto_ack=True)
        if method is None:
            time.sleep(0.05)
            continue
        reasons.append(properties.headers["x-reject-reason"])
    assert len(reasons) == len(sent)
    for _, _, expected in sent:  # handled concurrently: parked in any order
        assert sum(expected in reason for reason in reasons) == 1, (expected, reasons)
    assert stored(intake) == 0
