"""网格地图 in a real browser, on the demo county: every unit's outline is drawn, the search flies
to a grid whose name then shows, a click on the grid opens its panel with its people, and the
open cases stand on the map as markers. The speed figures (first draw, frames while zooming
from the county to one grid) are printed: run with ``-s`` to see them."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from shapely.geometry import shape

from browser.conftest import Running
from browser.test_console_ui import log_in
from tests.support.harness import http, signed_headers

WIDE = {"width": 1600, "height": 900}
FRAMES_RECORDER = """() => {
  window.__frames = []; window.__recording = true;
  let last = performance.now();
  const tick = (now) => { window.__frames.push(now - last); last = now;
    if (window.__recording) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
}"""
LABEL_BOXES = """() => [...document.querySelectorAll('.map-label')].map((el) => {
  const r = el.getBoundingClientRect(); return [el.textContent, r.left, r.top, r.right, r.bottom];
})"""


@dataclass(frozen=True)
class County:
    token: str
    territory: dict[str, Any]
    grid: dict[str, Any]
    """A basic grid whose middle no exclusive grid covers: a click there is the grid's."""
    case_ids: list[str]


def console_api(platform: Running, token: str, path: str) -> Any:
    answer = http("GET", f"{platform.console}{path}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 200, answer.body
    return answer.body


def clear_grid(territory: dict[str, Any]) -> dict[str, Any]:
    exclusive = [shape(f["geometry"]) for f in territory["features"]
                 if f["properties"]["kind"] == "exclusive"]  # fmt: skip
    for feature in territory["features"]:
        if feature["properties"]["level"] != "grid" or feature["properties"]["kind"] != "basic":
            continue
        outline = shape(feature["geometry"])
        middle = outline.envelope.centroid
        if outline.contains(middle.buffer(0.002)) and not any(
            e.intersects(middle.buffer(0.002)) for e in exclusive
        ):
            return dict(feature)
    raise AssertionError("no grid clear of exclusive grids in the demo county")


def report_at(platform: Running, grid_code: str, lat: float, lon: float, content: str) -> str:
    report = {
        "report_id": f"R-{uuid.uuid4().hex[:8]}", "reported_at": "2026-11-21T09:00:00+08:00",
        "grid_code": grid_code, "reporter_id": "W-1", "content": content,
        "location": {"lat": lat, "lon": lon},
    }  # fmt: skip
    body = json.dumps(report).encode()
    answer = http("POST", f"{platform.intake}/api/v1/grid/reports", body,
                  signed_headers(body, "gridapp"))  # fmt: skip
    assert answer.status in (200, 201, 202), answer.body
    return str(answer.body["case_id"])


@pytest.fixture(scope="module")
def county(platform: Running) -> Iterator[County]:
    login = json.dumps({"username": "admin", "password": "admin"}).encode()
    answer = http("POST", f"{platform.console}/api/v1/auth/login", login,
                  {"Content-Type": "application/json"})  # fmt: skip
    token = answer.body["token"]
    territory = console_api(platform, token, "/api/v1/map/territory")
    grid = clear_grid(territory)
    west, south, east, north = shape(grid["geometry"]).bounds
    spots = [(south + (north - south) * f, west + (east - west) * g)
             for f, g in ((0.2, 0.2), (0.8, 0.25), (0.25, 0.8))]  # fmt: skip
    words = ("路灯损坏夜间无照明", "小区门口占道经营", "楼道堆放杂物堵塞通道")
    case_ids = [report_at(platform, grid["id"], lat, lon, text)
                for (lat, lon), text in zip(spots, words, strict=True)]  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = {c["case_id"] for c in console_api(platform, token, "/api/v1/map/cases")["items"]}
        if set(case_ids) <= shown:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the reported cases never showed as open cases on the map: {case_ids}")
    yield County(token, territory, grid, case_ids)


def open_map(browser: Browser, platform: Running) -> Page:
    page = log_in(browser, platform, "admin", WIDE)
    page.goto(f"{platform.console}/#/map")
    drawn = page.get_by_test_id("county-map")
    expect(drawn).to_have_attribute("data-ready", "true", timeout=30_000)
    return page


def overlapping(boxes: list[list[Any]]) -> list[tuple[str, str]]:
    return [(a[0], b[0]) for i, a in enumerate(boxes) for b in boxes[i + 1 :]
            if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]]  # fmt: skip


def fly_to(page: Page, name: str, code: str) -> None:
    page.get_by_test_id("map-search").fill(name)
    page.get_by_test_id(f"map-search-result-{code}").click()


def test_the_map_draws_every_unit_of_the_county(
    browser: Browser, platform: Running, county: County, screenshots: Path
) -> None:
    page = open_map(browser, platform)
    drawn = page.get_by_test_id("county-map")
    units = len(county.territory["features"])
    assert units > 3000  # the demo county: 1 + 10 + 60 + 620 + 2,407 units and 60 专属网格
    assert int(drawn.get_attribute("data-units") or 0) == units
    assert int(drawn.get_attribute("data-drawn") or 0) == units
    levels = {f["properties"]["level"] for f in county.territory["features"]}
    assert levels == {"district", "street", "community", "grid", "micro_grid"}
    # zoomed out, the streets are named and no label lies over another
    streets = [f for f in county.territory["features"] if f["properties"]["level"] == "street"]
    expect(page.get_by_test_id(f"map-label-{streets[0]['id']}")).to_be_visible()
    assert overlapping(page.evaluate(LABEL_BOXES)) == []
    expect(page.locator(".leaflet-control-layers")).to_contain_text("专属网格")
    page.screenshot(path=str(screenshots / "map.png"))
    print(f"\n[map] {units} units: territory loaded in {drawn.get_attribute('data-load-ms')} ms, "
          f"first draw in {drawn.get_attribute('data-first-draw-ms')} ms")  # fmt: skip


def test_the_search_flies_to_a_grid_whose_name_then_shows(
    browser: Browser, platform: Running, county: County
) -> None:
    page = open_map(browser, platform)
    name, code = county.grid["properties"]["name"], county.grid["id"]
    label = page.get_by_test_id(f"map-label-{code}")
    expect(label).to_have_count(0)  # the county is too big on screen for a grid's name
    page.evaluate(FRAMES_RECORDER)
    fly_to(page, name, code)
    expect(label).to_be_visible(timeout=10_000)
    expect(label).to_have_text(name)
    time.sleep(0.3)  # the frames after the flight: the redraw at the new zoom
    frames = page.evaluate("() => { window.__recording = false; return window.__frames; }")
    assert overlapping(page.evaluate(LABEL_BOXES)) == []
    busy = sorted(frames)
    p95 = busy[int(len(busy) * 0.95) - 1] if busy else 0.0
    print(f"\n[map] zoom county → grid {name}: {len(frames)} frames, "
          f"longest {max(frames):.1f} ms, p95 {p95:.1f} ms")  # fmt: skip


def test_a_click_on_a_grid_opens_its_panel_with_its_people(
    browser: Browser, platform: Running, county: County, screenshots: Path
) -> None:
    page = open_map(browser, platform)
    name, code = county.grid["properties"]["name"], county.grid["id"]
    fly_to(page, name, code)
    expect(page.get_by_test_id(f"map-label-{code}")).to_be_visible(timeout=10_000)
    page.get_by_test_id("county-map").click()  # the middle of the view: the grid flown to
    panel = page.get_by_test_id("map-panel")
    expect(page.get_by_test_id("map-panel-name")).to_have_text(name)
    people = console_api(platform, county.token, f"/api/v1/map/units/{code}")["people"]
    assert {p["role"] for p in people} >= {"grid_worker", "party_leader"}  # 一格四员
    rows = panel.locator("[data-testid^=map-person-]")
    expect(rows).to_have_count(len(people))
    for person in people:
        row = panel.get_by_test_id(f"map-person-{person['person_id']}")
        expect(row).to_contain_text(person["name"])
        if person["phone"]:
            expect(row).to_contain_text(re.compile(r"\d{3}\*{4}\d{4}"))
    expect(page.get_by_test_id("map-panel-phones")).to_contain_text("脱敏")
    for case_id in county.case_ids:  # its open cases, each a link to the case
        link = panel.get_by_test_id(f"map-panel-case-{case_id}")
        expect(link).to_have_attribute("href", f"#/cases/{case_id}")
    page.screenshot(path=str(screenshots / "map-grid.png"))


def test_markers_stand_for_the_open_cases(
    browser: Browser, platform: Running, county: County
) -> None:
    page = open_map(browser, platform)
    markers = console_api(platform, county.token, "/api/v1/map/cases")["items"]
    shown = page.get_by_test_id("county-map")
    expect(shown).to_have_attribute("data-cases", str(len(markers)))
    # zoomed out they gather into clusters
    gathered = page.locator("[data-testid=map-case-cluster], [data-testid^=map-case-]")
    expect(gathered.first).to_be_visible()
    page.get_by_role("checkbox", name="热力图").check()  # the same cases, as heat
    expect(page.locator("canvas.leaflet-heatmap-layer")).to_be_visible()
    fly_to(page, county.grid["properties"]["name"], county.grid["id"])
    for case_id in county.case_ids:
        marker = page.get_by_test_id(f"map-case-{case_id}")
        expect(marker).to_be_visible(timeout=10_000)
        risk = next(m["risk"] for m in markers if m["case_id"] == case_id)
        expect(marker).to_have_class(re.compile(f"risk-{risk}"))
    page.get_by_test_id(f"map-case-{county.case_ids[0]}").click()
    popup = page.locator(".leaflet-popup")
    expect(popup).to_contain_text(county.case_ids[0])
    popup.get_by_role("link").click()  # on to the case, whose small map shows where it is
    expect(page.get_by_test_id("case-id")).to_have_text(county.case_ids[0])
    expect(page.get_by_test_id("small-map")).to_have_attribute("data-ready", "true")
