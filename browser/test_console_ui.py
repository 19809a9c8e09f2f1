"""The centre's day in the browser: an operator clears a case from the pending queue with one
click, it goes late and shows on the overdue board, the department signs for it and concludes
it, and it leaves the board. Screenshots of the main pages are saved under var/screenshots."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from browser.conftest import Running
from tests.support.harness import signed_headers

DESK = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def opinion_item(platform: Running, content: str) -> str:
    """A public-opinion item: it waits for one click, with a suggestion."""
    item = {
        "item_id": f"O-{uuid.uuid4().hex[:8]}", "platform": "weibo",
        "published_at": "2026-11-21T09:00:00+08:00", "content": content,
    }  # fmt: skip
    body = json.dumps(item).encode()
    request = urllib.request.Request(
        f"{platform.intake}/api/v1/opinion/items",
        body,
        signed_headers(body, "opinion"),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return str(json.loads(answer.read())["case_id"])


def log_in(browser: Browser, platform: Running, user: str, viewport: dict[str, int] = DESK) -> Page:
    page = browser.new_page(viewport=viewport, locale="zh-CN")
    page.goto(f"{platform.console}/#/login")
    page.get_by_test_id("login-username").fill(user)
    page.get_by_test_id("login-password").fill(user)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-submit")).to_have_count(0)  # on to the landing page
    return page


def test_one_click_then_late_then_concluded_leaves_the_board(
    browser: Browser, platform: Running, screenshots: Path
) -> None:
    case_id = opinion_item(platform, "化工厂夜间偷排污水,河水发黑发臭")
    operator = log_in(browser, platform, "operator")
    operator.goto(f"{platform.console}/#/queue")
    row = operator.get_by_test_id(f"case-row-{case_id}")
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("生态环境")  # the suggestion
    operator.screenshot(path=str(screenshots / "queue.png"))
    operator.get_by_test_id(f"dispatch-{case_id}").click()  # 一键派单
    expect(row).to_have_count(0)

    department = log_in(browser, platform, "hbj")
    department.goto(f"{platform.console}/#/board")
    late = department.get_by_test_id(f"board-case-{case_id}")
    expect(late).to_be_visible(timeout=20_000)  # four seconds to sign, then the board, live
    expect(department.get_by_test_id("live")).to_have_attribute("data-live", "on")
    department.screenshot(path=str(screenshots / "board.png"))

    department.goto(f"{platform.console}/#/cases/{case_id}")
    expect(department.get_by_test_id("case-status")).to_have_text("已派单")
    department.get_by_test_id("action-accept").click()
    expect(department.get_by_test_id("case-status")).to_have_text("已签收")
    department.get_by_test_id("action-feedback").click()
    department.get_by_test_id("field-note").fill("已到现场核查,企业已停产整改")
    department.get_by_test_id("action-submit").click()
    expect(department.get_by_test_id("case-status")).to_have_text("办理中")
    department.get_by_test_id("action-conclude").click()
    department.get_by_test_id("action-submit").click()  # no result yet: the form says so
    expect(department.get_by_test_id("form-errors")).to_be_visible()
    department.get_by_test_id("field-result").fill("排污口已封堵,执法部门立案查处")
    department.get_by_test_id("action-submit").click()
    expect(department.get_by_test_id("case-status")).to_have_text("已办结")
    expect(department.get_by_test_id("timeline")).to_contain_text("hbj")
    department.screenshot(path=str(screenshots / "case.png"), full_page=True)

    department.goto(f"{platform.console}/#/board")
    expect(department.get_by_test_id(f"board-case-{case_id}")).to_have_count(0, timeout=15_000)


def test_the_main_pages_render_on_a_desk_and_a_phone(
    browser: Browser, platform: Running, screenshots: Path
) -> None:
    admin = log_in(browser, platform, "admin")
    for route, testid, name in (
        ("map", "county-map", "map"), ("assessment", "assessment-period", "assessment"),
        ("admin", "admin-users", "admin"), ("screen", "screen", "screen"),
    ):  # fmt: skip
        admin.goto(f"{platform.console}/#/{route}")
        expect(admin.get_by_test_id(testid)).to_be_visible(timeout=10_000)
        time.sleep(0.5)  # let the figures and drawings settle for the picture
        admin.screenshot(path=str(screenshots / f"{name}.png"))
    phone = log_in(browser, platform, "hbj", PHONE)
    phone.goto(f"{platform.console}/#/mine")
    expect(phone.get_by_test_id("mine-total")).to_be_visible()
    phone.screenshot(path=str(screenshots / "mine-phone.png"))
    login = browser.new_page(viewport=DESK)
    login.goto(f"{platform.console}/#/login")
    login.get_by_test_id("login-username").fill("admin")
    login.get_by_test_id("login-password").fill("wrong")
    login.get_by_test_id("login-submit").click()
    expect(login.get_by_test_id("login-error")).to_contain_text("登录失败")
