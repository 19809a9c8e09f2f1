"""Shared pieces of the grid tests: the demo county built once per session, and a tiny
hand-drawn territory whose every border and hole is known."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from shapely.geometry import Polygon, box

from services.grid.demo import demo_territory
from services.grid.domain import Category, Department, Duty, Person, Territory, Unit, merge
from services.grid.index import TerritoryIndex
from services.grid.transfer import parse_bundle
from tests.unit.conftest import CONFIG_DIR


@cache
def demo() -> Territory:
    return demo_territory()


@cache
def demo_index() -> TerritoryIndex:
    return TerritoryIndex(demo())


@cache
def configured_demo_index() -> TerritoryIndex:
    """The demo county with the departments, duties and categories of ``deploy/config``."""
    texts = {
        part: (CONFIG_DIR / f"{part}.yml").read_text() for part in ("departments", "categories")
    }
    bundle = parse_bundle(texts)
    return TerritoryIndex(merge(demo(), bundle))


def ring(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    """A closed counter-clockwise rectangle ring in GeoJSON order [lon, lat]."""
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def feature(
    code: str,
    name: str,
    level: str,
    parent: str | None,
    geometry: Any,
    **extra: Any,
) -> dict[str, Any]:
    properties = {"code": code, "name": name, "level": level, "parent": parent, **extra}
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def polygon(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def collection(*features: dict[str, Any]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


# The tiny county, in degrees around (116, 36):
#
#   district T (116.0..116.4 × 36.0..36.2)
#   ├─ street S1 甲街道 (116.0..116.2)  └─ community C1 甲社区 (= S1)
#   │    ├─ grid G1 甲社区第1网格 (116.0..116.1)
#   │    │    ├─ micro M1 (36.0..36.1)
#   │    │    ├─ micro M2 (36.1..36.2) with a hole 116.04..116.06 × 36.14..36.16 …
#   │    │    └─ micro M3, the enclave filling that hole
#   │    └─ grid G2 甲社区第2网格 (116.1..116.2), one micro M4
#   └─ street S2 乙镇 (116.2..116.4) └─ village V1 王庄村 (= S2) └─ grid G3 (= V1), no micros
#   exclusive X1 育才小学 (school) over 116.08..116.12 × 36.05..36.07, across G1 and G2
HOLE = ring(116.04, 36.14, 116.06, 36.16)


def tiny_units() -> list[Unit]:
    return [
        Unit("T", "小县", "district", None, box(116.0, 36.0, 116.4, 36.2)),
        Unit("S1", "甲街道", "street", "T", box(116.0, 36.0, 116.2, 36.2)),
        Unit("C1", "甲社区", "community", "S1", box(116.0, 36.0, 116.2, 36.2)),
        Unit("G1", "甲社区第1网格", "grid", "C1", box(116.0, 36.0, 116.1, 36.2)),
        Unit("M1", "第1网格1号微网格", "micro_grid", "G1", box(116.0, 36.0, 116.1, 36.1)),
        Unit(
            "M2",
            "第1网格2号微网格",
            "micro_grid",
            "G1",
            Polygon(ring(116.0, 36.1, 116.1, 36.2), [HOLE]),
        ),
        Unit("M3", "第1网格3号微网格", "micro_grid", "G1", box(116.04, 36.14, 116.06, 36.16)),
        Unit("G2", "甲社区第2网格", "grid", "C1", box(116.1, 36.0, 116.2, 36.2)),
        Unit("M4", "第2网格1号微网格", "micro_grid", "G2", box(116.1, 36.0, 116.2, 36.2)),
        Unit("S2", "乙镇", "street", "T", box(116.2, 36.0, 116.4, 36.2)),
        Unit("V1", "王庄村", "community", "S2", box(116.2, 36.0, 116.4, 36.2)),
        Unit("G3", "王庄村第1网格", "grid", "V1", box(116.2, 36.0, 116.4, 36.2)),
        Unit(
            "X1",
            "育才小学专属网格",
            "grid",
            "C1",
            box(116.08, 36.05, 116.12, 36.07),
            kind="exclusive",
            exclusive_type="school",
            aliases=("育才小学",),
        ),
    ]


def tiny_territory() -> Territory:
    return Territory(
        units=tuple(tiny_units()),
        people=(
            Person("p1", "G1", "grid_worker", "王芳", "13812341234", "wx1"),
            Person("p2", "G1", "party_leader", "李强", "13912345678"),
            Person("p3", "G1", "mediator", "张伟", "13700001111"),
            Person("p4", "G1", "mediator", "刘洋", None),
            Person("p5", "M1", "micro_grid_worker", "赵敏", "13600002222"),
            Person("p6", "C1", "supervisor", "孙丽", "13500003333"),
        ),
        departments=(
            Department("D-SFJ", "县司法局", "district", phone="13800000004"),
            Department("D-GAJ", "县公安局", "district", phone="13800000003"),
            Department("S1-ZZ", "甲街道综治中心", "street", unit="S1", phone="13800000101"),
            Department("S2-ZZ", "乙镇综治中心", "street", unit="S2"),
        ),
        duties=(
            Duty("S1-ZZ", "dispute", "street"),
            Duty("S2-ZZ", "dispute.neighbour", "street"),
            Duty("D-GAJ", "dispute.neighbour", "district", "assist"),
        ),
        categories=(
            Category("dispute", "矛盾纠纷"),
            Category(
                "dispute.neighbour",
                "邻里纠纷",
                "dispute",
                "D-SFJ",
                "district",
                "P5D",
                "blue",
                (("邻居", 1.0),),
            ),
            Category("dispute.family", "婚姻家庭纠纷", "dispute", "D-SFJ", "district", "P5D"),
            Category("order.public", "治安问题", None, "D-GAJ", "district", "P3D", "yellow"),
        ),
    )
