"""Dispatch stamps a working-hours limit in the hours of the unit it dispatches to (hours.yml)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from kernel.calendar import SHANGHAI
from kernel.sla import SlaPolicy
from kernel.working_hours import HoursBook
from kit.settings import Settings
from services.dispatch import handlers
from services.dispatch.config import DispatchConfig, load_config
from tests.support.fake_dispatch import FakeDispatchUnitOfWork
from tests.unit.test_dispatch_handlers import NOISE, county_grid, received

SLA = """\
default:
  respond: PT2H
  feedback: PT24H
  resolve: P5D
  runs_on: {respond: working_hours}
"""
MONDAY_22 = datetime(2026, 11, 23, 22, tzinfo=SHANGHAI)


def config_with(hours: HoursBook) -> DispatchConfig:
    config = load_config(Settings(env="dev"))
    return dataclasses.replace(config, sla=SlaPolicy.from_text(SLA, hours=hours))


def test_a_case_routed_at_22_00_is_due_in_the_assigned_units_working_hours() -> None:
    night_shift = HoursBook.from_text("units:\n  S-001: [20:00-23:00]\n")
    for hours, respond_by in (
        (HoursBook(), datetime(2026, 11, 24, 10, 30, tzinfo=SHANGHAI)),
        (night_shift, datetime(2026, 11, 24, 21, tzinfo=SHANGHAI)),
    ):
        uow = FakeDispatchUnitOfWork()
        handlers.route_cases(uow, [received("C-1", **NOISE)], county_grid(), config_with(hours),
                             MONDAY_22)  # fmt: skip
        (dispatched,) = uow.events
        assert dispatched.data.assignee.code == "S-001"
        assert dispatched.data.deadlines.respond_by == respond_by
