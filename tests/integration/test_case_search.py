"""Dispatch's case list on SQLite and PostgreSQL, migrated as in production: each filter, ``q``
with Chinese words run together, keyset pages walked end to end, 1.0's ``page``, scope
through the reach table, the export's pages the same way, and the migration filling what was
stored before it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from contracts.event_data import Reporter
from contracts.listing import BadCursor, CaseListFilters
from kit.db import Store
from kit.migrations import downgrade, upgrade
from kit.settings import Settings
from services.dispatch import handlers, queries, repository
from services.dispatch.config import DispatchConfig, load_config
from services.dispatch.models import TABLES
from services.dispatch.unit_of_work import SqlDispatchUnitOfWork
from tests.unit.test_dispatch_handlers import ADDRESS, NOW, STREET, county_grid, received

DAY = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # 2026-11-21 00:00 in Beijing
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


@pytest.fixture(scope="module")
def config() -> DispatchConfig:
    return load_config(Settings(env="dev"))


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    upgrade("dispatch", database_url)
    store = Store(database_url, "dispatch", TABLES)
    try:
        yield store
    finally:
        store.dispose()


def route(store: Store, config: DispatchConfig, case_id: str, at: datetime, **fields: Any) -> None:
    event = received(case_id, fields.pop("content"), **fields)
    data = event.data.model_copy(update={"received_at": at})
    uow = SqlDispatchUnitOfWork(store, "test")
    handlers.route_cases(uow, [event.model_copy(update={"data": data})], county_grid(), config,
                         NOW)  # fmt: skip


def listed(store: Store, scope: list[str] | None = None, now: datetime = NOW, **asked: Any) -> Any:
    page = asked.pop("page", 1)
    size, after = asked.pop("page_size", 50), asked.pop("after", None)
    wanted = queries.ListCases(scope, CaseListFilters.model_validate(asked), page, size, after)
    return queries.list_cases(SqlDispatchUnitOfWork(store, "test"), wanted, now)


def ids(store: Store, **asked: Any) -> list[str]:
    return [case.case_id for case in listed(store, **asked).items]


@pytest.fixture
def county(store: Store, config: DispatchConfig) -> Store:
    """Three cases: noise in the street (a hotline call, Nov 21), pollution for the county's
    department (an opinion item, Nov 22), a red petition waiting (Nov 23), all Beijing days."""
    route(store, config, "C-NOISE", DAY + timedelta(hours=1), content="楼下夜间施工噪音扰民",
          category="environment.noise", address=ADDRESS)  # fmt: skip
    route(store, config, "C-SMOKE", DAY + timedelta(days=1, hours=23, minutes=59),
          content="化工厂排污，河水发黑", category="environment.pollution",
          channel="opinion", source="opinion")  # fmt: skip
    route(store, config, "C-RED", DAY + timedelta(days=2), content="多人聚集讨要工资",
          channel="petition", source="petition", risk="red")  # fmt: skip
    return store


def test_each_filter_narrows_the_list(county: Store) -> None:
    assert ids(county) == ["C-RED", "C-SMOKE", "C-NOISE"]
    assert ids(county, status="dispatched") == ["C-SMOKE", "C-NOISE"]
    assert ids(county, channel="opinion") == ["C-SMOKE"]
    assert ids(county, risk="red") == ["C-RED"]
    assert ids(county, category="environment.noise") == ["C-NOISE"]
    assert ids(county, case_ids=["C-RED", "C-NOISE", "C-NONE"]) == ["C-RED", "C-NOISE"]
    assert ids(county, case_ids=[]) == []


def test_q_finds_chinese_words_without_spaces_in_content_and_address(county: Store) -> None:
    assert ids(county, q="噪音") == ["C-NOISE"]
    assert ids(county, q="施工噪音") == ["C-NOISE"]  # two words run together: both must match
    assert ids(county, q="幸福社区") == ["C-NOISE"]  # from the address
    assert ids(county, q="河水 排污") == ["C-SMOKE"]
    assert ids(county, q="噪音 排污") == []  # every word must match
    assert ids(county, q="地震") == []


def test_from_and_to_are_beijing_days_both_included(county: Store) -> None:
    assert ids(county, **{"from": "2026-11-21", "to": "2026-11-21"}) == ["C-NOISE"]
    assert ids(county, **{"from": "2026-11-22", "to": "2026-11-22"}) == ["C-SMOKE"]
    assert ids(county, **{"from": "2026-11-22"}) == ["C-RED", "C-SMOKE"]
    assert ids(county, to="2026-11-20") == []


def test_overdue_means_open_and_past_a_limit_by_the_clock_given(county: Store) -> None:
    assert ids(county, overdue=True) == []
    later = NOW + timedelta(days=40)  # every limit of the dispatched cases has passed
    assert ids(county, overdue=True, now=later) == ["C-SMOKE", "C-NOISE"]  # not the waiting one


def test_unit_takes_the_cases_held_in_its_subtree(county: Store) -> None:
    assert ids(county, unit="S-001") == ["C-NOISE"]  # the street's own department
    assert ids(county, unit=STREET) == ["C-NOISE"]  # the street: what is held for it
    assert ids(county, unit="D-HBJ") == ["C-SMOKE"]
    assert ids(county, unit="370113001001") == []  # the community holds nothing


def test_scope_is_what_it_was_holding_helping_or_lying_within(county: Store) -> None:
    assert ids(county, scope=[STREET]) == ["C-NOISE"]  # lies in the street
    assert ids(county, scope=["D-HBJ"]) == ["C-SMOKE"]  # holds it
    assert ids(county, scope=["D-HBJ", STREET]) == ["C-SMOKE", "C-NOISE"]
    assert ids(county, scope=[]) == []
    assert ids(county, scope=[STREET], q="排污") == []
    # words within a scope (on PostgreSQL through the words' and reach codes' one index)
    assert ids(county, scope=[STREET], q="噪音") == ["C-NOISE"]
    assert ids(county, scope=["D-HBJ", STREET], q="排污") == ["C-SMOKE"]
    assert ids(county, scope=["D-HBJ", STREET], q="噪音 排污") == []
    assert ids(county, scope=[], q="噪音") == []


def test_a_case_keeps_the_codes_of_its_reach_rows_beside_them(county: Store) -> None:
    def codes() -> dict[str, tuple[list[str], list[str]]]:
        with county.engine.connect() as connection:
            kept = dict(
                connection.execute(sa.text("SELECT case_id, reach_unit_codes FROM cases")).all()
            )
            rows = connection.execute(
                sa.text("SELECT case_id, unit_code FROM case_reach ORDER BY unit_code")
            ).all()
        reach: dict[str, list[str]] = {case_id: [] for case_id in kept}
        for case_id, code in rows:
            reach[case_id].append(code)
        as_list = {k: json.loads(v) if isinstance(v, str) else list(v) for k, v in kept.items()}
        return {k: (as_list[k], reach[k]) for k in kept}

    for case_id, (kept, rows) in codes().items():
        assert kept == rows, case_id
    assert STREET in codes()["C-NOISE"][0]


def test_common_words_are_paged_among_the_newest_cases_as_the_index_would(
    store: Store, config: DispatchConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Words more cases hold than a page counts (``TOTAL_CAP``) are looked for among the
    newest cases first (on PostgreSQL): the pages are the same, the cursor walks them all,
    and a page the newest do not fill is read through the index."""
    made = []
    for n in range(23):
        at = DAY + timedelta(minutes=n)
        words = "噪音扰民" if n % 3 else "油烟扰民"
        route(store, config, f"C-{n:02d}", at, content=f"第{n}号{words}",
              category="environment.noise", address=ADDRESS)  # fmt: skip
        made.append((at, f"C-{n:02d}", words))
    noisy = [case_id for _, case_id, words in sorted(made, reverse=True) if "噪音" in words]
    expected = walk(store, q="噪音")
    assert expected == (noisy, len(noisy))
    monkeypatch.setattr(repository, "TOTAL_CAP", 3)
    monkeypatch.setattr(repository, "NEWEST_READ", 12)  # 8 of the 12 newest are noisy
    walked, after = [], None
    while True:
        page = listed(store, page_size=4, after=after, q="噪音")
        walked += [case.case_id for case in page.items]
        assert page.total == 3 and page.total_capped
        if page.next is None:
            break
        after = page.next
    assert walked == noisy


def test_keyset_pages_walk_every_case_once_in_order(store: Store, config: DispatchConfig) -> None:
    made = []
    for n in range(23):  # seven cases share each received time: the id breaks the tie
        at = DAY + timedelta(minutes=n // 7)
        route(store, config, f"C-{n:02d}", at, content=f"第{n}号噪音投诉",
              category="environment.noise", address=ADDRESS)  # fmt: skip
        made.append((at, f"C-{n:02d}"))
    expected = [case_id for _, case_id in sorted(made, reverse=True)]
    walked, after, pages = [], None, 0
    while True:
        page = listed(store, page_size=5, after=after)
        walked += [case.case_id for case in page.items]
        pages += 1
        assert page.total == 23 and not page.total_capped
        if page.next is None:
            break
        after = page.next
    assert walked == expected and pages == 5
    by_number = [ids(store, page=n, page_size=5) for n in range(1, 6)]
    assert [case_id for page in by_number for case_id in page] == expected  # page= as in 1.0
    assert ids(store, page=6, page_size=5) == []
    scoped = listed(store, scope=[STREET], page_size=10)
    second = listed(store, scope=[STREET], page_size=10, after=scoped.next)
    assert [c.case_id for c in scoped.items + second.items] == expected[:20]
    for asked in ({"q": "噪音"}, {"unit": STREET}, {"scope": [STREET]}):  # keys read alone
        assert walk(store, **asked) == (expected, 23)


def walk(store: Store, **asked: Any) -> tuple[list[str], int]:
    """Every case of a list, by its cursor, 5 a page, and the total each page gave."""
    walked, after, totals = [], None, set()
    while True:
        page = listed(store, page_size=5, after=after, **asked)
        walked += [case.case_id for case in page.items]
        totals.add(page.total)
        if page.next is None:
            break
        after = page.next
    assert len(totals) == 1
    return walked, totals.pop()


# --- the export's pages: the list's scope, filters and cursor, only a row's columns ---------


def exported(store: Store, scope: list[str] | None = None, **asked: Any) -> Any:
    size, after = asked.pop("page_size", 1000), asked.pop("after", None)
    wanted = queries.ExportCases(scope, CaseListFilters.model_validate(asked), after, size)
    return queries.export_cases(SqlDispatchUnitOfWork(store, "test"), wanted, NOW)


def export_ids(store: Store, scope: list[str] | None = None, **asked: Any) -> list[str]:
    return [case.case_id for case in exported(store, scope, **asked).items]


@pytest.mark.parametrize(
    ("scope", "asked"),
    [(None, {}), (None, {"status": "dispatched"}), (None, {"channel": "opinion"}),
     (None, {"q": "噪音"}), (None, {"from": "2026-11-22"}), (None, {"unit": STREET}),
     (None, {"case_ids": ["C-RED", "C-NOISE"]}), ([STREET], {}), (["D-HBJ"], {}),
     (["D-HBJ", STREET], {"risk": "blue"}), ([], {})],
)  # fmt: skip
def test_the_export_holds_what_the_list_holds_in_scope_and_filtered(
    county: Store, scope: list[str] | None, asked: dict[str, Any]
) -> None:
    assert export_ids(county, scope, **asked) == ids(county, scope=scope, **asked)


def test_an_exported_case_has_the_rows_columns_and_the_citizen_masked(
    store: Store, config: DispatchConfig
) -> None:
    route(store, config, "C-CALL", DAY, content="楼下夜间施工噪音扰民", address=ADDRESS,
          category="environment.noise",
          reporter=Reporter(name="王先生", phone="139****0001"))  # fmt: skip
    route(store, config, "C-GRID", DAY, content="井盖缺失", category="environment.noise",
          reporter=Reporter(name="网格员李", kind="grid_worker"))  # fmt: skip

    page = exported(store)

    call, grid = (next(c for c in page.items if c.case_id == key) for key in ("C-CALL", "C-GRID"))
    listed_call = listed(store, case_ids=["C-CALL"]).items[0]
    assert call.address == ADDRESS and call.citizen == listed_call.citizen
    assert call.citizen is not None and call.citizen.phone == "139****0001"
    assert grid.citizen is None  # a grid worker is no citizen to call back
    for name in ("received_at", "channel", "category", "risk", "status", "assignee", "level",
                 "content", "deadlines"):  # fmt: skip
        assert getattr(call, name) == getattr(listed_call, name)
    assert call.deadlines is not None and call.assignee is not None
    assert page.next is None


def test_the_export_walks_every_case_once_by_the_cursor(
    store: Store, config: DispatchConfig
) -> None:
    made = []
    for n in range(23):  # seven cases share each received time: the id breaks the tie
        at = DAY + timedelta(minutes=n // 7)
        route(store, config, f"C-{n:02d}", at, content=f"第{n}号噪音投诉",
              category="environment.noise", address=ADDRESS)  # fmt: skip
        made.append((at, f"C-{n:02d}"))
    expected = [case_id for _, case_id in sorted(made, reverse=True)]
    for scope in (None, [STREET]):
        walked, after, pages = [], None, 0
        while True:
            page = exported(store, scope, page_size=5, after=after)
            walked += [case.case_id for case in page.items]
            pages += 1
            if page.next is None:
                break
            after = page.next
        assert walked == expected and pages == 5
    with pytest.raises(BadCursor):
        exported(store, after="not-a-cursor")


def test_the_migration_fills_reach_terms_and_limits_of_stored_cases(database_url: str) -> None:
    upgrade("dispatch", database_url, "dispatch_0003")
    store = Store(database_url, "dispatch", TABLES)
    try:
        place = [{"code": "37011300100101", "name": "第1网格", "level": "grid"},
                 {"code": STREET, "name": "城关街道", "level": "street"}]  # fmt: skip
        due = (NOW - timedelta(hours=1)).isoformat()
        with store.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO cases (case_id, channel, source, category, risk, content, status,"
                " assignee, assignee_code, helpers, level, deadlines, alternatives,"
                " proposed_helpers, verified, returns, reopens, place, reach_codes,"
                " routing_rule, routing_reason, received, received_at, updated_at, version)"
                " VALUES ('C-OLD', 'hotline', 'hotline', NULL, 'blue', '饭店油烟污染严重',"
                " 'dispatched', NULL, 'G-1', '[]', 'grid', :deadlines, '[]', '[]', false, 0, 0,"
                " :place, ' G-1 ', 'r', 'r', :received, :at, :at, 1)"
            ), {"deadlines": f'{{"respond_by": "{due}", "feedback_by": "{due}",'
                             f' "resolve_by": "{due}"}}',
                "place": json.dumps(place),
                "received": json.dumps({
                    "channel": "hotline", "source": "hotline", "external_id": "T-OLD",
                    "reporter": {"kind": "citizen"}, "content": "饭店油烟污染严重",
                    "address": "幸福社区5号楼", "received_at": DAY.isoformat()}),
                "at": DAY.strftime(SQLITE_TIME) if store.is_sqlite else DAY})  # fmt: skip
        upgrade("dispatch", database_url)
        assert ids(store, scope=[STREET]) == ["C-OLD"]
        assert ids(store, q="油烟") == ids(store, q="幸福社区") == ["C-OLD"]
        assert ids(store, overdue=True) == ["C-OLD"]
        assert ids(store, unit="G-1") == ["C-OLD"]
    finally:
        store.dispose()


def test_the_terms_index_holds_stored_cases_and_follows_changed_terms(
    database_url: str, config: DispatchConfig
) -> None:
    """PostgreSQL's stored tsvector (migration dispatch_search_at_scale) is filled for the
    cases already there and kept when their terms change, as SQLite's FTS5 triggers are; the
    FTS5 rows hold each case's time, the reach index ``held``."""
    upgrade("dispatch", database_url)
    store = Store(database_url, "dispatch", TABLES)
    try:
        route(store, config, "C-OLD", DAY, content="饭店油烟污染严重", address=ADDRESS)
        downgrade("dispatch", database_url, "dispatch_petition_0006")  # stored before them
        upgrade("dispatch", database_url)
        assert ids(store, q="油烟") == ["C-OLD"]
        assert ids(store, q="油烟", scope=[STREET]) == ["C-OLD"]  # its reach codes filled
        with store.engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE cases SET search_terms = '夜间 施工 噪音' WHERE case_id = 'C-OLD'")
            )
            if not store.is_sqlite:
                vector = connection.scalar(
                    sa.text("SELECT search_vector::text FROM cases WHERE case_id = 'C-OLD'")
                )
                assert sorted(vector.split()) == ["'噪音':3", "'夜间':1", "'施工':2"]
        assert ids(store, q="噪音") == ["C-OLD"]
        assert ids(store, q="油烟") == []
        reach = sa.inspect(store.engine).get_indexes("case_reach")
        assert [i["column_names"] for i in reach if i["name"] == "ix_case_reach_unit"] == [
            ["unit_code", "received_at", "case_id", "held"]
        ]
        if store.is_sqlite:  # the words' own table sorts them by the case's time
            with store.engine.connect() as connection:
                times = connection.execute(sa.text(
                    "SELECT f.received_at = c.received_at FROM cases_fts f"
                    " JOIN cases c ON c.case_id = f.case_id")).scalars().all()  # fmt: skip
            assert times == [1]
    finally:
        store.dispose()
