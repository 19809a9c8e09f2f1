"""The data-scale bench's generator: its pure parts (how cases spread over time and fates,
and the shape of the rows it writes), without a database."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.data_scale_load import METADATA, copy_text
from bench.data_scale_pools import (
    Pools,
    categories_of,
    category_weights,
    citizens_of,
    contents_of,
    merged_words,
    places_of,
    shared_objects,
    street_centres,
)
from bench.data_scale_rows import OPEN, case_id_of, chunk, received_at, status_of

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "config"
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
SPAN = (NOW - timedelta(days=5 * 365), NOW)
UNITS = [
    ("370113", "示范县", "district", None),
    ("370113001", "城关街道", "street", "370113"),
    ("370113001001", "新华社区", "community", "370113001"),
    ("37011300100101", "新华社区第1网格", "grid", "370113001001"),
    ("37011300100102", "新华社区第2网格", "grid", "370113001001"),
]


def words(text: str) -> list[str]:
    return [text[i : i + 2] for i in range(0, len(text), 2)]


@pytest.fixture(scope="module")
def pools() -> Pools:
    categories = categories_of(CONFIG)
    names = {c.code: c.code for c in categories}
    return Pools(
        categories,
        category_weights(categories),
        contents_of(categories, names, words),
        places_of(UNITS, street_centres(CONFIG), words),
        citizens_of(50, (lambda p: f"sealed:{p}", lambda p: f"fp:{p}", lambda p: f"ix:{p}")),
    )


def test_cases_spread_evenly_over_the_span_oldest_first() -> None:
    count = 1000
    times = [received_at(i, count, *SPAN, jitter=0.5) for i in range(count)]
    assert times == sorted(times)
    assert SPAN[0] <= times[0] < SPAN[0] + timedelta(days=2)
    assert SPAN[1] - timedelta(days=2) < times[-1] < SPAN[1]
    per_year = Counter((t - SPAN[0]).days // 365 for t in times)
    assert all(190 <= per_year[year] <= 210 for year in range(5))


def test_old_cases_are_closed_and_recent_ones_open() -> None:
    rng = random.Random(1)
    old = Counter(status_of(1000, rng.random()) for _ in range(20_000))
    recent = Counter(status_of(0.5, rng.random()) for _ in range(20_000))
    assert old["closed"] > 0.75 * 20_000
    assert 0 < sum(old[s] for s in OPEN) < 0.01 * 20_000  # a few never concluded: overdue
    assert sum(recent[s] for s in OPEN) > 0.3 * 20_000
    assert recent["pending_dispatch"] > 0
    assert set(old) | set(recent) <= {*OPEN, "pending_dispatch", "concluded", "closed",
                                      "resolved_on_site", "merged"}  # fmt: skip


def test_case_ids_are_unique_and_sort_as_received() -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    ids = [case_id_of(n, at) for n in (0, 35, 36, 1_999_999)]
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert ids[0] == "CF260102-000000" and len(ids[-1]) <= 32


def test_rows_fit_the_services_tables(pools: Pools) -> None:
    rows = chunk(0, 2000, 2000, pools, SPAN, seed=3)
    cases = {row["case_id"]: row for row in rows["dispatch", "cases"]}
    assert len(cases) == 2000 == len(rows["intake", "submissions"])
    for (service, table), made in rows.items():
        columns = METADATA[service].tables[table].columns
        # COPY applies no Python-side default: every NOT NULL column but a serial id is given
        required = {c.name for c in columns if not c.nullable} - {"id"}
        assert made, (service, table)
        for row in made:
            assert required <= set(row) <= {c.name for c in columns}, (service, table)
    assert all(row["id"] for row in rows["supervision", "assignments"])
    assert {r["case_id"] for r in rows["dispatch", "case_history"]} == set(cases)
    assert {r["case_id"] for r in rows["dispatch", "case_reach"]} <= set(cases)
    lines = Counter(row["source"] for row in cases.values())
    assert set(lines) == {"hotline", "gridapp", "opinion", "petition", "centre"}
    assert len({row["category"] for row in cases.values()}) > 20


def test_open_cases_past_their_limit_have_late_clocks(pools: Pools) -> None:
    rows = chunk(0, 3000, 3000, pools, SPAN, seed=4)
    overdue = {r["case_id"] for r in rows["dispatch", "cases"]
               if r["due_at"] is not None and r["due_at"] < NOW}  # fmt: skip
    late = {c["case_id"] for c in rows["supervision", "clocks"] if c["overdue"]}
    assert overdue and overdue == late
    for clock in rows["supervision", "clocks"]:
        assert (clock["state"] == "open") == (clock["stopped_at"] is None)
        assert clock["next_due_at"] is None or clock["next_due_at"] > NOW  # no backlog to scan
    held = {r["case_id"] for r in rows["dispatch", "case_reach"] if r["held"]}
    assert overdue <= held


def test_phones_are_sealed_and_shared_by_several_cases(pools: Pools) -> None:
    submissions = chunk(0, 2000, 2000, pools, SPAN, seed=5)["intake", "submissions"]
    prints = Counter(s["reporter_fingerprint"] for s in submissions if s["reporter_fingerprint"])
    assert max(prints.values()) > 1
    sealed = [s["reporter_phone_sealed"] for s in submissions if s["reporter_phone_sealed"]]
    assert all(s.startswith("sealed:13") for s in sealed)
    shown = [s["case"]["reporter"]["phone"] for s in submissions if s["case"]["reporter"]["phone"]]
    assert shown and all(re.fullmatch(r"1[3-9]\d\*{4}\d{4}", phone) for phone in shown)


def test_copy_text_escapes_and_writes_null(pools: Pools) -> None:
    shared = {id(o): "SHARED" for o in shared_objects(pools)}
    place = pools.places[0].chain
    rows = [{"a": None, "b": "x\ty\\z\n", "c": True, "d": place, "e": {"k": "值"}, "f": []}]
    columns, text = copy_text(rows, shared)
    assert columns == ["a", "b", "c", "d", "e", "f"]
    assert text == '\\N\tx\\ty\\\\z\\n\tt\tSHARED\t{"k": "值"}\t[]\n'


def test_search_words_merge_each_once() -> None:
    assert merged_words(["油烟", "污染"], ["新华", "污染"]) == "油烟 污染 新华"
