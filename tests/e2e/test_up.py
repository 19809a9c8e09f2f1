"""``civicflow up`` as an operator runs it: separate processes, one ticket through, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from kit.settings import SERVICES
from tests.conftest import free_port
from tests.support.platform import CONFIG_DIR, REPO, EventTap, http, signed_headers

pytestmark = [pytest.mark.broker, pytest.mark.e2e]


def test_up_runs_every_service_and_stops_cleanly(vhost_uri: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AMQP_URI": vhost_uri,
        "CIVICFLOW_DATA_DIR": str(tmp_path),
        "CIVICFLOW_CONFIG_DIR": str(CONFIG_DIR),
        **{f"{name.upper()}_PORT": str(free_port()) for name in SERVICES},
    }
    env.pop("DATABASE_URL", None)
    cli = [sys.executable, "-m", "civicflow"]
    for command in (["migrate"], ["demo"]):
        subprocess.run([*cli, *command], env=env, cwd=REPO, check=True, capture_output=True)
    log = (tmp_path / "up.log").open("w")
    up = subprocess.Popen([*cli, "up"], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    tap = EventTap(vhost_uri)
    try:
        deadline = time.monotonic() + 60
        while "civicflow is up" not in (tmp_path / "up.log").read_text():
            assert up.poll() is None, (tmp_path / "up.log").read_text()
            assert time.monotonic() < deadline, "platform did not come up"
            time.sleep(0.2)
        for name in SERVICES:
            assert (
                http("GET", f"http://127.0.0.1:{env[f'{name.upper()}_PORT']}/healthz").status == 200
            )
        body = json.dumps(
            {
                "ticket_no": f"T-{uuid.uuid4().hex[:8]}",
                "received_at": "2026-11-21T10:00:00+08:00",
                "caller": {"phone": "13812341234"},
                "content": "拖欠工资",
                "category": "labour.wage_arrears",
            }
        ).encode()
        url = f"http://127.0.0.1:{env['INTAKE_PORT']}/api/v1/hotline/tickets"
        answer = http("POST", url, body, signed_headers(body))
        assert answer.status == 202
        tap.wait_for("case.dispatched", answer.body["case_id"], timeout=15)
        tap.wait_for("notification.sent", answer.body["case_id"], timeout=15)
    finally:
        up.send_signal(signal.SIGINT)
        code = up.wait(timeout=40)
        tap.close()
        log.close()
    output = (tmp_path / "up.log").read_text()
    assert code == 0, output
    assert "civicflow stopped." in output
    assert "Traceback" not in output
