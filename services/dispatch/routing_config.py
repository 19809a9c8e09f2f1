"""``routing.yml`` as pydantic models: the keywords added to the catalogue, and the rules that
decide where a received case goes (转). A fault is refused naming the file, the line and the
field; what only the catalogue can tell (a category or department that does not exist) is
checked against it, and named the same way."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from contracts.common import Channel, RiskGrade
from kernel.config import ConfigError, Fault, compose, dotted_path, line_of, load_model

RuleAction = Literal["wait", "resolve_on_site", "grid", "duty", "department"]


class RoutingConfigError(ConfigError, ValueError):
    """categories.yml, departments.yml or routing.yml is wrong; the message names the file,
    the line and the field."""


def _none_is_empty(value: object) -> object:
    """``when:`` or ``keywords:`` written with nothing after it: none."""
    return {} if value is None else value


Word = Annotated[str, Field(min_length=1)]
Weight = StrictInt | StrictFloat
Keywords = Annotated[dict[str, dict[Word, Weight]], BeforeValidator(_none_is_empty)]
"""category → {word: weight}: added to the catalogue's own keywords."""
KEYWORDS: TypeAdapter[dict[str, dict[str, float]]] = TypeAdapter(Keywords)


class When(BaseModel):
    """A rule's conditions: all must hold; one left out holds for every case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: list[Channel] = []
    risk: list[RiskGrade] = []
    categories: list[Word] = []
    """A category, or a group and every category under it."""
    has_category: StrictBool | None = None
    located: StrictBool | None = None
    resolved_on_site: StrictBool | None = None


class Then(BaseModel):
    """What a rule does: wait for a person, solve on site, or assign (the grid, the duty list
    at a level, or a named department)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wait: StrictBool = False
    resolve_on_site: StrictBool = False
    assign: Literal["grid", "duty", "department"] | None = None
    level: Literal["street", "district"] | None = None
    department: str | None = Field(default=None, validate_default=True)
    auto: StrictBool = True

    @field_validator("level")
    @classmethod
    def _level_with_duty(cls, level: str | None, info: ValidationInfo) -> str | None:
        if level is not None and info.data.get("assign") != "duty":
            raise PydanticCustomError("level", "street or district, with assign: duty only")
        return level

    @field_validator("department")
    @classmethod
    def _department_when_named(cls, department: str | None, info: ValidationInfo) -> str | None:
        if "assign" in info.data and (info.data["assign"] == "department") != bool(department):
            raise PydanticCustomError("department", "needed with assign: department only")
        return department

    @model_validator(mode="after")
    def _one_action(self) -> Self:
        if [self.wait, self.resolve_on_site, self.assign is not None].count(True) != 1:
            raise PydanticCustomError("action", "exactly one of wait, resolve_on_site, assign")
        return self

    @property
    def action(self) -> RuleAction:
        if self.wait:
            return "wait"
        if self.resolve_on_site:
            return "resolve_on_site"
        assert self.assign is not None  # one of the three, as validated
        return self.assign


class RuleEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Word
    label: str | None = Field(default=None, min_length=1)
    """The rule's Chinese name, shown to operators in the routing reason."""
    when: Annotated[When, BeforeValidator(_none_is_empty)] = When()
    then: Then


class Avoidance(BaseModel):
    """回避: who takes a petition that accuses a county department (there is no level above
    the county in the ladder)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    above_district: Word | None = None


class RoutingFile(BaseModel):
    """``routing.yml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keywords: Keywords = {}
    rules: list[RuleEntry] = Field(min_length=1)
    avoidance: Avoidance | None = None

    @field_validator("rules")
    @classmethod
    def _named_once(cls, rules: list[RuleEntry]) -> list[RuleEntry]:
        seen: set[str] = set()
        for index, rule in enumerate(rules):
            if rule.name in seen:
                raise Fault(("rules", index, "name"), f"{rule.name!r} repeats")
            seen.add(rule.name)
        return rules

    def check(self, categories: Collection[str], departments: Collection[str]) -> Self:
        """Every category and department named is in the catalogue (a group names the
        categories under it); raises ``Fault`` at the first that is not."""
        for code in self.keywords:
            if code not in categories:
                raise Fault(("keywords", code), "not in the catalogue")
        for index, rule in enumerate(self.rules):
            for n, category in enumerate(rule.when.categories):
                if not any(c == category or c.startswith(category + ".") for c in categories):
                    where: tuple[str | int, ...] = ("rules", index, "when", "categories", n)
                    raise Fault(where, f"{category!r} is not in the catalogue")
            department = rule.then.department
            if department is not None and department not in departments:
                where = ("rules", index, "then", "department")
                raise Fault(where, f"{department!r} is not a department")
        above = self.avoidance.above_district if self.avoidance else None
        if above is not None and above not in departments:
            raise Fault(("avoidance", "above_district"), f"{above!r} is not a department")
        return self


def load_routing(
    text: str, categories: Collection[str], departments: Collection[str], name: str = "routing.yml"
) -> RoutingFile:
    """``routing.yml`` read and checked against the catalogue."""
    routing = load_model(text, name, RoutingFile, RoutingConfigError)
    try:
        return routing.check(categories, departments)
    except Fault as fault:
        root, _ = compose(text, name, RoutingConfigError)
        where = line_of(root, fault.path)
        raise RoutingConfigError(f"{name} line {where}: {fault.describe()}") from None


def routing_from(
    document: Mapping[str, Any], categories: Collection[str], departments: Collection[str]
) -> RoutingFile:
    """``routing.yml`` already parsed (no lines to name): the same checks."""
    try:
        return RoutingFile.model_validate(document).check(categories, departments)
    except ValidationError as exc:
        raise RoutingConfigError(_faults(exc)) from None
    except Fault as fault:
        raise RoutingConfigError(f"routing.yml: {fault.describe()}") from None


def keywords_from(document: Mapping[str, Any], categories: Collection[str]) -> Keywords:
    """The ``keywords`` of an already parsed ``routing.yml``, each category in the catalogue."""
    try:
        keywords = KEYWORDS.validate_python(document.get("keywords"))
    except ValidationError as exc:
        raise RoutingConfigError(_faults(exc, ("keywords",))) from None
    for code in keywords:
        if code not in categories:
            raise RoutingConfigError(f"routing.yml: keywords.{code}: not in the catalogue")
    return keywords


def _faults(exc: ValidationError, prefix: tuple[str, ...] = ()) -> str:
    return "\n".join(
        f"routing.yml: {dotted_path((*prefix, *error['loc']))}: {error['msg']}"
        for error in exc.errors(include_url=False)
    )
