"""Everything a person sees in the console is Chinese: every page of the navigation for every
role that sees it, the login page, a case page of each kind (waiting for a person, dispatched
with notes, files and a refusal shown, registered at the desk), and the refusals a clerk meets
(a bad number at the desk, a file that is no photo, a wrong password). A Latin-letter word on
screen fails the test unless it is one of the few things that are Latin by nature (below)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable

from playwright.sync_api import Browser, Page, expect

from browser.conftest import Running
from browser.test_case_files import dispatched_hotline_case
from browser.test_console_ui import log_in, opinion_item
from tests.support import sample_files

# What may be Latin, and only as a whole word:
ALLOWED = re.compile(
    r"CF\d{6}-[0-9A-HJKMNP-TV-Z]{6}"  # a case number, CF261121-7K3QX9
    r"|D-[A-Z]{2,5}|S-\d{3}"  # a department's or a street centre's code
    r"|\d{6,}(?:[A-Z]\d+)*"  # a territory unit's code, 370113001001Z01
)
# File formats, named as the programs a clerk opens them with name them: the upload refusal
# (照片或 PDF 文档) and the export buttons (导出 CSV, 导出 Excel).
FORMATS = ("JPEG", "PNG", "WebP", "PDF", "CSV", "Excel")
# Login names (admin, hbj, …) are the accounts' own identifiers, typed to sign in and shown as
# who did what; they are taken from the platform's user list, not from a pattern.
USERS = ("admin", "operator", "hbj", "zjj", "street", "grid")
# The files a user uploaded keep the names they were given.
UPLOADED = ("排污口平面图.png", "现场照片.jpg")
# 系统管理 shows the configuration files as they are on disk (read-only YAML), and the ids of the
# registered sources, which the administrator writes in sources.yml and in environment names.
RAW = "[data-testid=config-content], [data-testid=admin-sources] td[data-label=编码]"

WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")

VISIBLE_TEXT = """raw => {
  const shown = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const hidden = new Set([...document.querySelectorAll(raw)]);
  const parts = [];
  const walk = (node) => {
    if (hidden.has(node)) return;
    if (node.nodeType === Node.TEXT_NODE) { parts.push(node.textContent); return; }
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    if (['SCRIPT', 'STYLE', 'TEMPLATE', 'NOSCRIPT'].includes(node.tagName)) return;
    if (node.tagName === 'OPTION') { parts.push(node.textContent); return; }
    if (!shown(node) && node.tagName !== 'SELECT') return;
    for (const attr of ['placeholder', 'title', 'alt']) {
      if (node.getAttribute(attr)) parts.push(node.getAttribute(attr));
    }
    if (node.tagName === 'INPUT' && ['button', 'submit'].includes(node.type)) {
      parts.push(node.value);
    }
    node.childNodes.forEach(walk);
  };
  walk(document.body);
  parts.push(document.title);
  return parts.join('\\n');
}"""


def latin_words(text: str) -> set[str]:
    for name in UPLOADED:
        text = text.replace(name, " ")
    found = set()
    for word in WORD.findall(text):
        latin = re.search(r"[A-Za-z]", word)
        if latin and not ALLOWED.fullmatch(word) and word not in USERS + FORMATS:
            found.add(word)
    return found


def check(page: Page, where: str, problems: dict[str, set[str]]) -> None:
    page.wait_for_load_state("networkidle")
    expect(page.get_by_test_id("loading")).to_have_count(0, timeout=15_000)
    words = latin_words(page.evaluate(VISIBLE_TEXT, RAW))
    if words:
        problems[where] = words


def nav_routes(page: Page) -> list[str]:
    links = page.locator("[data-testid^=nav-]").evaluate_all(
        "links => links.map(a => a.getAttribute('href')).filter(Boolean)"
    )
    return [str(href) for href in links]


def walk_navigation(page: Page, console: str, who: str, problems: dict[str, set[str]]) -> None:
    routes = nav_routes(page)
    assert routes, f"{who} sees no navigation"
    for route in routes:
        page.goto(f"{console}/{route}")
        check(page, f"{who} {route}", problems)


def desk_case(page: Page, console: str) -> str:
    """A visit registered at the desk, after one refusal (a number that is no number)."""
    page.goto(f"{console}/#/desk")
    page.get_by_test_id("desk-phone").fill("12")
    page.get_by_test_id("desk-content").fill("楼上住户装修噪音持续到深夜")
    page.get_by_test_id("desk-category").fill("噪声扰民")
    page.get_by_test_id("desk-submit").click()
    expect(page.get_by_test_id("desk-error-citizen.phone")).to_be_visible()
    page.get_by_test_id("desk-phone").fill("13911114444")
    page.get_by_test_id("desk-submit").click()
    link = page.get_by_test_id("desk-made").get_by_role("link")
    expect(link).to_be_visible(timeout=15_000)
    return link.inner_text().strip()


def show_every_refusal(page: Page) -> None:
    """On a dispatched case page: a file that is no photo, an action with nothing filled in."""
    page.get_by_test_id("attachment-input").set_input_files(files=[
        {"name": "说是照片.jpg", "mimeType": "image/jpeg", "buffer": sample_files.html_page()},
    ])  # fmt: skip
    expect(page.get_by_test_id("attachment-error")).to_be_visible()


def case_page(page: Page, console: str, case_id: str, status: str) -> None:
    page.goto(f"{console}/#/cases/{case_id}")
    expect(page.get_by_test_id("case-status")).to_have_text(status, timeout=15_000)


def sources_sent(platform: Running) -> Iterable[str]:
    return [
        opinion_item(
            platform, f"化工厂夜间偷排污水，有人扬言要去堵路（{uuid.uuid4().int % 10_000}）"
        ),
    ]


def test_no_latin_word_on_any_page(browser: Browser, platform: Running) -> None:
    problems: dict[str, set[str]] = {}
    [waiting] = sources_sent(platform)
    hotline = dispatched_hotline_case(platform)

    login = browser.new_page(locale="zh-CN")
    login.goto(f"{platform.console}/#/login")
    login.get_by_test_id("login-username").fill("admin")
    login.get_by_test_id("login-password").fill("wrong-password")
    login.get_by_test_id("login-submit").click()
    expect(login.get_by_test_id("login-error")).to_be_visible()
    check(login, "login", problems)

    department = log_in(browser, platform, "hbj")
    case_page(department, platform.console, hotline, "已派单")
    department.get_by_test_id("action-accept").click()
    expect(department.get_by_test_id("case-status")).to_have_text("已签收")
    department.get_by_test_id("note-text").fill("当事人情绪激动，上门时请两人同行")
    department.get_by_test_id("note-submit").click()
    expect(department.get_by_test_id("note")).to_have_count(1)
    department.get_by_test_id("attachment-input").set_input_files(files=[
        {"name": UPLOADED[0], "mimeType": "image/png", "buffer": sample_files.png()},
    ])  # fmt: skip
    expect(department.get_by_test_id("attachment-thumb")).to_have_count(1)
    show_every_refusal(department)
    check(department, "a dispatched case, with a note, a file and a refusal", problems)
    department.get_by_test_id("action-return").click()
    department.get_by_test_id("action-submit").click()
    expect(department.get_by_test_id("form-errors")).to_be_visible()
    check(department, "the return dialog refusing an empty reason", problems)
    department.get_by_test_id("action-cancel").click()
    department.get_by_test_id("action-feedback").click()
    department.get_by_test_id("photo-input").set_input_files(files=[
        {"name": UPLOADED[1], "mimeType": "image/jpeg", "buffer": sample_files.jpeg()},
    ])  # fmt: skip
    department.get_by_test_id("field-note").fill("已到现场")
    department.get_by_test_id("action-submit").click()
    expect(department.get_by_test_id("case-status")).to_have_text("办理中")
    check(department, "a case in progress, with its timeline", problems)
    walk_navigation(department, platform.console, "hbj", problems)

    operator = log_in(browser, platform, "operator")
    registered = desk_case(operator, platform.console)
    check(operator, "the desk after a refusal and a registration", problems)
    case_page(operator, platform.console, waiting, "待派单")
    check(operator, "a case waiting for a person, with its suggestion", problems)
    case_page(operator, platform.console, registered, "已派单")
    check(operator, "a case registered at the desk", problems)
    walk_navigation(operator, platform.console, "operator", problems)

    for user in ("grid", "street", "admin"):
        page = log_in(browser, platform, user)
        walk_navigation(page, platform.console, user, problems)
        page.goto(f"{platform.console}/#/cases/{hotline}")
        check(page, f"{user} on a case page", problems)

    admin = log_in(browser, platform, "admin")
    admin.goto(f"{platform.console}/#/nowhere")
    check(admin, "a page that does not exist", problems)
    admin.goto(f"{platform.console}/#/cases/CF000000-000000")
    check(admin, "a case that does not exist", problems)

    assert not problems, "Latin words on screen:\n" + json.dumps(
        {where: sorted(words) for where, words in problems.items()}, ensure_ascii=False, indent=1
    )
