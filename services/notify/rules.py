"""notify.yml: who is told of what, by which channel, in which words; limits, retries and quiet
hours. Read once at start: a wrong file refuses the start, naming the line and the field.

Pure apart from reading the file.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, Final, Literal, get_args

from jinja2 import Environment, StrictUndefined, Template, TemplateSyntaxError, meta

from kernel.config import ConfigError, Fault, either, load, refuse_unknown
from services.notify.domain import LOCAL_TIME
from services.supervision.policy import parse_duration

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

_TOP: Final = (
    "sign", "link", "sms_segments", "quiet_hours", "rate_limits", "retry", "providers", "rules",
    "templates", "max_in_flight",
)  # fmt: skip
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
    start: time
    end: time

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
        return load(text, name, _build, RulesError)

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


# --- building from the document ----------------------------------------------------------------


def _build(document: object) -> NotifyRules:
    if not isinstance(document, Mapping):
        raise Fault((), "must be a mapping with rules and templates")
    refuse_unknown(document, (), _TOP)
    templates = _templates(document.get("templates"))
    rules = tuple(_rule(entry, n, templates) for n, entry in enumerate(_list(document, "rules")))
    limits = document.get("rate_limits") or {}
    if not isinstance(limits, Mapping):
        raise Fault(("rate_limits",), "must map provider and recipient to {rate, burst}")
    refuse_unknown(limits, ("rate_limits",), ("provider", "recipient"))
    return NotifyRules(
        sign=_text(document, "sign", "综治中心"),
        link=_text(document, "link", ""),
        sms_segments=_whole(document.get("sms_segments", 1), ("sms_segments",), 1, 6),
        quiet_hours=_quiet(document.get("quiet_hours")),
        provider_limit=_bucket(limits.get("provider"), "provider", Bucket(50, 100)),
        recipient_limit=_bucket(limits.get("recipient"), "recipient", Bucket(0.2, 5)),
        retry=_retry(document.get("retry")),
        providers=_providers(document.get("providers")),
        rules=rules,
        templates=templates,
        max_in_flight=_whole(document.get("max_in_flight", 10), ("max_in_flight",), 1, 200),
    )


def _list(document: Mapping[str, Any], key: str) -> list[Any]:
    value = document.get(key)
    if not isinstance(value, list) or not value:
        raise Fault((key,), "must be a list with at least one entry")
    return value


def _text(document: Mapping[str, Any], key: str, default: str) -> str:
    value = document.get(key, default)
    if not isinstance(value, str):
        raise Fault((key,), f"{value!r} must be text")
    return value


def _whole(value: object, path: tuple[str, ...], low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Fault(path, f"{value!r} must be a whole number from {low} to {high}")
    return value


def _number(value: object, path: Sequence[str | int]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise Fault(path, f"{value!r} must be a positive number")
    return float(value)


def _bucket(value: object, key: str, default: Bucket) -> Bucket:
    if value is None:
        return default
    path = ("rate_limits", key)
    if not isinstance(value, Mapping):
        raise Fault(path, "must be {rate, burst}")
    refuse_unknown(value, path, ("rate", "burst"))
    rate = _number(value.get("rate"), (*path, "rate"))
    burst = _number(value.get("burst", max(rate, 1.0)), (*path, "burst"))
    if burst < 1:
        raise Fault((*path, "burst"), "must be at least 1: a bucket that never holds a token")
    return Bucket(rate, burst)


def _retry(value: object) -> Retry:
    if value is None:
        return Retry(5, timedelta(seconds=2), timedelta(minutes=5), 0.3)
    if not isinstance(value, Mapping):
        raise Fault(("retry",), "must be {attempts, base, max, jitter}")
    refuse_unknown(value, ("retry",), ("attempts", "base", "max", "jitter"))
    jitter = value.get("jitter", 0.3)
    if isinstance(jitter, bool) or not isinstance(jitter, int | float) or not 0 <= jitter < 1:
        raise Fault(("retry", "jitter"), f"{jitter!r} must be a fraction from 0 to below 1")
    durations = {}
    for key, default in (("base", "PT2S"), ("max", "PT5M")):
        try:
            durations[key] = parse_duration(value.get(key, default), key)
        except ValueError as bad:
            raise Fault(("retry", key), str(bad).partition(": ")[2]) from None
    attempts = _whole(value.get("attempts", 5), ("retry", "attempts"), 1, 20)
    return Retry(attempts, durations["base"], durations["max"], float(jitter))


def _quiet(value: object) -> QuietHours:
    if value is None:
        return QuietHours(time(22), time(8))
    if not isinstance(value, Mapping):
        raise Fault(("quiet_hours",), 'must be {start: "22:00", end: "08:00"}')
    refuse_unknown(value, ("quiet_hours",), ("start", "end"))
    moments = []
    for key in ("start", "end"):
        text = value.get(key)
        try:
            moments.append(time.fromisoformat(str(text)))
        except ValueError:
            raise Fault(("quiet_hours", key), f"{text!r} is not a time like 22:00") from None
    return QuietHours(*moments)


def _providers(value: object) -> Mapping[ChannelName, str]:
    chosen: dict[ChannelName, str] = {channel: "file" for channel in CHANNELS}
    if value is None:
        return chosen
    if not isinstance(value, Mapping):
        raise Fault(("providers",), f"must map {either(CHANNELS)} to a provider")
    refuse_unknown(value, ("providers",), CHANNELS)
    for channel, provider in value.items():
        if provider not in PROVIDERS[channel]:
            raise Fault(("providers", channel), f"{provider!r} is not {either(PROVIDERS[channel])}")
        chosen[channel] = provider
    return chosen


def _templates(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping) or not value:
        raise Fault(("templates",), "must map template names to their text")
    for name, text in value.items():
        if not isinstance(text, str) or not text.strip():
            raise Fault(("templates", str(name)), "must be the template's text")
        try:
            _ENV.parse(text)
        except TemplateSyntaxError as bad:
            raise Fault(("templates", str(name)), f"not a valid template: {bad.message}") from None
    return {str(name): text for name, text in value.items()}


def _rule(entry: object, index: int, templates: Mapping[str, str]) -> Rule:
    path: tuple[str | int, ...] = ("rules", index)
    if not isinstance(entry, Mapping):
        raise Fault(path, "must be {on, to, channels, template}")
    refuse_unknown(entry, path, _RULE)
    # `event`, not `on`: YAML 1.1 reads a bare `on` as true
    on = str(entry.get("event"))
    if on not in EVENT_VARIABLES:
        raise Fault((*path, "event"), f"{on!r} is not {either(sorted(EVENT_VARIABLES))}")
    to = entry.get("to")
    if to not in RECIPIENTS:
        raise Fault((*path, "to"), f"{to!r} is not {either(RECIPIENTS)}")
    if to not in _REACHES[on]:
        raise Fault(
            (*path, "to"), f"{on} names no {to}: it can reach {either(sorted(_REACHES[on]))}"
        )
    channels = entry.get("channels")
    if not isinstance(channels, list) or not channels:
        raise Fault((*path, "channels"), f"must be a list of {either(CHANNELS)}")
    for n, channel in enumerate(channels):
        if channel not in CHANNELS:
            raise Fault((*path, "channels", n), f"{channel!r} is not {either(CHANNELS)}")
    template = str(entry.get("template"))
    if template not in templates:
        raise Fault((*path, "template"), f"{template!r} is not one of the templates")
    unknown = meta.find_undeclared_variables(_ENV.parse(templates[template])) - EVENT_VARIABLES[on]
    if unknown:
        raise Fault(
            ("templates", template),
            f"uses {', '.join(sorted(unknown))}, which {on} does not provide "
            f"(it gives {', '.join(sorted(EVENT_VARIABLES[on]))})",
        )
    when = entry.get("when") or {}
    if not isinstance(when, Mapping):
        raise Fault((*path, "when"), "must be {risk: red|yellow|blue}")
    refuse_unknown(when, (*path, "when"), ("risk",))
    risk = when.get("risk")
    if risk is not None and risk not in ("red", "yellow", "blue"):
        raise Fault((*path, "when", "risk"), f"{risk!r} is not red, yellow or blue")
    return Rule(on, to, tuple(channels), template, risk)
