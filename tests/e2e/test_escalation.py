"""格呼街应、街呼区应 end to end: a grid report nobody answers climbs grid → community → street
by itself, each level with clocks of its own and its supervisors named, then stops at the
ladder's limit. Intake, grid, dispatch and supervision run against a real broker."""

from __future__ import annotations

import dataclasses
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from prometheus_client import REGISTRY

from civicflow.demo import load_demo
from tests.support.harness import (
    CONFIG_DIR,
    EventTap,
    Platform,
    migrate_all,
    running,
    settings_for_test,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

# a grid report must be answered within a second here; a grid or community waits one more
# second past its limit before the level above takes the case; two climbs at most; this county
# puts its communities on the ladder (via_community)
SLA = """\
default: {respond: PT2H, feedback: PT24H, resolve: P5D}
warn_at: 0.5
overrides:
  - when: {channel: grid}
    respond: PT1S
escalation:
  max_levels: 2
  via_community: yes
  ladder: {grid: PT1S, community: PT1S}
"""


@pytest.fixture
def platform(vhost_uri: str, tmp_path: Path) -> Iterator[Platform]:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "sla.yml").write_text(SLA, encoding="utf-8")
    settings = dataclasses.replace(
        settings_for_test(vhost_uri, tmp_path), config_dir=config, supervision_tick_seconds=0.2
    )
    with running(settings, ["intake", "grid", "dispatch", "supervision"]) as platform:
        migrate_all(settings, ["console"])  # the demo brings its users too
        load_demo(settings)
        yield platform


def test_an_unanswered_grid_report_climbs_to_the_street_and_stops_there(
    platform: Platform,
) -> None:
    tap = EventTap(platform.settings.amqp_uri)
    with ClusterRpcProxy({"AMQP_URI": platform.settings.amqp_uri}, timeout=10) as cluster:
        grid = cluster.grid.units(level="grid", limit=1)[0]
        report = {
            "report_id": f"R-{uuid.uuid4().hex[:8]}", "reported_at": "2026-11-21T09:00:00+08:00",
            "grid_code": grid["code"], "reporter_id": "W-1", "content": "邻里因占道堆放杂物争吵",
            "category": "dispute.neighbour",
        }  # fmt: skip
        answer = platform.submit("/api/v1/grid/reports", report, source="gridapp")
        case_id = answer.body["case_id"]
        first = tap.wait_for("case.dispatched", case_id)["data"]
        up = wait_for_count(tap, "case.escalated", case_id, 2, timeout=30)
        street = wait_for_count(tap, "case.dispatched", case_id, 2, timeout=10)[-1]["data"]
        # the street's own limit passes too, and later scans find it nowhere to climb: the
        # ladder says two climbs only
        wait_for_overdue_at(tap, case_id, "street")
        scans_pass(10)
        escalations = tap.of_type("case.escalated", case_id)
        overdue = tap.of_type("sla.overdue", case_id)
        chain = {u["level"]: u for u in cluster.grid.chain(grid["code"])}
        supervisors = {
            level: sorted(
                p["person_id"] for p in cluster.grid.staff(chain[level]["code"], "supervisor")
            )
            for level in ("community", "street")
        }
        case = cluster.dispatch.get_case(case_id)
        clocks = cluster.supervision.clocks_of(case_id)
    tap.close()
    assert (first["level"], first["assignee"]["code"]) == ("grid", grid["code"])
    climbs = [(e["data"]["from_level"], e["data"]["to_level"], e["data"]["by"]) for e in up]
    assert climbs == [("grid", "community", "supervision"), ("community", "street", "supervision")]
    assert len(escalations) == 2
    assert [e["data"]["unit"] for e in up] == [chain["community"]["code"], chain["street"]["code"]]
    assert [sorted(e["data"]["supervisors"]) for e in up] == [
        supervisors["community"], supervisors["street"]
    ]  # fmt: skip
    assert all(supervisors.values())
    # the street takes it (its lead department, dispatched at once) with clocks of its own
    assert (
        street["level"] == "street" and street["dispatched_by"] == "auto"
    )  # DESIGN: auto or a user id
    assert (case["status"], case["level"]) == ("dispatched", "street")
    assert [e["data"]["level"] for e in overdue if e["data"]["clock"] == "respond"] == [
        "grid", "community", "street"
    ]  # fmt: skip
    by_level = {(c["level"], c["kind"]): c["state"] for c in clocks}
    assert by_level[("grid", "respond")] == "cancelled"
    assert by_level[("community", "respond")] == "cancelled"
    assert by_level[("street", "respond")] == "open"  # overdue, and nowhere left to climb
    assert by_level[("street", "resolve")] == "open"


def wait_for_count(
    tap: EventTap, event_type: str, case_id: str, count: int, timeout: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(found := tap.of_type(event_type, case_id)) < count:
        assert time.monotonic() < deadline, (event_type, count, [e["type"] for e in tap.seen])
        time.sleep(0.05)
    return found


def wait_for_overdue_at(tap: EventTap, case_id: str, level: str) -> None:
    deadline = time.monotonic() + 10
    while not any(
        e["data"]["level"] == level and e["data"]["clock"] == "respond"
        for e in tap.of_type("sla.overdue", case_id)
    ):
        assert time.monotonic() < deadline, f"no overdue respond limit at {level}"
        time.sleep(0.05)


def scans_pass(count: int) -> None:
    """Wait for ``count`` more scans of supervision's clocks (the services run in this process)."""

    def done() -> float:
        return REGISTRY.get_sample_value("civicflow_clock_scans_total") or 0.0

    wanted, deadline = done() + count, time.monotonic() + 10
    while done() < wanted:
        assert time.monotonic() < deadline, f"{count} scans did not pass in 10 s"
        time.sleep(0.05)
