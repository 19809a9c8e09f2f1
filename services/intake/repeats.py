"""最多访一次: is a new matter the same one a citizen raised before?

Chinese has no spaces, so text is compared as character bigrams (the usual CJK tokenisation)
with rapidfuzz's token-set ratio, after dropping punctuation, digits and filler words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz

from kernel.durations import PolicyError, parse_duration

_NOISE = re.compile(r"[\W\d_]+", re.UNICODE)
_FILLER = ("请", "尽快", "处理", "反映", "问题", "你好", "您好", "谢谢", "希望", "解决", "一下")


class RepeatConfigError(ValueError):
    """intake.yml is wrong; the message names the field."""


@dataclass(frozen=True)
class RepeatPolicy:
    window: timedelta = timedelta(days=90)
    similarity: float = 60.0
    max_linked: int = 5

    @classmethod
    def from_config(cls, document: Mapping[str, Any]) -> RepeatPolicy:
        entry = document.get("repeat") or {}
        try:
            window = parse_duration(entry.get("window", "P90D"), "intake.yml: repeat.window")
        except PolicyError as exc:
            raise RepeatConfigError(str(exc)) from None
        similarity = entry.get("similarity", 60)
        if isinstance(similarity, bool) or not isinstance(similarity, int | float):
            raise RepeatConfigError("intake.yml: repeat.similarity: must be a number 0..100")
        if not 0 < similarity <= 100:
            raise RepeatConfigError("intake.yml: repeat.similarity: must be within 0..100")
        max_linked = entry.get("max_linked", 5)
        if isinstance(max_linked, bool) or not isinstance(max_linked, int) or max_linked < 1:
            raise RepeatConfigError("intake.yml: repeat.max_linked: must be a whole number >= 1")
        return cls(window, float(similarity), max_linked)


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
