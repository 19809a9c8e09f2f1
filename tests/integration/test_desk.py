"""The centre's desk on the real broker, on SQLite and PostgreSQL: a walk-in registered goes the
one way (intake → ``case.received`` with source centre and received_by → dispatch), the same
Idempotency-Key answers the same case, 直办 is concluded at once and counted on the screen, a
grid matter waits in 待回访 until an operator records the call, the receiver is told of the
conclusion, and bad registrations are refused naming their fields."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from civicflow.demo import load_demo
from tests.support import databases
from tests.support.harness import (
    Answer,
    EventTap,
    Platform,
    http,
    running,
    settings_for_test,
    temporary_vhost,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

SERVICES = ["intake", "grid", "dispatch", "supervision", "console"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    from tests.conftest import BASE_AMQP_URI

    data = tmp_path_factory.mktemp(f"desk-{request.param}")
    with temporary_vhost(BASE_AMQP_URI) as vhost, databases.database_for(request.param) as url:
        settings = settings_for_test(vhost, Path(data), url)
        with running(settings, SERVICES) as platform:
            load_demo(settings)
            yield platform


@pytest.fixture(scope="module")
def tokens(platform: Platform) -> dict[str, str]:
    found = {}
    for user in ("operator", "hbj", "admin"):
        body = json.dumps({"username": user, "password": user}).encode()
        answer = http("POST", platform.url("console", "/api/v1/auth/login"), body,
                      {"Content-Type": "application/json"})  # fmt: skip
        assert answer.status == 200, answer.body
        found[user] = answer.body["token"]
    return found


def api(
    platform: Platform, token: str, method: str, path: str, body: Any = None,
    headers: dict[str, str] | None = None,
) -> Answer:  # fmt: skip
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Authorization": f"Bearer {token}", **(headers or {})}
    if data is not None:
        sent["Content-Type"] = "application/json"
    return http(method, platform.url("console", path), data, sent)


def eventually(ask: Callable[[], Answer], holds: Callable[[Answer], bool]) -> Answer:
    deadline = time.monotonic() + 15
    while True:
        answer = ask()
        if holds(answer):
            return answer
        assert time.monotonic() < deadline, answer.body
        time.sleep(0.1)


def walk_in(**extra: Any) -> dict[str, Any]:
    """A walk-in of a citizen of its own: the same one again would be a repeat, graded up."""
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    return {
        "line": "hotline", "form": "visit", "citizen": {"name": "张阿姨", "phone": phone},
        "content": f"化工厂排污,气味刺鼻 {uuid.uuid4().hex[:6]}",
        "category": "environment.pollution", "address": "城关街道幸福社区5号楼", **extra,
    }  # fmt: skip


def register(platform: Platform, token: str, body: Any, key: str | None = None) -> Answer:
    headers = {"Idempotency-Key": key} if key else None
    return api(platform, token, "POST", "/api/v1/cases", body, headers)


def leaves_the_revisits(platform: Platform, token: str, case_id: str) -> None:
    """The case is no longer on the 待回访 list (its revisit was recorded)."""
    eventually(
        lambda: api(platform, token, "GET", "/api/v1/revisits?page_size=200"),
        lambda a: case_id not in [e["case_id"] for e in a.body["items"]],
    )


def case_of(platform: Platform, token: str, case_id: str, status: str) -> dict[str, Any]:
    answer = eventually(
        lambda: api(platform, token, "GET", f"/api/v1/cases/{case_id}"),
        lambda a: a.status == 200 and a.body["status"] == status,
    )
    return dict(answer.body)


def test_a_walk_in_goes_the_one_way_and_is_mine(platform: Platform, tokens: dict[str, str]) -> None:
    operator = tokens["operator"]
    citizen = {"name": "张阿姨", "phone": "13800001111"}
    made = register(platform, operator, walk_in(citizen=citizen), key=f"k-{uuid.uuid4()}")
    assert made.status == 201, made.body
    case_id = made.body["case_id"]
    assert (made.body["source"], made.body["received_by"]) == ("centre", "operator")

    # dispatch made it from case.received: source centre and received_by travelled with it
    case = case_of(platform, operator, case_id, "dispatched")
    assert (case["source"], case["received_by"], case["channel"]) == (
        "centre",
        "operator",
        "hotline",
    )
    assert case["assignee"]["code"] == "D-HBJ"
    assert case["citizen"] == {"name": "张阿姨", "phone": "138****1111"}
    assert case["address"] == "城关街道幸福社区5号楼"
    assert case["details"] == {"form": "visit"}
    assert "13800001111" not in json.dumps(case)

    mine = api(platform, operator, "GET", "/api/v1/cases?received_by=me").body
    assert case_id in [c["case_id"] for c in mine["items"]]
    theirs = api(platform, tokens["admin"], "GET", "/api/v1/cases?received_by=me").body
    assert case_id not in [c["case_id"] for c in theirs["items"]]


def test_the_same_key_answers_the_same_case(platform: Platform, tokens: dict[str, str]) -> None:
    operator, key, body = tokens["operator"], f"k-{uuid.uuid4()}", walk_in()
    first = register(platform, operator, body, key)
    again = register(platform, operator, body, key)
    assert (first.status, again.status) == (201, 201)
    assert again.body["case_id"] == first.body["case_id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = register(platform, operator, body, f"k-{uuid.uuid4()}")
    assert other.body["case_id"] != first.body["case_id"]


def test_a_matter_handled_at_the_desk_is_concluded_and_counted(
    platform: Platform, tokens: dict[str, str]
) -> None:
    operator = tokens["operator"]
    before = api(platform, operator, "GET", "/api/v1/screen").body["handled_at_desk"]
    made = register(platform, operator, walk_in(handled_at_desk={"result": "当场解答政策"}))
    assert made.status == 201, made.body
    case = case_of(platform, operator, made.body["case_id"], "concluded")
    assert case["assignee"] is None
    assert case["details"]["handled_at_desk"] == "当场解答政策"
    assert [s["action"] for s in case["timeline"]] == ["conclude_at_desk"]
    eventually(
        lambda: api(platform, operator, "GET", "/api/v1/screen"),
        lambda a: a.body["handled_at_desk"] == before + 1 and a.body["received_at_desk"] >= 1,
    )


def test_a_grid_matter_waits_for_a_revisit_by_phone(
    platform: Platform, tokens: dict[str, str]
) -> None:
    operator = tokens["operator"]
    body = walk_in(line="grid", citizen={"name": "李大爷"}, handled_at_desk={"result": "已协调"})
    case_id = register(platform, operator, body).body["case_id"]
    case_of(platform, operator, case_id, "concluded")

    waiting = eventually(
        lambda: api(platform, operator, "GET", "/api/v1/revisits?page_size=200"),
        lambda a: case_id in [e["case_id"] for e in a.body["items"]],
    )
    [entry] = [e for e in waiting.body["items"] if e["case_id"] == case_id]
    assert entry["due_at"] > entry["concluded_at"] and not entry["overdue"]
    assert entry["citizen"]["name"] == "李大爷" and entry["received_by"] == "operator"
    assert api(platform, tokens["hbj"], "GET", "/api/v1/revisits").status == 403

    revisit = {"satisfaction": "satisfied", "note": "电话回访:群众满意"}
    done = api(platform, operator, "POST", f"/api/v1/cases/{case_id}/revisit", revisit)
    assert (done.status, done.body["status"]) == (200, "closed")
    leaves_the_revisits(platform, operator, case_id)


def test_the_receiver_is_told_when_the_case_is_concluded(
    platform: Platform, tokens: dict[str, str]
) -> None:
    operator, hbj = tokens["operator"], tokens["hbj"]
    case_id = register(platform, operator, walk_in()).body["case_id"]
    case_of(platform, operator, case_id, "dispatched")
    assert api(platform, hbj, "POST", f"/api/v1/cases/{case_id}/accept").status == 200
    concluded = api(platform, hbj, "POST", f"/api/v1/cases/{case_id}/conclude",
                    {"result": "已责令企业整改"})  # fmt: skip
    assert concluded.status == 200, concluded.body

    notices = eventually(
        lambda: api(platform, operator, "GET", "/api/v1/me/notices"),
        lambda a: case_id in [n["case_id"] for n in a.body["items"]],
    ).body
    [notice] = [n for n in notices["items"] if n["case_id"] == case_id]
    assert "已责令企业整改" in notice["text"] and not notice["read"]
    assert case_id not in [
        n["case_id"] for n in api(platform, hbj, "GET", "/api/v1/me/notices").body["items"]
    ]
    read = api(platform, operator, "POST", f"/api/v1/me/notices/{notice['notice_id']}/read")
    assert read.status == 204
    again = api(platform, operator, "GET", "/api/v1/me/notices").body
    assert [n["read"] for n in again["items"] if n["case_id"] == case_id] == [True]


def test_bad_registrations_are_refused_naming_each_field(
    platform: Platform, tokens: dict[str, str]
) -> None:
    operator = tokens["operator"]
    bad = walk_in(line="fax", form="pigeon", content="", citizen={"phone": "123"})
    refused = register(platform, operator, bad)
    assert refused.status == 422
    named = {tuple(e["loc"]) for e in refused.body["errors"]}
    assert {("line",), ("form",), ("content",), ("citizen", "phone")} <= named

    unknown = register(platform, operator, walk_in(category="no.such"))
    assert (unknown.status, unknown.body["errors"][0]["loc"]) == (422, ["category"])
    assert register(platform, tokens["hbj"], walk_in()).status == 403
    mine = api(platform, operator, "GET", "/api/v1/cases?received_by=me&page_size=200").body
    assert all(c["content"] != "" for c in mine["items"])  # nothing half-written


def test_a_person_regrades_the_risk_saying_why_and_the_change_is_published(
    platform: Platform, tokens: dict[str, str]
) -> None:
    """DESIGN 1.1, clocks and risk: ``POST /api/v1/cases/{id}/regrade`` → the case JSON and
    ``case.risk_changed`` with ``from``, ``to``, ``reason``, ``by``; a reason is required."""
    operator = tokens["operator"]
    tap = EventTap(platform.settings.amqp_uri, "case.risk_changed")
    try:
        case_id = register(platform, operator, walk_in()).body["case_id"]
        before = case_of(platform, operator, case_id, "dispatched")["risk"]
        to = "red" if before != "red" else "yellow"
        path = f"/api/v1/cases/{case_id}/regrade"
        unexplained = api(platform, operator, "POST", path, {"risk": to, "reason": " "})
        assert (unexplained.status, unexplained.body["errors"][0]["loc"]) == (422, ["reason"])
        assert api(platform, tokens["hbj"], "POST", path, {"risk": to, "reason": "x"}).status in (
            403, 404,
        )  # fmt: skip
        done = api(platform, operator, "POST", path, {"risk": to, "reason": "来电人情绪激动"})
        assert (done.status, done.body["risk"], done.body["case_id"]) == (200, to, case_id)
        event = tap.wait_for("case.risk_changed", case_id)
        assert event["data"] == {"from": before, "to": to, "reason": "来电人情绪激动",
                                 "by": "operator"}  # fmt: skip
        again = api(platform, operator, "POST", path, {"risk": to, "reason": "再次确认"})
        assert again.status == 409
    finally:
        tap.close()


def test_a_petition_at_the_desk_names_the_unit_it_accuses_and_is_kept_from_it(
    platform: Platform, tokens: dict[str, str]
) -> None:
    """回避 from the desk: the picker offers the departments by their Chinese names, and a
    petition registered accusing the 信访局 (where a petition goes) is suggested to the level
    above instead."""
    operator = tokens["operator"]
    departments = api(platform, operator, "GET", "/api/v1/departments")
    assert departments.status == 200
    names = {d["code"]: d["name"] for d in departments.body}
    assert names["D-XFJ"] == "县信访局"
    body = walk_in(line="petition", form="letter", accused_unit="D-XFJ")
    made = register(platform, operator, body)
    assert made.status == 201, made.body
    case = case_of(platform, operator, made.body["case_id"], "pending_dispatch")
    assert case["suggestion"]["code"] == "D-ZZB"
    assert case["routing_rule"] == "avoidance"
