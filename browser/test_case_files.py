"""Notes and files on the case page, in the browser: a department adds an internal note,
uploads a document and sees its thumbnail, feeds back with a 现场照片; on a phone the
conclusion's photo picker opens the rear camera. Screenshots under var/screenshots."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from pathlib import Path

from playwright.sync_api import Browser, expect

from browser.conftest import Running
from browser.test_console_ui import DESK, PHONE, log_in
from tests.support import sample_files
from tests.support.harness import signed_headers


def dispatched_hotline_case(platform: Running) -> str:
    """A pollution matter: routed to 生态环境 (user hbj) on its own."""
    ticket = {"ticket_no": f"T-{uuid.uuid4().hex[:10]}", "received_at": "2026-11-21T10:00:00+08:00",
              "caller": {"phone": "13911113333"}, "content": "河边小作坊夜间偷排废水",
              "category": "environment.pollution"}  # fmt: skip
    body = json.dumps(ticket).encode()
    request = urllib.request.Request(f"{platform.intake}/api/v1/hotline/tickets", body,
                                     signed_headers(body, "hotline"), method="POST")  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:
        case_id = str(json.loads(answer.read())["case_id"])
    time.sleep(1)  # routed in well under a second; the page below waits for it anyway
    return case_id


def test_notes_files_and_site_photos_on_the_case_page(
    browser: Browser, platform: Running, screenshots: Path
) -> None:
    case_id = dispatched_hotline_case(platform)
    page = log_in(browser, platform, "hbj", DESK)
    page.goto(f"{platform.console}/#/cases/{case_id}")
    expect(page.get_by_test_id("case-status")).to_have_text("已派单", timeout=15_000)
    page.get_by_test_id("action-accept").click()
    expect(page.get_by_test_id("case-status")).to_have_text("已签收")

    page.get_by_test_id("note-text").fill("当事人情绪激动，上门时请两人同行")
    page.get_by_test_id("note-submit").click()
    expect(page.get_by_test_id("note")).to_contain_text("两人同行")
    expect(page.get_by_test_id("note")).to_contain_text("hbj")

    page.get_by_test_id("attachment-input").set_input_files(files=[
        {"name": "排污口平面图.png", "mimeType": "image/png", "buffer": sample_files.png()},
        {"name": "执法通知书.pdf", "mimeType": "application/pdf", "buffer": sample_files.pdf()},
    ])  # fmt: skip
    expect(page.get_by_test_id("attachment")).to_have_count(2)
    expect(page.get_by_test_id("attachment-thumb")).to_have_count(1)  # the PDF has none
    thumb = page.get_by_test_id("attachment-thumb")
    expect(thumb).to_have_js_property("complete", True)
    assert thumb.evaluate("img => img.naturalWidth") == 320

    page.get_by_test_id("attachment-input").set_input_files(files=[
        {"name": "说是照片.jpg", "mimeType": "image/jpeg", "buffer": sample_files.html_page()},
    ])  # fmt: skip
    expect(page.get_by_test_id("attachment-error")).to_contain_text("照片或")
    expect(page.get_by_test_id("attachment")).to_have_count(2)  # nothing kept

    page.get_by_test_id("action-feedback").click()
    page.get_by_test_id("photo-input").set_input_files(files=[
        {"name": "现场照片.jpg", "mimeType": "image/jpeg", "buffer": sample_files.jpeg()},
    ])  # fmt: skip
    expect(page.get_by_test_id("photo-sent")).to_have_text("现场照片.jpg")
    page.get_by_test_id("field-note").fill("已到现场，排污口已临时封堵")
    page.get_by_test_id("action-submit").click()
    expect(page.get_by_test_id("case-status")).to_have_text("办理中")
    expect(page.get_by_test_id("attachment")).to_have_count(3)
    expect(page.get_by_test_id("case-files")).to_contain_text("用于：反馈")
    page.screenshot(path=str(screenshots / "case-files.png"), full_page=True)

    phone = browser.new_page(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    phone.goto(f"{platform.console}/#/login")
    phone.get_by_test_id("login-username").fill("hbj")
    phone.get_by_test_id("login-password").fill("hbj")
    phone.get_by_test_id("login-submit").click()
    expect(phone.get_by_test_id("login-submit")).to_have_count(0)
    phone.goto(f"{platform.console}/#/cases/{case_id}")
    phone.get_by_test_id("action-conclude").click()
    camera = phone.get_by_test_id("photo-input")
    expect(camera).to_have_attribute("accept", "image/*")
    expect(camera).to_have_attribute("capture", "environment")
    phone.screenshot(path=str(screenshots / "conclude-phone.png"))
