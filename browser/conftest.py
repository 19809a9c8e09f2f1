"""The console in a real browser: Debian's Chromium driven by Playwright against the whole
platform started with ``civicflow up`` (no eventlet in this process: Playwright brings its own
event loop, so these tests run apart from ``tests/``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.support.harness import temporary_vhost

REPO = Path(__file__).resolve().parent.parent
CIVICFLOW = REPO / ".venv" / "bin" / "civicflow"
CHROMIUM = os.environ.get("CIVICFLOW_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = REPO / "var" / "screenshots"
SERVICES = ("intake", "grid", "dispatch", "supervision", "notify", "console")
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("browser")
    config = folder / "config"
    shutil.copytree(REPO / "deploy" / "config", config)
    (config / "sla.yml").write_text(SLA, encoding="utf-8")
    ports = {name: free_port() for name in SERVICES}
    with temporary_vhost(os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/")) as uri:
        env = {
            **{k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")},
            "AMQP_URI": uri, "CIVICFLOW_DATA_DIR": str(folder / "var"),
            "CIVICFLOW_CONFIG_DIR": str(config), "CIVICFLOW_HTTP_HOST": "127.0.0.1",
            "SUPERVISION_TICK_SECONDS": "0.5",
            **{f"{name.upper()}_PORT": str(port) for name, port in ports.items()},
        }  # fmt: skip
        for step in (["migrate"], ["demo"]):
            subprocess.run([str(CIVICFLOW), *step], env=env, check=True, capture_output=True)
        log = (folder / "up.log").open("wb")
        up = subprocess.Popen([str(CIVICFLOW), "up"], env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)  # fmt: skip
        running = Running(f"http://127.0.0.1:{ports['console']}",
                          f"http://127.0.0.1:{ports['intake']}", env)  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not all(healthy(f"http://127.0.0.1:{p}") for p in ports.values()):
                assert up.poll() is None and time.monotonic() < deadline, (
                    folder / "up.log"
                ).read_text()
                time.sleep(0.3)
            yield running
        finally:
            up.send_signal(2)
            try:
                up.wait(timeout=30)
            except subprocess.TimeoutExpired:
                up.kill()
            log.close()


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
