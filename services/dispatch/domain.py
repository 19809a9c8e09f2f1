"""Routing and the case lifecycle, as plain data and functions.

Categories map to the department on duty for them (职责清单). A case whose category the source
gave and whose duty is certain is dispatched automatically; any doubt, and any red risk,
leaves it for one click (一键派单) with a suggestion.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from contracts.events import Assignee, CaseReceived, Level
from services.supervision.policy import PolicyError, parse_duration

LEVELS: tuple[Level, ...] = ("micro_grid", "grid", "community", "street", "district")


class RoutingConfigError(ValueError):
    """categories.yml or departments.yml is wrong; the message names the entry and field."""


class CaseStatus(StrEnum):
    RECEIVED = "received"
    PENDING_DISPATCH = "pending_dispatch"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    CONCLUDED = "concluded"
    CLOSED = "closed"
    RESOLVED_ON_SITE = "resolved_on_site"
    MERGED = "merged"


class IllegalTransition(Exception):
    def __init__(self, action: str, status: CaseStatus, allowed: Iterable[str]) -> None:
        self.action = action
        self.status = status
        self.allowed = sorted(allowed)
        super().__init__(f"cannot {action} a case that is {status}; allowed: {self.allowed}")


TRANSITIONS: dict[str, tuple[frozenset[CaseStatus], CaseStatus]] = {
    "await_dispatch": (frozenset({CaseStatus.RECEIVED}), CaseStatus.PENDING_DISPATCH),
    "dispatch": (
        frozenset({CaseStatus.RECEIVED, CaseStatus.PENDING_DISPATCH}),
        CaseStatus.DISPATCHED,
    ),
}
"""action → (states it may start from, state it leads to)."""


def allowed_actions(status: CaseStatus) -> list[str]:
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


def transition(status: CaseStatus, action: str) -> CaseStatus:
    if action not in TRANSITIONS:
        raise IllegalTransition(action, status, allowed_actions(status))
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise IllegalTransition(action, status, allowed_actions(status))
    return target


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    level: Level
    phone: str | None = None

    def as_assignee(self) -> Assignee:
        return Assignee(kind="department", code=self.code, name=self.name)


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    department: str
    level: Level
    resolve: timedelta
    keywords: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RoutingDecision:
    """What routing concluded, and why, for the operator to see."""

    auto: bool
    rule: str
    reason: str
    category: str | None
    level: Level
    assignee: Assignee | None
    alternatives: tuple[Assignee, ...] = ()
    resolve: timedelta | None = None


@dataclass(frozen=True)
class RoutingTable:
    categories: Mapping[str, Category]
    departments: Mapping[str, Department]

    @classmethod
    def from_config(
        cls, categories_doc: Mapping[str, Any], departments_doc: Mapping[str, Any]
    ) -> RoutingTable:
        departments = {}
        for index, entry in enumerate(departments_doc.get("departments") or []):
            where = f"departments.yml: departments[{index}]"
            for key in ("code", "name", "level"):
                if not entry.get(key):
                    raise RoutingConfigError(f"{where}.{key}: missing")
            if entry["level"] not in LEVELS:
                raise RoutingConfigError(
                    f"{where}.level: {entry['level']!r} is not one of {LEVELS}"
                )
            phone = str(entry["phone"]) if entry.get("phone") else None
            departments[entry["code"]] = Department(
                entry["code"], entry["name"], entry["level"], phone
            )
        categories = {}
        for index, entry in enumerate(categories_doc.get("categories") or []):
            code = entry.get("code")
            where = f"categories.yml: categories[{index}] ({code})"
            if not code or not entry.get("name"):
                raise RoutingConfigError(f"{where}: code and name are required")
            if entry.get("department") not in departments:
                raise RoutingConfigError(
                    f"{where}.department: {entry.get('department')!r} is not a known department"
                )
            try:
                resolve = parse_duration(entry.get("resolve", "P5D"), f"{where}.resolve")
            except PolicyError as exc:
                raise RoutingConfigError(str(exc)) from None
            level = entry.get("level", departments[entry["department"]].level)
            if level not in LEVELS:
                raise RoutingConfigError(f"{where}.level: {level!r} is not one of {LEVELS}")
            keywords = entry.get("keywords") or []
            if not isinstance(keywords, list):
                raise RoutingConfigError(f"{where}.keywords: must be a list of words")
            categories[code] = Category(
                code=code,
                name=entry["name"],
                department=entry["department"],
                level=level,
                resolve=resolve,
                keywords=_keyword_weights(keywords, where),
            )
        return cls(categories, departments)

    def classify(self, text: str) -> list[tuple[Category, float]]:
        """Categories whose keywords the text mentions, best first."""
        scored = [
            (category, sum(w for word, w in category.keywords.items() if word in text))
            for category in self.categories.values()
        ]
        return sorted(((c, s) for c, s in scored if s > 0), key=lambda pair: -pair[1])

    def assignee_for(self, category: Category) -> Assignee:
        return self.departments[category.department].as_assignee()


def _keyword_weights(items: Iterable[Any], where: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for item in items:
        if isinstance(item, str):
            weights[item] = 1.0
        elif isinstance(item, Mapping) and len(item) == 1:
            ((word, weight),) = item.items()
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise RoutingConfigError(f"{where}.keywords: weight of {word!r} must be a number")
            weights[str(word)] = float(weight)
        else:
            raise RoutingConfigError(
                f"{where}.keywords: {item!r} is neither a word nor word: weight"
            )
    return weights


def decide(case: CaseReceived, table: RoutingTable) -> RoutingDecision:
    """Where a newly received case goes, or why it waits for a person."""
    given = table.categories.get(case.category) if case.category else None
    if given is not None:
        assignee = table.assignee_for(given)
        if case.risk == "red":
            return RoutingDecision(
                False,
                "risk:red",
                "red risk waits for a person",
                given.code,
                given.level,
                assignee,
                resolve=given.resolve,
            )
        return RoutingDecision(
            True,
            f"category:{given.code}",
            f"{given.name} → {assignee.name}",
            given.code,
            given.level,
            assignee,
            resolve=given.resolve,
        )
    ranked = table.classify(case.content)
    if not ranked:
        why = "unknown category " + repr(case.category) if case.category else "no category"
        return RoutingDecision(False, "none", f"{why}: a person decides", None, "district", None)
    best = ranked[0][0]
    alternatives: list[Assignee] = []
    for category, _score in ranked[1:]:
        candidate = table.assignee_for(category)
        if candidate.code != best.department and candidate not in alternatives:
            alternatives.append(candidate)
        if len(alternatives) == 2:
            break
    words = [w for w in best.keywords if w in case.content]
    return RoutingDecision(
        False,
        f"keywords:{best.code}",
        f"keywords {'、'.join(words)} suggest {best.name}",
        best.code,
        best.level,
        table.assignee_for(best),
        tuple(alternatives),
        best.resolve,
    )
