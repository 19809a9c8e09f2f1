"""The console in a real browser: Debian's Chromium driven by Playwright against the whole
platform, every service a process of its own (no eventlet in this process: Playwright brings its own
event loop, so these tests run apart from ``tests/``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.support.harness import REPO, running_processes, staff_quiet_hours_off

CHROMIUM = os.environ.get("CIVICFLOW_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = REPO / "var" / "screenshots"
# an opinion item must be signed for within four seconds here: a late case appears on the board
SLA = """\
default: {respond: PT2H, feedback: PT24H, resolve: P5D}
warn_at: 0.5
overrides:
  - when: {channel: opinion}
    respond: PT4S
escalation: {max_levels: 0}
"""


@dataclass(frozen=True)
class Running:
    console: str
    intake: str
    env: dict[str, str]


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("browser")
    shutil.copytree(REPO / "deploy" / "config", folder / "config")
    (folder / "config" / "sla.yml").write_text(SLA, encoding="utf-8")
    staff_quiet_hours_off(folder / "config")  # a run at night shows the same SMS as by day
    with running_processes(folder, SUPERVISION_TICK_SECONDS="0.5") as processes:
        [console], [intake] = processes.service_urls("console"), processes.service_urls("intake")
        yield Running(console, intake, processes.env)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
