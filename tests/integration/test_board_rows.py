"""The overdue board counted and paged by the database, on SQLite and PostgreSQL: the same
answer as the late clocks walked one by one (``overdue_board``), for every scope and every
page; a case late on two clocks counted once, at its earliest in scope; the pages, walked by
their cursors, list every case once."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from kit.db import Store
from services.supervision.board import BoardPage, board_of, board_page, overdue_board
from services.supervision.board_rows import counts_query, late_counts, late_page, page_query
from services.supervision.models import TABLES, Assignment, Base, ClockRow, FollowedCase
from services.supervision.repository import SupervisionRepository
from tests.support.databases import store_with_tables

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
UNITS = {"G-01": ("grid", "城关一网格"), "G-02": ("grid", "城关二网格"),
         "D-HBJ": ("department", "环保局"), "S-01": ("street", "城关街道")}  # fmt: skip
STREETS = ("S-01", "S-02")
SCOPES: list[list[str] | None] = [None, [], ["G-01"], ["D-HBJ"], ["S-01"], ["S-02"],
                                  ["G-02", "S-02"], ["C-011"], ["nowhere"]]  # fmt: skip


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with store_with_tables(database_url, "supervision", TABLES, Base.metadata) as store:
        yield store


def case_of(session: Session, case_id: str, risk: str | None, street: str) -> None:
    if risk is not None:  # None: a clock of a case supervision does not follow
        territory = {"street": street, "community": "C-0" + street[-1] + "1"}
        session.add(FollowedCase(case_id=case_id, risk=risk, territory=territory, climbs=0))


def clock(session: Session, case_id: str, kind: str, unit: str, due: int, **state: Any) -> None:
    """A clock of ``unit`` ``due`` minutes after AT, late and running unless told."""
    owner = f"{case_id}-{unit}"
    if unit in UNITS and session.get(Assignment, owner) is None:
        unit_kind, name = UNITS[unit]
        session.add(Assignment(id=owner, case_id=case_id, assignee_kind=unit_kind,
                               assignee_code=unit, assignee_name=name, level=unit_kind,
                               dispatched_at=AT))  # fmt: skip
    due_at = AT + timedelta(minutes=due)
    session.add(ClockRow(case_id=case_id, owner=owner, kind=kind, level="grid",
                         assignee_code=unit, state=state.get("state", "open"), started_at=AT,
                         warn_at=due_at, due_at=due_at, planned_due_at=due_at,
                         overdue=state.get("overdue", True)))  # fmt: skip


def fill(store: Store, seed: int, cases: int) -> None:
    """Cases with up to three clocks each: late and running, late but stopped, not late;
    some held by units without an assignment, some of cases not followed; limits shared."""
    rng = random.Random(seed)
    with store.read() as session:
        for n in range(cases):
            case_id = f"CF-{n:04d}"
            case_of(session, case_id, rng.choice(["red", "yellow", "blue", "grey", None]),
                    rng.choice(STREETS))  # fmt: skip
            for kind in rng.sample(["respond", "feedback", "resolve"], rng.randint(1, 3)):
                unit = rng.choice([*UNITS, "G-99"])
                state = rng.choice(["open", "open", "paused", "stopped"])
                clock(session, case_id, kind, unit, rng.randint(0, 40), state=state,
                      overdue=rng.random() < 0.7)  # fmt: skip
        session.commit()


def board(session: Session, scope: list[str] | None, page: BoardPage) -> dict[str, Any]:
    return board_of(late_counts(session, scope), late_page(session, scope, page), page.size)


def walk(session: Session, scope: list[str] | None, size: int) -> list[dict[str, Any]]:
    """Every page of the board, by the cursors."""
    pages = [board(session, scope, BoardPage(size=size))]
    while pages[-1]["next"]:
        pages.append(board(session, scope, board_page(pages[-1]["next"], size)))
    return pages


def listed(answer: dict[str, Any]) -> list[str]:
    return [c["case_id"] for unit in answer["units"] for c in unit["cases"]]


@pytest.mark.parametrize("seed", [1, 2])
def test_the_database_counts_and_pages_as_the_late_clocks_walked_one_by_one(
    store: Store, seed: int
) -> None:
    fill(store, seed, 60)
    with store.read() as session:
        late = list(SupervisionRepository(session).late_clocks())
        for scope in SCOPES:
            for size in (3, 100):
                pages = walk(session, scope, size)
                page, want = BoardPage(size=size), []
                while True:
                    want.append(overdue_board(late, scope, page))
                    if not want[-1]["next"]:
                        break
                    page = board_page(want[-1]["next"], size)
                assert pages == want, (scope, size)
        assert board(session, None, BoardPage())["totals"]["late"] > 20  # the data has some


def test_a_case_late_on_two_clocks_is_counted_once_at_its_earliest_in_scope(
    store: Store,
) -> None:
    with store.read() as session:
        case_of(session, "CF-TWO", "red", "S-02")
        clock(session, "CF-TWO", "respond", "D-HBJ", 1)
        clock(session, "CF-TWO", "resolve", "G-01", 5)
        clock(session, "CF-TWO", "feedback", "G-02", 0, state="stopped")  # over: not late
        session.commit()
        everyone = board(session, None, BoardPage())
        assert everyone["totals"] == {"late": 1, "red": 1, "yellow": 0, "blue": 0}
        [unit] = everyone["units"]
        assert (unit["code"], unit["name"], unit["kind"]) == ("D-HBJ", "环保局", "department")
        assert [c["clock"] for c in unit["cases"]] == ["respond"]
        grid = board(session, ["G-01"], BoardPage())  # its earliest clock is not the grid's
        assert [(u["code"], u["late"], listed_of(u)) for u in grid["units"]] == [
            ("G-01", 1, ["CF-TWO"])
        ]
        street = board(session, ["S-02"], BoardPage())  # lying there: at its earliest
        assert [u["code"] for u in street["units"]] == ["D-HBJ"]
        assert board(session, ["S-01"], BoardPage())["units"] == []


def listed_of(unit: dict[str, Any]) -> list[str]:
    return [c["case_id"] for c in unit["cases"]]


def test_the_pages_list_every_late_case_once_and_count_them_all(store: Store) -> None:
    with store.read() as session:
        for n in range(7):  # two cases share each limit: the clock's id breaks the tie
            case_of(session, f"CF-{n}", "red" if n % 2 else "blue", "S-01")
            clock(session, f"CF-{n}", "respond", "G-01" if n < 4 else "G-99", n // 2)
        session.commit()
        pages = walk(session, None, 3)
    assert [len(listed(p)) for p in pages] == [3, 3, 1]
    assert [p["totals"]["late"] for p in pages] == [7, 7, 7]
    assert sorted(c for p in pages for c in listed(p)) == [f"CF-{n}" for n in range(7)]
    assert pages[0]["units"][1]["name"] == "G-99"  # no assignment: the card is named by code
    assert pages[-1]["next"] is None


@pytest.mark.parametrize("scope", [None, ["S-01"]])
def test_the_late_clocks_are_read_through_an_index(store: Store, scope: Any) -> None:
    """The page and the counts read only the running clocks, not every clock: on
    PostgreSQL through the late clocks' own index; SQLite prefers the running clocks'."""
    with store.read() as session:
        for query in (page_query(session, scope, BoardPage()), counts_query(session, scope)):
            plan = explain(session, query)
            if session.get_bind().dialect.name == "postgresql":
                assert "ix_clocks_late" in plan
            else:
                assert re.search(r"SEARCH clocks USING INDEX ix_clocks_(late|open_next_due)", plan)
                assert not re.search(r"SCAN clocks(?! USING)", plan)


def explain(session: Session, query: Any) -> str:
    """The plan of ``query``; on PostgreSQL, as if the table were large (on these few rows
    a scan of the table would do)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SET LOCAL enable_seqscan = off"))
    sql = str(query.compile(bind, compile_kwargs={"literal_binds": True}))
    ask = "EXPLAIN " if bind.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    return "\n".join(str(row) for row in session.execute(text(ask + sql)))
