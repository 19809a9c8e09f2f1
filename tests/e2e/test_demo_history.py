"""``civicflow demo --history 7d`` on a real broker, SQLite and PostgreSQL: a week goes through
the platform, after which the services started as ``civicflow up`` would start them show a
living county — the big screen's 7-day trend is not zero, the map has markers of open cases,
the assessment has units with dispatched cases — and a second run adds nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kernel.calendar import SHANGHAI
from tests.support.databases import temporary_postgres
from tests.support.harness import Processes, http, platform_env, temporary_vhost

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

SHOWN = ("grid", "dispatch", "supervision", "console")
COUNT = "SELECT count(*) FROM submissions WHERE external_id LIKE 'HIST-%'"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def after_a_week(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[Processes]:  # fmt: skip
    with ExitStack() as stack:
        extra = {}
        if request.param == "postgresql":
            extra["DATABASE_URL"] = stack.enter_context(temporary_postgres())
        uri = stack.enter_context(temporary_vhost())
        data = tmp_path_factory.mktemp(f"history-{request.param}")
        platform = Processes(platform_env(uri, data, **extra), data)
        platform.civicflow("migrate")
        platform.civicflow("demo", "--history", "7d")
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
    assert sum(day["received"] for day in week) > 20
    assert sum(day["concluded"] for day in week) > 0
    # every day of the week but perhaps today (a first run just after midnight) had matters
    assert sum(day["received"] > 0 for day in week[:-1]) == 6
    assert screen["streets"], "the streets' ranking"


def test_the_map_has_markers_of_open_cases(after_a_week: Processes) -> None:
    markers = as_admin(after_a_week, "/api/v1/map/cases")["items"]
    assert markers
    assert {m["risk"] for m in markers} <= {"red", "yellow", "blue"}


def test_the_assessment_counted_the_weeks_dispatches(after_a_week: Processes) -> None:
    # the month of three days ago: within the week even on the first of a month
    month = (datetime.now(UTC) - timedelta(days=3)).astimezone(SHANGHAI).strftime("%Y-%m")
    rows = as_admin(after_a_week, f"/api/v1/assessment?period={month}")
    assert sum(row.get("dispatched", 0) for row in rows) > 0


def test_the_week_left_cases_in_every_step_of_the_work(after_a_week: Processes) -> None:
    # (every status, pending and merged included, is planned over a month: test_history.py)
    statuses = {s for (s,) in after_a_week.rows("dispatch", "SELECT status FROM cases")}
    assert statuses >= {"accepted", "in_progress", "concluded", "closed"}


def test_a_second_run_adds_nothing(after_a_week: Processes) -> None:
    [(before,)] = after_a_week.rows("intake", COUNT)
    assert before > 20
    after_a_week.civicflow("demo", "--history", "7d")
    assert after_a_week.rows("intake", COUNT) == [(before,)]
