"""一单考评's counters on a real broker, on SQLite and PostgreSQL: a month of dispatches and
their facts, some delivered twice, and the assessment the RPC answers from the counters equals
the scan of every assignment (``reports.assess_period``, what it answered before) for the month
and for single days; the desk's row (直办) is what the facts sent give; the facts delivered
again counted once."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pika
import pytest
from sqlalchemy import func, select

from contracts.events import (
    CASE_ACCEPTED,
    CASE_CLOSED,
    CASE_CONCLUDED,
    CASE_DISPATCHED,
    CASE_FEEDBACK,
    CASE_REOPENED,
    CASE_RETURNED,
    Assignee,
    CaseAccepted,
    CaseClosed,
    CaseConcluded,
    CaseDispatched,
    CaseFeedback,
    CaseReopened,
    CaseReturned,
    Deadlines,
    Envelope,
)
from kernel.calendar import SHANGHAI
from kit.db import Store
from kit.settings import Settings
from kit.sla import load_sla_policy
from services.supervision.assessment import AssessmentConfig, Period
from services.supervision.models import TABLES, AssessmentDay, Assignment, Mark
from services.supervision.reports import assess_period, counted_assessment
from services.supervision.scanner import scan_due
from services.supervision.unit_of_work import SqlSupervisionUnitOfWork
from tests.integration.test_supervision import (
    DEPT,
    GRID,
    TERRITORY,
    new_case,
    rpc,
    supervision,
)
from tests.integration.test_supervision import settings as settings

pytestmark = [pytest.mark.broker]

OTHER_GRID = Assignee(kind="grid", code="G-0102", name="城关二网格")
UNITS = (GRID, OTHER_GRID, DEPT)


class Publisher:
    """Plays dispatch: publishes its events with chosen times, and again when asked."""

    def __init__(self, amqp_uri: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        self.channel.exchange_declare("dispatch.events", "topic", durable=True)
        self.sent: list[Envelope[Any]] = []

    def send(self, envelope: Envelope[Any]) -> None:
        self.channel.basic_publish(
            "dispatch.events", envelope.type, envelope.model_dump_json().encode(),
            pika.BasicProperties(content_type="application/json", delivery_mode=2),
        )  # fmt: skip
        self.sent.append(envelope)

    def emit(self, spec: Any, data: Any, case_id: str, at: datetime) -> None:
        self.send(spec.new(data, case_id=case_id, occurred_at=at))

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def publisher(vhost_uri: str) -> Iterator[Publisher]:
    stand_in = Publisher(vhost_uri)
    yield stand_in
    stand_in.close()


def month_before(now: datetime) -> tuple[str, datetime]:
    """The calendar month before ``now``'s (Beijing), and its first midnight."""
    first_of_this = now.astimezone(SHANGHAI).replace(day=1, hour=0, minute=0, second=0,
                                                     microsecond=0)  # fmt: skip
    start = (first_of_this - timedelta(days=1)).replace(day=1)
    return start.strftime("%Y-%m"), start


def a_month_of_cases(publisher: Publisher, start: datetime, rng: random.Random) -> int:
    """Dispatches across the month and their facts, each fate at random; the facts that mark
    the case (the accept, feedback, …) counted in the returned total."""
    facts, hour = 0, timedelta(hours=1)
    for _ in range(24):
        case, unit = new_case(), rng.choice(UNITS)
        at = start + timedelta(days=rng.randint(0, 27), hours=rng.randint(0, 23))
        limits = Deadlines(respond_by=at + 2 * hour, feedback_by=at + 24 * hour,
                           resolve_by=at + 120 * hour)  # fmt: skip
        level = "grid" if unit.kind == "grid" else "district"
        publisher.emit(CASE_DISPATCHED, CaseDispatched(
            assignee=unit, level=level, deadlines=limits, dispatched_by="auto",
            territory=TERRITORY), case, at)  # fmt: skip
        fate = rng.choice(["returned", "on_time", "late", "reopened", "idle"])
        if fate == "returned":
            publisher.emit(CASE_RETURNED, CaseReturned(assignee=unit, reason="非本单位", by="w"),
                           case, at + hour)  # fmt: skip
            facts += 1
        elif fate != "idle":
            late = 3 * hour if fate == "late" else timedelta(0)
            steps = [
                (CASE_ACCEPTED, CaseAccepted(assignee=unit, by="w"), at + hour + late),
                (CASE_FEEDBACK, CaseFeedback(note="已联系", by="w"), at + 10 * hour + late * 8),
                # 直办 now and then: the desk's row counts it (the unit's row as ever)
                (
                    CASE_CONCLUDED,
                    CaseConcluded(result="已办结", by="w", at_desk=fate == "late"),
                    at + 48 * hour,
                ),
            ]
            if fate == "reopened":
                steps.append((CASE_REOPENED, CaseReopened(reason="没修好", by="op",
                              satisfaction="unsatisfied"), at + 60 * hour))  # fmt: skip
            else:
                answer = rng.choice(["satisfied", "basically_satisfied", "unsatisfied"])
                steps.append((CASE_CLOSED, CaseClosed(satisfaction=answer, by="op"),
                              at + 72 * hour))  # fmt: skip
            for spec, data, when in steps:
                publisher.emit(spec, data, case, when)
            facts += len(steps)
    return facts


def desk_expected(sent: list[Envelope[Any]], period: Period) -> tuple[int, int, int]:
    """直办 from the facts sent: the cases concluded at the desk in ``period``, of those the
    ones answered and the ones whose last answer was satisfied (or basically)."""
    at_desk = {e.case_id for e in sent if e.type == CASE_CONCLUDED.type and e.data.at_desk
               and period.start <= e.occurred_at < period.end}  # fmt: skip
    last: dict[str, str] = {}
    for e in sorted(sent, key=lambda e: e.occurred_at):
        if e.type in (CASE_CLOSED.type, CASE_REOPENED.type) and e.case_id in at_desk:
            last[e.case_id] = e.data.satisfaction
    good = sum(answer in ("satisfied", "basically_satisfied") for answer in last.values())
    return len(at_desk), len(last), good


def units_only(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["assignee_kind"] != "desk"]


def rows_of(store: Store, model: Any) -> int:
    with store.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def wait_until_handled(store: Store, dispatches: int, facts: int) -> None:
    deadline = time.monotonic() + 60
    while (rows_of(store, Assignment), rows_of(store, Mark)) != (dispatches, facts):
        assert time.monotonic() < deadline, (rows_of(store, Assignment), rows_of(store, Mark))
        time.sleep(0.2)


def test_the_counters_give_the_scans_assessment_and_count_a_fact_delivered_twice_once(
    settings: Settings,
    publisher: Publisher,
) -> None:
    # no scan while the history is replayed: its limits fell long ago (see test_supervision)
    settings = dataclasses.replace(settings, supervision_tick_seconds=3600)
    config = AssessmentConfig.from_file(settings.config_dir / "assessment.yml")
    month, start = month_before(settings.clock.now())
    store = Store(settings.database_url_for("supervision"), "supervision", TABLES)
    try:
        with supervision(settings), rpc(settings) as service:
            facts = a_month_of_cases(publisher, start, random.Random(22))
            first_send = list(publisher.sent)
            for envelope in first_send[::3]:  # a third of everything delivered again
                publisher.send(envelope)
            dispatches = sum(e.type == CASE_DISPATCHED.type for e in first_send)
            wait_until_handled(store, dispatches, facts)
            service.issue_order(first_send[0].case_id, {"grade": "red", "note": "限期"}, "sup")
            # the scanner's overdue alerts: the clocks left running are late from then on
            uow = SqlSupervisionUnitOfWork(store, "test", autoflush=False)
            scan_due(uow, load_sla_policy(settings.config_dir), settings.clock.now())
            answered = service.assessment(month)
        now = settings.clock.now()
        with store.read() as session:
            scanned = [row.as_dict() for row in assess_period(session, Period.parse(month),
                                                              config, now)]  # fmt: skip
            days = [(start + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(28)]
            for day in days:
                by_day = units_only(counted_assessment(session, Period.parse(day), None, config))
                assert by_day == [r.as_dict() for r in assess_period(
                    session, Period.parse(day), config, now)], day  # fmt: skip
            counter_rows = rows_of(store, AssessmentDay)
    finally:
        store.dispose()
    assert units_only(answered) == scanned
    handled, revisited, good = desk_expected(first_send, Period.parse(month))
    [desk] = [row for row in answered if row["assignee_kind"] == "desk"]
    assert handled > 0 and (desk["handled_at_desk"], desk["revisited"]) == (handled, revisited)
    assert desk["satisfaction_rate"] == pytest.approx(good / revisited)
    assert (
        sum(row["dispatched"] for row in units_only(answered)) == dispatches
    )  # each dispatch once
    assert sum(row["orders"] for row in units_only(answered)) == 1
    assert any(row["overdue"] for row in units_only(answered))
    # one row a unit (and the desk) and day, whatever the number of cases
    assert counter_rows <= (len(UNITS) + 1) * 28
