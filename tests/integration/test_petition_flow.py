"""信访 end to end with a real broker: a petition accepted (受理告知书), its answer extended once
by a supervisor's approval, answered (处理意见书), reviewed (复查意见书) and re-reviewed
(复核意见书), each notice kept on the case; supervision names the petition clock it warns of;
the petitioner's name is masked on the public event; a late review is refused with its day."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from civicflow.demo import load_demo
from kernel.clock import ManualClock
from kernel.petition import BEIJING
from tests.integration.test_dispatch_flow import SERVICES, act, case_of, tap, token
from tests.integration.test_supervision import rpc
from tests.support.harness import EventTap, Platform, http, running, settings_for_test

pytestmark = [pytest.mark.broker, pytest.mark.e2e]
__all__ = ["tap", "token"]  # fixtures shared with dispatch's tests


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """Dispatch's platform, its clock standing still until a test moves it, with a scanner
    that looks every 0.2 s: the alerts a moved clock raises come at once."""
    from tests.conftest import BASE_AMQP_URI
    from tests.support.harness import temporary_vhost

    data = tmp_path_factory.mktemp("petition")
    with temporary_vhost(BASE_AMQP_URI) as vhost:
        settings = dataclasses.replace(
            settings_for_test(vhost, Path(data)), clock=ManualClock(datetime.now(UTC)),
            supervision_tick_seconds=0.2,
        )  # fmt: skip
        with running(settings, SERVICES) as platform:
            load_demo(settings)
            yield platform


def clock_of(platform: Platform) -> ManualClock:
    clock = platform.settings.clock
    assert isinstance(clock, ManualClock)
    return clock


def login(platform: Platform) -> str:
    """A fresh token: the platform's clock moves by days, and tokens expire."""
    body = json.dumps({"username": "admin", "password": "admin"}).encode()
    answer = http("POST", platform.url("console", "/api/v1/auth/login"), body,
                  {"Content-Type": "application/json"})  # fmt: skip
    return str(answer.body["token"])


def wait_alert(
    tap: EventTap, kind: str, case_id: str, clock: str, due_at: datetime | None = None
) -> dict[str, Any]:
    """The ``sla.*`` alert of one clock (the dispatch's own clocks alert too), of one limit."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for event in tap.of_type(kind, case_id):
            due = datetime.fromisoformat(event["data"]["due_at"])
            if event["data"]["clock"] == clock and due_at in (None, due):
                return event
        time.sleep(0.05)
    seen = [(e["type"], e["data"].get("clock")) for e in tap.of_type(kind, case_id)]
    raise AssertionError(f"no {kind} of the {clock} clock for {case_id}: {seen}")


def answer_clock_held_by(platform: Platform, case_id: str, holder: str) -> None:
    """Supervision has followed a stage's dispatch: the running answer clock is ``holder``'s.
    Events are asynchronous: a clock moved on before that would warn of a review nobody was
    named to hold yet."""
    deadline = time.monotonic() + 15
    with rpc(platform.settings) as supervision:
        while True:
            running = [c for c in supervision.clocks_of(case_id)
                       if c["kind"] == "answer" and c["state"] == "open"]  # fmt: skip
            if running and all(c["assignee"] == holder for c in running):
                return
            assert time.monotonic() < deadline, running
            time.sleep(0.05)


def notices(case: dict[str, Any]) -> list[str]:
    return [
        a["name"].split("-")[0] for a in case["attachments"] if a["content_type"] == "text/html"
    ]


def file_petition(platform: Platform, token: str, tap: EventTap) -> str:
    filed_at = clock_of(platform).now().isoformat()
    petition = {
        "petition_no": f"P-{uuid.uuid4().hex[:8]}", "form": "letter", "filed_at": filed_at,
        "petitioners": [{"name": "李秀英", "phone": "13900002222"}], "content": "征地补偿款未发放",
    }  # fmt: skip
    case_id = str(platform.submit("/api/v1/petitions", petition, source="petition").body["case_id"])
    case_of(platform, token, case_id, "pending_dispatch")
    assert act(platform, token, case_id, "dispatch").status == 200  # the one click: 信访局
    assert act(platform, token, case_id, "accept").status == 200  # 签收
    return case_id


def test_a_petition_through_acceptance_extension_answer_review_and_re_review(
    platform: Platform, token: str, tap: EventTap
) -> None:
    clock = clock_of(platform)
    case_id = file_petition(platform, token, tap)
    received = tap.wait_for("case.received", case_id)["data"]["reporter"]
    assert received["name"] == "李**" and "李秀英" not in str(tap.of_type("case.received", case_id))
    deadlines = tap.wait_for("case.dispatched", case_id)["data"]["deadlines"]
    acknowledge_by = datetime.fromisoformat(deadlines["acknowledge_by"])

    clock.advance(timedelta(days=13))  # past 0.8 of the 15 days: 受理告知 is near
    warned = wait_alert(tap, "sla.warning", case_id, "acknowledge")
    token = login(platform)
    assert datetime.fromisoformat(warned["data"]["due_at"]) == acknowledge_by

    acknowledged = act(platform, token, case_id, "acknowledge", {"note": "依法受理"})
    assert acknowledged.status == 200 and notices(acknowledged.body) == ["受理告知书"]
    answer_by = datetime.fromisoformat(acknowledged.body["deadlines"]["answer_by"])
    [notice] = acknowledged.body["attachments"]
    served = http("GET", platform.url("console", notice["url"]), None,
                  {"Authorization": f"Bearer {token}"})  # fmt: skip
    assert served.status == 200 and served.headers["Content-Disposition"].startswith("attachment")
    text = str(served.body)  # not JSON: the page as text
    assert "受理告知书" in text and "李**" in text and "李秀英" not in text
    assert f"{(answer_by - timedelta(seconds=1)).astimezone(BEIJING):%Y年%m月%d日}" in text

    too_far = {"until": (answer_by + timedelta(days=31)).isoformat(), "reason": "情况复杂"}
    assert act(platform, token, case_id, "extend", too_far).status == 422
    asked = {"until": (answer_by + timedelta(days=30)).isoformat(), "reason": "需多部门会商"}
    assert act(platform, token, case_id, "extend", asked).status == 200
    approved = act(platform, token, case_id, "extend", {"approve": True, "note": "同意"})
    assert approved.status == 200
    assert datetime.fromisoformat(approved.body["deadlines"]["answer_by"]) == answer_by + timedelta(
        days=30
    )
    again = {"until": (answer_by + timedelta(days=40)).isoformat(), "reason": "再次延期"}
    assert act(platform, token, case_id, "extend", again).status == 422  # only once

    extended_to = answer_by + timedelta(days=30)
    clock.advance(timedelta(days=73))  # past 0.8 of the 90 days the answer now has
    running = wait_alert(tap, "sla.warning", case_id, "answer")
    assert datetime.fromisoformat(running["data"]["due_at"]) == extended_to
    token = login(platform)
    answered = act(platform, token, case_id, "answer", {"opinion": "补偿款已于本月拨付到位"})
    assert answered.status == 200 and answered.body["status"] == "concluded"
    assert notices(answered.body) == ["受理告知书", "处理意见书"]

    clock.advance(timedelta(days=10))
    token = login(platform)
    review = act(platform, token, case_id, "request_review", {"reason": "补偿标准偏低"})
    assert review.status == 200 and review.body["status"] == "pending_dispatch"
    asked = tap.wait_for("petition.review_requested", case_id)["data"]
    assert act(platform, token, case_id, "dispatch", {"assignee": "D-XFJ"}).status == 200
    assert act(platform, token, case_id, "accept").status == 200
    answer_clock_held_by(platform, case_id, "D-XFJ")
    clock.advance(timedelta(days=25))  # the review's answer (30 days) is near
    review_due = datetime.fromisoformat(asked["answer_by"])
    warned_review = wait_alert(tap, "sla.warning", case_id, "answer", due_at=review_due)
    assert warned_review["data"]["assignee"]["code"] == "D-XFJ"
    token = login(platform)
    reviewed = act(platform, token, case_id, "answer", {"opinion": "维持原处理意见"})
    assert reviewed.status == 200
    assert notices(reviewed.body) == ["受理告知书", "处理意见书", "复查意见书"]

    re_review = act(platform, token, case_id, "request_review", {"reason": "仍不服"})
    assert re_review.status == 200
    assert act(platform, token, case_id, "dispatch", {"assignee": "D-XFJ"}).status == 200
    assert act(platform, token, case_id, "accept").status == 200
    final = act(platform, token, case_id, "answer", {"opinion": "复核维持"}).body
    assert notices(final) == ["受理告知书", "处理意见书", "复查意见书", "复核意见书"]
    [notice] = [a for a in final["attachments"] if a["name"].startswith("复核意见书")]
    assert [u["used_with"] for u in notice["used_with"]] == ["answer"]


def test_a_review_asked_after_its_30_days_is_refused_with_the_day_it_fell_due(
    platform: Platform, token: str, tap: EventTap
) -> None:
    clock = clock_of(platform)
    token = login(platform)  # the walk before may have moved the clock past the module's
    case_id = file_petition(platform, token, tap)
    assert act(platform, token, case_id, "acknowledge").status == 200
    answered = act(platform, token, case_id, "answer", {"opinion": "已依法处理"})
    assert answered.status == 200

    clock.advance(timedelta(days=32))
    token = login(platform)
    late = act(platform, token, case_id, "request_review", {"reason": "不服"})

    assert late.status == 422
    message = str(late.body["errors"])
    assert "复查申请已超过30日期限" in message and "截止" in message
