"""The import handler over the in-memory unit of work: what it stores, what it tells, and that
a refused import stores and tells nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from shapely.geometry import box

from contracts.events import GRID_STAFF_CHANGED, GRID_UNIT_CHANGED, Envelope, Level
from services.grid.commands import ImportTerritory
from services.grid.domain import Bundle, Duty, GridImportError, Territory, Unit
from services.grid.handlers import import_territory
from tests.support.fake_grid import FakeGridUnitOfWork
from tests.unit.grid_support import tiny_territory

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def whole(territory: Territory) -> Bundle:
    return Bundle(
        units=list(territory.units),
        people=list(territory.people),
        departments=list(territory.departments),
        duties=list(territory.duties),
        categories=list(territory.categories),
    )


def told(events: list[Envelope[Any]]) -> list[tuple[str, list[str]]]:
    """Each event's type and the units it names."""
    return [
        (event.type, event.data.model_dump().get("codes") or event.data.units) for event in events
    ]


def stored(uow: FakeGridUnitOfWork) -> Territory:
    return uow.committed.load()


def test_an_import_stores_the_territory_and_tells_what_changed() -> None:
    tiny = tiny_territory()
    uow = FakeGridUnitOfWork()

    report = import_territory(uow, ImportTerritory(whole(tiny)), NOW)

    territory = stored(uow)
    assert set(territory.units) == set(tiny.units)
    assert set(territory.people) == set(tiny.people)
    assert set(territory.departments) == set(tiny.departments)
    assert set(territory.duties) == set(tiny.duties)
    assert set(territory.categories) == set(tiny.categories)
    assert told(uow.events) == [
        (GRID_UNIT_CHANGED.type, sorted(unit.code for unit in tiny.units)),
        # the district stands for the departments, duties and categories
        (GRID_STAFF_CHANGED.type, ["C1", "G1", "M1", "T"]),
    ]
    assert report.revision == 1 and uow.committed.revision() == 1
    assert report.counts == {
        "units": 13,
        "exclusive": 1,
        "people": 6,
        "departments": 4,
        "duties": 3,
        "categories": 4,
    }
    assert (report.changed_units, report.changed_staff_units) == (13, 3)
    assert report.responsibilities_changed


def test_the_same_import_again_changes_and_tells_nothing() -> None:
    tiny = tiny_territory()
    uow = FakeGridUnitOfWork(tiny)
    uow.committed.stored_revision = 7

    report = import_territory(uow, ImportTerritory(whole(tiny)), NOW)

    assert uow.events == []
    assert report.revision == 7 and uow.committed.revision() == 7
    assert (report.changed_units, report.changed_staff_units) == (0, 0)
    assert not report.responsibilities_changed


def test_a_change_of_people_is_told_for_their_units_only() -> None:
    tiny = tiny_territory()
    uow = FakeGridUnitOfWork(tiny)
    people = [replace(p, name="新网格员") if p.person_id == "p1" else p for p in tiny.people]

    report = import_territory(uow, ImportTerritory(Bundle(people=people)), NOW)

    assert told(uow.events) == [(GRID_STAFF_CHANGED.type, ["G1"])]
    assert next(p for p in stored(uow).people if p.person_id == "p1").name == "新网格员"
    assert set(stored(uow).units) == set(tiny.units)
    assert report.revision == 1


def test_a_unit_import_keeps_the_stored_people() -> None:
    tiny = tiny_territory()
    uow = FakeGridUnitOfWork(tiny)
    units = [replace(u, name="老街微网格") if u.code == "M1" else u for u in tiny.units]

    import_territory(uow, ImportTerritory(Bundle(units=units)), NOW)

    assert told(uow.events) == [(GRID_UNIT_CHANGED.type, ["M1"])]
    assert set(stored(uow).people) == set(tiny.people)


def test_a_change_of_duties_is_told_as_a_staff_change_of_the_district() -> None:
    tiny = tiny_territory()
    uow = FakeGridUnitOfWork(tiny)
    # A duty line that names no level takes its department's (street).
    duties = [*tiny.duties, Duty("S1-ZZ", "order.public", cast(Level, ""))]

    report = import_territory(uow, ImportTerritory(Bundle(duties=duties)), NOW)

    assert told(uow.events) == [(GRID_STAFF_CHANGED.type, ["T"])]
    assert report.responsibilities_changed and report.changed_staff_units == 0
    assert Duty("S1-ZZ", "order.public", "street") in stored(uow).duties


def test_a_refused_import_stores_and_tells_nothing() -> None:
    tiny = tiny_territory()
    uow = FakeGridUnitOfWork(tiny)
    orphan = Unit("M9", "孤儿微网格", "micro_grid", "G9", box(116.0, 36.0, 116.01, 36.01))
    renamed = [replace(u, name="改名") if u.code == "M1" else u for u in tiny.units]

    with pytest.raises(GridImportError) as refused:
        import_territory(uow, ImportTerritory(Bundle(units=[*renamed, orphan])), NOW)

    assert [str(p) for p in refused.value.problems] == ["M9 孤儿微网格: parent G9 is not a unit"]
    assert uow.commits == 0 and uow.events == []
    assert set(stored(uow).units) == set(tiny.units) and uow.committed.revision() == 0


def test_the_tolerance_of_the_command_is_the_one_checked() -> None:
    tiny = tiny_territory()
    # M4 pokes about 5 m east of its grid G2 (and of the county).
    units = [
        replace(u, geometry=box(116.1, 36.0, 116.20005, 36.2)) if u.code == "M4" else u
        for u in tiny.units
    ]
    strict = FakeGridUnitOfWork(tiny)
    with pytest.raises(GridImportError) as refused:
        import_territory(strict, ImportTerritory(Bundle(units=units), tolerance_m=1.0), NOW)
    assert any("M4" in str(problem) for problem in refused.value.problems)
    assert strict.commits == 0

    lenient = FakeGridUnitOfWork(tiny)
    import_territory(lenient, ImportTerritory(Bundle(units=units), tolerance_m=20.0), NOW)
    assert told(lenient.events) == [(GRID_UNIT_CHANGED.type, ["M4"])]


def test_grids_short_of_their_sole_roles_are_stored_with_warnings() -> None:
    uow = FakeGridUnitOfWork()

    report = import_territory(uow, ImportTerritory(whole(tiny_territory())), NOW)

    assert [str(w) for w in report.warnings] == [
        "G1 甲社区第1网格: no police",
        "G2 甲社区第2网格: no grid_worker, party_leader, police",
        "G3 王庄村第1网格: no grid_worker, party_leader, police",
    ]
    assert uow.commits == 1
