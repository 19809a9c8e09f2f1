"""The calendar in the console, on a platform whose clock stands in a year the installed
chinesecalendar does not know: an admin's upload of holidays.yml is refused with its line and
field when wrong; once a good one is installed, dispatch stamps and supervision runs the next
case's clocks on its holidays (no restart), and the banner the console shows supervisors and
admins follows the clock provider's date.

Dispatch and supervision watch holidays.yml in the configuration directory (``Configured(
reload_on=…)``): the upload replaces the file in one step, and each one's next worker counts on
it. On SQLite only: no database question is asked here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from civicflow.demo import load_demo
from kernel.calendar import SHANGHAI, WorkingCalendar
from kernel.clock import ManualClock
from kernel.holidays import HolidayArrangements
from tests.integration.test_dispatch_flow import console, hotline, street_address
from tests.integration.test_supervision import clocks, config_dir
from tests.support.harness import EventTap, Platform, http, running, settings_for_test
from tests.unit.test_kernel_calendar import FIXTURE, YEAR

pytestmark = [pytest.mark.broker]

SERVICES = ["intake", "grid", "dispatch", "supervision", "console"]
FRIDAY = datetime(YEAR, 2, 5, 10, tzinfo=SHANGHAI)
"""The Friday before the fixture's 春节 (8 to 14 February), whose Sunday the 7th is worked."""
BANNER = "节假日安排仅到{}年12月31日，请导入下一年的安排"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    from tests.conftest import BASE_AMQP_URI
    from tests.support.harness import temporary_vhost

    data = tmp_path_factory.mktemp("calendar")
    with temporary_vhost(BASE_AMQP_URI) as vhost:
        settings = dataclasses.replace(
            settings_for_test(vhost, data), config_dir=config_dir(data), clock=ManualClock(FRIDAY)
        )
        with running(settings, SERVICES) as platform:
            load_demo(settings)
            yield platform


def login(platform: Platform, user: str) -> str:
    answer = http("POST", platform.url("console", "/api/v1/auth/login"),
                  json.dumps({"username": user, "password": user}).encode(),
                  {"Content-Type": "application/json"})  # fmt: skip
    return str(answer.body["token"])


def dispatched(platform: Platform, tap: EventTap, token: str) -> tuple[str, datetime]:
    """A street matter's case, once dispatched: its id and its resolve_by."""
    _, address = street_address(platform, token)
    case_id = hotline(
        platform, "楼下夜间施工噪音扰民", category="environment.noise", address=address
    )
    event = tap.wait_for("case.dispatched", case_id)
    return case_id, datetime.fromisoformat(event["data"]["deadlines"]["resolve_by"])


def resolve_clock(platform: Platform, case_id: str) -> dict[str, Any]:
    """The case's resolve clock, once supervision has started it."""
    found = clocks(platform.settings, case_id, kind="resolve")
    return next(clock for clock in found if clock["kind"] == "resolve")


def working_days(calendar: WorkingCalendar, start: datetime, due: datetime) -> int:
    """How many working days ``calendar`` counts from ``start`` to ``due``."""
    for days in range(1, 40):
        if calendar.add_working_days(start, days) == due:
            return days
    raise AssertionError(f"{due} is no whole number of working days after {start}")


def test_an_uploaded_year_is_used_by_dispatch_and_supervision_and_moves_the_banner(
    platform: Platform,
) -> None:
    admin, street, handler = (login(platform, user) for user in ("admin", "street", "hbj"))
    tap = EventTap(platform.settings.amqp_uri)
    try:
        # before: YEAR is counted Monday to Friday, the clock flagged, the banner up
        before, before_due = dispatched(platform, tap, admin)
        assert resolve_clock(platform, before)["calendar_uncertain"] is True
        status = console(platform, street, "GET", "/api/v1/calendar")
        assert status.status == 200 and status.body["notice"] == BANNER.format(YEAR - 1)
        assert console(platform, handler, "GET", "/api/v1/calendar").status == 403

        wrong = FIXTURE.replace(f"date: {YEAR}-02-07", f"date: {YEAR}-02-10")
        refused = console(platform, admin, "PUT", "/api/v1/admin/holidays", {"text": wrong})
        assert refused.status == 422
        assert refused.body["errors"][0]["line"] == 11
        assert refused.body["errors"][0]["loc"][-2:] == ["working_days[0]", "date"]
        assert console(platform, street, "PUT", "/api/v1/admin/holidays",
                       {"text": FIXTURE}).status == 403  # fmt: skip

        installed = console(platform, admin, "PUT", "/api/v1/admin/holidays", {"text": FIXTURE})
        assert installed.status == 200 and installed.body["last_year"] == YEAR
        assert installed.body["notice"] is None  # February: ten months to go

        after, after_due = dispatched(platform, tap, admin)
    finally:
        tap.close()
    # dispatch stamped the second case on the uploaded year: over 春节, onto its 调休 Sunday
    days = working_days(WorkingCalendar("weekends"), FRIDAY, before_due)
    uploaded = WorkingCalendar("chinese", HolidayArrangements.from_text(FIXTURE))
    assert after_due == uploaded.add_working_days(FRIDAY, days) > before_due
    assert after_due.astimezone(SHANGHAI).date() > datetime(YEAR, 2, 14).date()
    # supervision ran its clock on it: known, not flagged
    clock = resolve_clock(platform, after)
    assert clock["calendar_uncertain"] is False
    assert datetime.fromisoformat(clock["due_at"]) == after_due

    # 60 days before the uploaded year ends, supervisors and admins are asked for the next
    clock_provider = platform.settings.clock
    assert isinstance(clock_provider, ManualClock)
    clock_provider.advance(datetime(YEAR, 10, 31, 9, tzinfo=SHANGHAI) - FRIDAY)
    street = login(platform, "street")  # the morning's token expired long ago
    assert console(platform, street, "GET", "/api/v1/calendar").body["notice"] is None
    clock_provider.advance(timedelta(days=1))  # 1 November: 60 days to 31 December
    admin, street = login(platform, "admin"), login(platform, "street")
    for token in (street, admin):
        notice = console(platform, token, "GET", "/api/v1/calendar").body["notice"]
        assert notice == BANNER.format(YEAR)
    shown = console(platform, admin, "GET", "/api/v1/admin/holidays").body
    assert shown["text"] == FIXTURE and shown["file_years"] == [YEAR]
