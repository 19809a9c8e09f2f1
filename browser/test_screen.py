"""中心大屏 and 一单考评 in Chromium: after a week of cases went through the platform, the wall
at 1920×1080 shows non-zero trends, hot spots and rankings, the county's map with today's
points and a ticker, with no element outside the viewport and no scrolling; the assessment
page draws its charts and drills down to the cases behind a figure.

The week is made of the platform's own events published with past times on the services'
exchanges (the services' clocks cannot be moved from here), beside cases submitted today."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pika
from playwright.sync_api import Browser, expect

from browser.conftest import Running
from browser.test_console_ui import log_in, opinion_item
from contracts.events import (
    CASE_CLOSED,
    CASE_CONCLUDED,
    CASE_DISPATCHED,
    CASE_ESCALATED,
    CASE_RECEIVED,
    SLA_OVERDUE,
    Assignee,
    CaseClosed,
    CaseConcluded,
    CaseDispatched,
    CaseEscalated,
    CaseReceived,
    Deadlines,
    Reporter,
    SlaOverdue,
)

WALL = {"width": 1920, "height": 1080}
# the centre's desk (直办) second: every day's cases include one
LINES = [("hotline", "hotline"), ("petition", "centre"), ("grid", "gridapp"),
         ("opinion", "opinion"), ("petition", "petition")]  # fmt: skip


def get(platform: Running, path: str, token: str) -> Any:
    request = urllib.request.Request(f"{platform.console}{path}",
                                     headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=20) as answer:
        return json.loads(answer.read())


def token_of(platform: Running, user: str) -> str:
    body = json.dumps({"username": user, "password": user}).encode()
    headers = {"Content-Type": "application/json"}
    login = f"{platform.console}/api/v1/auth/login"
    request = urllib.request.Request(login, body, headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return str(json.loads(answer.read())["token"])


def a_point_in(feature: dict[str, Any]) -> dict[str, float]:
    ring = feature["geometry"]["coordinates"][0][0]
    lon = sum(p[0] for p in ring) / len(ring)
    lat = sum(p[1] for p in ring) / len(ring)
    return {"lat": lat, "lon": lon}


RISKS = ("blue", "yellow", "red")


def a_case(case: str, at: datetime, n: int, feature: dict[str, Any], unit: Assignee,
           territory: dict[str, str]) -> list[tuple[str, Any]]:  # fmt: skip
    """One case's events, by the exchange they go out on: received, dispatched, concluded
    (the second of a day late) and closed (the third unsatisfied)."""
    line, source = LINES[n % len(LINES)]
    received = CaseReceived(
        channel=line, source=source, external_id=case, reporter=Reporter(),
        content="楼道堆物影响通行", category="environment.pollution", received_at=at,
        location=a_point_in(feature), risk=RISKS[n % 3],
    )  # fmt: skip
    limits = Deadlines(
        respond_by=at + timedelta(hours=2), feedback_by=at + timedelta(hours=24),
        resolve_by=at + timedelta(minutes=20 if n == 1 else 600),
    )  # fmt: skip
    dispatched = CaseDispatched(
        assignee=unit, level="grid", deadlines=limits, dispatched_by="auto",
        territory=territory, risk=RISKS[n % 3],
    )  # fmt: skip
    done = at + timedelta(minutes=25)
    answer = "unsatisfied" if n == 2 else "satisfied"
    return [
        ("intake.events", CASE_RECEIVED.new(received, case, at)),
        ("dispatch.events", CASE_DISPATCHED.new(dispatched, case, at)),
        ("dispatch.events", CASE_CONCLUDED.new(CaseConcluded(result="已清理", by="w"), case, done)),
        ("dispatch.events", CASE_CLOSED.new(CaseClosed(satisfaction=answer, by="op"), case, done)),
    ]


def a_week_of_history(platform: Running, streets: list[dict[str, Any]], token: str) -> int:
    """Cases of the last seven days through their steps, as the services publish them."""
    units = "/api/v1/grid/units?level={}&limit=2000"
    communities = {u["parent"]: u["code"] for u in get(platform, units.format("community"), token)}
    grids = {u["parent"]: u["code"] for u in get(platform, units.format("grid"), token)}
    connection = pika.BlockingConnection(pika.URLParameters(platform.env["AMQP_URI"]))
    channel = connection.channel()
    channel.confirm_delivery()
    now, sent = datetime.now(UTC), 0
    for back in range(6, -1, -1):
        for n in range(3 + back % 3):
            feature = streets[(back + n) % len(streets)]
            street, name = feature["properties"]["code"], feature["properties"]["name"]
            community = communities[street]
            territory = {"street": street, "community": community, "grid": grids[community]}
            unit = Assignee(kind="grid", code=territory["grid"], name=name)
            case, at = f"CF-SCR{uuid.uuid4().hex[:8]}", now - timedelta(days=back, minutes=30 + n)
            events = a_case(case, at, n, feature, unit, territory)
            if back == 0 and n == 0:  # today, one late and escalated: the ticker
                late = SlaOverdue(clock="respond", due_at=at, assignee=unit)
                climbed = CaseEscalated(from_level="grid", to_level="street", reason="超时未签收",
                                        unit=name)  # fmt: skip
                events += [("supervision.events", SLA_OVERDUE.new(late, case, at)),
                           ("dispatch.events", CASE_ESCALATED.new(climbed, case, at))]  # fmt: skip
            for exchange, envelope in events:
                channel.basic_publish(exchange, envelope.type, envelope.model_dump_json().encode(),
                                      pika.BasicProperties(content_type="application/json",
                                                           delivery_mode=2))  # fmt: skip
            sent += 1
    connection.close()
    return sent


OVERFLOWING = """() => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.left < -1 || r.top < -1 || r.right > innerWidth + 1 || r.bottom > innerHeight + 1) {
      const at = [r.left, r.top, r.right, r.bottom].map(Math.round).join(',');
      out.push(`${el.tagName}.${el.className} ${at}`);
    }
  }
  const root = document.scrollingElement;
  if (root.scrollHeight > innerHeight || root.scrollWidth > innerWidth) out.push('page scrolls');
  return out;
}"""


def number(value: str | None) -> int:
    return int(value or 0)


def test_the_wall_shows_a_living_week_within_1920_by_1080(
    browser: Browser, platform: Running, screenshots: Path
) -> None:
    token = token_of(platform, "admin")
    streets = get(platform, "/api/v1/screen/map?level=street", token)["features"]
    assert streets, "the demo county has streets"
    a_week_of_history(platform, streets, token)
    opinion_item(platform, "某小区门口积水严重，居民出行困难")  # and one through intake today

    wall = log_in(browser, platform, "admin", WALL)
    wall.goto(f"{platform.console}/#/screen")
    trend7 = wall.get_by_test_id("screen-trend-7-chart")
    expect(trend7).to_have_attribute("data-total", re.compile(r"^[1-9]\d*$"), timeout=30_000)
    assert number(
        wall.get_by_test_id("screen-trend-30-chart").get_attribute("data-total")
    ) >= number(trend7.get_attribute("data-total"))
    expect(wall.get_by_test_id("ranking-row").first).to_be_visible(timeout=15_000)
    assert number(wall.get_by_test_id("screen-hot-streets-chart").get_attribute("data-total")) > 0
    assert number(wall.get_by_test_id("screen-categories-chart").get_attribute("data-total")) > 0
    map_box = wall.get_by_test_id("screen-map")
    expect(map_box).not_to_have_attribute("data-regions", "0", timeout=15_000)
    assert number(map_box.get_attribute("data-points")) > 0
    assert number(wall.get_by_test_id("screen-desk").text_content()) > 0
    expect(wall.get_by_test_id("screen-ticker")).to_contain_text("超时")
    expect(wall.locator("[data-testid=screen-map] canvas").first).to_be_visible()
    wall.wait_for_timeout(1000)  # the charts' first animation
    assert wall.evaluate(OVERFLOWING) == []
    wall.screenshot(path=str(screenshots / "big-screen.png"))

    desk = log_in(browser, platform, "admin")
    desk.goto(f"{platform.console}/#/assessment")
    chart = desk.get_by_test_id("assessment-chart")
    expect(chart).not_to_have_attribute("data-units", "0", timeout=20_000)
    expect(desk.get_by_test_id("assessment-trend")).to_have_attribute(
        "data-months", "6", timeout=20_000
    )
    desk.wait_for_timeout(800)
    desk.screenshot(path=str(screenshots / "assessment.png"), full_page=True)
    drill = desk.locator("[data-testid^=drill-]").first
    unit = (drill.get_attribute("data-testid") or "").removeprefix("drill-")
    drill.click()
    expect(desk).to_have_url(re.compile(rf"#/mine\?unit={unit}&from="))
    expect(desk.get_by_test_id("search-unit")).to_have_value(unit)
    expect(desk.get_by_test_id("mine-table")).to_be_visible()
