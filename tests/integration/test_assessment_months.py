"""一单考评's monthly counters, on SQLite and PostgreSQL: after supervision's handlers have
followed the cases (facts handled twice, a later return and reopening, the scanner's overdue
alerts, a unit renamed), each unit's month holds the sum of its days, named as the last of
them; a year, a quarter and a month are summed from the months and give the figures the days
give (and the scan of every assignment), a day from its days; the migration fills the months
from the days counted before it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from contracts.events import (
    CASE_ACCEPTED,
    CASE_CLOSED,
    CASE_CONCLUDED,
    CASE_DISPATCHED,
    CASE_REOPENED,
    CASE_RETURNED,
    Assignee,
    CaseAccepted,
    CaseClosed,
    CaseConcluded,
    CaseDispatched,
    CaseReopened,
    CaseReturned,
    Deadlines,
    Envelope,
)
from kit.db import Store
from kit.migrations import upgrade
from kit.sla import load_sla_policy
from services.supervision.assessment import AssessmentConfig, Period
from services.supervision.counting import add_to_days
from services.supervision.handlers import follow
from services.supervision.models import TABLES, AssessmentDay, AssessmentMonth, Base
from services.supervision.reports import (
    assess_period,
    counted_assessment,
    period_totals,
    unit_totals,
)
from services.supervision.scanner import scan_due
from services.supervision.tallied import TALLIED
from services.supervision.tallies import TallyKey, UnitTotals, day_of
from services.supervision.unit_of_work import SqlSupervisionUnitOfWork
from tests.support.databases import store_with_tables
from tests.support.harness import CONFIG_DIR

HOUR = timedelta(hours=1)
TERRITORY = {"grid": "G-0101", "community": "C-01", "street": "S-001", "district": "D-01"}
GRID = Assignee(kind="grid", code="G-0101", name="城关一网格")
DEPT = Assignee(kind="department", code="D-ZJJ", name="县住建局")
RENAMED = Assignee(kind="department", code="D-ZJJ", name="县住房和城乡建设局")
NOW = datetime(2027, 1, 20, 2, 0, tzinfo=UTC)
PERIODS = ("2026", "2026-Q4", "2026-Q3", "2026-10", "2026-11", "2026-12", "2027-01")
DAYS = ("2026-10-31", "2026-11-01", "2026-11-03", "2026-11-30", "2026-12-01")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with store_with_tables(database_url, "supervision", TABLES, Base.metadata) as store:
        yield store


def dispatch(case_id: str, unit: Assignee, at: datetime) -> Envelope[Any]:
    limits = Deadlines(respond_by=at + 2 * HOUR, feedback_by=at + 24 * HOUR,
                       resolve_by=at + 120 * HOUR)  # fmt: skip
    return CASE_DISPATCHED.new(CaseDispatched(
        assignee=unit, level="district", deadlines=limits, dispatched_by="op",
        territory=TERRITORY), case_id=case_id, occurred_at=at)  # fmt: skip


def handled(case_id: str, unit: Assignee, at: datetime, *, desk: bool = False) -> list[Any]:
    """Dispatched, accepted in time, concluded (at the desk: 直办 too) and revisited."""
    return [
        dispatch(case_id, unit, at),
        CASE_ACCEPTED.new(CaseAccepted(assignee=unit, by="w"), case_id, at + HOUR),
        CASE_CONCLUDED.new(concluded(desk), case_id, at + 30 * HOUR),
        CASE_CLOSED.new(CaseClosed(satisfaction="satisfied", by="op"), case_id, at + 40 * HOUR),
    ]


def concluded(desk: bool) -> CaseConcluded:
    return CaseConcluded(result="已办结", by="w", at_desk=desk)


def beijing(day: str, hour: int) -> datetime:
    """``hour`` o'clock in Beijing on ``day``, in UTC."""
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00").astimezone(UTC)


def the_facts() -> tuple[list[Envelope[Any]], list[Envelope[Any]]]:
    """A first burst of facts across months (and across Beijing's midnight at a month's end),
    then later ones that change what was counted: a return, a reopening."""
    first = [
        *handled("CF-1", DEPT, beijing("2026-10-31", 23)),
        *handled("CF-2", GRID, beijing("2026-11-01", 0), desk=True),
        *handled("CF-3", DEPT, beijing("2026-11-03", 9)),
        dispatch("CF-4", DEPT, beijing("2026-11-03", 10)),  # left running: overdue at the scan
        dispatch("CF-5", GRID, beijing("2026-11-30", 23)),
        *handled("CF-6", RENAMED, beijing("2026-11-30", 8)),  # the unit renamed on the 30th
        *handled("CF-7", GRID, beijing("2026-12-01", 0)),
    ]
    returned = CaseReturned(assignee=GRID, reason="非本单位", by="w")
    reopened = CaseReopened(reason="没修好", by="op", satisfaction="unsatisfied")
    later = [
        CASE_RETURNED.new(returned, "CF-5", beijing("2026-12-01", 9)),
        CASE_REOPENED.new(reopened, "CF-3", beijing("2026-11-20", 9)),
    ]
    return first, later


def run_handlers(store: Store, events: list[Envelope[Any]]) -> None:
    follow(SqlSupervisionUnitOfWork(store, "test"), events, load_sla_policy(CONFIG_DIR))


def months_of_days(session: Session) -> dict[tuple[str, str, str], dict[str, Any]]:
    """What each unit's months should hold: its days summed, named as the last of them."""
    months: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(
        lambda: dict.fromkeys(TALLIED, 0)
    )
    for day in session.scalars(select(AssessmentDay).order_by(AssessmentDay.day)):
        month = months[day.day[:7], day.assignee_kind, day.assignee_code]
        month["assignee_name"], month["last_day"] = day.assignee_name, day.day
        for metric in TALLIED:
            month[metric] += getattr(day, metric)
    return dict(months)


def months_kept(session: Session) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (row.month, row.assignee_kind, row.assignee_code): {
            name: getattr(row, name) for name in ("assignee_name", "last_day", *TALLIED)
        }
        for row in session.scalars(select(AssessmentMonth))
    }


def by_days(session: Session, period: Period) -> list[UnitTotals]:
    """A period's totals as they were summed before the months: from its days."""
    first, after = day_of(period.start), day_of(period.end)
    return unit_totals(session, AssessmentDay, AssessmentDay.day, first, after, None)


def ordered(totals: list[UnitTotals]) -> list[UnitTotals]:
    return sorted(totals, key=lambda t: (t.assignee_kind, t.assignee_code))


def test_the_months_hold_the_sum_of_the_days_after_the_handlers(store: Store) -> None:
    first, later = the_facts()
    run_handlers(store, first)
    with store.read() as session:
        counted_once = months_kept(session)
        assert counted_once == months_of_days(session)
    run_handlers(store, first)  # the same facts handled again: nothing more
    with store.read() as session:
        assert months_kept(session) == counted_once
    run_handlers(store, later)
    scan_due(SqlSupervisionUnitOfWork(store, "test", autoflush=False),
             load_sla_policy(CONFIG_DIR), NOW)  # fmt: skip
    with store.read() as session:
        kept = months_kept(session)
        assert kept == months_of_days(session)
    assert kept != counted_once  # the return, reopening and overdue alerts were added
    november = kept["2026-11", "department", "D-ZJJ"]
    # CF-4's overdue alert counted after CF-6: the name stays the later day's
    assert (november["assignee_name"], november["last_day"]) == (RENAMED.name, "2026-11-30")
    assert november["dispatched"] == 3 and november["reopened"] == 1
    assert kept["2026-12", "grid", "G-0101"]["dispatched"] == 1  # CF-7 (Beijing's December)
    assert kept["2026-11", "grid", "G-0101"]["returned"] == 1  # CF-5, returned in December
    assert kept["2026-11", "desk", "centre"]["concluded"] == 1  # CF-2, 直办


def test_whole_months_give_the_days_figures_and_the_scans(store: Store) -> None:
    first, later = the_facts()
    run_handlers(store, first + later)
    scan_due(SqlSupervisionUnitOfWork(store, "test", autoflush=False),
             load_sla_policy(CONFIG_DIR), NOW)  # fmt: skip
    config = AssessmentConfig.from_file(CONFIG_DIR / "assessment.yml")
    with store.read() as session:
        for label in PERIODS + DAYS:
            period = Period.parse(label)
            assert ordered(period_totals(session, period)) == ordered(by_days(session, period))
            counted = counted_assessment(session, period, None, config)
            scanned = [row.as_dict() for row in assess_period(session, period, config, NOW)]
            assert [row for row in counted if row["assignee_kind"] != "desk"] == scanned, label
        year = period_totals(session, Period.parse("2026"))
        assert sum(t.totals["dispatched"] for t in year) == 7
        assert {t.assignee_name for t in year} == {GRID.name, RENAMED.name, "中心直办"}


def test_a_day_reads_its_days_and_whole_months_their_months(store: Store) -> None:
    first, _ = the_facts()
    run_handlers(store, first)
    with Session(store.engine) as session:
        session.execute(delete(AssessmentDay))
        session.commit()
    with store.read() as session:
        for label in ("2026", "2026-Q4", "2026-11"):
            assert sum(t.totals["dispatched"] for t in period_totals(
                session, Period.parse(label))) > 0, label  # fmt: skip
        assert period_totals(session, Period.parse("2026-11-03")) == []
    run_handlers(store, handled("CF-8", DEPT, beijing("2026-11-03", 9)))
    with Session(store.engine) as session:
        session.execute(delete(AssessmentMonth))
        session.commit()
    with store.read() as session:
        assert period_totals(session, Period.parse("2026-11")) == []
        [day] = period_totals(session, Period.parse("2026-11-03"))
        assert (day.assignee_code, day.totals["dispatched"]) == (DEPT.code, 1)


DAY_ROWS = [  # days counted before the months were kept
    ("2026-10-30", "department", "D-ZJJ", DEPT.name, 2),
    ("2026-11-02", "department", "D-ZJJ", DEPT.name, 3),
    ("2026-11-28", "department", "D-ZJJ", RENAMED.name, 4),
    ("2026-11-05", "grid", "G-0101", GRID.name, 1),
    ("2026-11-05", "desk", "centre", "中心直办", 0),
]


def test_the_migration_fills_the_months_from_the_days(database_url: str) -> None:
    upgrade("supervision", database_url, "supervision_deskcount_desk_days")
    store = Store(database_url, "supervision", TABLES)
    try:
        with Session(store.engine) as session:
            session.add_all(
                AssessmentDay(day=day, assignee_kind=kind, assignee_code=code, assignee_name=name,
                              **{metric: n for metric in TALLIED})
                for day, kind, code, name, n in DAY_ROWS
            )  # fmt: skip
            session.commit()
        upgrade("supervision", database_url)
        with store.read() as session:
            filled = months_kept(session)
            assert filled == months_of_days(session)
        assert filled["2026-11", "department", "D-ZJJ"] == {
            "assignee_name": RENAMED.name, "last_day": "2026-11-28", **dict.fromkeys(TALLIED, 7)
        }  # fmt: skip
        assert len(filled) == 4
        # counted from then on: added to the filled months; an earlier day keeps the name
        late = TallyKey("2026-11-02", "department", "D-ZJJ", DEPT.name)
        with Session(store.engine) as session:
            add_to_days(session, {late: {**dict.fromkeys(TALLIED, 0), "overdue": 1}})
            session.commit()
        with store.read() as session:
            november = months_kept(session)["2026-11", "department", "D-ZJJ"]
            assert november == months_of_days(session)["2026-11", "department", "D-ZJJ"]
        assert (november["overdue"], november["assignee_name"]) == (8, RENAMED.name)
    finally:
        store.dispose()
