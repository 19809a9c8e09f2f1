"""The map's open cases (``dispatch.open_cases``) on SQLite and PostgreSQL, migrated as in
production: only cases still being worked, newest first, each with its place and whether it
is overdue; narrowed to a scope and to a unit's reach; bounded, saying when it was cut."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from contracts.mapping import OpenCases
from kit.db import Store
from services.dispatch import queries
from services.dispatch.config import DispatchConfig
from services.dispatch.unit_of_work import SqlDispatchUnitOfWork
from tests.integration.test_case_search import DAY, config, route, store
from tests.unit.test_dispatch_handlers import GRID_CODE, NOW, STREET

__all__ = ["config", "store"]  # the fixtures, shared with the case list's tests

HERE = {"lat": 36.55, "lon": 116.7}


def open_cases(store: Store, now: datetime = NOW, **asked: object) -> OpenCases:
    wanted = queries.OpenCasesWanted(**asked)  # type: ignore[arg-type]
    return queries.open_cases(SqlDispatchUnitOfWork(store, "test"), wanted, now)


def ids(found: OpenCases) -> list[str]:
    return [case.case_id for case in found.items]


def county(store: Store, config: DispatchConfig) -> None:
    """Noise in the street's grid with its place (dispatched), pollution for the county's
    department with none (dispatched), a red petition waiting, and a closed matter."""
    route(store, config, "C-NOISE", DAY + timedelta(hours=1), content="楼下夜间施工噪音扰民",
          category="environment.noise", grid_code=GRID_CODE, location=HERE)  # fmt: skip
    route(store, config, "C-SMOKE", DAY + timedelta(hours=2), content="化工厂排污，河水发黑",
          category="environment.pollution", channel="opinion", source="opinion")  # fmt: skip
    route(store, config, "C-RED", DAY + timedelta(hours=3), content="多人聚集讨要工资",
          channel="petition", source="petition", risk="red", location=HERE)  # fmt: skip
    route(store, config, "C-DONE", DAY + timedelta(hours=4), content="路灯不亮",
          category="environment.noise", grid_code=GRID_CODE, location=HERE)  # fmt: skip
    with store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE cases SET status = 'closed' WHERE case_id = 'C-DONE'"))


def test_only_the_open_cases_newest_first_each_as_its_marker(
    store: Store, config: DispatchConfig
) -> None:
    county(store, config)
    found = open_cases(store, scope=None)
    assert ids(found) == ["C-RED", "C-SMOKE", "C-NOISE"] and not found.capped
    noise = found.items[2]
    assert (noise.lat, noise.lon, noise.risk, noise.status) == (36.55, 116.7, "blue", "dispatched")
    assert noise.category == "environment.noise" and not noise.overdue
    assert found.items[1].lat is None  # the opinion item said no place
    assert found.items[0].status == "pending_dispatch" and found.items[0].risk == "red"


def test_located_keeps_those_with_a_place(store: Store, config: DispatchConfig) -> None:
    county(store, config)
    assert ids(open_cases(store, scope=None, located=True)) == ["C-RED", "C-NOISE"]


def test_overdue_is_past_a_limit_by_the_clock_given(store: Store, config: DispatchConfig) -> None:
    county(store, config)
    later = NOW + timedelta(days=40)
    overdue = {c.case_id for c in open_cases(store, later, scope=None).items if c.overdue}
    assert overdue == {"C-SMOKE", "C-NOISE"}  # the waiting petition runs no holder's clock


def test_scope_and_unit_narrow_them_to_a_reach(store: Store, config: DispatchConfig) -> None:
    county(store, config)
    assert ids(open_cases(store, scope=[STREET])) == ["C-NOISE"]
    assert ids(open_cases(store, scope=None, unit=GRID_CODE)) == ["C-NOISE"]  # lies in the grid
    assert ids(open_cases(store, scope=None, unit="D-HBJ")) == ["C-SMOKE"]  # holds it
    assert ids(open_cases(store, scope=["D-HBJ"], unit=GRID_CODE)) == []
    assert ids(open_cases(store, scope=[])) == []


def test_an_answer_is_bounded_and_says_it_was_cut(store: Store, config: DispatchConfig) -> None:
    county(store, config)
    found = open_cases(store, scope=None, limit=2)
    assert ids(found) == ["C-RED", "C-SMOKE"] and found.capped
