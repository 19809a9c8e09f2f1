"""Intake's rules with the real broker: every line by every transport, one case per external
id under concurrency, repeats across lines (最多访一次), 红黄蓝 risk, sealed phones."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pika
import pytest
from sqlalchemy import select

from kit.db import Store
from kit.pii import load_vault
from services.intake.models import TABLES, Submission
from tests.integration.intake_waits import everything_before_is_told, inbound_handled, wait_until
from tests.support.harness import EventTap, Platform, publisher, running, settings_for_test

pytestmark = pytest.mark.broker

PHONE = "13812341234"


def uid() -> str:
    return uuid.uuid4().hex[:10]


def hotline(content: str, phone: str = PHONE, **extra: Any) -> dict[str, Any]:
    return {
        "ticket_no": f"T-{uid()}",
        "received_at": "2026-11-21T10:00:00+08:00",
        "caller": {"name": "王先生", "phone": phone},
        "content": content,
        **extra,
    }


LINE_SAMPLES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("hotline.ticket", "hotline", "/api/v1/hotline/tickets", hotline("饭店油烟污染")),
    ("grid.report", "gridapp", "/api/v1/grid/reports", {
        "report_id": "R-0", "reported_at": "2026-11-21T09:00:00+08:00",
        "grid_code": "37011300101", "reporter_id": "W-7", "content": "路灯不亮",
    }),
    ("opinion.item", "opinion", "/api/v1/opinion/items", {
        "item_id": "O-0", "platform": "douyin", "published_at": "2026-11-21T09:00:00+08:00",
        "content": "某小区物业乱收费", "heat": 20000,
    }),
    ("petition.filed", "petition", "/api/v1/petitions", {
        "petition_no": "P-0", "form": "letter", "filed_at": "2026-11-21T09:00:00+08:00",
        "petitioners": [{"name": "李某", "phone": "13900001111"}], "content": "征地补偿未到位",
    }),
]  # fmt: skip
ID_FIELD = {"hotline.ticket": "ticket_no", "grid.report": "report_id",
            "opinion.item": "item_id", "petition.filed": "petition_no"}  # fmt: skip


@pytest.fixture
def intake(vhost_uri: str, tmp_path: Path, database_url: str) -> Iterator[Platform]:
    with running(settings_for_test(vhost_uri, tmp_path, database_url), ["intake"]) as platform:
        yield platform


@pytest.fixture
def tap(vhost_uri: str) -> Iterator[EventTap]:
    tap = EventTap(vhost_uri, "case.received")
    yield tap
    tap.close()


def submissions(platform: Platform) -> list[Submission]:
    store = Store(platform.settings.database_url_for("intake"), "intake", TABLES)
    try:
        with store.read() as session:
            return list(session.scalars(select(Submission)))
    finally:
        store.dispose()


def with_id(routing_key: str, sample: dict[str, Any]) -> dict[str, Any]:
    return {**sample, ID_FIELD[routing_key]: f"X-{uid()}"}


@pytest.mark.parametrize(("routing_key", "source", "path", "sample"), LINE_SAMPLES)
def test_every_line_arrives_by_both_transports(
    intake: Platform, tap: EventTap, vhost_uri: str,
    routing_key: str, source: str, path: str, sample: dict[str, Any],
) -> None:  # fmt: skip
    over_http = with_id(routing_key, sample)
    assert intake.submit(path, over_http, source=source).status == 202
    over_amqp = with_id(routing_key, sample)
    external_id = over_amqp[ID_FIELD[routing_key]]
    props = pika.BasicProperties(
        message_id=external_id, app_id=source, content_type="application/json", delivery_mode=2
    )
    publisher(vhost_uri).basic_publish(
        "civicflow.inbound", routing_key, json.dumps(over_amqp).encode(), props
    )
    deadline = time.monotonic() + 30
    while len(events := tap.of_type("case.received")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # both transports are asynchronous: either may come second
    external = {event["data"]["external_id"] for event in events}
    assert external == {over_http[ID_FIELD[routing_key]], external_id}
    assert {event["data"]["channel"] for event in events} == {routing_key.split(".")[0]}
    assert {event["data"]["source"] for event in events} == {source}


def test_one_case_per_external_id_under_concurrency(
    intake: Platform, tap: EventTap, vhost_uri: str
) -> None:
    ticket = hotline("小区停车位被占")
    body = json.dumps(ticket).encode()
    props = pika.BasicProperties(
        message_id=ticket["ticket_no"],
        app_id="hotline",
        content_type="application/json",
        delivery_mode=2,
    )
    channel = publisher(vhost_uri)
    handled = inbound_handled(intake)
    for _ in range(5):
        channel.basic_publish("civicflow.inbound", "hotline.ticket", body, props)
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: intake.submit("/api/v1/hotline/tickets", body), range(16))
        )
    assert {answer.status for answer in answers} <= {200, 202}
    [case_id] = {answer.body["case_id"] for answer in answers}
    wait_until(lambda: inbound_handled(intake) >= handled + 5)  # every copy over AMQP too
    everything_before_is_told(intake, tap)
    rows = submissions(intake)
    assert [row.external_id for row in rows].count(ticket["ticket_no"]) == 1
    assert [row.case_id for row in rows if row.external_id == ticket["ticket_no"]] == [case_id]
    assert len(tap.of_type("case.received", case_id)) == 1


def test_a_repeat_from_the_same_citizen_on_any_line_is_linked(
    intake: Platform, tap: EventTap
) -> None:
    first = intake.submit(
        "/api/v1/hotline/tickets", hotline("小区楼下饭店油烟污染严重,熏得没法开窗")
    )
    unrelated = intake.submit("/api/v1/hotline/tickets", hotline("孩子上学入学名额问题"))
    petition = {
        "petition_no": f"P-{uid()}", "form": "visit", "filed_at": "2026-11-22T09:00:00+08:00",
        "petitioners": [{"name": "王先生", "phone": PHONE}],
        "content": "楼下饭店油烟污染严重,反映多次没人管",
    }  # fmt: skip
    again = intake.submit("/api/v1/petitions", petition, source="petition")
    other_phone = intake.submit(
        "/api/v1/hotline/tickets", hotline("楼下饭店油烟污染严重", phone="13900009999")
    )
    events = {
        answer.body["case_id"]: tap.wait_for("case.received", answer.body["case_id"])["data"]
        for answer in (first, unrelated, again, other_phone)
    }
    assert events[first.body["case_id"]]["repeat_of"] == []
    assert events[unrelated.body["case_id"]]["repeat_of"] == []
    repeat = events[again.body["case_id"]]
    assert repeat["repeat_of"] == [first.body["case_id"]] and repeat["repeat_count"] == 1
    assert "repeat_complaint" in repeat["risk_rules"] and repeat["risk"] == "yellow"
    assert events[other_phone.body["case_id"]]["repeat_of"] == []


@pytest.mark.parametrize(
    ("path", "source", "payload", "grade", "rule"),
    [
        ("/api/v1/hotline/tickets", "hotline", hotline("被拖欠工资半年,不想活了"),
         "red", "self_harm"),
        ("/api/v1/hotline/tickets", "hotline", hotline("路面坑洼", urgent=True),
         "yellow", "urgent_hotline"),
        ("/api/v1/petitions", "petition", {
            "petition_no": "P-g", "form": "visit", "filed_at": "2026-11-21T09:00:00+08:00",
            "petitioners": [{"name": "甲"}], "group_size": 8, "content": "安置房分配不公",
        }, "red", "large_petition"),
        ("/api/v1/opinion/items", "opinion", {
            "item_id": "O-h", "platform": "weibo", "published_at": "2026-11-21T09:00:00+08:00",
            "content": "某工地扬尘", "heat": 15000,
        }, "yellow", "hot_opinion"),
        ("/api/v1/hotline/tickets", "hotline", hotline("路灯坏了"), "blue", None),
    ],
)  # fmt: skip
def test_risk_is_graded_by_the_rules(
    intake: Platform, tap: EventTap, path: str, source: str, payload: dict[str, Any],
    grade: str, rule: str | None,
) -> None:  # fmt: skip
    answer = intake.submit(path, payload, source=source)
    data = tap.wait_for("case.received", answer.body["case_id"])["data"]
    assert data["risk"] == grade
    assert (rule in data["risk_rules"]) if rule else data["risk_rules"] == []


def test_phones_are_sealed_at_rest_and_masked_everywhere_else(
    intake: Platform, tap: EventTap, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = intake.submit("/api/v1/hotline/tickets", hotline("噪音扰民", phone="13766668888"))
    event = tap.wait_for("case.received", answer.body["case_id"])
    assert event["data"]["reporter"]["phone"] == "137****8888"
    assert "13766668888" not in json.dumps(event) and "13766668888" not in json.dumps(answer.body)
    [row] = submissions(intake)
    assert row.reporter_phone_sealed and "13766668888" not in row.reporter_phone_sealed
    assert "13766668888" not in json.dumps(row.case)
    vault = load_vault(intake.settings)
    assert vault.open(row.reporter_phone_sealed) == "13766668888"
    assert row.reporter_fingerprint == vault.fingerprint("13766668888")
    assert "13766668888" not in caplog.text


def test_an_unknown_enum_value_is_a_schema_error(intake: Platform) -> None:
    item = {"item_id": "O-x", "platform": "tiktok", "published_at": "2026-11-21T09:00:00+08:00",
            "content": "x"}  # fmt: skip
    answer = intake.submit("/api/v1/opinion/items", item, source="opinion")
    assert answer.status == 422
    assert [error["loc"] for error in answer.body["errors"]] == [["platform"]]
    assert submissions(intake) == []
