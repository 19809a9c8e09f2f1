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
from tests.support.harness import (
    CONFIG_DIR,
    REPO,
    EventTap,
    config_for_test,
    http,
    signed_headers,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]


def test_up_runs_every_service_and_stops_cleanly(vhost_uri: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AMQP_URI": vhost_uri,
        "CIVICFLOW_DATA_DIR": str(tmp_path),
        "CIVICFLOW_CONFIG_DIR": str(config_for_test(tmp_path)),  # staff alerts not held at night
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


@pytest.mark.parametrize("after", [0.2, 0.9, 1.2, 1.5, 2.5])
def test_a_service_told_to_stop_while_starting_still_stops(
    vhost_uri: str, tmp_path: Path, after: float
) -> None:
    """SIGTERM can come at any moment of start-up (an orchestrator scaling down): the
    process must still stop on its own, cleanly, not hang."""
    env = {
        **os.environ,
        "AMQP_URI": vhost_uri,
        "CIVICFLOW_DATA_DIR": str(tmp_path),
        "CIVICFLOW_CONFIG_DIR": str(CONFIG_DIR),
        "DISPATCH_PORT": str(free_port()),
    }
    env.pop("DATABASE_URL", None)
    cli = [sys.executable, "-m", "civicflow"]
    subprocess.run(
        [*cli, "migrate", "dispatch"], env=env, cwd=REPO, check=True, capture_output=True
    )
    service = subprocess.Popen(
        [*cli, "run", "dispatch"], env=env, cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    time.sleep(after)
    service.send_signal(signal.SIGTERM)
    try:
        output, _ = service.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        service.kill()
        raise AssertionError("the service did not stop within 30 s of SIGTERM") from None
    # 0: stopped by its own handler; -SIGTERM: the signal came while Python was still
    # importing, before anything had started, and the default action ended it
    assert service.returncode in (0, -signal.SIGTERM), output.decode(errors="replace")
    assert b"re-send() an already-triggered event" not in output


def test_run_instances_starts_n_processes_on_their_own_ports(
    vhost_uri: str, tmp_path: Path
) -> None:
    base = free_port()
    env = {
        **os.environ,
        "AMQP_URI": vhost_uri,
        "CIVICFLOW_DATA_DIR": str(tmp_path),
        "CIVICFLOW_CONFIG_DIR": str(CONFIG_DIR),
        "DISPATCH_PORT": str(base),
    }
    env.pop("DATABASE_URL", None)
    cli = [sys.executable, "-m", "civicflow"]
    subprocess.run(
        [*cli, "migrate", "dispatch"], env=env, cwd=REPO, check=True, capture_output=True
    )
    log = (tmp_path / "run.log").open("w")
    step = 7
    run = subprocess.Popen(
        [*cli, "run", "dispatch", "--instances", "3", "--port-step", str(step)], env=env,
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "civicflow is up" not in (tmp_path / "run.log").read_text():
            assert run.poll() is None, (tmp_path / "run.log").read_text()
            assert time.monotonic() < deadline, "the instances did not come up"
            time.sleep(0.2)
        checks = [
            http("GET", f"http://127.0.0.1:{base + i * step}/healthz").body["checks"]
            for i in range(3)
        ]
        # one relay per SQLite database: two of the three stand by
        assert sorted(c.get("outbox_relay", "running") for c in checks) == [
            "running", "standby", "standby",
        ]  # fmt: skip
    finally:
        run.send_signal(signal.SIGTERM)
        code = run.wait(timeout=40)
        log.close()
    output = (tmp_path / "run.log").read_text()
    assert code == 0, output
    assert "dispatch#3" in output and "civicflow stopped." in output
    assert "Traceback" not in output


def test_run_refuses_a_nonsense_number_of_instances(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "civicflow"]
    refused = subprocess.run(
        [*cli, "run", "dispatch", "--instances", "0"], cwd=REPO, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "from 1 to 32" in refused.stderr
