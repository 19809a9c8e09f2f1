"""A fair score, the rest (issue 23 §4), through the console on a real broker: an on-site
resolution (就地化解) drawn for a spot revisit (抽查回访) waits on 待回访 and a bad answer
reopens it, counted against its grid; per-person figures are for supervisors and admins only;
an accountability record (问责记录) opened on a red card shows in the assessment.

On SQLite only: nothing here depends on the database (test_fair_score covers both)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from civicflow.demo import load_demo
from services.supervision.tallies import day_of
from tests.integration.test_desk import (
    api,
    case_of,
    eventually,
    leaves_the_revisits,
    register,
    walk_in,
)
from tests.support.harness import CONFIG_DIR, Platform, http, running, settings_for_test

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

SERVICES = ["intake", "grid", "dispatch", "supervision", "console"]
USERS = ("operator", "hbj", "grid", "street", "admin")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The demo county, every on-site resolution drawn for a spot check (share 1)."""
    from tests.conftest import BASE_AMQP_URI
    from tests.support.harness import temporary_vhost

    data = tmp_path_factory.mktemp("fairscore")
    config = data / "config"
    shutil.copytree(CONFIG_DIR, config)
    document = yaml.safe_load((config / "assessment.yml").read_text(encoding="utf-8"))
    document["on_site"] = {"spot_revisit": 1.0}
    (config / "assessment.yml").write_text(yaml.safe_dump(document), encoding="utf-8")
    with temporary_vhost(BASE_AMQP_URI) as vhost:
        settings = dataclasses.replace(settings_for_test(vhost, Path(data)), config_dir=config)
        with running(settings, SERVICES) as platform:
            load_demo(settings)
            yield platform


@pytest.fixture(scope="module")
def tokens(platform: Platform) -> dict[str, str]:
    found = {}
    for user in USERS:
        body = json.dumps({"username": user, "password": user}).encode()
        answer = http("POST", platform.url("console", "/api/v1/auth/login"), body,
                      {"Content-Type": "application/json"})  # fmt: skip
        assert answer.status == 200, answer.body
        found[user] = answer.body["token"]
    return found


def today(platform: Platform) -> str:
    return day_of(platform.settings.clock.now())


def test_a_bad_spot_revisit_reopens_an_on_site_resolution_against_its_grid(
    platform: Platform, tokens: dict[str, str]
) -> None:
    operator, admin = tokens["operator"], tokens["admin"]
    grid = api(platform, admin, "GET", "/api/v1/grid/units?level=grid&limit=1").body[0]
    report = {
        "report_id": f"R-{uuid.uuid4().hex[:8]}", "reported_at": "2026-11-21T09:00:00+08:00",
        "grid_code": grid["code"], "reporter_id": "W-1", "content": "邻里噪音纠纷，现场调解",
        "category": "dispute.neighbour", "resolved_on_site": True,
    }  # fmt: skip
    made = platform.submit("/api/v1/grid/reports", report, source="gridapp")
    assert made.status == 202, made.body
    case_id = made.body["case_id"]
    case_of(platform, operator, case_id, "resolved_on_site")

    # drawn (share 1): on the 待回访 list, marked as a spot check
    waiting = eventually(
        lambda: api(platform, operator, "GET", "/api/v1/revisits?page_size=200"),
        lambda a: case_id in [e["case_id"] for e in a.body["items"]],
    )
    [entry] = [e for e in waiting.body["items"] if e["case_id"] == case_id]
    assert entry["spot_check"] is True and entry["status"] == "resolved_on_site"

    revisit = {"satisfaction": "unsatisfied", "note": "电话抽查：问题仍在"}
    done = api(platform, operator, "POST", f"/api/v1/cases/{case_id}/revisit", revisit)
    assert (done.status, done.body["status"]) == (200, "pending_dispatch"), done.body

    # the grid was credited with the resolution, and the bad spot check counts against it
    period = today(platform)
    row = eventually(
        lambda: api(platform, admin, "GET", f"/api/v1/assessment?period={period}&kind=grid"),
        lambda a: any(r["assignee_code"] == grid["code"] and r["reopen_rate"] for r in a.body),
    ).body
    [counted] = [r for r in row if r["assignee_code"] == grid["code"]]
    assert counted["resolved_on_site"] >= 1 and counted["satisfaction_rate"] is not None
    assert counted["satisfaction_rate"] < 1.0
    leaves_the_revisits(platform, operator, case_id)


def test_per_person_figures_are_for_supervisors_and_admins_only(
    platform: Platform, tokens: dict[str, str]
) -> None:
    operator, hbj = tokens["operator"], tokens["hbj"]
    case_id = register(platform, operator, walk_in()).body["case_id"]
    case_of(platform, hbj, case_id, "dispatched")
    assert api(platform, hbj, "POST", f"/api/v1/cases/{case_id}/accept", {}).status == 200
    fed = api(platform, hbj, "POST", f"/api/v1/cases/{case_id}/feedback", {"note": "已到现场"})
    assert fed.status == 200, fed.body

    path = f"/api/v1/assessment/people?period={today(platform)}"
    for user in ("operator", "hbj", "grid"):
        refused = api(platform, tokens[user], "GET", path)
        assert refused.status == 403, (user, refused.body)
    for user in ("street", "admin"):
        rows = eventually(
            lambda user=user: api(platform, tokens[user], "GET", path),  # type: ignore[misc]
            lambda a: (
                a.status == 200 and any(r["person"] == "hbj" and r["fed_back"] >= 1 for r in a.body)
            ),
        ).body
        [mine] = [r for r in rows if r["person"] == "hbj"]
        assert (mine["role"], mine["unit_code"], mine["display"]) == (
            "handler",
            "D-HBJ",
            "市生态环境局县分局",
        )
        assert mine["signed"] >= 1 and mine["on_time"] >= 2  # signed and fed back in time
        assert all(r["person"] not in ("auto", "supervision") for r in rows)


def test_a_red_card_opens_an_accountability_record_shown_in_the_assessment(
    platform: Platform, tokens: dict[str, str]
) -> None:
    operator, supervisor, admin = tokens["operator"], tokens["street"], tokens["admin"]
    # a matter of 城关街道 (S-001), within its supervisor's reach
    street = api(platform, admin, "GET", "/api/v1/grid/units?level=street&limit=1").body[0]
    query = f"/api/v1/grid/units?level=community&parent={street['code']}&limit=1"
    community = api(platform, admin, "GET", query).body[0]
    place = f"{street['name']}{community['name']}5号楼"
    noise = walk_in(content=f"楼下夜间施工噪音扰民 {uuid.uuid4().hex[:6]}",
                    category="environment.noise", address=place)  # fmt: skip
    case_id = register(platform, operator, noise).body["case_id"]
    holder = case_of(platform, operator, case_id, "dispatched")["assignee"]

    def supervise(grade: str) -> str:
        path, order = f"/api/v1/cases/{case_id}/supervise", {"grade": grade, "note": "限期办结"}
        issued = eventually(lambda: api(platform, supervisor, "POST", path, order),
                            lambda a: a.status == 201)  # fmt: skip
        return str(issued.body["order_id"])

    yellow, red = supervise("yellow"), supervise("red")
    record = {"person": "张某", "what": "红牌督办逾期未整改", "decision": "通报批评"}
    not_red = api(platform, supervisor, "POST", f"/api/v1/orders/{yellow}/accountability", record)
    assert not_red.status == 422 and not_red.body["errors"][0]["loc"] == ["grade"], not_red.body
    forbidden = api(platform, tokens["hbj"], "POST", f"/api/v1/orders/{red}/accountability", record)
    assert forbidden.status == 403
    unknown = api(platform, supervisor, "POST", "/api/v1/orders/O-none/accountability", record)
    assert unknown.status == 404
    blank = api(platform, supervisor, "POST", f"/api/v1/orders/{red}/accountability",
                {**record, "decision": " "})  # fmt: skip
    assert blank.status == 422

    opened = api(platform, supervisor, "POST", f"/api/v1/orders/{red}/accountability", record)
    assert opened.status == 201, opened.body
    assert (opened.body["case_id"], opened.body["opened_by"]) == (case_id, "street")
    assert opened.body["assignee"]["code"] == holder["code"]

    listed = api(platform, supervisor, "GET",
                 f"/api/v1/assessment/accountability?period={today(platform)}").body  # fmt: skip
    [shown] = [r for r in listed if r["record_id"] == opened.body["record_id"]]
    assert (shown["person"], shown["what"], shown["decision"], shown["order_id"]) == (
        "张某",
        "红牌督办逾期未整改",
        "通报批评",
        red,
    )
