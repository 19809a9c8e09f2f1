"""Notify and the duty roster (值班表, AB岗): a unit's alert at night waits for the morning
unless the case is red or the recipient is on duty; a 24/7 unit's alert goes to whoever is on
duty now; leave recorded in the console sends a holder's alerts to their deputy while it lasts."""

from __future__ import annotations

import dataclasses
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts.events import (
    STAFF_LEAVE_CANCELLED,
    STAFF_LEAVE_RECORDED,
    SUPERVISION_ALERT_ROUTED,
    AlertRecipient,
    AlertRouted,
    Assignee,
    LeaveCancelled,
    LeaveRecorded,
)
from kernel.config import ConfigError
from kernel.duty import EMPTY, DutyRoster
from services.notify import handlers
from services.notify.config import read_roster
from services.notify.domain import LOCAL_TIME
from services.notify.rules import QuietHours
from tests.unit.conftest import CONFIG_DIR
from tests.unit.test_notify_handlers import HBJ_PHONE, MORNING, NIGHT, Notify, dispatched

ROSTER = DutyRoster.from_text((CONFIG_DIR / "duty.yml").read_text(encoding="utf-8"))
DEPUTY_PHONE = "13900000201"  # HBJ-B, B岗 of department:D-HBJ
NIGHT_DUTY_PHONE = "13900000102"  # YJJ-B, on duty at D-YJJ from 20:00 to 08:00
YJJ = Assignee(kind="department", code="D-YJJ", name="县应急管理局")


def on_roster(now: datetime, **rule_changes: Any) -> Notify:
    notify = Notify(now, **rule_changes)
    notify.directory = dataclasses.replace(notify.directory, roster=ROSTER)
    return notify


def to(assignee: Assignee, at: datetime, risk: str = "blue", case_id: str = "CF-1") -> object:
    event = dispatched(case_id, at)
    data = event.data.model_copy(update={"assignee": assignee, "risk": risk})
    return event.model_copy(update={"data": data})


def test_a_unit_s_alert_at_night_waits_for_the_end_of_quiet_hours() -> None:
    notify = on_roster(NIGHT)

    notify.tell(dispatched(at=NIGHT))

    [held] = notify.deliveries()
    morning = datetime(2026, 12, 8, 8, 0, tzinfo=LOCAL_TIME)
    assert (held.recipient_key, held.status, held.next_attempt_at) == (
        "department:D-HBJ", "queued", morning
    )  # fmt: skip
    assert notify.texted(HBJ_PHONE) == []
    notify.clock.set(morning)
    assert notify.try_due() == 1
    assert len(notify.texted(HBJ_PHONE)) == 1


def test_a_red_case_is_not_held_for_quiet_hours() -> None:
    notify = on_roster(NIGHT)

    notify.tell(to(dispatched().data.assignee, NIGHT, risk="red"))  # type: ignore[arg-type]

    assert len(notify.texted(HBJ_PHONE)) == 1


@pytest.mark.parametrize(("alert", "sent"), [("red_risk", 1), ("overdue", 0)])
def test_a_subscribed_red_risk_alert_is_not_held_even_before_the_case_is_known(
    alert: str, sent: int
) -> None:
    notify = on_roster(NIGHT)
    phone = "13800138001"
    data = AlertRouted(
        alert=alert, trigger_event_id="e-1", trigger_type="sla.overdue", summary="【红色】",
        recipients=[AlertRecipient(subscriber="sup", channel="sms",
                                   address_sealed=notify.vault.seal(phone))],
    )  # type: ignore[arg-type]  # fmt: skip

    notify.tell(SUPERVISION_ALERT_ROUTED.new(data, case_id="CF-9", occurred_at=NIGHT))

    assert len(notify.texted(phone)) == sent


def test_a_24_7_unit_s_alert_goes_at_once_to_whoever_is_on_duty() -> None:
    notify = on_roster(NIGHT)  # 23:00 Beijing: 乙 stands the night

    notify.tell(to(YJJ, NIGHT))  # type: ignore[arg-type]

    [sent] = notify.deliveries()
    assert (sent.recipient_key, sent.status) == ("person:YJJ-B", "sent")
    assert len(notify.texted(NIGHT_DUTY_PHONE)) == 1


def test_staff_quiet_hours_can_be_turned_off() -> None:
    notify = on_roster(NIGHT, quiet_hours=QuietHours(time(22), time(8), staff=False))

    notify.tell(dispatched(at=NIGHT))

    assert len(notify.texted(HBJ_PHONE)) == 1


def test_leave_sends_a_holder_s_alerts_to_the_deputy_until_it_is_withdrawn() -> None:
    notify = on_roster(MORNING)
    leave = LeaveRecorded(
        leave_id="L-1", person="department:D-HBJ", starts=MORNING - timedelta(hours=1),
        ends=MORNING + timedelta(days=2), by="sup",
    )  # fmt: skip
    recorded = STAFF_LEAVE_RECORDED.new(leave, occurred_at=MORNING)
    handlers.follow_leave(notify.uow, recorded)
    handlers.follow_leave(notify.uow, recorded)  # a redelivery changes nothing

    notify.tell(dispatched("CF-1"))

    assert [d.recipient_key for d in notify.deliveries()] == ["person:HBJ-B"]
    assert len(notify.texted(DEPUTY_PHONE)) == 1 and notify.texted(HBJ_PHONE) == []

    withdrawn = LeaveCancelled(leave_id="L-1", person="department:D-HBJ", by="sup")
    handlers.follow_leave(notify.uow, STAFF_LEAVE_CANCELLED.new(withdrawn, occurred_at=MORNING))
    notify.tell(dispatched("CF-2"))

    assert len(notify.texted(HBJ_PHONE)) == 1


def test_a_roster_with_a_gap_refuses_notify_s_start(tmp_path: Path) -> None:
    assert read_roster(tmp_path) is EMPTY  # no duty.yml: nobody stands in for anyone
    shipped = (CONFIG_DIR / "duty.yml").read_text(encoding="utf-8")
    (tmp_path / "duty.yml").write_text(shipped.replace('to: "08:00"', 'to: "06:00"'), "utf-8")
    with pytest.raises(
        ConfigError,
        match=r"^duty.yml line \d+: around_the_clock.D-YJJ.weekly: "
        r"D-YJJ works around the clock but nobody is on duty from mon 06:00",
    ):
        read_roster(tmp_path)
