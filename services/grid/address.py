"""Addresses to units by the units' own names and aliases: no external geocoder.

A unit answers to its name, its aliases, its name without the suffix of its kind (城关街道 →
城关, 王庄村 → 王庄: a *weak* alias, ignored when a road word follows, since 建设路 is a road and
not 建设社区) and, for grids and micro-grids, its name without its parent's (新华社区第2网格 →
第2网格, 第1网格3号微网格 → 3号微网格). Chinese numerals in 第三网格 / 三号微网格 read as digits.

Every unit named in the address is *mentioned*; a name inside a longer name of another unit
(马山 inside 马山村) is not a candidate of its own. Each candidate scores the mentions along its
chain (2 for a full name or alias, 1 for a weak one); the best score wins. Several equal
winners are ambiguous, unless their common ancestor is itself mentioned: then the address is
located there (城关街道第1网格: 城关街道, which has six 第1网格).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from contracts.common import clean_text
from services.grid.domain import DEPTH, Unit, ancestors

SUFFIXES = (
    "街道办事处",
    "街道",
    "镇",
    "乡",
    "社区居委会",
    "居委会",
    "社区",
    "村委会",
    "村",
    "专属网格",
)
ROAD_WORDS = ("路", "街", "大街", "大道", "巷", "胡同", "桥")
"""After a weak alias these make it a street address, not a unit: 建设路, 新华街."""

STRONG, WEAK = 2, 1
MAX_CANDIDATES = 10

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN = "零〇一二两三四五六七八九十"
_GRID_NUMBER = re.compile(rf"第([{_CN}]+)(?=网格)")
_MICRO_NUMBER = re.compile(rf"([{_CN}]+)(?=号微网格)")
_SPACE = re.compile(r"\s+")


def chinese_number(text: str) -> int | None:
    """一 → 1, 十二 → 12, 二十 → 20, 三十五 → 35, 一二 → 12; None if it is not one."""
    if "十" in text:
        tens, _, ones = text.partition("十")
        if "十" in ones or len(tens) > 1 or len(ones) > 1:
            return None
        high = _CN_DIGITS.get(tens, -1) if tens else 1
        low = _CN_DIGITS.get(ones, -1) if ones else 0
        return None if high < 0 or low < 0 else high * 10 + low
    digits = [_CN_DIGITS.get(char) for char in text]
    if not digits or any(digit is None for digit in digits):
        return None
    return int("".join(str(digit) for digit in digits))


def normalise(text: str) -> str:
    """NFKC (full-width digits), no spaces, lower case, Chinese grid numbers as digits."""
    cleaned = _SPACE.sub("", str(clean_text(text))).lower()

    def digits(match: re.Match[str]) -> str:
        number = chinese_number(match.group(1))
        return (
            match.group(0)
            if number is None
            else match.group(0).replace(match.group(1), str(number), 1)
        )

    return _MICRO_NUMBER.sub(digits, _GRID_NUMBER.sub(digits, cleaned))


def stripped(name: str) -> str | None:
    """The name without the suffix of its kind, if at least two characters remain."""
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


@dataclass(frozen=True)
class AddressMatch:
    code: str | None
    matched: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    reason: Literal["no_match", "ambiguous"] | None = None
    detail: str = ""


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    text: str
    code: str
    weight: int


class AddressMatcher:
    def __init__(self, units: Sequence[Unit]) -> None:
        self.parents = {unit.code: unit.parent for unit in units}
        self.names = {unit.code: unit.name for unit in units}
        aliases: dict[str, dict[str, int]] = defaultdict(dict)
        strong_names: dict[str, set[str]] = defaultdict(set)
        # Parents first: a child's local name is its name without one of its parent's.
        for unit in sorted(units, key=lambda u: (DEPTH[u.level], u.kind, u.code)):
            names = {normalise(unit.name), *(normalise(alias) for alias in unit.aliases)}
            for parent_name in strong_names.get(unit.parent or "", ()):
                for name in list(names):
                    if name.startswith(parent_name) and len(name) - len(parent_name) >= 2:
                        names.add(name[len(parent_name) :])
            names.discard("")
            strong_names[unit.code] = names
            for name in names:
                aliases[name][unit.code] = STRONG
            for name in list(names):
                short = stripped(name)
                if short and aliases[short].get(unit.code, 0) < STRONG:
                    aliases[short][unit.code] = WEAK
        self.aliases = {alias: tuple(codes.items()) for alias, codes in aliases.items()}
        self.lengths = sorted({len(alias) for alias in self.aliases}, reverse=True)

    def match(self, address: str) -> AddressMatch:
        text = normalise(address)
        hits = self._hits(text)
        if not hits:
            return AddressMatch(
                None, reason="no_match", detail=f"no unit name or alias in {address!r}"
            )
        mentioned: dict[str, int] = {}
        for hit in hits:
            mentioned[hit.code] = max(mentioned.get(hit.code, 0), hit.weight)
        candidates = _outermost(hits)
        # Equal scores never nest (a unit adds its own mention to its ancestors'), so a tie
        # is between branches: ambiguous.
        ranks = {
            code: sum(mentioned.get(c, 0) for c in ancestors(code, self.parents))
            for code in candidates
        }
        top = max(ranks.values())
        best = sorted(code for code, rank in ranks.items() if rank == top)
        if len(best) == 1:
            return AddressMatch(best[0], self._matched(best[0], hits))
        common = self._common_ancestor(best)
        if common is not None and common in mentioned:
            detail = f"{len(best)} units below {self.names[common]} match; located at it"
            return AddressMatch(
                common, self._matched(common, hits), tuple(sorted(best)), None, detail
            )
        shown = tuple(sorted(best)[:MAX_CANDIDATES])
        names = "、".join(sorted({self.names[code] for code in best}))
        return AddressMatch(
            None,
            tuple(sorted({hit.text for hit in hits})),
            shown,
            "ambiguous",
            f"{address!r} could be any of {len(best)} units ({names}); name the street or "
            "community too",
        )

    def _hits(self, text: str) -> list[_Hit]:
        hits = []
        for start in range(len(text)):
            for length in self.lengths:
                end = start + length
                if end > len(text):
                    continue
                found = self.aliases.get(text[start:end])
                if not found:
                    continue
                for code, weight in found:
                    if weight == WEAK and text.startswith(ROAD_WORDS, end):
                        continue
                    hits.append(_Hit(start, end, text[start:end], code, weight))
        return hits

    def _matched(self, code: str, hits: Sequence[_Hit]) -> tuple[str, ...]:
        """The names of the unit's chain found in the address, the longest where they nest
        (新华社区第1网格, not also 新华社区 and 新华)."""
        chain = set(ancestors(code, self.parents))
        ours = [hit for hit in hits if hit.code in chain]
        outer = [
            hit
            for hit in ours
            if not any(
                o.start <= hit.start and hit.end <= o.end and o.end - o.start > hit.end - hit.start
                for o in ours
            )
        ]
        return tuple(dict.fromkeys(hit.text for hit in sorted(outer, key=lambda h: h.start)))

    def _common_ancestor(self, codes: Sequence[str]) -> str | None:
        chains = [ancestors(code, self.parents) for code in codes]
        shared = set(chains[0]).intersection(*map(set, chains[1:]))
        for code in chains[0]:
            if code in shared:
                return code
        return None


def _outermost(hits: Sequence[_Hit]) -> set[str]:
    """Units named by a hit that no longer name of another unit covers (马山 inside 马山村
    is not a candidate; 马山村 is)."""
    spans: dict[tuple[int, int], set[str]] = defaultdict(set)
    for hit in hits:
        spans[(hit.start, hit.end)].add(hit.code)
    outermost: set[str] = set()
    for (start, end), codes in spans.items():
        covering: set[str] = set()
        for (other_start, other_end), other_codes in spans.items():
            if other_start <= start and end <= other_end and other_end - other_start > end - start:
                covering |= other_codes
        outermost.update(code for code in codes if not covering - {code})
    return outermost
