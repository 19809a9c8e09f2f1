"""A citizen's number never travels, is logged or is stored in plain: every event on every
exchange, every log line and every column of every service's tables after a whole walk
(received, dispatched, clocks, an SMS, concluded, the revisit question) is scanned for it."""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import MetaData, select

from civicflow.demo import load_demo
from kit.engine import make_engine
from kit.settings import Settings
from tests.support.harness import EventTap, migrate_all, running, settings_with_quiet_hours

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

PHONE = "13912345678"
EXCHANGES = ("civicflow.events", "intake.events", "dispatch.events", "supervision.events",
             "notify.events")  # fmt: skip


def test_no_event_and_no_log_line_holds_a_plain_number(
    vhost_uri: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = settings_with_quiet_hours(vhost_uri, tmp_path)  # the revisit goes at once
    taps = [EventTap(vhost_uri, "#", exchange=name) for name in EXCHANGES]
    with running(settings, ["intake", "grid", "dispatch", "supervision", "notify"]) as platform:
        migrate_all(settings, ["console"])
        load_demo(settings)
        ticket = {
            "ticket_no": f"T-{uuid.uuid4().hex[:10]}", "received_at": "2026-11-21T10:00:00+08:00",
            "caller": {"phone": PHONE, "name": "张先生"}, "content": f"化工厂排污,回电{PHONE}",
            "category": "environment.pollution",
        }  # fmt: skip
        case_id = platform.submit("/api/v1/hotline/tickets", ticket).body["case_id"]
        with ClusterRpcProxy({"AMQP_URI": vhost_uri}, timeout=10) as cluster:
            taps[0].wait_for("case.dispatched", case_id)
            admin = {"user": "admin", "role": "admin"}
            cluster.dispatch.act(case_id, {"action": "accept"}, admin)
            cluster.dispatch.act(case_id, {"action": "conclude", "result": "已处理"}, admin)
        taps[0].wait_for("notification.sent", case_id)
        deadline = time.monotonic() + 10
        sms = settings.data_dir / "notify" / "sms.jsonl"
        while PHONE not in (sms.read_text() if sms.exists() else ""):  # the revisit question
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.5)
    seen = []
    for tap in taps:
        tap.drain()
        seen += tap.seen
        tap.close()
    assert len(seen) > 10 and any(e["type"] == "case.concluded" for e in seen)
    assert PHONE not in json.dumps(seen, ensure_ascii=False)
    assert "139****5678" in json.dumps(seen, ensure_ascii=False)  # masked, it may show
    assert PHONE not in caplog.text
    stored = every_stored_value(settings)
    assert case_id in stored and PHONE not in stored


def every_stored_value(settings: Settings) -> str:
    """Every value of every column of every service's tables (SQLite here), as one text."""
    found = []
    for service in ("intake", "grid", "dispatch", "supervision", "notify", "console"):
        engine = make_engine(settings.database_url_for(service))
        try:
            metadata = MetaData()
            metadata.reflect(engine)
            with engine.connect() as connection:
                for table in metadata.sorted_tables:
                    found += [repr(tuple(row)) for row in connection.execute(select(table))]
        finally:
            engine.dispose()
    return "\n".join(found)
