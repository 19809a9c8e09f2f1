"""红黄蓝 risk grading: rules as data (``risk.yml``), applied to the facts of a case."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from contracts.common import Channel, RiskGrade
from kernel.config import ConfigError, Fault, load_model

SEVERITY: dict[RiskGrade, int] = {"blue": 0, "yellow": 1, "red": 2}
_CONDITIONS = {
    "keywords",
    "channels",
    "group_size_at_least",
    "heat_at_least",
    "repeat_count_at_least",
    "urgent",
}


class RiskConfigError(ConfigError):
    """risk.yml is wrong; the message names the file, the line and the field."""


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
    def from_text(cls, text: str, name: str = "risk.yml") -> RiskRules:
        """``risk.yml``: a fault is refused naming the file, the line and the field."""
        entries = load_model(text, name, RiskFile, RiskConfigError).rules
        return cls(tuple(entry.rule() for entry in entries))

    @classmethod
    def from_file(cls, path: Path) -> RiskRules:
        try:
            return cls.from_text(path.read_text(encoding="utf-8"), path.name)
        except FileNotFoundError:
            raise RiskConfigError(f"{path}: missing") from None


Threshold = Annotated[StrictInt, Field(ge=0)]


class RiskRuleEntry(BaseModel):
    """One rule of ``risk.yml``: it fires when all its conditions hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    grade: RiskGrade
    keywords: list[Annotated[str, Field(min_length=1)]] = []
    channels: list[Channel] = []
    group_size_at_least: Threshold | None = None
    heat_at_least: Threshold | None = None
    repeat_count_at_least: Threshold | None = None
    urgent: StrictBool | None = None

    @model_validator(mode="after")
    def _has_a_condition(self) -> Self:
        if not self.model_fields_set & _CONDITIONS:
            raise PydanticCustomError(
                "no_condition", "has no condition, so it would fire on everything"
            )
        return self

    def rule(self) -> RiskRule:
        return RiskRule(
            name=self.name,
            grade=self.grade,
            keywords=tuple(self.keywords),
            channels=frozenset(self.channels),
            group_size_at_least=self.group_size_at_least,
            heat_at_least=self.heat_at_least,
            repeat_count_at_least=self.repeat_count_at_least,
            urgent=self.urgent,
        )


class RiskFile(BaseModel):
    """``risk.yml``: the rules, each named once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[RiskRuleEntry]

    @field_validator("rules")
    @classmethod
    def _named_once(cls, rules: list[RiskRuleEntry]) -> list[RiskRuleEntry]:
        seen: set[str] = set()
        for index, rule in enumerate(rules):
            if rule.name in seen:
                raise Fault(("rules", index, "name"), f"{rule.name!r} repeats")
            seen.add(rule.name)
        return rules
