"""notify.yml: who is told of what, by which channel, in which words; limits, retries and quiet
hours. Read once at start: a wrong file refuses the start, naming the line and the field.

Pure apart from reading the file.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Final, Literal, Self, get_args

from jinja2 import Environment, StrictUndefined, Template, TemplateSyntaxError, meta
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from contracts.common import RiskGrade
from kernel.config import ConfigError, Fault, either, load_model, refuse_unknown
from kernel.durations import parse_duration
from services.notify.domain import LOCAL_TIME

ChannelName = Literal["sms", "wechat", "wecom"]
RecipientKind = Literal["assignee", "supervisors", "centre", "citizen", "subscribers"]
CHANNELS: Final[tuple[ChannelName, ...]] = get_args(ChannelName)
RECIPIENTS: Final[tuple[RecipientKind, ...]] = get_args(RecipientKind)
PROVIDERS: Final[Mapping[ChannelName, tuple[str, ...]]] = {
    "sms": ("file", "aliyun", "tencent"),
    "wechat": ("file", "wechat"),
    "wecom": ("file", "wecom"),
}

SMS_SINGLE: Final = 70
"""Characters of one SMS in Chinese (UCS-2)."""
SMS_PART: Final = 67
"""Characters of each part of a long SMS: the rest of 70 carries the header that joins them."""

_COMMON: Final = frozenset({"sign", "case_no", "link", "summary"})
EVENT_VARIABLES: Final[Mapping[str, frozenset[str]]] = {
    "case.dispatched": _COMMON | {"unit", "level", "deadline"},
    "case.awaiting_dispatch": _COMMON | {"reason"},
    "sla.warning": _COMMON | {"unit", "level", "deadline", "clock"},
    "sla.overdue": _COMMON | {"unit", "level", "deadline", "clock"},
    "case.escalated": _COMMON | {"from_level", "to_level", "reason", "unit"},
    "supervision.order": _COMMON | {"unit", "grade", "deadline", "note"},
    "supervision.alert_routed": _COMMON | {"alert"},
    "case.concluded": _COMMON | {"unit"},
    "notification.failed": _COMMON | {"reason"},
}
"""What each event can tell a template: a template using anything else is refused at start."""

# who each event can reach: an assignee needs an event that names one
_REACHES: Final[Mapping[str, frozenset[str]]] = {
    "case.dispatched": frozenset({"assignee", "centre"}),
    "case.awaiting_dispatch": frozenset({"centre"}),
    "sla.warning": frozenset({"assignee", "centre"}),
    "sla.overdue": frozenset({"assignee", "centre"}),
    "case.escalated": frozenset({"supervisors", "centre"}),
    "supervision.order": frozenset({"assignee", "centre"}),
    "supervision.alert_routed": frozenset({"subscribers"}),
    "case.concluded": frozenset({"citizen", "centre"}),
    "notification.failed": frozenset({"centre"}),
}

_RULE: Final = ("event", "to", "channels", "template", "when")


class RulesError(ConfigError, ValueError):
    """notify.yml is wrong; the message names the line and the field."""


@dataclass(frozen=True)
class Rule:
    on: str
    to: RecipientKind
    channels: tuple[ChannelName, ...]
    template: str
    risk: str | None = None

    def applies(self, event_type: str, risk: str | None) -> bool:
        return self.on == event_type and (self.risk is None or self.risk == risk)


@dataclass(frozen=True)
class Bucket:
    """A token bucket: ``rate`` per second, ``burst`` at most at once."""

    rate: float
    burst: float

    def take(self, tokens: float, since: float, now: float) -> tuple[float, float]:
        """(tokens left, seconds to wait): refilled for the time since the last take, one
        taken if there is one, else how long until there is."""
        filled = min(self.burst, tokens + max(now - since, 0.0) * self.rate)
        if filled >= 1.0:
            return filled - 1.0, 0.0
        return filled, (1.0 - filled) / self.rate


@dataclass(frozen=True)
class Retry:
    attempts: int
    base: timedelta
    cap: timedelta
    jitter: float

    def delay(self, attempt: int, rng: random.Random | None = None) -> timedelta:
        """Before try ``attempt + 1``: base × 2^(attempt−1), capped, with jitter so that a
        burst of failures does not come back as a burst."""
        plain: timedelta = min(self.cap, self.base * 2 ** max(attempt - 1, 0))
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return plain * (1 + spread)


@dataclass(frozen=True)
class QuietHours:
    """免打扰: what is held, from ``start`` to ``end`` (Beijing time), until they end. Citizens'
    messages always; staff's too when ``staff`` (the default), unless the recipient is on duty
    (值班). Red risk is never held (the caller decides that)."""

    start: time
    end: time
    staff: bool = True

    def hold_for(self, citizen: bool, on_duty: bool) -> bool:
        """Whether quiet hours hold a message to this recipient at all."""
        return citizen or (self.staff and not on_duty)

    def holds(self, moment: datetime) -> bool:
        local = moment.astimezone(LOCAL_TIME).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # across midnight

    def end_after(self, moment: datetime) -> datetime:
        """When the quiet hours holding at ``moment`` end."""
        local = moment.astimezone(LOCAL_TIME)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        return end if end > local else end + timedelta(days=1)


@dataclass(frozen=True)
class NotifyRules:
    sign: str
    link: str
    sms_segments: int
    quiet_hours: QuietHours
    provider_limit: Bucket
    recipient_limit: Bucket
    retry: Retry
    providers: Mapping[ChannelName, str]
    rules: tuple[Rule, ...]
    templates: Mapping[str, str]
    max_in_flight: int = 10
    """Calls one notify instance keeps open to one provider at a time (its connection pool):
    more messages wait their turn; more instances send more."""

    @classmethod
    def from_text(cls, text: str, name: str = "notify.yml") -> NotifyRules:
        return load_model(text, name, NotifyFile, RulesError).notify_rules()

    @classmethod
    def from_file(cls, path: Path) -> NotifyRules:
        return cls.from_text(path.read_text(encoding="utf-8"), name=path.name)

    def rules_for(self, event_type: str, risk: str | None = None) -> list[Rule]:
        return [rule for rule in self.rules if rule.applies(event_type, risk)]

    def render(self, template: str, variables: Mapping[str, str], channel: ChannelName) -> str:
        """The message; its summary cut so that an SMS keeps to ``sms_segments`` parts."""
        compiled = _compiled(self.templates[template])
        values = {"sign": self.sign, "link": self.link, "summary": "", **variables}
        summary = values["summary"]
        if channel == "sms":
            room = sms_capacity(self.sms_segments) - len(compiled.render({**values, "summary": ""}))
            values["summary"] = clip(summary, room)
        else:
            values["summary"] = clip(summary, 100)
        return compiled.render(values)


def sms_capacity(segments: int) -> int:
    return SMS_SINGLE if segments <= 1 else SMS_PART * segments


def sms_segments(text: str) -> int:
    """How many SMS one text takes."""
    return 1 if len(text) <= SMS_SINGLE else math.ceil(len(text) / SMS_PART)


def clip(text: str, room: int) -> str:
    if room < 4:  # a summary of three characters helps nobody
        return ""
    return text if len(text) <= room else text[: room - 1] + "…"


@functools.cache
def _compiled(text: str) -> Template:
    """Compiled once: compiling is most of the cost of a render."""
    return _ENV.from_string(text)


# SMS and WeChat text, not HTML: nothing to escape
_ENV: Final = Environment(undefined=StrictUndefined, autoescape=False)


# --- notify.yml as models ------------------------------------------------------------------


def _whole(low: int, high: int) -> PlainValidator:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise PydanticCustomError(
                "whole", "{value} must be a whole number from {low} to {high}",
                {"value": repr(value), "low": low, "high": high},
            )  # fmt: skip
        return value

    return PlainValidator(check)


def _positive(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise PydanticCustomError(
            "positive", "{value} must be a positive number", {"value": repr(value)}
        )
    return float(value)


def _duration(value: object, info: ValidationInfo) -> timedelta:
    try:
        return parse_duration(value, str(info.field_name))
    except ValueError as bad:
        raise PydanticCustomError("duration", str(bad).partition(": ")[2]) from None


def _fraction(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise PydanticCustomError(
            "fraction", "{value} must be a fraction from 0 to below 1", {"value": repr(value)}
        )
    return float(value)


def _clock(value: object) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise PydanticCustomError(
            "clock", "{value} is not a time like 22:00", {"value": repr(value)}
        ) from None


def _template(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PydanticCustomError("template", "must be the template's text")
    try:
        _ENV.parse(value)
    except TemplateSyntaxError as bad:
        raise PydanticCustomError(
            "template", "not a valid template: {why}", {"why": bad.message or ""}
        ) from None
    return value


Positive = Annotated[float, PlainValidator(_positive)]
Duration = Annotated[timedelta, PlainValidator(_duration)]
EventName = Literal[
    "case.dispatched", "case.awaiting_dispatch", "sla.warning", "sla.overdue", "case.escalated",
    "supervision.order", "supervision.alert_routed", "case.concluded", "notification.failed",
]  # fmt: skip


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BucketEntry(_Section):
    """``{rate, burst}``: ``rate`` per second, ``burst`` at most at once (at least 1)."""

    rate: Positive
    burst: Annotated[float | None, Field(validate_default=True)] = None

    @field_validator("burst", mode="plain")
    @classmethod
    def _burst(cls, value: object, info: ValidationInfo) -> float:
        if value is None:
            return max(float(info.data.get("rate", 1.0)), 1.0)
        burst = _positive(value)
        if burst < 1:
            raise PydanticCustomError(
                "burst", "must be at least 1: a bucket that never holds a token"
            )
        return burst

    def bucket(self) -> Bucket:
        return Bucket(self.rate, self.burst or 1.0)


class RateLimits(_Section):
    provider: BucketEntry = BucketEntry(rate=50, burst=100)
    recipient: BucketEntry = BucketEntry(rate=0.2, burst=5)


class RetryEntry(_Section):
    attempts: Annotated[int, _whole(1, 20)] = 5
    base: Duration = timedelta(seconds=2)
    max: Duration = timedelta(minutes=5)
    jitter: Annotated[float, PlainValidator(_fraction)] = 0.3


class QuietEntry(_Section):
    start: Annotated[time, PlainValidator(_clock)]
    end: Annotated[time, PlainValidator(_clock)]
    staff: bool = True


class ProvidersEntry(_Section):
    sms: Literal["file", "aliyun", "tencent"] = "file"
    wechat: Literal["file", "wechat"] = "file"
    wecom: Literal["file", "wecom"] = "file"


class RuleWhen(_Section):
    risk: RiskGrade | None = None


class RuleEntry(_Section):
    """Who is told of an event, by which channels, in which template's words. ``event``, not
    ``on``: YAML 1.1 reads a bare ``on`` as true."""

    event: EventName
    to: RecipientKind
    channels: list[ChannelName] = Field(min_length=1)
    template: str
    when: RuleWhen = RuleWhen()

    @field_validator("to")
    @classmethod
    def _reached(cls, to: RecipientKind, info: ValidationInfo) -> RecipientKind:
        event = info.data.get("event")
        if event is not None and to not in _REACHES[event]:
            raise PydanticCustomError(
                "reach", "{event} names no {to}: it can reach {reach}",
                {"event": event, "to": to, "reach": either(sorted(_REACHES[event]))},
            )  # fmt: skip
        return to


class NotifyFile(_Section):
    """``notify.yml``."""

    sign: str = "综治中心"
    link: str = ""
    sms_segments: Annotated[int, _whole(1, 6)] = 1
    quiet_hours: QuietEntry = QuietEntry(start=time(22), end=time(8))
    rate_limits: RateLimits = RateLimits()
    retry: RetryEntry = RetryEntry()
    providers: ProvidersEntry = ProvidersEntry()
    rules: list[RuleEntry] = Field(min_length=1)
    templates: dict[str, Annotated[str, PlainValidator(_template)]] = Field(min_length=1)
    max_in_flight: Annotated[int, _whole(1, 200)] = 10

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, document: object) -> object:
        """Sections left empty take their defaults; a rule's unknown field is named in full,
        ``on`` read as true included."""
        if not isinstance(document, Mapping) or not document:
            raise Fault((), "must be a mapping with rules and templates")
        rules = document.get("rules")
        for index, entry in enumerate(rules if isinstance(rules, list) else []):
            if isinstance(entry, Mapping):
                refuse_unknown(entry, ("rules", index), _RULE)
        return {key: value for key, value in document.items() if value is not None}

    @model_validator(mode="after")
    def _templates_fit(self) -> Self:
        for index, rule in enumerate(self.rules):
            if rule.template not in self.templates:
                raise Fault(
                    ("rules", index, "template"), f"{rule.template!r} is not one of the templates"
                )
            text = self.templates[rule.template]
            unknown = meta.find_undeclared_variables(_ENV.parse(text)) - EVENT_VARIABLES[rule.event]
            if unknown:
                raise Fault(
                    ("templates", rule.template),
                    f"uses {', '.join(sorted(unknown))}, which {rule.event} does not provide "
                    f"(it gives {', '.join(sorted(EVENT_VARIABLES[rule.event]))})",
                )
        return self

    def notify_rules(self) -> NotifyRules:
        return NotifyRules(
            sign=self.sign, link=self.link, sms_segments=self.sms_segments,
            quiet_hours=QuietHours(
                self.quiet_hours.start, self.quiet_hours.end, self.quiet_hours.staff
            ),
            provider_limit=self.rate_limits.provider.bucket(),
            recipient_limit=self.rate_limits.recipient.bucket(),
            retry=Retry(self.retry.attempts, self.retry.base, self.retry.max, self.retry.jitter),
            providers={channel: getattr(self.providers, channel) for channel in CHANNELS},
            rules=tuple(
                Rule(rule.event, rule.to, tuple(rule.channels), rule.template, rule.when.risk)
                for rule in self.rules
            ),
            templates=dict(self.templates), max_in_flight=self.max_in_flight,
        )  # fmt: skip
