"""Dispatch with a real broker, the demo county and the console's action API: the four lines
routed into their tiers, one click and batch, return, escalation, extension, co-handling,
verification and revisits, replays and concurrent hands."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from civicflow.demo import load_demo
from kernel.clock import ManualClock
from tests.support.harness import Answer, EventTap, Platform, http, running, settings_for_test

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

SERVICES = ["intake", "grid", "dispatch", "supervision", "console"]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """One platform for the module: each test works on cases of its own. Its clock stands
    still until a test moves it."""
    from tests.conftest import BASE_AMQP_URI
    from tests.support.harness import temporary_vhost

    data = tmp_path_factory.mktemp("dispatch")
    with temporary_vhost(BASE_AMQP_URI) as vhost:
        clock = ManualClock(datetime.now(UTC))
        settings = dataclasses.replace(settings_for_test(vhost, Path(data)), clock=clock)
        with running(settings, SERVICES) as platform:
            load_demo(settings)
            yield platform


@pytest.fixture
def tap(platform: Platform) -> Iterator[EventTap]:
    tap = EventTap(platform.settings.amqp_uri)
    yield tap
    tap.close()


@pytest.fixture(scope="module")
def token(platform: Platform) -> str:
    answer = http(
        "POST", platform.url("console", "/api/v1/auth/login"),
        json.dumps({"username": "admin", "password": "admin"}).encode(),
        {"Content-Type": "application/json"},
    )  # fmt: skip
    return str(answer.body["token"])


def console(
    platform: Platform, token: str, method: str, path: str, body: Any = None, **headers: str
) -> Answer:
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Authorization": f"Bearer {token}", **headers}
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    return http(method, platform.url("console", path), data, all_headers)


def act(platform: Platform, token: str, case_id: str, action: str, body: Any = None,
        **headers: str) -> Answer:  # fmt: skip
    return console(platform, token, "POST", f"/api/v1/cases/{case_id}/{action}", body, **headers)


def case_of(platform: Platform, token: str, case_id: str, status: str | None = None) -> Any:
    """The console's view, waiting (briefly) until routing has made the case."""
    deadline = time.monotonic() + 10
    while True:
        answer = console(platform, token, "GET", f"/api/v1/cases/{case_id}")
        if answer.status == 200 and (status is None or answer.body["status"] == status):
            return answer.body
        assert time.monotonic() < deadline, (case_id, answer.body)
        time.sleep(0.05)


def unit(platform: Platform, token: str, level: str, parent: str | None = None) -> Any:
    query = f"level={level}&limit=1" + (f"&parent={parent}" if parent else "")
    return console(platform, token, "GET", f"/api/v1/grid/units?{query}").body[0]


def hotline(platform: Platform, content: str, **extra: Any) -> str:
    ticket = {
        "ticket_no": f"T-{uuid.uuid4().hex[:10]}", "received_at": "2026-11-21T10:00:00+08:00",
        "caller": {"phone": f"139{uuid.uuid4().int % 10**8:08d}"}, "content": content, **extra,
    }  # fmt: skip
    answer = platform.submit("/api/v1/hotline/tickets", ticket)
    assert answer.status == 202, answer.body
    return str(answer.body["case_id"])


def street_address(platform: Platform, token: str) -> tuple[str, str]:
    street = unit(platform, token, "street")
    community = unit(platform, token, "community", street["code"])
    return street["code"], f"{street['name']}{community['name']}5号楼"


# --- the four lines into their tiers ---


def test_a_street_matter_stays_in_the_street(platform: Platform, token: str) -> None:
    street, address = street_address(platform, token)
    case_id = hotline(
        platform, "楼下夜间施工噪音扰民", category="environment.noise", address=address
    )
    case = case_of(platform, token, case_id, "dispatched")
    assert case["level"] == "street" and case["assignee"]["code"] == "S-001"
    assert case["routing_rule"] == "big_matters_stay_in_the_street"
    assert street in [u["code"] for u in case["place"]]
    assert case["timeline"][-1]["actor"] == "auto"


def test_a_county_matter_goes_to_the_county_department(platform: Platform, token: str) -> None:
    case_id = hotline(platform, "化工厂排污", category="environment.pollution")
    case = case_of(platform, token, case_id, "dispatched")
    assert (case["level"], case["assignee"]["code"]) == ("district", "D-HBJ")
    assert case["routing_rule"] == "hard_matters_to_the_county"


def test_a_grid_report_of_a_small_matter_goes_to_its_own_grid(
    platform: Platform, token: str, tap: EventTap
) -> None:
    grid = unit(platform, token, "grid")
    report = {
        "report_id": f"R-{uuid.uuid4().hex[:8]}", "reported_at": "2026-11-21T09:00:00+08:00",
        "grid_code": grid["code"], "reporter_id": "W-1", "content": "邻里因占道堆放杂物争吵",
        "category": "dispute.neighbour",
    }  # fmt: skip
    case_id = platform.submit("/api/v1/grid/reports", report, source="gridapp").body["case_id"]
    dispatched = tap.wait_for("case.dispatched", case_id)["data"]
    assert dispatched["assignee"] == {"kind": "grid", "code": grid["code"], "name": grid["name"]}
    assert dispatched["level"] == "grid"


def test_opinion_and_petition_wait_for_one_click_with_a_suggestion(
    platform: Platform, token: str
) -> None:
    item = {
        "item_id": f"O-{uuid.uuid4().hex[:8]}", "platform": "weibo",
        "published_at": "2026-11-21T09:00:00+08:00", "content": "某工地拖欠工资,工人讨薪",
    }  # fmt: skip
    opinion_id = platform.submit("/api/v1/opinion/items", item, source="opinion").body["case_id"]
    petition = {
        "petition_no": f"P-{uuid.uuid4().hex[:8]}", "form": "visit",
        "filed_at": "2026-11-21T09:00:00+08:00", "petitioners": [{"name": "李某"}],
        "content": "征地补偿款未发放",
    }  # fmt: skip
    petition_id = platform.submit("/api/v1/petitions", petition, source="petition").body["case_id"]
    opinion = case_of(platform, token, opinion_id, "pending_dispatch")
    assert opinion["category"] == "labour.wage_arrears" and opinion["suggestion"]
    assert "关键词" in opinion["routing_reason"]
    petition_case = case_of(platform, token, petition_id, "pending_dispatch")
    assert petition_case["suggestion"]["code"] == "D-XFJ"
    assert petition_case["routing_rule"] == "petitions_to_the_bureau"

    clicked = act(platform, token, petition_id, "dispatch")  # the one click
    assert clicked.status == 200 and clicked.body["assignee"]["code"] == "D-XFJ"
    chosen = act(platform, token, opinion_id, "dispatch", {"assignee": "D-RSJ"})
    assert chosen.status == 200 and chosen.body["assignee"]["code"] == "D-RSJ"
    assert chosen.body["timeline"][-1]["actor"] == "admin"


def test_a_petition_accusing_the_bureau_is_never_routed_to_it(
    platform: Platform, token: str, tap: EventTap
) -> None:
    """回避, intake to dispatch: the petition names the 信访局 as the unit it accuses, so the
    case is suggested to the level above (the county's centre, routing.yml ``avoidance``) and
    the decision says why; the accused unit travels on case.received."""
    petition = {
        "petition_no": f"P-{uuid.uuid4().hex[:8]}", "form": "letter",
        "filed_at": "2026-11-21T09:00:00+08:00", "petitioners": [{"name": "王某"}],
        "content": "反映县信访局工作人员推诿，来信三个月无答复", "accused_unit": "D-XFJ",
    }  # fmt: skip
    answer = platform.submit("/api/v1/petitions", petition, source="petition")
    assert answer.status == 202, answer.body
    case_id = answer.body["case_id"]
    assert tap.wait_for("case.received", case_id)["data"]["accused_unit"] == "D-XFJ"
    case = case_of(platform, token, case_id, "pending_dispatch")
    assert case["suggestion"]["code"] == "D-ZZB"
    assert case["routing_rule"] == "avoidance"
    assert case["routing_reason"].startswith("回避：信访件反映县信访局，不交其办理，交上一级")


def test_batch_dispatch_clicks_many_at_once(platform: Platform, token: str) -> None:
    waiting = [hotline(platform, "隔壁广场舞太吵") for _ in range(3)]
    for case_id in waiting:
        case_of(platform, token, case_id, "pending_dispatch")
    answer = console(platform, token, "POST", "/api/v1/cases/dispatch",
                     {"case_ids": [*waiting, "CF000000-NOSUCH"]})  # fmt: skip
    assert answer.status == 200
    assert [(a["case_id"], a["ok"]) for a in answer.body] == [
        *((case_id, True) for case_id in waiting),
        ("CF000000-NOSUCH", False),
    ]
    assert all(case_of(platform, token, c)["status"] == "dispatched" for c in waiting)


def test_routing_and_actions_take_their_time_from_the_platform_clock(
    platform: Platform, token: str, tap: EventTap
) -> None:
    clock = platform.settings.clock
    assert isinstance(clock, ManualClock)
    routed_at = clock.advance(timedelta(minutes=7))
    case_id = hotline(platform, "化工厂排污", category="environment.pollution")
    dispatched = tap.wait_for("case.dispatched", case_id)
    assert datetime.fromisoformat(dispatched["occurred_at"]) == routed_at
    respond_by = datetime.fromisoformat(dispatched["data"]["deadlines"]["respond_by"])
    accepted_at = clock.advance(timedelta(minutes=3))
    accepted = act(platform, token, case_id, "accept").body
    assert [datetime.fromisoformat(step["at"]) for step in accepted["timeline"]] == [
        routed_at,
        accepted_at,
    ]
    assert datetime.fromisoformat(accepted["deadlines"]["respond_by"]) == respond_by > routed_at


# --- the lifecycle through the console ---


def test_return_and_redispatch(platform: Platform, token: str, tap: EventTap) -> None:
    case_id = hotline(platform, "化工厂排污", category="environment.pollution")
    case_of(platform, token, case_id, "dispatched")
    assert act(platform, token, case_id, "return", {"reason": " "}).status == 422
    returned = act(platform, token, case_id, "return", {"reason": "不属本单位职责,应由城管处理"})
    assert returned.status == 200
    assert returned.body["status"] == "pending_dispatch" and returned.body["returns"] == 1
    assert tap.wait_for("case.returned", case_id)["data"]["assignee"]["code"] == "D-HBJ"
    again = act(platform, token, case_id, "dispatch", {"assignee": "D-CGJ"})
    assert again.body["status"] == "dispatched" and again.body["assignee"]["code"] == "D-CGJ"


def test_the_whole_walk_with_a_helper_a_reopen_and_a_close(
    platform: Platform, token: str, tap: EventTap
) -> None:
    case_id = hotline(platform, "小区旁工地扬尘", category="environment.pollution")
    case_of(platform, token, case_id, "dispatched")
    act(platform, token, case_id, "return", {"reason": "需要协办"})
    dispatched = act(platform, token, case_id, "dispatch",
                     {"assignee": "D-HBJ", "helpers": ["D-ZJJ"]}).body  # fmt: skip
    assert [h["code"] for h in dispatched["helpers"]] == ["D-ZJJ"]
    assert act(platform, token, case_id, "accept").body["status"] == "accepted"
    helper_sign = act(platform, token, case_id, "accept", {"on_behalf_of": "D-ZJJ"})
    assert helper_sign.body["status"] == "accepted"
    blocked = act(platform, token, case_id, "conclude", {"result": "已整改"})
    assert blocked.status == 409 and "县住房和城乡建设局" in blocked.body["errors"][0]["msg"]
    act(platform, token, case_id, "feedback", {"note": "已联系施工方"})
    act(platform, token, case_id, "conclude", {"result": "围挡已加装", "on_behalf_of": "D-ZJJ"})
    concluded = act(platform, token, case_id, "conclude", {"result": "已整改并洒水降尘"})
    assert concluded.body["status"] == "concluded"
    assert act(platform, token, case_id, "verify", {"passed": True}).body["status"] == "concluded"
    unhappy = act(platform, token, case_id, "revisit",
                  {"satisfaction": "unsatisfied", "note": "扬尘仍在"})  # fmt: skip
    assert unhappy.body["status"] == "in_progress" and unhappy.body["reopens"] == 1
    assert tap.wait_for("case.reopened", case_id)["data"]["reason"] == "扬尘仍在"
    act(platform, token, case_id, "conclude", {"result": "围挡已加装", "on_behalf_of": "D-ZJJ"})
    act(platform, token, case_id, "conclude", {"result": "增设喷淋"})
    closed = act(platform, token, case_id, "revisit", {"satisfaction": "satisfied"})
    assert closed.body["status"] == "closed"
    assert tap.wait_for("case.closed", case_id)["data"]["satisfaction"] == "satisfied"
    actions = [step["action"] for step in closed.body["timeline"]]
    assert actions[-4:] == ["revisit", "conclude_part", "conclude", "revisit"]


def test_escalation_moves_the_case_up_to_be_dispatched_there(
    platform: Platform, token: str, tap: EventTap
) -> None:
    _street, address = street_address(platform, token)
    case_id = hotline(platform, "施工噪音", category="environment.noise", address=address)
    case_of(platform, token, case_id, "dispatched")
    escalated = act(platform, token, case_id, "escalate", {"reason": "街道协调不了,需区里出面"})
    assert escalated.status == 200, escalated.body
    assert (escalated.body["status"], escalated.body["level"]) == ("pending_dispatch", "district")
    assert escalated.body["suggestion"]["code"] == "D-HBJ"
    event = tap.wait_for("case.escalated", case_id)["data"]
    assert (event["from_level"], event["to_level"]) == ("street", "district")
    redispatched = act(platform, token, case_id, "dispatch")
    assert redispatched.body["assignee"]["code"] == "D-HBJ"


def test_an_extension_moves_the_deadline_only_when_approved(platform: Platform, token: str) -> None:
    internal = EventTap(platform.settings.amqp_uri, "case.#", exchange="dispatch.events")
    case_id = hotline(platform, "化工厂排污", category="environment.pollution")
    before = case_of(platform, token, case_id, "dispatched")["deadlines"]
    act(platform, token, case_id, "accept")
    asked = act(platform, token, case_id, "extend", {"until": "2027-01-31T18:00:00+08:00",
                                                     "reason": "需第三方检测"})  # fmt: skip
    assert asked.status == 200 and asked.body["pending_extension"]["reason"] == "需第三方检测"
    assert asked.body["deadlines"] == before
    decided = act(platform, token, case_id, "extend", {"approve": True, "note": "同意"})
    assert decided.body["deadlines"]["resolve_by"].startswith("2027-01-31T10:00:00")
    assert decided.body["deadlines"]["respond_by"] == before["respond_by"]
    assert internal.wait_for("case.extension_decided", case_id)["data"]["approved"] is True
    assert (
        internal.wait_for("case.extension_requested", case_id)["data"]["reason"] == "需第三方检测"
    )
    internal.close()


def test_illegal_actions_say_where_the_case_is(platform: Platform, token: str) -> None:
    case_id = hotline(platform, "化工厂排污", category="environment.pollution")
    case_of(platform, token, case_id, "dispatched")
    refused = act(platform, token, case_id, "revisit", {"satisfaction": "satisfied"})
    assert refused.status == 409
    error = refused.body["errors"][0]
    assert error["status"] == "dispatched"
    assert set(error["allowed_actions"]) >= {"accept", "return", "escalate", "merge"}
    assert act(platform, token, case_id, "fly").status == 404
    assert act(platform, token, case_id, "verify", {"passed": "yes"}).status == 422


def test_a_replayed_command_changes_nothing_and_stale_hands_lose(
    platform: Platform, token: str
) -> None:
    case_id = hotline(platform, "化工厂排污", category="environment.pollution")
    version = case_of(platform, token, case_id, "dispatched")["version"]
    key = uuid.uuid4().hex
    first = act(platform, token, case_id, "feedback", {"note": "x"}, **{"Idempotency-Key": key})
    assert first.status == 409  # feedback before accept: refused, and not remembered
    accepted = act(platform, token, case_id, "accept", {"expected_version": version},
                   **{"Idempotency-Key": key})  # fmt: skip
    replay = act(platform, token, case_id, "accept", {"expected_version": version},
                 **{"Idempotency-Key": key})  # fmt: skip
    assert accepted.status == replay.status == 200
    assert replay.body["timeline"] == accepted.body["timeline"]
    stale = act(
        platform, token, case_id, "feedback", {"note": "迟到的", "expected_version": version}
    )
    assert stale.status == 409 and "version" in stale.body["errors"][0]["msg"]

    def conclude(note: str) -> int:
        fresh = case_of(platform, token, case_id)
        return act(platform, token, case_id, "conclude",
                   {"result": note, "expected_version": fresh["version"]}).status  # fmt: skip

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(conclude, ["甲办结", "乙办结"]))
    assert statuses == [200, 409]
    concluded = case_of(platform, token, case_id)
    assert [s["action"] for s in concluded["timeline"]].count("conclude") == 1


def test_a_supervisor_issues_an_order_and_the_unit_replies(platform: Platform, token: str) -> None:
    """督办 through the console: a yellow card on a dispatched case, its reply, the refusals."""
    case_id = hotline(platform, "化工厂排污", category="environment.pollution")
    case_of(platform, token, case_id, "dispatched")
    deadline = time.monotonic() + 10
    while (
        order := act(
            platform, token, case_id, "supervise", {"grade": "yellow", "note": "三日内办结"}
        )
    ).status == 404:
        assert time.monotonic() < deadline  # supervision follows the case once it hears of it
        time.sleep(0.1)  # fmt: skip
    assert order.status == 201, order.body
    assert (order.body["grade"], order.body["assignee"]["code"]) == ("yellow", "D-HBJ")
    assert order.body["issued_by"] == "admin"
    bad = act(platform, token, case_id, "supervise", {"grade": "purple"})
    assert bad.status == 422 and "grade" in str(bad.body)
    assert act(platform, token, "CF-NOSUCHCASE", "supervise", {"grade": "red"}).status == 404
    path = f"/api/v1/orders/{order.body['order_id']}/reply"
    replied = console(platform, token, "POST", path, {"reply": "已约谈企业负责人"})
    assert replied.status == 200 and replied.body["reply"] == "已约谈企业负责人"
    assert console(platform, token, "POST", path, {"reply": "again"}).status == 409
    # of the dispatch
    this_month = (
        platform.settings.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    )
    assessment = console(platform, token, "GET", f"/api/v1/assessment?period={this_month}")
    assert assessment.status == 200
    hbj = next(row for row in assessment.body if row["assignee_code"] == "D-HBJ")
    assert hbj["yellow_cards"] >= 1 and hbj["dispatched"] >= 1
    assert console(platform, token, "GET", "/api/v1/assessment?period=2026-13").status == 422
