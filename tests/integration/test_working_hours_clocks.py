"""A case dispatched at 22:00 on a working-hours clock is not overdue before the next morning:
supervision against a real broker, on SQLite and PostgreSQL, with the test clock standing at
22:00 Beijing time on a Monday and moved on through the night.

The deadlines are stamped as dispatch stamps them (``SlaPolicy.deadlines`` of the deployed
configuration, with the assignee's unit), and published by a stand-in for dispatch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from contracts.events import Deadlines
from kernel.calendar import SHANGHAI
from kernel.clock import ManualClock
from kit.settings import Settings
from kit.sla import load_sla_policy
from tests.integration.test_supervision import (
    GRID,
    TEST_SLA,
    Dispatch,
    advance,
    clocks,
    new_case,
    scans_pass,
    supervision,
)
from tests.integration.test_supervision import config_dir as supervision_config
from tests.support.harness import EventTap, migrate_all, settings_for_test

pytestmark = [pytest.mark.broker]

MONDAY_22 = datetime(2025, 3, 3, 22, tzinfo=SHANGHAI)
WORKING_SLA = TEST_SLA.replace(
    "default: {respond: PT2H, feedback: PT24H, resolve: P5D}",
    "default:\n  respond: PT2H\n  feedback: PT24H\n  resolve: P5D\n"
    "  runs_on: {respond: working_hours}",
)


@pytest.fixture
def settings(vhost_uri: str, database_url: str, tmp_path: Path) -> Settings:
    config = supervision_config(tmp_path)
    (config / "sla.yml").write_text(WORKING_SLA, encoding="utf-8")
    base = settings_for_test(vhost_uri, tmp_path, database_url)
    settings = dataclasses.replace(
        base, config_dir=config, supervision_tick_seconds=0.05, clock=ManualClock(MONDAY_22)
    )
    migrate_all(settings, ["supervision"])
    return settings


@pytest.fixture
def dispatch(vhost_uri: str) -> Iterator[Dispatch]:
    stand_in = Dispatch(vhost_uri)
    yield stand_in
    stand_in.close()


@pytest.fixture
def public(vhost_uri: str) -> Iterator[EventTap]:
    tap = EventTap(vhost_uri)
    yield tap
    tap.close()


def test_a_case_dispatched_at_22_00_is_not_overdue_before_the_next_morning(
    settings: Settings, dispatch: Dispatch, public: EventTap
) -> None:
    policy = load_sla_policy(settings.config_dir)
    deadlines = policy.deadlines(
        MONDAY_22, channel="grid", category="dispute.neighbour", risk="blue", unit=GRID.code
    )
    # two working hours from 22:00: 8:30 to 10:30 on Tuesday
    assert deadlines.respond_by == datetime(2025, 3, 4, 10, 30, tzinfo=SHANGHAI)
    case_id = new_case()
    with supervision(settings):
        published = Deadlines.model_validate(deadlines.model_dump())
        dispatch.dispatched(
            case_id, MONDAY_22,
            respond=(published.respond_by - MONDAY_22).total_seconds(),
            feedback=(published.feedback_by - MONDAY_22).total_seconds(),
            resolve=(published.resolve_by - MONDAY_22).total_seconds(),
        )  # fmt: skip
        (respond,) = [
            c for c in clocks(settings, case_id, kind="respond") if c["kind"] == "respond"
        ]
        assert datetime.fromisoformat(str(respond["due_at"])) == deadlines.respond_by
        # through the night to 10:29 on Tuesday: two wall-clock hours ran out at midnight
        advance(settings, (deadlines.respond_by - MONDAY_22 - timedelta(minutes=1)).total_seconds())
        scans_pass(10)
        assert public.of_type("sla.overdue", case_id) == []
        advance(settings, 60)
        overdue = public.wait_for("sla.overdue", case_id)
    assert overdue["data"]["clock"] == "respond"
