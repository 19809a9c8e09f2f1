"""``civicflow demo --history 2d`` on a real broker and SQLite: two days go through the
platform (a replay takes minutes of moved clock; the same flow on PostgreSQL is the integration
tests'), after which the services started as ``civicflow up`` would start them show a living
county: the big screen's trend is not zero, the map has markers of open cases, the assessment
has units with dispatched cases, and a second run adds nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kernel.calendar import SHANGHAI
from tests.support.harness import Processes, http, platform_env, temporary_vhost

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

SHOWN = ("grid", "dispatch", "supervision", "console")
COUNT = "SELECT count(*) FROM submissions WHERE external_id LIKE 'HIST-%'"


@pytest.fixture(scope="module")
def after_a_week(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Processes]:
    with ExitStack() as stack:
        uri = stack.enter_context(temporary_vhost())
        data = tmp_path_factory.mktemp("history")
        platform = Processes(platform_env(uri, data), data)
        platform.civicflow("migrate")
        platform.civicflow("demo", "--history", "2d", timeout=900)
        stack.callback(platform.stop)
        for service in SHOWN:
            platform.start(service)
        yield platform


def as_admin(platform: Processes, path: str) -> Any:
    [console] = platform.service_urls("console")
    body = json.dumps({"username": "admin", "password": "admin"}).encode()
    login = http("POST", f"{console}/api/v1/auth/login", body,
                 {"Content-Type": "application/json"})  # fmt: skip
    answer = http("GET", f"{console}{path}", None,
                  {"Authorization": f"Bearer {login.body['token']}"})  # fmt: skip
    assert answer.status == 200, answer.body
    return answer.body


def test_the_screens_week_is_not_zero_day_after_day(after_a_week: Processes) -> None:
    screen = as_admin(after_a_week, "/api/v1/screen")
    week = screen["trend_7"]
    assert len(week) == 7
    assert sum(day["received"] for day in week) > 5
    # yesterday at least (today may have just begun: a first run just after midnight)
    assert week[-2]["received"] > 0
    assert screen["hot_streets"], "the week's hot spots"


def test_the_map_has_markers_of_open_cases(after_a_week: Processes) -> None:
    markers = as_admin(after_a_week, "/api/v1/map/cases")["items"]
    assert markers
    assert {m["risk"] for m in markers} <= {"red", "yellow", "blue"}


def test_the_assessment_counted_the_weeks_dispatches(after_a_week: Processes) -> None:
    # yesterday's month: within the two days even on the first of a month
    month = (datetime.now(UTC) - timedelta(days=1)).astimezone(SHANGHAI).strftime("%Y-%m")
    rows = as_admin(after_a_week, f"/api/v1/assessment?period={month}")
    assert sum(row.get("dispatched", 0) for row in rows) > 0


def test_the_week_left_cases_in_every_step_of_the_work(after_a_week: Processes) -> None:
    # (every status, pending and merged included, is planned over a month: test_history.py)
    statuses = {s for (s,) in after_a_week.rows("dispatch", "SELECT status FROM cases")}
    assert len(statuses) >= 3, statuses  # two days leave cases at several steps


def test_a_second_run_adds_nothing(after_a_week: Processes) -> None:
    [(before,)] = after_a_week.rows("intake", COUNT)
    assert before > 5
    after_a_week.civicflow("demo", "--history", "2d", timeout=900)
    assert after_a_week.rows("intake", COUNT) == [(before,)]
