"""The demo county, at the scale of the seed reports, generated the same on every run.

1 district, 10 streets and towns, 60 communities and villages, 620 grids and 2,407 micro-grids
(the seeds: 10 个大网格、60 个中网格、620 个小网格、2407 个微网格), tiled over about 1,200 km²
around 116.7 E, 36.55 N; one exclusive grid (专属网格) in each community; every grid with its
一格四员, every micro-grid with its 微网格员, a supervisor for every community, street and the
district. Departments, duties and categories come from ``deploy/config`` (see
``transfer.load_demo``), so dispatch and grid read the same catalogue.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from shapely.geometry import Polygon, box

from contracts.rpc import ExclusiveType, StaffRole
from services.grid.address import stripped
from services.grid.domain import Person, Territory, Unit, spread

STREET_NAMES = (
    "城关街道",
    "东城街道",
    "西城街道",
    "南关街道",
    "北关街道",
    "文昌镇",
    "马山镇",
    "孝里镇",
    "归德镇",
    "双泉镇",
)
PLACE_WORDS = (
    "新华",
    "和平",
    "幸福",
    "光明",
    "建设",
    "胜利",
    "富民",
    "青龙",
    "凤凰",
    "玉泉",
    "石庄",
    "柳林",
    "杏花",
    "桃园",
    "王庄",
    "李家",
    "张庄",
    "刘家",
    "赵庄",
    "孙家",
)
DEMO_SCALE = {"street": 10, "community": 60, "grid": 620, "micro_grid": 2407}
DEMO_BOUNDS = (116.5, 36.4, 116.9, 36.7)
"""west, south, east, north: 0.4° × 0.3° ≈ 36 km × 33 km around 116.7 E, 36.55 N."""

EXCLUSIVE_CYCLE: tuple[ExclusiveType, ...] = (
    "school",
    "hospital",
    "market",
    "enterprise",
    "construction_site",
)
INDUSTRIES = ("机械", "食品", "建材", "纺织")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰文斌宇浩凯鹏飞"
ROUNDING = 7  # ~1 cm: enough, and shared edges stay exactly equal

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class _Place:
    """A unit being generated, with its box."""

    unit: Unit
    bounds: Box


def demo_territory(code: str = "370113", name: str = "示范县") -> Territory:
    """Units (basic and exclusive) and people of the demo county."""
    rng = random.Random(f"civicflow-demo-{code}")
    places = list(_places(code, name, rng))
    units = [place.unit for place in places]
    exclusive = list(_exclusive_grids(places))
    return Territory(
        units=tuple(units + exclusive),
        people=tuple(_people(units, exclusive, rng)),
    )


def demo_county(code: str = "370113", name: str = "示范县") -> Iterator[Unit]:
    """The basic units only, parents before children."""
    rng = random.Random(f"civicflow-demo-{code}")
    for place in _places(code, name, rng):
        yield place.unit


def _places(code: str, name: str, rng: random.Random) -> Iterator[_Place]:
    district_box = DEMO_BOUNDS
    yield _Place(Unit(code, name, "district", None, _polygon(district_box)), district_box)
    per_street = spread(DEMO_SCALE["community"], DEMO_SCALE["street"])
    grids_per_community = spread(DEMO_SCALE["grid"], DEMO_SCALE["community"])
    micro_per_grid = spread(DEMO_SCALE["micro_grid"], DEMO_SCALE["grid"])
    community_index = grid_index = 0
    street_boxes = tile(district_box, len(STREET_NAMES), rng)
    for s, (street_name, street_box) in enumerate(zip(STREET_NAMES, street_boxes, strict=True)):
        street = f"{code}{s + 1:03d}"
        is_town = street_name.endswith("镇")
        yield _Place(Unit(street, street_name, "street", code, _polygon(street_box)), street_box)
        community_boxes = tile(street_box, per_street[s], rng)
        for c, community_box in enumerate(community_boxes):
            word = PLACE_WORDS[(community_index * 7 + s) % len(PLACE_WORDS)]
            community = f"{street}{c + 1:03d}"
            community_name = f"{word}{'村' if is_town else '社区'}"
            yield _Place(
                Unit(community, community_name, "community", street, _polygon(community_box)),
                community_box,
            )
            grid_boxes = tile(community_box, grids_per_community[community_index], rng)
            for g, grid_box in enumerate(grid_boxes):
                grid = f"{community}{g + 1:02d}"
                yield _Place(
                    Unit(
                        grid,
                        f"{community_name}第{g + 1}网格",
                        "grid",
                        community,
                        _polygon(grid_box),
                    ),
                    grid_box,
                )
                micro_boxes = tile(grid_box, micro_per_grid[grid_index], rng)
                for m, micro_box in enumerate(micro_boxes):
                    yield _Place(
                        Unit(
                            f"{grid}{m + 1:02d}",
                            f"第{g + 1}网格{m + 1}号微网格",
                            "micro_grid",
                            grid,
                            _polygon(micro_box),
                        ),
                        micro_box,
                    )
                grid_index += 1
            community_index += 1


def tile(bounds: Box, count: int, rng: random.Random) -> list[Box]:
    """``count`` boxes that exactly cover ``bounds``, in reading order (north-west first):
    rows as near square as the count allows, cut lines nudged so no two look alike."""
    west, south, east, north = bounds
    width = (east - west) * math.cos(math.radians((south + north) / 2))
    height = north - south
    rows = min(count, max(1, round(math.sqrt(count * height / width))))
    per_row = spread(count, rows)
    ys = _cuts(north, south, per_row, rng)
    boxes = []
    for row, in_row in enumerate(per_row):
        xs = _cuts(west, east, [1] * in_row, rng)
        for column in range(in_row):
            boxes.append((xs[column], ys[row + 1], xs[column + 1], ys[row]))
    return boxes


def _cuts(start: float, end: float, weights: list[int], rng: random.Random) -> list[float]:
    """Edges from ``start`` to ``end`` splitting it in proportion to ``weights``; the ends are
    the parent's own values, so children never stick out by a rounding error."""
    total = sum(weights)
    step = (end - start) / total
    edges = [start]
    done = 0
    for weight in weights[:-1]:
        done += weight
        nudge = rng.uniform(-0.2, 0.2) * step
        edges.append(round(start + step * done + nudge, ROUNDING))
    edges.append(end)
    return edges


def _polygon(bounds: Box) -> Polygon:
    return box(*bounds)


def _exclusive_grids(places: list[_Place]) -> Iterator[Unit]:
    """One exclusive grid per community, a box around its middle that overlays several grids
    and micro-grids: a school, a hospital, a market, an enterprise or a construction site."""
    streets = {place.unit.code: place.unit for place in places if place.unit.level == "street"}
    communities = [place for place in places if place.unit.level == "community"]
    for index, place in enumerate(communities):
        community = place.unit
        street = streets[community.parent or ""]
        street_short = stripped(street.name) or street.name
        word = stripped(community.name) or community.name
        kind = EXCLUSIVE_CYCLE[index % len(EXCLUSIVE_CYCLE)]
        town = street.name.endswith("镇")
        institution = {
            "school": f"{word}小学",
            "hospital": f"{word}{'卫生院' if town else '社区卫生服务中心'}",
            "market": f"{word}农贸市场",
            "enterprise": f"{word}{INDUSTRIES[index % len(INDUSTRIES)]}有限公司",
            "construction_site": f"{word}安置房建设工地",
        }[kind]
        west, south, east, north = place.bounds
        middle_x, middle_y = (west + east) / 2, (south + north) / 2
        half_w, half_h = (east - west) * 0.12, (north - south) * 0.12
        yield Unit(
            code=f"{community.code}Z01",
            name=f"{institution}专属网格",
            level="grid",
            parent=community.code,
            geometry=box(
                round(middle_x - half_w, ROUNDING),
                round(middle_y - half_h, ROUNDING),
                round(middle_x + half_w, ROUNDING),
                round(middle_y + half_h, ROUNDING),
            ),
            kind="exclusive",
            exclusive_type=kind,
            aliases=(institution, f"{street_short}{institution}"),
        )


def _people(units: list[Unit], exclusive: list[Unit], rng: random.Random) -> Iterator[Person]:
    def person(unit: str, role: StaffRole, n: int = 1, person_id: str | None = None) -> Person:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        pid = person_id or f"{unit}-{role}-{n}"
        return Person(pid, unit, role, name, phone, f"wxid_{rng.randrange(16**10):010x}")

    police: dict[str, Person] = {}
    for unit in units:
        if unit.level in ("district", "street", "community"):
            yield person(unit.code, "supervisor")
        if unit.level == "community":
            # One community police officer (社区民警) is the liaison of all its grids.
            police[unit.code] = person(unit.code, "police", person_id=f"{unit.code}-police")
        elif unit.level == "grid":
            yield person(unit.code, "party_leader")
            officer = police[unit.parent or ""]
            yield Person(
                officer.person_id, unit.code, "police", officer.name, officer.phone, officer.wechat
            )
            yield person(unit.code, "grid_worker")
            for n in (1, 2):
                yield person(unit.code, "mediator", n)
            for n in (1, 2):
                yield person(unit.code, "volunteer", n)
        elif unit.level == "micro_grid":
            yield person(unit.code, "micro_grid_worker")
    for unit in exclusive:
        yield person(unit.code, "party_leader")
        officer = police[unit.parent or ""]
        yield Person(
            officer.person_id, unit.code, "police", officer.name, officer.phone, officer.wechat
        )
        yield person(unit.code, "grid_worker")
