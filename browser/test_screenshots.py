"""The README's screenshots, taken from the demo's history: ``civicflow demo --history`` (7d
here; the README's were taken after 30d), then every service as ``civicflow up`` starts them,
and Chromium at the pages a county centre looks at: the map zoomed out and into a grid, the big
screen at 1920×1080, the assessment, a case on a phone. On the way it checks that the history
shows: the screen's 7-day trend is not zero, the map has markers of open cases.

Regenerate the README's (a few minutes):

    CIVICFLOW_SCREENSHOT_HISTORY=30d CIVICFLOW_SCREENSHOTS_DIR=docs/screenshots \\
        .venv/bin/pytest browser/test_screenshots.py
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from browser.conftest import SCREENSHOTS, Running
from browser.test_console_ui import PHONE, log_in
from browser.test_screen import OVERFLOWING, WALL
from civicflow.history import parse_span
from kernel.calendar import SHANGHAI
from tests.support.harness import ALL_SERVICES, Processes, platform_env, temporary_vhost

HISTORY = os.environ.get("CIVICFLOW_SCREENSHOT_HISTORY", "7d")
OUT = Path(os.environ.get("CIVICFLOW_SCREENSHOTS_DIR", SCREENSHOTS))
WIDE = {"width": 1600, "height": 900}


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("history")
    with temporary_vhost() as uri:
        platform = Processes(platform_env(uri, folder), folder)
        platform.civicflow("migrate")
        # a month takes minutes on a busy machine: more than a one-shot command is given
        subprocess.run([sys.executable, "-m", "civicflow", "demo", "--history", HISTORY],
                       env=platform.env, cwd=platform.env["PYTHONPATH"], check=True,
                       timeout=1800)  # fmt: skip
        try:
            for service in ALL_SERVICES:
                platform.start(service)
            [console], [intake] = platform.service_urls("console"), platform.service_urls("intake")
            yield Running(console, intake, platform.env)
        finally:
            platform.stop()


@pytest.fixture(scope="module")
def out() -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT


def history_days() -> int:
    return parse_span(HISTORY)


def api(platform: Running, path: str) -> Any:
    body = json.dumps({"username": "admin", "password": "admin"}).encode()
    login = urllib.request.Request(f"{platform.console}/api/v1/auth/login", body,
                                   {"Content-Type": "application/json"}, method="POST")  # fmt: skip
    with urllib.request.urlopen(login, timeout=20) as answer:
        token = json.loads(answer.read())["token"]
    asked = urllib.request.Request(f"{platform.console}{path}",
                                   headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    with urllib.request.urlopen(asked, timeout=30) as answer:
        return json.loads(answer.read())


def open_map(browser: Browser, platform: Running) -> Page:
    page = log_in(browser, platform, "admin", WIDE)
    page.goto(f"{platform.console}/#/map")
    drawn = page.get_by_test_id("county-map")
    expect(drawn).to_have_attribute("data-ready", "true", timeout=30_000)
    return page


def busiest_grid(platform: Running, markers: list[dict[str, Any]]) -> tuple[str, str]:
    """The grid with the most open cases of the history: (code, name)."""
    grids: Counter[tuple[str, str]] = Counter()
    for marker in markers[:60]:
        case = api(platform, f"/api/v1/cases/{marker['case_id']}")
        grids.update((p["code"], p["name"]) for p in case["place"] if p.get("level") == "grid")
    assert grids, "open cases placed in grids"
    return grids.most_common(1)[0][0]


def open_panel(page: Page, name: str) -> None:
    """A click on the grid flown to, which fills the view: in the middle, else beside it (a
    marker may stand in the middle)."""
    box = page.get_by_test_id("county-map").bounding_box()
    assert box is not None
    for x, y in ((0.5, 0.5), (0.42, 0.6), (0.58, 0.4), (0.4, 0.4), (0.6, 0.6)):
        page.mouse.click(box["x"] + box["width"] * x, box["y"] + box["height"] * y)
        shown = page.get_by_test_id("map-panel-name")
        try:
            expect(shown).to_have_text(name, timeout=3_000)
            return
        except AssertionError:
            page.keyboard.press("Escape")  # a marker's popup, if one opened
    expect(page.get_by_test_id("map-panel-name")).to_have_text(name)


def test_the_map_of_the_month_zoomed_out_and_into_a_grid(
    browser: Browser, month: Running, out: Path
) -> None:
    markers = api(month, "/api/v1/map/cases")["items"]
    assert markers, "the history leaves open cases with a place"
    page = open_map(browser, month)
    expect(page.get_by_test_id("county-map")).to_have_attribute("data-cases", str(len(markers)))
    page.wait_for_timeout(800)  # the heat layer and the clusters
    page.screenshot(path=str(out / "month-map.png"))

    code, name = busiest_grid(month, markers)
    page.get_by_test_id("map-search").fill(name)
    page.get_by_test_id(f"map-search-result-{code}").click()
    expect(page.get_by_test_id(f"map-label-{code}")).to_be_visible(timeout=10_000)
    open_panel(page, name)
    expect(page.locator("[data-testid^=map-panel-case-]").first).to_be_visible()
    page.wait_for_timeout(500)
    page.screenshot(path=str(out / "month-map-grid.png"))


def test_the_big_screen_after_the_month(browser: Browser, month: Running, out: Path) -> None:
    wall = log_in(browser, month, "admin", WALL)
    wall.goto(f"{month.console}/#/screen")
    trend7 = wall.get_by_test_id("screen-trend-7-chart")
    expect(trend7).to_have_attribute("data-total", re.compile(r"^[1-9]\d*$"), timeout=30_000)
    trend30 = wall.get_by_test_id("screen-trend-30-chart")
    assert int(trend30.get_attribute("data-total") or 0) >= int(
        trend7.get_attribute("data-total") or 0
    )
    expect(wall.get_by_test_id("ranking-row").first).to_be_visible(timeout=15_000)
    expect(wall.get_by_test_id("screen-map")).not_to_have_attribute("data-regions", "0")
    wall.wait_for_timeout(1500)  # the charts' first animation
    assert wall.evaluate(OVERFLOWING) == []
    wall.screenshot(path=str(out / "month-screen.png"))


def test_the_assessment_of_the_month(browser: Browser, month: Running, out: Path) -> None:
    desk = log_in(browser, month, "admin", WIDE)
    desk.goto(f"{month.console}/#/assessment")
    chart = desk.get_by_test_id("assessment-chart")
    expect(chart).not_to_have_attribute("data-units", "0", timeout=20_000)
    # the month holding the middle of the history (this month may have begun yesterday)
    middle = datetime.now(UTC) - timedelta(days=history_days() // 2)
    period = middle.astimezone(SHANGHAI).strftime("%Y-%m")
    desk.get_by_test_id("assessment-period").fill(period)
    desk.get_by_test_id("assessment-kind").select_option("department")  # the most cases each
    desk.get_by_test_id("assessment-submit").click()
    expect(desk.locator(".page-head h2 small")).to_have_text(period, timeout=20_000)
    expect(chart).not_to_have_attribute("data-units", "0", timeout=20_000)
    trend = desk.get_by_test_id("assessment-trend")
    expect(trend).to_have_attribute("data-months", "6", timeout=20_000)
    desk.wait_for_timeout(1000)
    desk.screenshot(path=str(out / "month-assessment.png"))


def test_a_case_of_the_month_on_a_phone(browser: Browser, month: Running, out: Path) -> None:
    # a case that went round: concluded, revisited unsatisfied, worked again and closed
    closed = api(month, "/api/v1/cases?status=closed&page_size=30")["items"]
    cases = [api(month, f"/api/v1/cases/{c['case_id']}") for c in closed]
    chosen = max(cases, key=lambda case: len(case["timeline"]))
    case_id = chosen["case_id"]
    phone = log_in(browser, month, "admin", PHONE)
    phone.goto(f"{month.console}/#/cases/{case_id}")
    expect(phone.get_by_test_id("case-id")).to_have_text(case_id)
    expect(phone.get_by_test_id("timeline-entry").first).to_be_visible()
    phone.wait_for_timeout(500)
    phone.screenshot(path=str(out / "month-case-phone.png"))
