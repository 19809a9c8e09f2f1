"""最多访一次: is a new matter the same one a citizen raised before?

Chinese has no spaces, so text is compared as character bigrams (the usual CJK tokenisation)
with rapidfuzz's token-set ratio, after dropping punctuation, digits and filler words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    field_validator,
)
from pydantic_core import PydanticCustomError
from rapidfuzz import fuzz

from kernel.config import ConfigError, load_model
from kernel.durations import PolicyError, parse_duration

_NOISE = re.compile(r"[\W\d_]+", re.UNICODE)
_FILLER = ("请", "尽快", "处理", "反映", "问题", "你好", "您好", "谢谢", "希望", "解决", "一下")


class RepeatConfigError(ConfigError):
    """intake.yml is wrong; the message names the file, the line and the field."""


def _duration(value: object) -> timedelta:
    try:
        return parse_duration(value, "window")
    except PolicyError as exc:
        raise PydanticCustomError("duration", str(exc).partition(": ")[2]) from None


class RepeatEntry(BaseModel):
    """``repeat`` of ``intake.yml``: how far back, and how alike, a matter repeats another."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: Annotated[timedelta, BeforeValidator(_duration)] = timedelta(days=90)
    similarity: Annotated[StrictFloat | StrictInt, Field(gt=0, le=100)] = 60.0
    """0..100: rapidfuzz's token-set ratio over character bigrams."""
    max_linked: Annotated[StrictInt, Field(ge=1)] = 5


class IntakeFile(BaseModel):
    """``intake.yml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repeat: RepeatEntry = RepeatEntry()

    @field_validator("repeat", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return {} if value is None else value


@dataclass(frozen=True)
class RepeatPolicy:
    window: timedelta = timedelta(days=90)
    similarity: float = 60.0
    max_linked: int = 5

    @classmethod
    def from_text(cls, text: str, name: str = "intake.yml") -> RepeatPolicy:
        """``intake.yml``: a fault is refused naming the file, the line and the field."""
        entry = load_model(text, name, IntakeFile, RepeatConfigError).repeat
        return cls(entry.window, float(entry.similarity), entry.max_linked)

    @classmethod
    def from_file(cls, path: Path) -> RepeatPolicy:
        try:
            return cls.from_text(path.read_text(encoding="utf-8"), path.name)
        except FileNotFoundError:
            raise RepeatConfigError(f"{path}: missing") from None


@dataclass(frozen=True)
class EarlierMatter:
    case_id: str
    received_at: datetime
    content: str


def bigrams(text: str) -> str:
    """``小区噪音扰民`` → ``小区 区噪 噪音 音扰 扰民``, after normalising away what does not
    carry meaning (punctuation, digits, polite filler)."""
    cleaned = unicodedata.normalize("NFKC", text).lower()
    for word in _FILLER:
        cleaned = cleaned.replace(word, "")
    cleaned = _NOISE.sub("", cleaned)
    if len(cleaned) < 2:
        return cleaned
    return " ".join(cleaned[i : i + 2] for i in range(len(cleaned) - 1))


def similarity(a: str, b: str) -> float:
    return float(fuzz.token_set_ratio(bigrams(a), bigrams(b)))


def find_repeats(
    content: str,
    received_at: datetime,
    earlier: Iterable[EarlierMatter],
    policy: RepeatPolicy,
) -> list[str]:
    """Case ids of the earlier matters this one repeats, most recent first."""
    since = received_at - policy.window
    matches = [
        matter
        for matter in earlier
        if since <= matter.received_at <= received_at
        and similarity(content, matter.content) >= policy.similarity
    ]
    matches.sort(key=lambda matter: matter.received_at, reverse=True)
    return [matter.case_id for matter in matches[: policy.max_linked]]
