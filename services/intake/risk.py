"""红黄蓝 risk grading: rules as data (``risk.yml``), applied to the facts of a case."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.common import CHANNELS, Channel, RiskGrade

SEVERITY: dict[RiskGrade, int] = {"blue": 0, "yellow": 1, "red": 2}
_CONDITIONS = {
    "keywords",
    "channels",
    "group_size_at_least",
    "heat_at_least",
    "repeat_count_at_least",
    "urgent",
}


class RiskConfigError(ValueError):
    """risk.yml is wrong; the message names the rule and the field."""


@dataclass(frozen=True)
class RiskFacts:
    """What the rules look at."""

    channel: Channel
    content: str
    urgent: bool = False
    heat: int | None = None
    group_size: int | None = None
    repeat_count: int = 0


@dataclass(frozen=True)
class RiskRule:
    name: str
    grade: RiskGrade
    keywords: tuple[str, ...] = ()
    channels: frozenset[Channel] = frozenset()
    group_size_at_least: int | None = None
    heat_at_least: int | None = None
    repeat_count_at_least: int | None = None
    urgent: bool | None = None

    def fires(self, facts: RiskFacts) -> bool:
        return (
            (not self.keywords or any(word in facts.content for word in self.keywords))
            and (not self.channels or facts.channel in self.channels)
            and _at_least(facts.group_size, self.group_size_at_least)
            and _at_least(facts.heat, self.heat_at_least)
            and _at_least(facts.repeat_count, self.repeat_count_at_least)
            and (self.urgent is None or facts.urgent == self.urgent)
        )


def _at_least(value: int | None, threshold: int | None) -> bool:
    return threshold is None or (value is not None and value >= threshold)


@dataclass(frozen=True)
class RiskAssessment:
    grade: RiskGrade
    rules: tuple[str, ...]


@dataclass(frozen=True)
class RiskRules:
    rules: tuple[RiskRule, ...]

    def assess(self, facts: RiskFacts) -> RiskAssessment:
        fired = [rule for rule in self.rules if rule.fires(facts)]
        grade: RiskGrade = max(
            (rule.grade for rule in fired), key=SEVERITY.__getitem__, default="blue"
        )
        return RiskAssessment(grade, tuple(rule.name for rule in fired))

    @classmethod
    def from_config(cls, document: Mapping[str, Any]) -> RiskRules:
        entries = document.get("rules")
        if not isinstance(entries, list):
            raise RiskConfigError("risk.yml: rules: must be a list")
        rules, names = [], set()
        for index, entry in enumerate(entries):
            rule = _rule(entry, f"risk.yml: rules[{index}]")
            if rule.name in names:
                raise RiskConfigError(f"risk.yml: rules[{index}].name: {rule.name!r} repeats")
            names.add(rule.name)
            rules.append(rule)
        return cls(tuple(rules))


def _rule(entry: Any, where: str) -> RiskRule:
    if not isinstance(entry, Mapping):
        raise RiskConfigError(f"{where}: must be a mapping")
    unknown = set(entry) - _CONDITIONS - {"name", "grade"}
    if unknown:
        raise RiskConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    name, grade = entry.get("name"), entry.get("grade")
    if not isinstance(name, str) or not name:
        raise RiskConfigError(f"{where}.name: required")
    where = f"{where} ({name})"
    if grade not in SEVERITY:
        raise RiskConfigError(f"{where}.grade: {grade!r} is not red, yellow or blue")
    if not _CONDITIONS & set(entry):
        raise RiskConfigError(f"{where}: has no condition, so it would fire on everything")
    keywords = entry.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(w, str) and w for w in keywords):
        raise RiskConfigError(f"{where}.keywords: must be a list of words")
    channels = entry.get("channels", [])
    if not isinstance(channels, list) or not set(channels) <= set(CHANNELS):
        raise RiskConfigError(f"{where}.channels: must be a list of {CHANNELS}")
    thresholds = {
        key: _threshold(entry.get(key), f"{where}.{key}")
        for key in ("group_size_at_least", "heat_at_least", "repeat_count_at_least")
    }
    urgent = entry.get("urgent")
    if urgent is not None and not isinstance(urgent, bool):
        raise RiskConfigError(f"{where}.urgent: must be true or false")
    return RiskRule(
        name=name,
        grade=grade,
        keywords=tuple(keywords),
        channels=frozenset(channels),
        urgent=urgent,
        **thresholds,
    )


def _threshold(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RiskConfigError(f"{where}: must be a whole number >= 0")
    return value
