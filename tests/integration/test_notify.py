"""Notify against a real broker and a local Aliyun SMS server that checks every request as
Aliyun would: sending once per (event, recipient, channel), retries and giving up, quiet hours,
rate limits, delivery receipts, WeChat's signed pushes.

Dispatch and supervision are played by a publisher, so every event is the test's choice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from civicflow.registry import service_class
from contracts.events import (
    CASE_AWAITING_DISPATCH,
    CASE_DISPATCHED,
    SLA_WARNING,
    Assignee,
    CaseAwaitingDispatch,
    CaseDispatched,
    Deadlines,
    SlaWarning,
)
from kit.runner import InProcess
from kit.settings import Settings
from services.notify.domain import LOCAL_TIME
from tests.support.fake_sms import PASS, FakeAliyunSms, aliyun_error, aliyun_throttled, http_error
from tests.support.harness import CONFIG_DIR, EventTap, http, migrate_all, settings_for_test
from tests.support.standin import StandIn

pytestmark = [pytest.mark.broker]

HBJ = Assignee(kind="department", code="D-HBJ", name="市生态环境局县分局")
HBJ_PHONE = "13800000007"
TOKEN = "dev-notify-callback"
TEMPLATE_CODES = {
    "case_dispatched": "SMS_1001",
    "red_risk": "SMS_1002",
    "delivery_failed": "SMS_1003",
    "sla_warning": "SMS_1004",
}


def notify_yml(**changes: Any) -> str:
    document = yaml.safe_load((CONFIG_DIR / "notify.yml").read_text(encoding="utf-8"))
    document["providers"]["sms"] = "aliyun"
    document["retry"] = {"attempts": 3, "base": "PT1S", "max": "PT2S", "jitter": 0}
    document.update(changes)
    return yaml.safe_dump(document, allow_unicode=True)


@pytest.fixture
def aliyun() -> Iterator[FakeAliyunSms]:
    variables = ("case_no", "unit", "deadline", "summary", "level")
    templates = {code: () for code in TEMPLATE_CODES.values()} | {"SMS_1001": variables}
    with FakeAliyunSms(templates=templates, sign_names=frozenset({"综治中心"})) as fake:
        yield fake


@pytest.fixture
def notify(
    vhost_uri: str, tmp_path: Path, aliyun: FakeAliyunSms, monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> Any:  # fmt: skip
    """Start notify (on SQLite, then on PostgreSQL) with notify.yml changed as asked."""

    @contextmanager
    def start(**changes: Any) -> Iterator[Settings]:
        with running_notify(vhost_uri, tmp_path, aliyun, monkeypatch, database_url, changes) as s:
            yield s

    return start


@contextmanager
def running_notify(
    vhost_uri: str, tmp_path: Path, aliyun: FakeAliyunSms, monkeypatch: pytest.MonkeyPatch,
    database_url: str, changes: dict[str, Any],
) -> Iterator[Settings]:  # fmt: skip
    config = tmp_path / "config"
    if config.exists():
        shutil.rmtree(config)
    shutil.copytree(CONFIG_DIR, config)
    (config / "notify.yml").write_text(notify_yml(**changes), encoding="utf-8")
    for key, value in {
        "CIVICFLOW_ALIYUN_ACCESS_KEY_ID": aliyun.access_key_id,
        "CIVICFLOW_ALIYUN_ACCESS_KEY_SECRET": aliyun.access_key_secret,
        "CIVICFLOW_ALIYUN_SIGN_NAME": "综治中心",
        "CIVICFLOW_ALIYUN_TEMPLATES": json.dumps(TEMPLATE_CODES),
        "CIVICFLOW_ALIYUN_BASE_URL": aliyun.base_url,
    }.items():
        monkeypatch.setenv(key, value)
    settings = dataclasses.replace(
        settings_for_test(vhost_uri, tmp_path, database_url),
        config_dir=config,
        notify_tick_seconds=0.2,
    )
    migrate_all(settings, ["notify"])
    running = InProcess([service_class("notify")], settings).start()
    try:
        yield settings
    finally:
        running.kill()


def dispatched(
    stand_in: StandIn, case_id: str, summary: str = "化工厂夜间排污", risk: str = "blue"
) -> str:
    now = datetime.now(UTC)
    limits = Deadlines(respond_by=now + timedelta(hours=2), feedback_by=now + timedelta(hours=24),
                       resolve_by=now + timedelta(days=5))  # fmt: skip
    data = CaseDispatched(assignee=HBJ, level="district", deadlines=limits, dispatched_by="auto",
                          summary=summary, risk=risk)  # type: ignore[arg-type]  # fmt: skip
    return stand_in.emit(CASE_DISPATCHED, data, case_id, now)


def sent_to(aliyun: FakeAliyunSms, phone: str, count: int, timeout: float = 10) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in aliyun.received if r.params["PhoneNumbers"] == phone and r.status == 200
                 and r.answer and r.answer.get("Code") == "OK"]  # fmt: skip
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, (count, [r.answer for r in aliyun.received])
        time.sleep(0.05)


def new_case() -> str:
    return f"CF-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def stand_in(vhost_uri: str) -> Iterator[StandIn]:
    publisher = StandIn(vhost_uri, "dispatch")
    yield publisher
    publisher.close()


# --- once, through a real gateway ------------------------------------------------------------


def test_a_dispatch_is_told_once_even_when_the_event_comes_twice(
    vhost_uri: str, aliyun: FakeAliyunSms, notify: Any, stand_in: StandIn
) -> None:
    tap = EventTap(vhost_uri, "notification.*")
    case_id = new_case()
    with notify():
        event_id = dispatched(stand_in, case_id, summary="化工厂夜间偷排污水,气味刺鼻")
        stand_in.replay(event_id)  # the broker redelivers, or dispatch's relay sends it again
        request = sent_to(aliyun, HBJ_PHONE, 1)[0]
        sent = tap.wait_for("notification.sent", case_id)["data"]
        time.sleep(0.5)
    tap.close()
    assert len(sent_to(aliyun, HBJ_PHONE, 1)) == 1
    params = request.params
    assert (params["SignName"], params["TemplateCode"]) == ("综治中心", "SMS_1001")
    variables = json.loads(params["TemplateParam"])
    assert variables["case_no"] == case_id and variables["unit"] == HBJ.name
    assert variables["summary"].startswith("化工厂夜间偷排污水")
    assert (sent["channel"], sent["recipient"], sent["provider"]) == (
        "sms",
        "138****0007",
        "aliyun",
    )
    assert sent["provider_message_id"] == request.answer["BizId"]  # type: ignore[index]
    assert HBJ_PHONE not in json.dumps(sent)


def test_transient_errors_are_tried_again_until_it_goes(
    vhost_uri: str, aliyun: FakeAliyunSms, notify: Any, stand_in: StandIn
) -> None:
    aliyun.enqueue(aliyun_throttled(), http_error(503), PASS)
    case_id = new_case()
    with notify() as settings:
        started = time.monotonic()
        dispatched(stand_in, case_id)
        sent_to(aliyun, HBJ_PHONE, 1, timeout=15)
        took = time.monotonic() - started
        record = deliveries(settings, case_id)[0]
    assert (record["status"], record["attempts"]) == ("sent", 3)
    assert took >= 3  # 1 s, then 2 s of backoff between the three tries
    assert len(aliyun.received) == 3


def test_a_permanent_error_stops_at_once_and_the_last_transient_one_gives_up(
    vhost_uri: str, aliyun: FakeAliyunSms, notify: Any, stand_in: StandIn
) -> None:
    tap = EventTap(vhost_uri, "notification.*")
    aliyun.enqueue(aliyun_error("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"))
    first, second = new_case(), new_case()
    with notify() as settings:
        dispatched(stand_in, first)
        failed = tap.wait_for("notification.failed", first)["data"]
        aliyun.enqueue(aliyun_throttled(), aliyun_throttled(), aliyun_throttled(), PASS)
        dispatched(stand_in, second)
        gave_up = tap.wait_for("notification.failed", second, timeout=15)["data"]
        # the centre's WeCom message follows each notification.failed: wait for it, not for luck
        records = deliveries(settings, first, wecom=1) + deliveries(settings, second, wecom=1)
    tap.close()
    assert (failed["attempts"], failed["error"].split(":")[0]) == (1, "isv.MOBILE_NUMBER_ILLEGAL")
    assert (gave_up["attempts"], gave_up["error"].split(":")[0]) == (
        3,
        "isv.BUSINESS_LIMIT_CONTROL",
    )
    assert [r["status"] for r in records if r["channel"] == "sms"] == ["failed", "failed"]
    assert failed["recipient"] == "138****0007"
    # and the centre's group hears of each failure (notify.yml: notification.failed → centre)
    told = [r for r in records if r["channel"] == "wecom"]
    assert [(r["template"], r["status"]) for r in told] == [("delivery_failed", "sent")] * 2


def test_a_warning_in_the_same_burst_as_its_dispatch_reaches_the_holder(
    vhost_uri: str, aliyun: FakeAliyunSms, notify: Any, stand_in: StandIn
) -> None:
    """The warning names nobody: notify finds the holder in what it kept of the dispatch. Both
    wait in the queue while notify is down, so they come in one batch, where the dispatch is
    not yet written when the warning's letters are worked out."""
    case_id, supervision = new_case(), StandIn(vhost_uri, "supervision")
    with notify():
        pass  # declares notify's queues, which keep what comes while it is down
    dispatched(stand_in, case_id, summary="夜间施工噪音扰民")
    due = datetime.now(UTC) + timedelta(hours=1)
    supervision.emit(SLA_WARNING, SlaWarning(clock="respond", due_at=due), case_id, due)
    supervision.close()
    with notify() as settings:
        texts = sent_to(aliyun, HBJ_PHONE, 2)
        records = deliveries(settings, case_id)
        deadline = time.monotonic() + 10  # the provider answered; the records follow
        while {r["status"] for r in records} != {"sent"} and time.monotonic() < deadline:
            time.sleep(0.05)
            records = deliveries(settings, case_id)
    assert sorted(json.loads(r.params["TemplateParam"])["case_no"] for r in texts) == [case_id] * 2
    assert sorted(r["template"] for r in records) == ["case_dispatched", "sla_warning"]
    assert {r["status"] for r in records} == {"sent"}


UNSETTLED = {"pending", "queued", "retrying", "sending"}


def deliveries(
    settings: Settings, case_id: str, *, wecom: int = 0, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """The case's delivery records, once at least `wecom` of them are settled WeCom messages."""
    url = f"http://127.0.0.1:{settings.ports['notify']}/api/v1/notify/deliveries/{case_id}?token={TOKEN}"
    deadline = time.monotonic() + timeout
    while True:
        answer = http("GET", url)
        assert answer.status == 200, answer.body
        records = list(answer.body)
        settled = [r for r in records if r["channel"] == "wecom" and r["status"] not in UNSETTLED]
        if len(settled) >= wecom or time.monotonic() > deadline:
            return records
        time.sleep(0.1)


# --- quiet hours and rate limits ---------------------------------------------------------------


def test_quiet_hours_do_not_hold_the_centre_s_red_alert(
    vhost_uri: str, aliyun: FakeAliyunSms, notify: Any, stand_in: StandIn
) -> None:
    """Quiet hours are for citizens: the centre hears of a red-risk case at once, whenever.
    (A citizen's message held by them: tests/e2e/test_revisit_by_sms.py.)"""
    local = datetime.now(LOCAL_TIME)
    quiet = {"start": (local - timedelta(hours=1)).strftime("%H:%M"),
             "end": (local + timedelta(hours=1)).strftime("%H:%M")}  # fmt: skip
    case_id = new_case()
    with notify(quiet_hours=quiet) as settings:
        waiting = CaseAwaitingDispatch(reason="群体性事件苗头", risk="red")
        stand_in.emit(CASE_AWAITING_DISPATCH, waiting, case_id, datetime.now(UTC))
        sent_to(aliyun, "13800000001", 1)  # the centre's duty phone
        record = wait_for_status(settings, case_id, "sent")
    assert record["template"] == "red_risk" and record["attempts"] == 1


def test_a_recipient_limit_spaces_a_burst_of_alerts(
    vhost_uri: str, aliyun: FakeAliyunSms, notify: Any, stand_in: StandIn
) -> None:
    limits = {"provider": {"rate": 100, "burst": 100}, "recipient": {"rate": 2, "burst": 2}}
    with notify(rate_limits=limits):
        started = time.monotonic()
        for _ in range(6):
            dispatched(stand_in, new_case())
        sent_to(aliyun, HBJ_PHONE, 6, timeout=20)
        took = time.monotonic() - started
    # two at once from the full bucket, then one every half second: at least 2 s for six
    assert took >= 1.9
    assert len([r for r in aliyun.received if r.params["PhoneNumbers"] == HBJ_PHONE]) == 6


# --- receipts ------------------------------------------------------------------------------------


def test_delivery_receipts_settle_the_record(
    vhost_uri: str, aliyun: FakeAliyunSms, notify: Any, stand_in: StandIn
) -> None:
    case_id = new_case()
    with notify() as settings:
        dispatched(stand_in, case_id)
        biz_id = sent_to(aliyun, HBJ_PHONE, 1)[0].answer["BizId"]
        wait_for_status(settings, case_id, "sent")
        report = [{
            "phone_number": HBJ_PHONE, "send_time": "2026-11-21 10:00:00",
            "report_time": "2026-11-21 10:00:05", "success": True, "err_code": "DELIVERED",
            "err_msg": "用户接收成功", "sms_size": "1", "biz_id": biz_id, "out_id": "1",
        }]  # fmt: skip
        url = f"http://127.0.0.1:{settings.ports['notify']}/api/v1/notify/receipts/aliyun"
        body = json.dumps(report).encode()
        json_headers = {"Content-Type": "application/json"}
        forged = http("POST", url + "?token=wrong", body, json_headers)
        bad = http("POST", f"{url}?token={TOKEN}", b'{"not": "a list"}', json_headers)
        unknown = http(
            "POST", url.replace("aliyun", "nobody") + f"?token={TOKEN}", body, json_headers
        )
        taken = http("POST", f"{url}?token={TOKEN}", body, json_headers)
        record = wait_for_status(settings, case_id, "delivered")
    assert (forged.status, bad.status, unknown.status) == (401, 400, 404)
    assert taken.status == 200 and taken.body == {"code": 0, "msg": "接收成功"}
    assert record["receipt"] == "delivered"


def wait_for_status(settings: Settings, case_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        url = f"http://127.0.0.1:{settings.ports['notify']}/api/v1/notify/deliveries/{case_id}?token={TOKEN}"
        answer = http("GET", url)
        if answer.status == 200 and answer.body[0]["status"] == status:
            return dict(answer.body[0])
        assert time.monotonic() < deadline, answer.body
        time.sleep(0.05)


def test_wechat_pushes_are_taken_only_when_signed(
    notify: Any,
) -> None:
    with notify() as settings:
        base = f"http://127.0.0.1:{settings.ports['notify']}/api/v1/notify/wechat"
        stamp, nonce = str(int(time.time())), "n0nce"
        good = hashlib.sha1(
            "".join(sorted(["dev-wechat-token", stamp, nonce])).encode()
        ).hexdigest()
        echoed = http("GET", f"{base}?signature={good}&timestamp={stamp}&nonce={nonce}&echostr=hi")
        forged = http(
            "GET", f"{base}?signature={'0' * 40}&timestamp={stamp}&nonce={nonce}&echostr=hi"
        )
        push = (b"<xml><ToUserName>gh_1</ToUserName><FromUserName>oX1</FromUserName>"
                b"<CreateTime>1763700000</CreateTime><MsgType>event</MsgType>"
                b"<Event>TEMPLATESENDJOBFINISH</Event><MsgID>200228332</MsgID>"
                b"<Status>success</Status></xml>")  # fmt: skip
        query = f"?signature={good}&timestamp={stamp}&nonce={nonce}"
        taken = http("POST", base + query, push, {"Content-Type": "text/xml"})
    assert (echoed.status, echoed.body) == (200, "hi")
    assert forged.status == 401
    assert (taken.status, taken.body) == (200, "success")
