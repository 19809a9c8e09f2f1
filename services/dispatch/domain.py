"""Routing (转) as plain data and functions: the category catalogue, keyword classification,
and the rules of ``routing.yml`` deciding where a received case goes.

A case whose category the source gave and whose duty is certain (exactly one lead department
on duty at the level) is dispatched automatically; any doubt, and any red risk, leaves it for
one click (一键派单) with a suggestion and up to two alternatives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from contracts.events import Assignee, CaseReceived, Level
from contracts.rpc import DepartmentDuty, GridUnit, Location
from kernel.catalogue import (
    CatalogueError,
    Category,
    Department,
    read_categories,
    read_departments,
)
from kernel.levels import LEVELS
from services.dispatch.routing_config import (
    RoutingConfigError,
    RoutingFile,
    RuleAction,
    keywords_from,
    routing_from,
)

__all__ = ["LEVELS", "Category", "Department", "RoutingConfigError", "RoutingFile"]


@dataclass(frozen=True)
class RoutingTable:
    categories: Mapping[str, Category]
    departments: Mapping[str, Department]

    @classmethod
    def from_config(
        cls, categories_doc: Mapping[str, Any], departments_doc: Mapping[str, Any]
    ) -> RoutingTable:
        """The catalogues, read by the kernel as every service reads them."""
        try:
            departments = read_departments(departments_doc)
            return cls(read_categories(categories_doc, departments), departments)
        except CatalogueError as exc:
            raise RoutingConfigError(str(exc)) from None

    def classify(self, text: str) -> list[tuple[Category, float]]:
        """Categories whose keywords the text mentions, best first."""
        scored = [
            (category, sum(w for word, w in category.keywords.items() if word in text))
            for category in self.categories.values()
        ]
        return sorted(((c, s) for c, s in scored if s > 0), key=lambda pair: -pair[1])

    def assignee_for(self, category: Category) -> Assignee:
        return self.departments[category.department].as_assignee()


# --- where the case is, as grid answered ---


UNLOCATED: dict[str, str] = {
    "no_input": "未给出位置", "invalid": "位置无效", "outside": "不在辖区内",
    "unknown_code": "网格编码不存在", "no_match": "地址未匹配到单位",
    "ambiguous": "地址对应多个单位",
}  # fmt: skip
LOCATED_BY: dict[str, str] = {"point": "坐标", "code": "网格编码", "address": "地址"}


@dataclass(frozen=True)
class Place:
    """The case's chain in the territory (micro-grid → district), or why it has none."""

    chain: tuple[GridUnit, ...] = ()
    note: str = ""

    @classmethod
    def from_location(cls, location: Location) -> Place:
        # the note is read by the operator on the case page (Chinese), grid's English detail
        # stays in grid's logs
        if not location.located:
            return cls((), f"未能定位：{UNLOCATED.get(location.reason or '', '原因不明')}")
        return cls(tuple(location.chain), f"按{LOCATED_BY.get(location.by or '', '位置')}定位")

    def unit_at(self, level: Level) -> GridUnit | None:
        return next((unit for unit in self.chain if unit.level == level), None)

    @property
    def street(self) -> str | None:
        unit = self.unit_at("street")
        return unit.code if unit else None


# --- the rules of routing.yml ---


@dataclass(frozen=True)
class RoutingRule:
    name: str
    action: RuleAction
    label: str = ""
    """The rule's Chinese name, which the operator reads in the routing reason."""
    channels: frozenset[str] = frozenset()
    risks: frozenset[str] = frozenset()
    categories: tuple[str, ...] = ()
    has_category: bool | None = None
    located: bool | None = None
    resolved_on_site: bool | None = None
    level: Level = "district"
    department: str | None = None
    auto: bool = True

    def holds(self, case: CaseReceived, category: str | None, given: bool, place: Place) -> bool:
        return (
            (not self.channels or case.channel in self.channels)
            and (not self.risks or case.risk in self.risks)
            and (not self.categories or _in_categories(category, self.categories))
            and (self.has_category is None or self.has_category == given)
            and (self.located is None or self.located == (place.street is not None))
            and (self.resolved_on_site is None or self.resolved_on_site == case.resolved_on_site)
        )


def _in_categories(category: str | None, listed: Sequence[str]) -> bool:
    return category is not None and any(
        category == item or category.startswith(item + ".") for item in listed
    )


@dataclass(frozen=True)
class RoutingRules:
    rules: tuple[RoutingRule, ...]
    above_district: str | None = None
    """回避: the department that takes a petition accusing a county department (routing.yml
    ``avoidance.above_district``); None: a person decides."""

    @classmethod
    def from_config(cls, document: Mapping[str, Any], table: RoutingTable) -> RoutingRules:
        """The rules of an already parsed ``routing.yml``."""
        return cls.from_routing(routing_from(document, table.categories, table.departments))

    @classmethod
    def from_routing(cls, routing: RoutingFile) -> RoutingRules:
        return cls(tuple(
            RoutingRule(
                name=rule.name, label=rule.label or "", action=rule.then.action,
                channels=frozenset(rule.when.channels),
                risks=frozenset(rule.when.risk), categories=tuple(rule.when.categories),
                has_category=rule.when.has_category, located=rule.when.located,
                resolved_on_site=rule.when.resolved_on_site,
                level=rule.then.level or "district", department=rule.then.department,
                auto=rule.then.auto,
            )
            for rule in routing.rules
        ), routing.avoidance.above_district if routing.avoidance else None)  # fmt: skip


def extra_keywords(document: Mapping[str, Any] | RoutingFile, table: RoutingTable) -> RoutingTable:
    """The catalogue with routing.yml's weighted keywords added to its own."""
    extra = (
        document.keywords
        if isinstance(document, RoutingFile)
        else keywords_from(document, table.categories)
    )
    categories = dict(table.categories)
    for code, words in extra.items():
        weights = {word: float(weight) for word, weight in words.items()}
        merged = {**categories[code].keywords, **weights}
        categories[code] = dataclasses.replace(categories[code], keywords=merged)
    return RoutingTable(categories, table.departments)


# --- the decision ---

Decision = Literal["dispatch", "await", "resolve_on_site"]


@dataclass(frozen=True)
class RoutingDecision:
    """Where the case goes, or why it waits, and the rule that said so."""

    decision: Decision
    rule: str
    reason: str
    category: str | None
    level: Level
    assignee: Assignee | None = None
    alternatives: tuple[Assignee, ...] = ()
    helpers: tuple[Assignee, ...] = ()
    resolve: timedelta | None = None


def classify(case: CaseReceived, table: RoutingTable) -> tuple[Category | None, bool, str]:
    """(category, given by the source?, how it was found)."""
    given = table.categories.get(case.category) if case.category else None
    if given is not None:
        return given, True, f"来源给出分类“{given.name}”"
    ranked = table.classify(case.content)
    if not ranked:
        unknown = "来源给出的分类不在目录中；" if case.category else ""
        return None, False, unknown + "没有关键词命中"
    best = ranked[0][0]
    words = "、".join(word for word in best.keywords if word in case.content)
    return best, False, f"关键词“{words}”提示为“{best.name}”"


def decide(
    case: CaseReceived,
    place: Place,
    duties: Mapping[Level, Sequence[DepartmentDuty]],
    table: RoutingTable,
    rules: RoutingRules,
    classified: tuple[Category | None, bool, str] | None = None,
) -> RoutingDecision:
    """Apply the rules in order; the first that holds and can name someone decides.
    ``classified`` is ``classify(case, table)`` when the caller has it already."""
    category, given, found = classified or classify(case, table)
    code = category.code if category else None
    resolve = category.resolve if category else None
    for rule in rules.rules:
        if not rule.holds(case, code, given, place):
            continue
        why = f"{rule.label or rule.name}：{found}"
        if rule.action == "resolve_on_site":
            return RoutingDecision("resolve_on_site", rule.name, why, code, "grid")
        if rule.action == "wait":
            suggestion = _suggest(place, duties, table, category)
            return RoutingDecision(
                "await", rule.name, f"{why}；由人工决定", code,
                suggestion[0].level if suggestion else "district",
                suggestion[1] if suggestion else None, resolve=resolve,
            )  # fmt: skip
        chosen = _assign(rule, place, duties, table, category)
        if chosen is None:
            continue
        level, lead, alternatives, helpers, certain = chosen
        auto = rule.auto and certain and (given or rule.action == "grid")
        return RoutingDecision(
            "dispatch" if auto else "await", rule.name,
            f"{why} → {lead.name}" + ("" if auto else "；仅为建议，由人工确认"),
            code, level, lead, alternatives, helpers, resolve,
        )  # fmt: skip
    suggestion = _suggest(place, duties, table, category)
    return RoutingDecision(
        "await", "no_rule", f"没有规则作出决定：{found}", code,
        suggestion[0].level if suggestion else "district",
        suggestion[1] if suggestion else None, resolve=resolve,
    )  # fmt: skip


Assignment = tuple[Level, Assignee, tuple[Assignee, ...], tuple[Assignee, ...], bool]


def _assign(
    rule: RoutingRule,
    place: Place,
    duties: Mapping[Level, Sequence[DepartmentDuty]],
    table: RoutingTable,
    category: Category | None,
) -> Assignment | None:
    if rule.action == "grid":
        grid = place.unit_at("grid")
        if grid is None:
            return None
        return "grid", Assignee(kind="grid", code=grid.code, name=grid.name), (), (), True
    if rule.action == "department":
        department = table.departments[rule.department or ""]
        return department.level, department.as_assignee(), (), (), True
    if category is None:
        return None
    on_duty = [
        d for d in duties.get(rule.level, ()) if rule.level == "district" or d.unit == place.street
    ]
    leads = _distinct(d for d in on_duty if d.role == "lead")
    if not leads:
        return None
    helpers = tuple(
        a for a in _distinct(d for d in on_duty if d.role == "assist") if a not in leads
    )
    return rule.level, leads[0], tuple(leads[1:3]), helpers, len(leads) == 1


def _distinct(duties: Iterable[DepartmentDuty]) -> list[Assignee]:
    found: list[Assignee] = []
    for duty in duties:
        assignee = Assignee(kind="department", code=duty.department, name=duty.name)
        if assignee not in found:
            found.append(assignee)
    return found


def _suggest(
    place: Place,
    duties: Mapping[Level, Sequence[DepartmentDuty]],
    table: RoutingTable,
    category: Category | None,
) -> tuple[Department, Assignee] | None:
    """Whom to suggest to the person deciding: the street's lead, else the county's, else the
    department the catalogue names."""
    if category is None:
        return None
    for level in ("street", "district"):
        for duty in duties.get(level, ()):
            if duty.role == "lead" and (level == "district" or duty.unit == place.street):
                department = table.departments.get(duty.department)
                if department is not None:
                    return department, department.as_assignee()
    department = table.departments.get(category.department)
    return (department, department.as_assignee()) if department else None
