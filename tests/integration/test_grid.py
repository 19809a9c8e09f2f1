"""The grid service over RPC on the real broker, with the demo county loaded; imports that
change the territory, their events, and the ``civicflow grid`` commands."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pika
import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from civicflow.cli import main
from kit.db import Store
from kit.pii import load_vault
from services.grid.domain import Bundle, GridImportError
from services.grid.models import TABLES
from services.grid.repository import GridRepository
from services.grid.transfer import import_bundle, load_demo, read_bundle
from tests.support.harness import CONFIG_DIR, Platform, migrate_all, running, settings_for_test

GRID = "37011300100101"
MICRO = "3701130010010102"


@pytest.fixture
def grid(vhost_uri: str, tmp_path: Path, database_url: str) -> Iterator[tuple[Platform, Store]]:
    settings = settings_for_test(vhost_uri, tmp_path, database_url)
    migrate_all(settings, ["grid"])
    store = Store(settings.database_url_for("grid"), "grid", TABLES)
    load_demo(store, settings, load_vault(settings))
    try:
        with running(settings, ["grid"]) as platform:
            yield platform, store
    finally:
        store.dispose()


@pytest.fixture
def rpc(vhost_uri: str) -> Iterator[Any]:
    with ClusterRpcProxy({"AMQP_URI": vhost_uri}, timeout=10) as cluster:
        yield cluster.grid


def centre_of(store: Store, code: str) -> tuple[float, float]:
    with store.read() as session:
        unit = next(u for u in GridRepository(session).load().units if u.code == code)
    assert unit.geometry is not None
    point = unit.geometry.representative_point()
    return point.y, point.x


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time limit"
        time.sleep(0.05)


@pytest.mark.broker
def test_rpc_answers(grid: tuple[Platform, Store], rpc: Any) -> None:
    _, store = grid
    streets = rpc.units(level="street", limit=20)
    assert len(streets) == 10
    assert streets[0] == {
        "code": "370113001",
        "name": "城关街道",
        "level": "street",
        "parent": "370113",
    }
    assert len(rpc.units(level="grid", parent="370113001001")) in (10, 11)
    assert len(rpc.units(kind="exclusive", limit=100)) == 60

    assert [u["level"] for u in rpc.chain(MICRO)] == [
        "micro_grid",
        "grid",
        "community",
        "street",
        "district",
    ]

    lat, lon = centre_of(store, MICRO)
    located = rpc.locate(lat=lat, lon=lon)
    assert located["located"] is True and located["by"] == "point"
    assert [u["code"] for u in located["chain"]] == [
        MICRO,
        GRID,
        "370113001001",
        "370113001",
        "370113",
    ]

    lat, lon = centre_of(store, "370113001001Z01")
    school = rpc.locate(lat=lat, lon=lon)
    assert [x["code"] for x in school["exclusive"]] == ["370113001001Z01"]
    assert school["exclusive"][0]["type"] == "school"

    by_code = rpc.locate(grid_code=GRID)
    assert by_code["by"] == "code" and by_code["chain"][0]["code"] == GRID

    by_address = rpc.locate(address="城关街道新华社区第1网格2号微网格")
    assert by_address["by"] == "address" and by_address["chain"][0]["code"] == MICRO

    staff = rpc.staff(GRID)
    assert [p["role"] for p in staff][:3] == ["party_leader", "police", "grid_worker"]
    assert all(p["phone"] is None or "****" in p["phone"] for p in staff)
    assert len(rpc.staff(GRID, "volunteer")) == 2

    duties = rpc.departments_for("dispute.neighbour", "street", MICRO)
    assert [(d["department"], d["unit"]) for d in duties] == [("S-001", "370113001")]
    assert duties[0]["phone"] == "138****0101"
    assert [d["department"] for d in rpc.departments_for("labour.wage_arrears")] == ["D-RSJ"]

    catalogue = rpc.categories()
    assert len([c for c in catalogue if not c["group"]]) >= 60
    assert {"code": "dispute", "name": "矛盾纠纷"}.items() <= next(
        c for c in catalogue if c["code"] == "dispute"
    ).items()


@pytest.mark.broker
def test_locate_all_answers_each_place_as_locate_does(
    grid: tuple[Platform, Store], rpc: Any
) -> None:
    places: list[dict[str, Any]] = [
        {"grid_code": GRID},
        {"address": "城关街道新华社区第1网格2号微网格"},
        {"lat": 39.9, "lon": 116.4},
        {"grid_code": "999999"},
        {},
    ]
    assert rpc.locate_all(places) == [rpc.locate(**place) for place in places]
    assert [answer["located"] for answer in rpc.locate_all(places)] == [
        True, True, False, False, False
    ]  # fmt: skip
    assert rpc.locate_all([]) == []


@pytest.mark.broker
def test_not_found_is_an_answer_never_an_error(grid: tuple[Platform, Store], rpc: Any) -> None:
    outside = rpc.locate(lat=39.9, lon=116.4)
    assert (outside["located"], outside["reason"]) == (False, "outside")
    unknown = rpc.locate(grid_code="999999")
    assert (unknown["located"], unknown["reason"]) == (False, "unknown_code")
    nothing = rpc.locate(address="北京市朝阳区")
    assert (nothing["located"], nothing["reason"]) == (False, "no_match")
    ambiguous = rpc.locate(address="新华社区")
    assert ambiguous["reason"] == "ambiguous" and len(ambiguous["candidates"]) == 3
    assert rpc.locate(lat="north", lon=None)["reason"] == "invalid"
    assert rpc.locate()["reason"] == "no_input"
    assert rpc.chain("999999") == []
    assert rpc.staff("999999") == []
    assert rpc.departments_for("no.such") == []
    assert rpc.units(level="province") == []


@pytest.mark.broker
def test_changes_are_told_and_served_at_once(
    grid: tuple[Platform, Store], rpc: Any, vhost_uri: str
) -> None:
    platform, store = grid
    connection = pika.BlockingConnection(pika.URLParameters(vhost_uri))
    channel = connection.channel()
    channel.exchange_declare("grid.events", "topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "grid.events", "grid.#")
    assert rpc.chain(MICRO)[0]["name"] == "第1网格2号微网格"  # the index is built
    vault = load_vault(platform.settings)
    with store.read() as session:
        current = GridRepository(session, vault).load(open_phones=True)
    renamed = [replace(u, name="老街微网格") if u.code == MICRO else u for u in current.units]
    people = [
        replace(p, name="新网格员") if (p.unit, p.role) == (GRID, "grid_worker") else p
        for p in current.people
    ]
    report = import_bundle(store, Bundle(units=renamed, people=people), vault)
    assert (report.changed_units, report.changed_staff_units) == (1, 1)

    # served by the very next read: the index checks the revision before answering
    assert rpc.chain(MICRO)[0]["name"] == "老街微网格"
    assert [p["name"] for p in rpc.staff(GRID, "grid_worker")] == ["新网格员"]

    # (the demo's own import may still be on its way: look for ours among whatever comes)
    expected = [
        ("grid.unit_changed", {"codes": [MICRO], "change": "imported"}),
        ("grid.staff_changed", {"units": [GRID], "change": "imported"}),
    ]
    seen: list[tuple[str, dict[str, Any]]] = []

    def told() -> bool:
        method, _, body = channel.basic_get(queue, auto_ack=True)
        if method is not None:
            event = json.loads(body)
            seen.append((event["type"], event["data"]))
        return all(item in seen for item in expected)

    eventually(told)
    connection.close()

    # the same import again changes nothing and tells nothing
    again = import_bundle(store, Bundle(units=renamed, people=people), vault)
    assert (again.changed_units, again.changed_staff_units, again.revision) == (
        0,
        0,
        report.revision,
    )


@pytest.mark.broker
def test_a_refused_import_changes_nothing(grid: tuple[Platform, Store], rpc: Any) -> None:
    platform, store = grid
    vault = load_vault(platform.settings)
    with store.read() as session:
        current = GridRepository(session).load()
    orphan = [replace(u, parent="nowhere") if u.code == MICRO else u for u in current.units]
    with pytest.raises(GridImportError, match="parent nowhere is not a unit"):
        import_bundle(store, Bundle(units=orphan), vault)
    assert rpc.chain(MICRO)[1]["code"] == GRID


# --- the commands (no broker) -----------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DATABASE_URL", "GRID_DATABASE_URL", "CIVICFLOW_PHONE_KEYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIVICFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CIVICFLOW_CONFIG_DIR", str(CONFIG_DIR))
    return tmp_path


def test_export_then_import_with_the_commands(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "grid", "console"]) == 0
    assert main(["demo"]) == 0
    out = cli_env / "export"
    assert main(["grid", "export", "--out", str(out), "--with-phones"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "categories.yml",
        "departments.yml",
        "people.csv",
        "units.geojson",
    ]
    capsys.readouterr()
    assert main(["grid", "import", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3158 units" in printed and "6998 people" in printed
    assert "changed: 0 units, people of 0 units" in printed

    masked = cli_env / "masked"
    assert main(["grid", "export", "--out", str(masked)]) == 0
    assert "****" in (masked / "people.csv").read_text()
    assert main(["grid", "import", str(masked / "people.csv")]) == 1
    assert "is masked; export with --with-phones" in capsys.readouterr().err


def test_a_county_imports_its_own_grid(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    own = cli_env / "own"
    own.mkdir()
    square = [[117.0, 36.0], [117.1, 36.0], [117.1, 36.1], [117.0, 36.1], [117.0, 36.0]]
    features = [
        ("420000", "某县", "district", None),
        ("420000001", "城南街道", "street", "420000"),
        ("420000001001", "花园社区", "community", "420000001"),
        ("42000000100101", "花园社区第1网格", "grid", "420000001001"),
    ]
    (own / "units.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"code": c, "name": n, "level": lv, "parent": p},
                        "geometry": {"type": "Polygon", "coordinates": [square]},
                    }
                    for c, n, lv, p in features
                ],
            }
        )
    )
    (own / "people.csv").write_text(
        "unit,role,name,phone\n42000000100101,专职网格员,周敏,13700000001\n", encoding="utf-8"
    )
    assert main(["grid", "import", str(own)]) == 0
    printed = capsys.readouterr().out
    assert "4 units" in printed and "1 people" in printed
    assert "features[3] (42000000100101 花园社区第1网格): no party_leader, police" in printed

    (own / "people.csv").write_text("unit,role,name\n42000000100199,网格员,无此格\n")
    assert main(["grid", "import", str(own)]) == 1
    assert "unit 42000000100199 is not a unit" in capsys.readouterr().err


def test_bundle_files_are_found_by_name(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("unit,role,name\n")
    (tmp_path / "people.yml").write_text("people: []\n")
    with pytest.raises(GridImportError, match=r"people\.csv and people\.yml: keep one"):
        read_bundle(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(GridImportError, match="no territory files here"):
        read_bundle(empty)
    (tmp_path / "grid.txt").write_text("")
    with pytest.raises(GridImportError, match="unknown file name"):
        read_bundle(tmp_path / "grid.txt")
    with pytest.raises(GridImportError, match="no such file or directory"):
        read_bundle(tmp_path / "missing")
    assert read_bundle(tmp_path / "people.csv").parts == ["people"]
