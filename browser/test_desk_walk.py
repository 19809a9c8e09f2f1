"""A whole matter at the centre's desk, in the browser: the phone operator registers a walk-in
from the keyboard alone (登记), it is dispatched, the department feeds back with a 现场照片 and
concludes, the operator revisits the citizen by phone (待回访), then finds the case by a word
and by the phone number on 我的工单 and downloads the export. Screenshots for the README go to
docs/screenshots/."""

from __future__ import annotations

import csv
import io
import time
import uuid
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from browser.conftest import Running
from browser.test_console_ui import log_in
from tests.support import sample_files
from tests.support.harness import REPO

README_SHOTS = REPO / "docs" / "screenshots"
# a landline: no SMS can reach it, so the revisit waits for the operator's call (待回访)
LANDLINE = "0531-8888 6666"
LANDLINE_MASKED = "053****6666"


def register_from_the_keyboard(page: Page, word: str) -> str:
    """Tab from field to field, type, and press Enter: no mouse. Answers the new case's id."""
    page.get_by_test_id("desk-line").focus()  # 12345热线, as it comes
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowUp")  # 来电 → 来访: the citizen stands at the window
    expect(page.get_by_test_id("desk-form-kind")).to_have_value("visit")
    page.keyboard.press("Tab")
    page.keyboard.type("王秀兰")
    page.keyboard.press("Tab")
    page.keyboard.type(LANDLINE)
    page.keyboard.press("Tab")
    page.keyboard.type(f"小区旁边的{word}作坊夜间偷排废水，河水发黑发臭")
    page.keyboard.press("Tab")
    page.keyboard.type("环境污染")  # the category found by its Chinese name
    page.keyboard.press("Tab")
    page.keyboard.type("城关街道河滨路12号")
    expect(page.get_by_test_id("desk-category")).to_have_value("环境污染")
    page.screenshot(path=str(README_SHOTS / "desk-register.png"))
    page.keyboard.press("Tab")  # 直办: not this time
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("desk-submit")).to_be_focused()
    page.keyboard.press("Enter")
    made = page.get_by_test_id("desk-made")
    expect(made).to_contain_text("已进入流转", timeout=15_000)
    return made.get_by_role("link").inner_text().strip()


def test_a_walk_in_from_the_desk_to_the_export(browser: Browser, platform: Running) -> None:
    README_SHOTS.mkdir(parents=True, exist_ok=True)
    word = f"豆腐{uuid.uuid4().int % 10_000:04d}"  # a word no other case holds
    operator = log_in(browser, platform, "operator")
    operator.goto(f"{platform.console}/#/desk")
    case_id = register_from_the_keyboard(operator, word)
    assert case_id.startswith("CF")

    operator.goto(f"{platform.console}/#/cases/{case_id}")
    expect(operator.get_by_test_id("case-received-by")).to_have_text("operator")
    expect(operator.get_by_test_id("case-category")).to_have_text("环境污染")  # not its code
    expect(operator.get_by_test_id("case-citizen")).to_contain_text("王秀兰")
    expect(operator.get_by_test_id("case-citizen")).not_to_contain_text("8888")  # masked
    status = operator.get_by_test_id("case-status")
    expect(status).to_have_text("已派单", timeout=15_000)  # a category given: routed on its own
    expect(operator.get_by_test_id("case-assignee")).to_contain_text("生态环境")

    department = log_in(browser, platform, "hbj")
    department.goto(f"{platform.console}/#/cases/{case_id}")
    expect(department.get_by_test_id("case-status")).to_have_text("已派单")
    department.get_by_test_id("action-accept").click()
    expect(department.get_by_test_id("case-status")).to_have_text("已签收")
    department.get_by_test_id("action-feedback").click()
    department.get_by_test_id("photo-input").set_input_files(files=[
        {"name": "排污口.jpg", "mimeType": "image/jpeg", "buffer": sample_files.jpeg()},
    ])  # fmt: skip
    expect(department.get_by_test_id("photo-sent")).to_have_text("排污口.jpg")
    department.get_by_test_id("field-note").fill("已到现场，作坊已停产，排污口临时封堵")
    department.get_by_test_id("action-submit").click()
    expect(department.get_by_test_id("case-status")).to_have_text("办理中")
    expect(department.get_by_test_id("attachment-thumb")).to_have_count(1)
    department.get_by_test_id("note-text").fill("业主承诺三日内拆除排污管，已约定复查")
    department.get_by_test_id("note-submit").click()
    expect(department.get_by_test_id("note")).to_contain_text("约定复查")
    department.get_by_test_id("action-conclude").click()
    department.get_by_test_id("field-result").fill("排污管已拆除，复查河水恢复正常")
    department.get_by_test_id("action-submit").click()
    expect(department.get_by_test_id("case-status")).to_have_text("已办结")
    expect(department.get_by_test_id("attachment-thumb")).to_have_js_property("complete", True)
    department.evaluate("window.scrollTo(0, 0)")  # the sticky bar at the top of the picture
    department.screenshot(path=str(README_SHOTS / "desk-case.png"), full_page=True)

    operator.goto(f"{platform.console}/#/revisits")
    row = operator.get_by_test_id(f"revisit-row-{case_id}")
    for _ in range(30):  # the 待回访 clock starts when supervision hears of the conclusion
        if row.count():
            break
        time.sleep(0.5)
        operator.reload()
    expect(row).to_be_visible()
    expect(row).to_contain_text(LANDLINE_MASKED)
    row.get_by_test_id("revisit-satisfaction").select_option("basically_satisfied")
    row.get_by_test_id("revisit-note").fill("群众表示基本满意，希望加强夜间巡查")
    row.get_by_test_id("revisit-submit").click()
    expect(row).to_have_count(0)

    operator.goto(f"{platform.console}/#/cases/{case_id}")
    expect(operator.get_by_test_id("timeline")).to_contain_text("基本满意", timeout=15_000)

    operator.goto(f"{platform.console}/#/mine")
    operator.get_by_test_id("search-q").fill(word)
    operator.get_by_test_id("search-go").click()
    expect(operator.get_by_test_id(f"case-row-{case_id}")).to_be_visible()
    expect(operator.get_by_test_id("mine-total")).to_have_text("1")
    operator.get_by_test_id("search-q").fill("")
    operator.get_by_test_id("search-phone").fill("053188886666")  # written another way
    operator.get_by_test_id("search-go").click()
    expect(operator.get_by_test_id(f"case-row-{case_id}")).to_be_visible()
    expect(operator.get_by_test_id("mine-total")).to_have_text("1")
    operator.screenshot(path=str(README_SHOTS / "desk-search.png"), full_page=True)

    with operator.expect_download() as started:
        operator.get_by_test_id("export-csv").click()
    download = started.value
    assert download.suggested_filename.endswith(".csv")
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, cases = rows[0], rows[1:]
    assert header[:3] == ["工单编号", "受理时间", "渠道"] and "联系电话" in header
    assert [r[0] for r in cases] == [case_id]  # the search's one case, not the whole list
    found = dict(zip(header, cases[0], strict=True))
    assert found["联系电话"] == LANDLINE_MASKED and "8888" not in raw.decode("utf-8-sig")
    assert word in found["诉求内容"] and found["事项分类"] == "环境污染"
    assert found["状态"] in ("已办结", "已办结归档")
