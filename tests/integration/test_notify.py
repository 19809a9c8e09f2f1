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
from prometheus_client.parser import text_string_to_metric_families

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
from kernel.clock import Clock, ManualClock, SystemClock
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
    document["quiet_hours"]["staff"] = False  # the tests of quiet hours set theirs
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
    """Start notify (on SQLite, then on PostgreSQL) with notify.yml changed as asked, and on
    the clock given (the system's if none)."""

    @contextmanager
    def start(clock: Clock | None = None, **changes: Any) -> Iterator[Settings]:
        with running_notify(
            vhost_uri, tmp_path, aliyun, monkeypatch, database_url, changes, clock
        ) as settings:
            yield settings

    return start


@contextmanager
def running_notify(
    vhost_uri: str, tmp_path: Path, aliyun: FakeAliyunSms, monkeypatch: pytest.MonkeyPatch,
    database_url: str, changes: dict[str, Any], clock: Clock | None = None,
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
        clock=clock or SystemClock(),
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


def handled(settings: Settings, event_type: str) -> float:
    """How many events of this type notify's ``tell`` has handled (its /metrics: the count
    goes up once a message's work is done, before it is acknowledged)."""
    url = f"http://127.0.0.1:{settings.ports['notify']}/metrics"
    answer = http("GET", url)
    assert answer.status == 200
    for family in text_string_to_metric_families(answer.body):
        for sample in family.samples:
            if sample.name == "civicflow_messages_consumed_total" and sample.labels == {
                "queue": "notify.tell", "type": event_type
            }:  # fmt: skip
                return sample.value
    return 0.0


def wait_for_handled(settings: Settings, event_type: str, count: float) -> None:
    deadline = time.monotonic() + 10
    while handled(settings, event_type) < count:
        assert time.monotonic() < deadline, handled(settings, event_type)
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
    with notify() as settings:
        before = handled(settings, CASE_DISPATCHED.type)
        event_id = dispatched(stand_in, case_id, summary="化工厂夜间偷排污水,气味刺鼻")
        stand_in.replay(event_id)  # the broker redelivers, or dispatch's relay sends it again
        request = sent_to(aliyun, HBJ_PHONE, 1)[0]
        sent = tap.wait_for("notification.sent", case_id)["data"]
        wait_for_handled(settings, CASE_DISPATCHED.type, before + 2)  # the copy too
        records = deliveries(settings, case_id)
    tap.close()
    assert len(sent_to(aliyun, HBJ_PHONE, 1)) == 1
    assert [(r["status"], r["attempts"]) for r in records] == [("sent", 1)]
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
    """Tried again after 1 s, then 2 s of backoff: the clock moves only when the test moves it,
    so no try can come before its time."""
    aliyun.enqueue(aliyun_throttled(), http_error(503), PASS)
    clock, case_id = ManualClock(datetime.now(UTC)), new_case()
    with notify(clock=clock) as settings:
        dispatched(stand_in, case_id)
        first = wait_for_status(settings, case_id, "retrying", attempts=1)
        assert at(first["next_attempt_at"]) == clock.now() + timedelta(seconds=1)
        assert len(aliyun.received) == 1
        clock.advance(timedelta(seconds=1))
        second = wait_for_status(settings, case_id, "retrying", attempts=2)
        assert at(second["next_attempt_at"]) == clock.now() + timedelta(seconds=2)
        assert len(aliyun.received) == 2
        clock.advance(timedelta(seconds=2))
        sent_to(aliyun, HBJ_PHONE, 1)
        record = wait_for_status(settings, case_id, "sent")
    assert (record["status"], record["attempts"]) == ("sent", 3)
    assert len(aliyun.received) == 3


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def test_a_permanent_error_stops_at_once_and_the_last_transient_one_gives_up(
    vhost_uri: str, aliyun: FakeAliyunSms, notify: Any, stand_in: StandIn
) -> None:
    tap = EventTap(vhost_uri, "notification.*")
    aliyun.enqueue(aliyun_error("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"))
    first, second, clock = new_case(), new_case(), ManualClock(datetime.now(UTC))
    with notify(clock=clock) as settings:
        dispatched(stand_in, first)
        failed = tap.wait_for("notification.failed", first)["data"]
        aliyun.enqueue(aliyun_throttled(), aliyun_throttled(), aliyun_throttled(), PASS)
        dispatched(stand_in, second)
        for tries, backoff in ((1, 1), (2, 2)):
            wait_for_status(settings, second, "retrying", attempts=tries)
            clock.advance(timedelta(seconds=backoff))
        gave_up = tap.wait_for("notification.failed", second)["data"]
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
    settings: Settings, case_id: str, *, wecom: int = 0, timeout: float = 10.0,
    missing_ok: bool = False,
) -> list[dict[str, Any]]:  # fmt: skip
    """The case's delivery records, once at least `wecom` of them are settled WeCom messages;
    none (if `missing_ok`) while nothing is recorded about the case."""
    url = f"http://127.0.0.1:{settings.ports['notify']}/api/v1/notify/deliveries/{case_id}?token={TOKEN}"
    deadline = time.monotonic() + timeout
    while True:
        answer = http("GET", url)
        if missing_ok and answer.status == 404:
            return []
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
    quiet = {"start": "22:00", "end": "08:00"}
    night = ManualClock(datetime.now(LOCAL_TIME).replace(hour=23, minute=0))
    case_id = new_case()
    with notify(quiet_hours=quiet, clock=night) as settings:
        waiting = CaseAwaitingDispatch(reason="群体性事件苗头", risk="red")
        stand_in.emit(CASE_AWAITING_DISPATCH, waiting, case_id, night.now())
        sent_to(aliyun, "13800000001", 1)  # the centre's duty phone
        record = wait_for_status(settings, case_id, "sent")
    assert record["template"] == "red_risk" and record["attempts"] == 1


def test_a_recipient_limit_spaces_a_burst_of_alerts(
    vhost_uri: str, aliyun: FakeAliyunSms, notify: Any, stand_in: StandIn
) -> None:
    """Two at once from the full bucket, then one every half second of the clock: none while
    it stands still."""
    limits = {"provider": {"rate": 100, "burst": 100}, "recipient": {"rate": 2, "burst": 2}}
    # a whole second to start from: the buckets count in float seconds, which then add up exactly
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    cases = [new_case() for _ in range(6)]
    with notify(rate_limits=limits, clock=clock) as settings:
        for case_id in cases:
            dispatched(stand_in, case_id)
        for half_seconds in range(5):
            if half_seconds:
                clock.advance(timedelta(seconds=0.5))
            sent_to(aliyun, HBJ_PHONE, 2 + half_seconds)
            waiting = held_back(settings, cases, clock)
            assert len(waiting) == 4 - half_seconds
            assert len(sent_to(aliyun, HBJ_PHONE, 0)) == 2 + half_seconds
    assert len([r for r in aliyun.received if r.params["PhoneNumbers"] == HBJ_PHONE]) == 6


def held_back(settings: Settings, cases: list[str], clock: ManualClock) -> list[dict[str, Any]]:
    """The cases' deliveries waiting for a token, once every delivery is recorded and none
    may go before the clock moves on: what was sent by then is all that goes."""
    deadline = time.monotonic() + 10
    while True:
        records = [r for case_id in cases for r in deliveries(settings, case_id, missing_ok=True)]
        waiting = [r for r in records if r["status"] in UNSETTLED]
        if len(records) == len(cases) and all(
            r["status"] == "queued" and at(r["next_attempt_at"]) > clock.now() for r in waiting
        ):
            return waiting
        assert time.monotonic() < deadline, records
        time.sleep(0.05)


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


def wait_for_status(
    settings: Settings, case_id: str, status: str, attempts: int | None = None
) -> dict[str, Any]:
    """The case's first delivery record, once it has this status (after so many tries)."""
    deadline = time.monotonic() + 10
    while True:
        url = f"http://127.0.0.1:{settings.ports['notify']}/api/v1/notify/deliveries/{case_id}?token={TOKEN}"
        answer = http("GET", url)
        first = answer.body[0] if answer.status == 200 else {}
        if first.get("status") == status and attempts in (None, first["attempts"]):
            return dict(first)
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
