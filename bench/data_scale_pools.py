"""What the data-scale bench draws its cases from: the demo county's streets and grids, the
category catalogue, a few hundred realistic contents and addresses (cut into search terms ONCE,
by dispatch's own tokeniser), and a pool of citizens' phones (sealed and fingerprinted once,
by kit.pii's vault). Every case reuses them: 2,000,000 cases never run jieba or Fernet again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contracts.common import mask_phone
from kit.catalogue import load_catalogue

INTROS = ("", "市民来电反映:", "群众反映", "居民投诉:", "网格员巡查发现")
PHRASES: dict[str, tuple[str, ...]] = {
    "dispute.neighbour": (
        "{b}邻里因占道堆放杂物争吵,需要调解",
        "楼上住户漏水殃及楼下,双方协商未果",
    ),
    "dispute.family": ("夫妻因抚养费问题长期争吵,请求调解",),
    "dispute.land": ("村民之间因土地承包边界发生纠纷",),
    "dispute.homestead": ("宅基地界址不清,两户村民多次发生冲突",),
    "labour.wage_arrears": ("{b}工地拖欠农民工工资三个月未发", "建筑公司拖欠工资,工人讨薪无门"),
    "labour.social_insurance": ("单位未给职工缴纳社保,医保无法报销",),
    "property.management": ("{b}物业服务差,楼道垃圾长期无人清理", "物业擅自提高物业费,业主不满"),
    "property.elevator": ("{b}电梯长期故障,老人上下楼困难", "电梯频繁停运,困人事件多次发生"),
    "property.heating": ("{b}暖气不热,室温不足十六度",),
    "environment.pollution": ("{b}楼下饭店油烟污染严重,请尽快处理", "工厂夜间排放废气,气味刺鼻"),
    "environment.noise": ("{b}附近广场舞噪音扰民,夜里十点后仍未停止", "工地夜间施工噪音扰民"),
    "environment.water": ("河道出现大量死鱼,水体发黑发臭",),
    "environment.straw": ("村外农田有人焚烧秸秆,浓烟滚滚",),
    "market.food_safety": ("学校门口小吃摊卫生条件差,食品安全堪忧",),
    "market.consumer": ("健身房突然关门,预付卡无法退费",),
    "safety.fire": ("{b}楼道堆放杂物堵塞消防通道", "消防栓损坏无水,存在火灾隐患"),
    "safety.gas": ("{b}单元门口闻到燃气泄漏气味",),
    "safety.electric_bike": ("{b}居民私拉电线给电动车充电",),
    "order.public": ("夜市有人聚众斗殴,影响治安",),
    "order.fraud": ("老人接到冒充公检法的诈骗电话,被骗转账",),
    "traffic.roads": ("路口红绿灯损坏,车辆通行混乱", "道路坑洼积水,行人出行不便"),
    "traffic.parking": ("{b}门口车辆乱停乱放,堵塞小区出入口",),
    "city.management": ("街道两侧占道经营,垃圾遍地", "垃圾桶满溢多日无人清运"),
    "city.illegal_building": ("{b}顶楼住户私搭乱建违法建设",),
    "water.supply": ("{b}停水三天未恢复供水", "下水道堵塞污水外溢"),
    "power.supply": ("村里频繁停电,变压器老化",),
    "education.school": ("学校违规收取补课费,家长反映强烈",),
    "health.medical": ("卫生院医生服务态度差,看病排队时间长",),
    "welfare.assistance": ("困难家庭申请低保迟迟没有答复",),
    "welfare.elderly": ("独居老人无人照料,希望社区关注",),
    "agriculture.collective": ("村务账目不公开,村民质疑集体资金去向",),
    "petition.stability": ("多名群众集体反映征地补偿款未到位",),
    "housing.construction": ("{b}新房墙体开裂渗水,开发商拒不维修",),
}
"""Matters as citizens put them, by category; ``{b}`` is a building of the address. Other
categories get a plain sentence with their Chinese name."""
STREET_DUTIES = (
    "dispute",
    "property.management",
    "environment.noise",
    "city.management",
    "labour.wage_arrears",
    "agriculture.collective",
)
"""What the street centres (街镇综治中心, departments.yml) take at street level."""
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"


@dataclass(frozen=True)
class Category:
    code: str
    department: dict[str, str]  # an Assignee: kind, code, name
    resolve_seconds: int
    risk: str
    street_duty: bool


@dataclass(frozen=True)
class Place:
    """A grid with its chain up to the district (dispatch's ``place``), its street's centre,
    and the addresses in it (address, its search words)."""

    chain: list[dict[str, Any]]
    street_centre: dict[str, str] | None
    addresses: list[tuple[str, list[str]]]
    grid: dict[str, str]
    """The grid as an assignee (a grid report stays in it)."""
    territory: dict[str, str]
    """Its units by level, as supervision keeps a case's territory."""


@dataclass(frozen=True)
class Citizen:
    masked: str
    sealed: str
    fingerprint: str
    phone: str
    index: str  # the keyed blind index phone search finds it by (kernel.phones)


@dataclass(frozen=True)
class Pools:
    categories: list[Category]
    category_weights: list[float]
    contents: dict[str, list[tuple[str, list[str]]]]  # category: (content, its search words)
    places: list[Place]
    citizens: list[Citizen]


def categories_of(config_dir: Path) -> list[Category]:
    """Every category of the catalogue, with its department as an assignee and its default
    risk (its own, else its group's, else blue)."""
    catalogue = load_catalogue(config_dir)
    written = yaml.safe_load((config_dir / "categories.yml").read_text(encoding="utf-8"))
    group_risk = {g["code"]: g.get("risk", "blue") for g in written["groups"]}
    own_risk = {
        c["code"]: c.get("risk") or group_risk.get(c.get("parent", ""), "blue")
        for c in written["categories"]
    }
    found = []
    for code, category in catalogue.categories.items():
        department = catalogue.departments[category.department]
        found.append(
            Category(
                code,
                {"kind": "department", "code": department.code, "name": department.name},
                int(category.resolve.total_seconds()),
                own_risk.get(code, "blue"),
                code in STREET_DUTIES or code.split(".")[0] in STREET_DUTIES,
            )
        )
    return found


def category_weights(categories: Sequence[Category]) -> list[float]:
    """Those citizens speak of most (a phrase written for them) ten times as often."""
    return [10.0 if c.code in PHRASES else 1.0 for c in categories]


def contents_of(
    categories: Sequence[Category], names: Mapping[str, str], cut: Callable[[str], list[str]]
) -> dict[str, list[tuple[str, list[str]]]]:
    """Each category's contents, each cut into its search words once."""
    pool: dict[str, list[tuple[str, list[str]]]] = {}
    for category in categories:
        plain = f"反映{names[category.code]}方面的问题,请尽快核实处理"
        phrases = PHRASES.get(category.code, (plain,))
        texts = [
            intro + phrase.format(b=f"{3 + n}号楼")
            for n, phrase in enumerate(phrases)
            for intro in INTROS
        ]
        pool[category.code] = [(text, cut(text)) for text in dict.fromkeys(texts)]
    return pool


def places_of(
    units: Sequence[tuple[str, str, str, str | None]],
    centres: Mapping[str, dict[str, str]],
    cut: Callable[[str], list[str]],
    buildings: int = 3,
) -> list[Place]:
    """Every grid of the county (units: code, name, level, parent) with its chain, its
    street's centre and ``buildings`` addresses per community (cut once, shared by its grids)."""
    by_code = {code: (code, name, level, parent) for code, name, level, parent in units}
    addresses: dict[str, list[tuple[str, list[str]]]] = {}
    places = []
    for code, _name, level, _parent in units:
        if level != "grid":
            continue
        chain, at = [], by_code.get(code)
        while at is not None:
            chain.append({"code": at[0], "name": at[1], "level": at[2], "parent": at[3]})
            at = by_code.get(at[3]) if at[3] else None
        street = next((u for u in chain if u["level"] == "street"), None)
        community = next((u for u in chain if u["level"] == "community"), chain[0])
        if community["code"] not in addresses:
            texts = [
                f"{street['name'] if street else ''}{community['name']}{n}号楼"
                for n in range(1, buildings + 1)
            ]
            addresses[community["code"]] = [(text, cut(text)) for text in texts]
        centre = centres.get(street["code"]) if street else None
        grid = {"kind": "grid", "code": chain[0]["code"], "name": chain[0]["name"]}
        territory = {unit["level"]: unit["code"] for unit in chain}
        places.append(Place(chain, centre, addresses[community["code"]], grid, territory))
    return places


def street_centres(config_dir: Path) -> dict[str, dict[str, str]]:
    """The street centres of departments.yml by the street they serve, as assignees."""
    written = yaml.safe_load((config_dir / "departments.yml").read_text(encoding="utf-8"))
    return {
        str(d["unit"]): {"kind": "department", "code": d["code"], "name": d["name"]}
        for d in written["departments"]
        if d.get("level") == "street" and d.get("unit")
    }


def citizens_of(count: int, vault: Sequence[Callable[[str], str]], seed: int = 11) -> list[Citizen]:
    """``count`` distinct mobile numbers, each sealed, fingerprinted and blind-indexed once
    (``vault``: those three functions)."""
    import random

    numbers = random.Random(seed).sample(range(10**9), count)
    phones = [f"13{n:09d}" for n in numbers]
    seal, fingerprint, index = vault
    return [Citizen(mask_phone(p), seal(p), fingerprint(p), p, index(p)) for p in phones]


def shared_objects(pools: Pools) -> list[Any]:
    """The pools' dicts and lists that many rows hold as they are (a place's chain, a
    holder): serialised once for COPY, not once per row."""
    shared: list[Any] = [c.department for c in pools.categories]
    for place in pools.places:
        shared += [place.chain, place.grid, place.territory]
        if place.street_centre:
            shared.append(place.street_centre)
    return shared


def merged_words(*lists: Sequence[str]) -> str:
    """Search terms of several texts cut apart, as ``search.terms_of`` gives them for the
    texts together: each word once, space-separated."""
    return " ".join(dict.fromkeys(word for words in lists for word in words))
