"""AB岗 on the real broker: leave recorded in the console reaches notify, and the unit's overdue
alert goes to the deputy (B岗) instead of the unit's duty phone; withdrawn, the unit is told again.

Supervision is played by a stand-in, so the overdue alert is the test's choice."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from civicflow.registry import service_class
from contracts.events import SLA_OVERDUE, Assignee, SlaOverdue
from kit.db import Store
from kit.runner import InProcess
from kit.settings import Settings
from services.notify.models import TABLES, StaffLeave
from tests.integration.test_console_boundaries import admin, admitted
from tests.support.harness import EventTap, migrate_all, settings_for_test
from tests.support.standin import StandIn

pytestmark = [pytest.mark.broker]

HBJ = Assignee(kind="department", code="D-HBJ", name="市生态环境局县分局")
DEPUTY_MASKED = "139****0201"  # HBJ-B in duty.yml
HBJ_MASKED = "138****0007"


@pytest.fixture
def platform(vhost_uri: str, tmp_path: Path) -> Iterator[tuple[Settings, str]]:
    """The console and notify on SQLite (the leave is a row either way), with the admin."""
    settings = settings_for_test(vhost_uri, tmp_path)
    migrate_all(settings, ["console", "notify"])
    admitted(settings)
    services = InProcess([service_class("console"), service_class("notify")], settings).start()
    try:
        yield settings, f"http://127.0.0.1:{settings.ports['console']}"
    finally:
        services.kill()


def followed(settings: Settings, leave_id: str, present: bool) -> None:
    """Until notify's own table of leave holds (or no longer holds) ``leave_id``."""
    store = Store(settings.database_url_for("notify"), "notify", TABLES)
    deadline = time.monotonic() + 10
    try:
        while True:
            with store.read() as session:
                found = session.scalar(select(StaffLeave).where(StaffLeave.leave_id == leave_id))
            if (found is not None) == present:
                return
            assert time.monotonic() < deadline, f"notify never followed {leave_id}"
            time.sleep(0.05)
    finally:
        store.dispose()


def overdue(supervision: StandIn, tap: EventTap) -> dict[str, object]:
    """An overdue alert for a case with D-HBJ; what ``notification.sent`` says of its SMS."""
    case_id, due = f"CF-{uuid.uuid4().hex[:8]}", datetime.now(UTC) - timedelta(minutes=1)
    alert = SlaOverdue(clock="respond", due_at=due, assignee=HBJ, level="district")
    supervision.emit(SLA_OVERDUE, alert, case_id, datetime.now(UTC))
    return tap.wait_for("notification.sent", case_id)["data"]  # type: ignore[no-any-return]


def test_leave_recorded_in_the_console_sends_the_unit_s_overdue_alert_to_its_deputy(
    vhost_uri: str, platform: tuple[Settings, str]
) -> None:
    settings, console = platform
    tap, supervision = EventTap(vhost_uri), StandIn(vhost_uri, "supervision")
    today = datetime.now(UTC).date()
    try:
        refused = admin(console, "POST", "/api/v1/leave", {
            "person": "HBJ", "from": "2027-01-05", "to": "2027-01-04"
        })  # fmt: skip
        assert refused.status == 422
        assert [e["loc"] for e in refused.body["errors"]] == [["person"], ["to"]]
        recorded = admin(console, "POST", "/api/v1/leave", {
            "person": "department:D-HBJ", "from": str(today - timedelta(days=1)),
            "to": str(today + timedelta(days=1)), "reason": "病假",
        })  # fmt: skip
        assert recorded.status == 201, recorded.body
        leave_id = recorded.body["leave_id"]
        published = tap.wait_for("staff.leave_recorded")["data"]
        assert (published["leave_id"], published["person"]) == (leave_id, "department:D-HBJ")
        assert "reason" not in published  # the reason stays in the console
        listed = admin(console, "GET", "/api/v1/leave").body
        assert [(x["leave_id"], x["reason"]) for x in listed] == [(leave_id, "病假")]
        followed(settings, leave_id, present=True)

        assert overdue(supervision, tap)["recipient"] == DEPUTY_MASKED

        assert admin(console, "DELETE", f"/api/v1/leave/{leave_id}").status == 204
        assert admin(console, "DELETE", f"/api/v1/leave/{leave_id}").status == 404
        followed(settings, leave_id, present=False)

        assert overdue(supervision, tap)["recipient"] == HBJ_MASKED
    finally:
        tap.close()
        supervision.close()
    texted = (settings.data_dir / "notify" / "sms.jsonl").read_text(encoding="utf-8")
    assert [json.loads(line)["to"] for line in texted.splitlines()] == [
        "13900000201", "13800000007"
    ]  # fmt: skip
