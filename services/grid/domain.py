"""The territory as plain values, and the demo county at the scale of the seed reports.

区 > 街镇 > 村居 > 网格 > 微网格: 1 district, 10 streets and towns, 60 communities and villages,
620 grids and 2,407 micro-grids, as in the county the seeds describe.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from contracts.events import Level

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


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: Level
    parent: str | None


def spread(total: int, buckets: int) -> list[int]:
    """``total`` items over ``buckets`` as evenly as whole numbers allow, larger first."""
    base, extra = divmod(total, buckets)
    return [base + (1 if index < extra else 0) for index in range(buckets)]


def demo_county(code: str = "370113", name: str = "示范县") -> Iterator[Unit]:
    """A deterministic county: same codes and names on every run."""
    yield Unit(code, name, "district", None)
    per_street = spread(DEMO_SCALE["community"], DEMO_SCALE["street"])
    grids_per_community = spread(DEMO_SCALE["grid"], DEMO_SCALE["community"])
    micro_per_grid = spread(DEMO_SCALE["micro_grid"], DEMO_SCALE["grid"])
    community_index = grid_index = 0
    for s, street_name in enumerate(STREET_NAMES):
        street = f"{code}{s + 1:03d}"
        is_town = street_name.endswith("镇")
        yield Unit(street, street_name, "street", code)
        for c in range(per_street[s]):
            word = PLACE_WORDS[(community_index * 7 + s) % len(PLACE_WORDS)]
            community = f"{street}{c + 1:03d}"
            suffix = "村" if is_town else "社区"
            yield Unit(community, f"{word}{suffix}", "community", street)
            for g in range(grids_per_community[community_index]):
                grid = f"{community}{g + 1:02d}"
                yield Unit(grid, f"{word}{suffix}第{g + 1}网格", "grid", community)
                for m in range(micro_per_grid[grid_index]):
                    yield Unit(
                        f"{grid}{m + 1:02d}", f"第{g + 1}网格{m + 1}号微网格", "micro_grid", grid
                    )
                grid_index += 1
            community_index += 1
