"""访 by SMS end to end: a 12345 ticket is dispatched, accepted and concluded; the citizen gets
the revisit question; their reply, pushed by the provider's inbound-SMS callback, closes the
case (1) or sends it back (3). In quiet hours the question waits for the morning."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from civicflow.demo import load_demo
from kernel.clock import ManualClock
from services.notify.domain import LOCAL_TIME
from tests.support.harness import (
    Platform,
    http,
    migrate_all,
    running,
    settings_with_quiet_hours,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

SERVICES = ["intake", "grid", "dispatch", "notify"]
ADMIN = {"user": "admin", "role": "admin"}
TOKEN = "dev-notify-callback"


@pytest.fixture
def platform(vhost_uri: str, tmp_path: Path) -> Iterator[Platform]:
    settings = settings_with_quiet_hours(vhost_uri, tmp_path)
    with running(settings, SERVICES) as platform:
        migrate_all(settings, ["console"])
        load_demo(settings)
        yield platform


def concluded_ticket(platform: Platform, phone: str) -> str:
    ticket = {
        "ticket_no": f"T-{uuid.uuid4().hex[:10]}", "received_at": "2026-11-21T10:00:00+08:00",
        "caller": {"phone": phone}, "content": "化工厂夜间排污,气味刺鼻",
        "category": "environment.pollution",
    }  # fmt: skip
    case_id = str(platform.submit("/api/v1/hotline/tickets", ticket).body["case_id"])
    with ClusterRpcProxy({"AMQP_URI": platform.settings.amqp_uri}, timeout=10) as cluster:
        wait_until(lambda: (cluster.dispatch.get_case(case_id) or {}).get("status") == "dispatched")
        cluster.dispatch.act(case_id, {"action": "accept"}, ADMIN)
        cluster.dispatch.act(case_id, {"action": "conclude", "result": "已责令企业停产整改"}, ADMIN)
    return case_id


def reply(platform: Platform, phone: str, text: str) -> Any:
    body = json.dumps([{
        "phone_number": phone, "send_time": "2026-11-21 12:00:00", "content": text,
        "sign_name": "综治中心", "dest_code": "", "sequence_id": 1,
    }]).encode()  # fmt: skip
    url = platform.url("notify", f"/api/v1/notify/replies/aliyun?token={TOKEN}")
    return http("POST", url, body, {"Content-Type": "application/json"})


def wait_until(check: Any, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.1)


def sms_to(platform: Platform, phone: str) -> list[dict[str, Any]]:
    path = platform.settings.data_dir / "notify" / "sms.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [m for m in map(json.loads, lines) if m["to"] == phone]


def test_a_citizen_s_reply_closes_the_case_or_sends_it_back(platform: Platform) -> None:
    pleased, displeased = "13912340001", "13912340002"
    closed_case = concluded_ticket(platform, pleased)
    reopened_case = concluded_ticket(platform, displeased)
    wait_until(lambda: sms_to(platform, pleased) and sms_to(platform, displeased))
    question = sms_to(platform, pleased)[0]["text"]
    assert closed_case in question and "1满意 2基本满意 3不满意" in question
    # a reply from a number nobody asked, and a reply that is no answer: nothing happens
    assert reply(platform, "13912349999", "1").status == 200
    assert reply(platform, pleased, "你好,请问什么时候处理").status == 200
    answered = reply(platform, pleased, "1")
    assert (answered.status, answered.body) == (200, {"code": 0, "msg": "接收成功"})
    assert reply(platform, displeased, "3 还是有味道").status == 200
    with ClusterRpcProxy({"AMQP_URI": platform.settings.amqp_uri}, timeout=10) as cluster:
        wait_until(lambda: cluster.dispatch.get_case(closed_case)["status"] == "closed")
        wait_until(lambda: cluster.dispatch.get_case(reopened_case)["reopens"] == 1)
        closed, reopened = (
            cluster.dispatch.get_case(closed_case),
            cluster.dispatch.get_case(reopened_case),
        )
    last = closed["timeline"][-1]
    assert (last["action"], last["actor"], last["reason"]) == ("revisit", "citizen", "短信回访:1")
    assert reopened["status"] == "in_progress"
    # answered once: the same reply again finds no open question
    assert reply(platform, pleased, "3").status == 200
    time.sleep(0.5)
    with ClusterRpcProxy({"AMQP_URI": platform.settings.amqp_uri}, timeout=10) as cluster:
        assert cluster.dispatch.get_case(closed_case)["status"] == "closed"


def test_the_question_waits_for_the_end_of_quiet_hours(vhost_uri: str, tmp_path: Path) -> None:
    """The platform runs on a clock that stands at 23:00 until the test moves it to 08:00."""
    quiet = {"start": "22:00", "end": "08:00"}
    night = datetime.now(LOCAL_TIME).replace(hour=23, minute=0, second=0, microsecond=0)
    clock = ManualClock(night)
    settings = dataclasses.replace(
        settings_with_quiet_hours(vhost_uri, tmp_path, quiet), clock=clock
    )
    with running(settings, SERVICES) as platform:
        migrate_all(settings, ["console"])
        load_demo(settings)
        phone = "13912340003"
        case_id = concluded_ticket(platform, phone)
        url = platform.url("notify", f"/api/v1/notify/deliveries/{case_id}?token={TOKEN}")

        def citizen_record() -> dict[str, Any] | None:
            answer = http("GET", url)
            rows = answer.body if answer.status == 200 else []
            return next((r for r in rows if r["template"] == "revisit_question"), None)

        wait_until(lambda: citizen_record() is not None)
        held = citizen_record()
        assert held is not None and held["status"] == "queued"
        end = datetime.fromisoformat(held["next_attempt_at"])
        assert end == night.replace(hour=8) + timedelta(days=1)
        assert sms_to(platform, phone) == []
        clock.set(end)  # the morning: it goes, at the first tick of the retry timer
        wait_until(lambda: sms_to(platform, phone) != [])
        sent = citizen_record()
    assert held["recipient"] == "139****0003"
    assert sent is not None and (sent["status"], sent["attempts"]) == ("sent", 1)
    assert case_id in sms_to(platform, phone)[0]["text"]
