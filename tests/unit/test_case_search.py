"""Search and paging without a database: the keyset cursor, the list's filters and their
refusals, dispatch's list over the in-memory unit of work, the console passing them on, and
the overdue board a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.listing import BadCursor, CaseListFilters, decode_cursor, encode_cursor
from kit.settings import Settings
from services.console import cases
from services.console.refusals import BadField
from services.dispatch import handlers, queries, search
from services.dispatch.config import DispatchConfig, load_config
from services.dispatch.models import reach_of
from services.supervision.board import BoardPage, board_page, overdue_board
from tests.support.fake_console import FakeDispatch, FakeSupervision
from tests.support.fake_dispatch import FakeDispatchUnitOfWork
from tests.unit.test_console_handlers import HBJ, OPERATOR
from tests.unit.test_dispatch_handlers import ADDRESS, CHAIN, NOW, STREET, county_grid, received

AT = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


# --- the cursor -----------------------------------------------------------------------------


def test_a_cursor_gives_back_the_key_it_was_made_of() -> None:
    cursor = encode_cursor(AT, "CF261121-7K3QX9")
    assert decode_cursor(cursor) == (AT, "CF261121-7K3QX9")
    assert "CF261121" not in cursor  # opaque, not a case number to edit


@pytest.mark.parametrize("wrong", ["", "%%%", "bm90IGpzb24", encode_cursor(AT, "x")[:-3] + "A",
                                   "WzEsMl0", "WyJ4IiwieSJd"])  # fmt: skip
def test_anything_else_is_not_a_cursor(wrong: str) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(wrong)


# --- the filters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "field"),
    [({"from": "2026-13-01"}, "from"), ({"from": "21/11/2026"}, "from"),
     ({"to": "1732147200"}, "to"), ({"from": "2026-11-22", "to": "2026-11-21"}, "to"),
     ({"overdue": "maybe"}, "overdue"), ({"channel": "fax"}, "channel"),
     ({"risk": "green"}, "risk"), ({"q": "x" * 201}, "q"), ({"q": "a\x00b"}, "q"),
     ({"unit": "U" * 65}, "unit"),
     ({"phone_number": "1"}, "phone_number")],
)  # fmt: skip
def test_a_bad_filter_is_refused_naming_it(asked: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        CaseListFilters.model_validate(asked)
    assert [error["loc"] for error in refused.value.errors()] == [(field,)]


def test_dates_are_beijing_days_both_included() -> None:
    wanted = CaseListFilters.model_validate({"from": "2026-11-21", "to": "2026-11-21"})
    start, end = wanted.received_between()
    assert start == datetime(2026, 11, 20, 16, tzinfo=UTC)
    assert end == datetime(2026, 11, 21, 16, tzinfo=UTC)
    assert CaseListFilters.model_validate({"overdue": "true"}).overdue is True


def test_words_are_cut_without_spaces_and_every_query_word_is_among_them() -> None:
    terms = search.terms_of("饭店油烟污染严重", "城关街道幸福社区5号楼").split()
    assert {"油烟", "污染", "幸福", "社区"} <= set(terms)
    assert search.query_terms("油烟污染") == ["油烟", "污染"]
    assert search.query_terms("  ，。") == []


def test_reach_marks_the_holder_and_the_place_above_it() -> None:
    place = [unit.model_dump() for unit in CHAIN]
    held = reach_of("37011300100101", "grid", [], place)
    assert [code for code, holds in held.items() if holds] == [
        "37011300100101", "370113001001", STREET, "370113"
    ]  # fmt: skip
    assert held["3701130010010101"] is False  # lies there, does not hold it
    department = reach_of("S-001", "street", [{"unit": {"code": "D-X"}}], place)
    assert {code for code, holds in department.items() if holds} == {"S-001", STREET, "370113"}
    assert department["D-X"] is False


# --- dispatch's list, over the in-memory unit of work ----------------------------------------


@pytest.fixture(scope="module")
def config() -> DispatchConfig:
    return load_config(Settings(env="dev"))


def test_keyset_pages_walk_every_case_once(config: DispatchConfig) -> None:
    uow = FakeDispatchUnitOfWork()
    events = [received(f"C-{n:02d}", "夜间施工噪音", category="environment.noise",
                       address=ADDRESS) for n in range(12)]  # fmt: skip
    handlers.route_cases(uow, events, county_grid(), config, NOW)
    walked, after = [], None
    while True:
        asked = queries.ListCases([STREET], CaseListFilters(q="噪音"), page_size=5, after=after)
        page = queries.list_cases(uow, asked, NOW)
        walked += [case.case_id for case in page.items]
        if page.next is None:
            break
        after = page.next
    assert walked == [f"C-{n:02d}" for n in reversed(range(12))]  # same time: by id
    assert page.total == 12
    none = queries.list_cases(uow, queries.ListCases(None, CaseListFilters(q="地震")), NOW)
    assert none.items == [] and none.next is None
    with pytest.raises(BadCursor):
        queries.list_cases(uow, queries.ListCases(None, CaseListFilters(), after="zz"), NOW)


# --- the console passes them on --------------------------------------------------------------


def test_the_console_passes_filters_and_cursor_on_and_refuses_bad_ones() -> None:
    dispatch = FakeDispatch()
    after = encode_cursor(AT, "C-1")
    args = {"q": "油烟", "from": "2026-11-01", "to": "2026-11-30", "overdue": "true",
            "unit": "S-001", "status": "dispatched", "after": after, "page_size": "20",
            "case_ids": "C-9"}  # fmt: skip
    query = cases.CaseQuery.of(args)
    cases.list_cases(dispatch, HBJ, query)
    assert dispatch.asked == [
        (
            {
                "status": "dispatched",
                "q": "油烟",
                "from": "2026-11-01",
                "to": "2026-11-30",
                "overdue": True,
                "unit": "S-001",
            },
            after,
        )
    ]
    assert dispatch.listed == [["D-HBJ"]]  # the reach stays as it was
    with pytest.raises(BadField) as refused:
        cases.CaseQuery.of({"after": "not-a-cursor"})
    assert refused.value.field == "after"
    with pytest.raises(ValidationError):
        cases.CaseQuery.of({"to": "tomorrow"})
    assert cases.CaseQuery.of({"page": "x"}).page == 1  # as in 1.0


def test_the_console_pages_the_board_by_cursor() -> None:
    supervision = FakeSupervision()
    cursor = encode_cursor(AT, "7")
    cases.board(supervision, OPERATOR, cursor)
    assert supervision.board_cursors == [cursor]
    with pytest.raises(BadField):
        cases.board(supervision, OPERATOR, "nope")


# --- the overdue board, a page at a time -------------------------------------------------------


def late(n: int, unit: str, case_id: str | None = None) -> Any:
    clock = SimpleNamespace(id=n, case_id=case_id or f"C-{n}", kind="respond", state="open",
                            assignee_code=unit, due_at=AT + timedelta(minutes=n))  # fmt: skip
    case = SimpleNamespace(risk="red" if n % 2 else "blue", territory={"street": STREET})
    return clock, case, None


def test_the_board_counts_every_late_case_but_lists_one_page() -> None:
    rows = [late(n, "S-001" if n < 5 else "D-HBJ") for n in range(1, 9)] + [late(9, "S-001", "C-1")]
    first = overdue_board(rows, None, BoardPage(size=3))
    assert first["totals"] == {"late": 8, "red": 4, "yellow": 0, "blue": 4}  # C-1 once
    listed = [c["case_id"] for unit in first["units"] for c in unit["cases"]]
    assert sorted(listed) == ["C-1", "C-2", "C-3"] and first["next"]
    walked, page = list(listed), first
    while page["next"]:
        page = overdue_board(rows, None, board_page(page["next"], 3))
        assert page["totals"] == first["totals"]
        walked += [c["case_id"] for unit in page["units"] for c in unit["cases"]]
    assert sorted(walked) == sorted(f"C-{n}" for n in range(1, 9))
    assert len(walked) == 8  # none twice, none missed
    assert overdue_board(rows, ["D-HBJ"], BoardPage())["totals"]["late"] == 4  # held by it
    assert overdue_board(rows, [STREET], BoardPage())["totals"]["late"] == 8  # lying there
    outside = overdue_board([late(1, "D-X")], ["S-999"], BoardPage())
    assert outside["units"] == [] and outside["next"] is None
