"""The routing decision of dispatch as a pure function: cases routed per second in process.

A deterministic mix of the four lines (a given category, keywords only, red risk, a grid
report, a petition), located in a street or not, decided against the real configuration.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from contracts.events import CaseReceived, Reporter
from contracts.rpc import DepartmentDuty, GridUnit
from services.dispatch.domain import Place, RoutingRules, RoutingTable, decide, extra_keywords

CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "config"


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((CONFIG / name).read_text(encoding="utf-8"))
    return document


SAMPLES: tuple[tuple[dict[str, Any], bool], ...] = (
    ({"channel": "hotline", "content": "饭店油烟污染", "category": "environment.pollution"}, False),
    ({"channel": "hotline", "content": "夜间施工噪音", "category": "environment.noise"}, True),
    ({"channel": "hotline", "content": "楼下广场舞太吵,影响休息"}, True),
    ({"channel": "grid", "content": "邻里占道纠纷", "category": "dispute.neighbour"}, True),
    ({"channel": "petition", "content": "讨要拖欠工资", "category": "labour.wage_arrears"}, False),
    ({"channel": "opinion", "content": "工人聚集讨薪", "risk": "red"}, False),
)
"""(fields of the case, located in a street or not)."""


def _cases() -> list[tuple[CaseReceived, Place]]:
    now = datetime.now(UTC)
    chain = (
        GridUnit(code="37011300100101", name="第1网格", level="grid", parent="370113001001"),
        GridUnit(code="370113001001", name="幸福社区", level="community", parent="370113001"),
        GridUnit(code="370113001", name="城关街道", level="street", parent="370113"),
        GridUnit(code="370113", name="示范县", level="district", parent=None),
    )
    located, nowhere = Place(chain, "located"), Place((), "no place")
    return [
        (
            CaseReceived(
                source="bench", external_id=str(i), reporter=Reporter(), received_at=now, **fields
            ),
            located if in_street else nowhere,
        )
        for i, (fields, in_street) in enumerate(SAMPLES)
    ]


def run_routing_bench(decisions: int = 60_000) -> dict[str, Any]:
    routing = _load("routing.yml")
    table = extra_keywords(
        routing, RoutingTable.from_config(_load("categories.yml"), _load("departments.yml"))
    )
    rules = RoutingRules.from_config(routing, table)
    duties = {
        "street": [DepartmentDuty(department="S-001", name="城关街道综治中心", level="street",
                                  unit="370113001", category="x", role="lead")],
        "district": [DepartmentDuty(department="D-HBJ", name="市生态环境局县分局",
                                    level="district", unit=None, category="x", role="lead")],
    }  # fmt: skip
    cases = _cases()
    started = time.perf_counter()
    for i in range(decisions):
        case, place = cases[i % len(cases)]
        decide(case, place, duties, table, rules)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    return {"routing_decisions_per_s": round(decisions / seconds, 1)}


if __name__ == "__main__":
    print(run_routing_bench())
