"""The whole platform on a real broker: a citizen's ticket becomes a dispatched case and an SMS."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pika
import pytest

from civicflow.demo import load_demo
from kernel.calendar import WorkingCalendar
from kit.settings import SERVICES
from tests.support.harness import EventTap, Platform, http, publisher, running, settings_for_test

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

TICKETS = "/api/v1/hotline/tickets"


@pytest.fixture
def platform(vhost_uri: str, tmp_path: Path, database_url: str) -> Iterator[Platform]:
    settings = settings_for_test(vhost_uri, tmp_path, database_url)
    with running(settings) as platform:
        load_demo(settings)
        yield platform


@pytest.fixture
def tap(vhost_uri: str) -> Iterator[EventTap]:
    tap = EventTap(vhost_uri)
    yield tap
    tap.close()


def ticket(content: str, category: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ticket_no": f"T-{uuid.uuid4().hex[:12]}",
        "received_at": "2026-11-21T10:00:00+08:00",
        "caller": {"name": "王先生", "phone": "13812341234"},
        "content": content,
    }
    if category:
        body["category"] = category
    return body


def login(platform: Platform) -> dict[str, str]:
    answer = http(
        "POST",
        platform.url("console", "/api/v1/auth/login"),
        json.dumps({"username": "admin", "password": "admin"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert answer.status == 200, answer.body
    return {"Authorization": f"Bearer {answer.body['token']}"}


def test_a_signed_ticket_ends_dispatched_with_deadlines_and_an_sms(
    platform: Platform, tap: EventTap
) -> None:
    answer = platform.submit(TICKETS, ticket("饭店油烟污染严重", "environment.pollution"))
    assert answer.status == 202
    case_id = answer.body["case_id"]
    dispatched = tap.wait_for("case.dispatched", case_id)
    data = dispatched["data"]
    assert data["assignee"] == {"kind": "department", "code": "D-HBJ", "name": "市生态环境局县分局"}
    assert data["dispatched_by"] == "auto" and data["level"] == "district"
    at = datetime.fromisoformat(dispatched["occurred_at"])
    deadlines = {k: datetime.fromisoformat(v) for k, v in data["deadlines"].items()}
    assert deadlines["respond_by"] - at == timedelta(hours=2)
    assert deadlines["feedback_by"] - at == timedelta(hours=24)
    # P5D: five working days on the Chinese calendar (调休 included), same time of day
    assert deadlines["resolve_by"] == WorkingCalendar().add_working_days(at, 5)
    sent = tap.wait_for("notification.sent", case_id)
    assert sent["data"]["channel"] == "sms" and sent["data"]["recipient"] == "138****0007"
    assert sent["data"]["trigger_event_id"] == dispatched["event_id"]
    lines = (platform.settings.data_dir / "notify" / "sms.jsonl").read_text().splitlines()
    sms = [json.loads(line) for line in lines if case_id in line]
    assert len(sms) == 1 and sms[0]["to"] == "13800000007"
    assert sms[0]["message_id"] == sent["data"]["provider_message_id"]


def test_the_same_ticket_over_amqp_takes_the_same_path(
    platform: Platform, tap: EventTap, vhost_uri: str
) -> None:
    body = ticket("工地拖欠工资三个月", "labour.wage_arrears")
    props = pika.BasicProperties(
        message_id=body["ticket_no"],
        app_id="hotline",
        content_type="application/json",
        delivery_mode=2,
    )
    publisher(vhost_uri).basic_publish(
        "civicflow.inbound", "hotline.ticket", json.dumps(body).encode(), props
    )
    received = tap.wait_for("case.received")
    dispatched = tap.wait_for("case.dispatched", received["case_id"])
    assert dispatched["data"]["assignee"]["code"] == "D-RSJ"
    tap.wait_for("notification.sent", received["case_id"])


def test_an_uncertain_case_waits_for_one_click(platform: Platform, tap: EventTap) -> None:
    answer = platform.submit(TICKETS, ticket("隔壁装修噪音扰民,晚上十点还在施工"))
    case_id = answer.body["case_id"]
    headers = login(platform)
    case_url = platform.url("console", f"/api/v1/cases/{case_id}")
    tap.wait_for("case.received", case_id)
    deadline = time.monotonic() + 30  # dispatch routes it, and its event reaches the console
    while (pending := http("GET", case_url, headers=headers)).status != 200:
        assert time.monotonic() < deadline, pending.body
        time.sleep(0.05)
    assert pending.body["status"] == "pending_dispatch"
    assert pending.body["suggestion"]["code"] == "D-HBJ"
    assert "噪音" in pending.body["routing_reason"]
    assert tap.of_type("case.dispatched", case_id) == []

    clicked = http("POST", case_url + "/dispatch", headers=headers)  # the one click: no body
    assert clicked.status == 200, clicked.body
    assert clicked.body["status"] == "dispatched" and clicked.body["assignee"]["code"] == "D-HBJ"
    assert [step["action"] for step in clicked.body["timeline"]] == ["await_dispatch", "dispatch"]
    assert clicked.body["timeline"][-1]["actor"] == "admin"
    dispatched = tap.wait_for("case.dispatched", case_id)
    assert dispatched["data"]["dispatched_by"] == "admin"
    tap.wait_for("notification.sent", case_id)

    again = http("POST", case_url + "/dispatch", headers=headers)
    assert again.status == 409 and "dispatched" in again.body["errors"][0]["msg"]


def test_the_console_refuses_strangers(platform: Platform) -> None:
    wrong = http(
        "POST",
        platform.url("console", "/api/v1/auth/login"),
        json.dumps({"username": "admin", "password": "nope"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert wrong.status == 401
    assert http("GET", platform.url("console", "/api/v1/cases")).status == 401
    forged = {"Authorization": "Bearer eyJ1IjoiYWRtaW4ifQ.forged"}
    assert http("GET", platform.url("console", "/api/v1/cases"), headers=forged).status == 401
    headers = login(platform)
    assert (
        http("GET", platform.url("console", "/api/v1/cases/CF000000-NOPE"), headers=headers).status
        == 404
    )
    units = http(
        "GET", platform.url("console", "/api/v1/grid/units?level=street&limit=20"), headers=headers
    )
    assert units.status == 200 and len(units.body) == 10
    assert {unit["level"] for unit in units.body} == {"street"}


def test_every_service_answers_health_and_metrics(platform: Platform) -> None:
    platform.submit(TICKETS, ticket("路灯不亮", "city.management"))
    for service in SERVICES:
        health = http("GET", platform.url(service, "/healthz"))
        assert health.status == 200, (service, health.body)
        assert health.body["checks"]["database"] == "ok"
        metrics = http("GET", platform.url(service, "/metrics"))
        assert metrics.status == 200 and "civicflow_" in metrics.body
    intake_metrics = http("GET", platform.url("intake", "/metrics")).body
    assert (
        'civicflow_http_requests_total{method="POST",route="/api/v1/hotline/tickets",status="202"}'
        in intake_metrics
    )


def test_red_risk_waits_for_a_person_and_alerts_the_centre_at_once(
    platform: Platform, tap: EventTap
) -> None:
    answer = platform.submit(TICKETS, ticket("工地欠薪半年,工人们要去堵路", "labour.wage_arrears"))
    case_id = answer.body["case_id"]
    assert tap.wait_for("case.received", case_id)["data"]["risk"] == "red"
    tap.wait_for("notification.sent", case_id)  # SMS and WeCom go side by side, either first
    deadline = time.monotonic() + 10
    while (
        not (
            sent := [
                e["data"]
                for e in tap.of_type("notification.sent", case_id)
                if e["data"]["channel"] == "sms"
            ]
        )
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)  # fmt: skip
    assert [alert["recipient"] for alert in sent] == ["138****0001"]  # the centre's duty line
    sms = (platform.settings.data_dir / "notify" / "sms.jsonl").read_text()
    assert f"红色风险工单{case_id}" in sms
    assert tap.of_type("case.dispatched", case_id) == []
