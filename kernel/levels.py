"""The territory's levels (区 > 街镇 > 村居 > 网格 > 微网格, "大中小微") and the escalation ladder.

Two orders live here and must not be confused:

* the territory: every unit's parent is one level up (a grid's parent is its community);
* the escalation ladder (格呼街应、街呼区应): whom a level calls on. A grid calls on its street,
  the street on the district; the community (村居) is a step only where the configuration says so
  (``escalation.via_community`` in sla.yml), since in most counties its committee has no power to
  take a case over from a grid.

Manual escalation (a supervisor's click) and automatic escalation (a clock past its limit) both
ask the same ``EscalationSteps`` for the level above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from contracts.events import Level

LEVELS: Final[tuple[Level, ...]] = ("micro_grid", "grid", "community", "street", "district")
"""Bottom up: 微网格, 网格, 村居, 街镇, 区."""

TOP_DOWN: Final[tuple[Level, ...]] = tuple(reversed(LEVELS))
"""Top down: 区, 街镇, 村居, 网格, 微网格."""

PARENT_LEVEL: Final[dict[Level, Level]] = {
    level: LEVELS[index + 1] for index, level in enumerate(LEVELS[:-1])
}
"""The territory's parent of each level: a grid belongs to a community, a community to a street."""


def is_above(level: Level, other: Level) -> bool:
    """``level`` is higher in the territory than ``other`` (the street is above the grid)."""
    return LEVELS.index(level) > LEVELS.index(other)


@dataclass(frozen=True)
class EscalationSteps:
    """格呼街应、街呼区应: micro_grid → grid → street → district, with the community between the
    grid and the street only when ``via_community`` is set. A case held at community level (put
    there by hand) climbs to the street either way."""

    via_community: bool = False

    @property
    def levels(self) -> tuple[Level, ...]:
        """The ladder, bottom up."""
        return LEVELS if self.via_community else tuple(lv for lv in LEVELS if lv != "community")

    def above(self, level: str) -> Level | None:
        """The level a case at ``level`` escalates to, or None at the top (or for no level)."""
        if level == "community" and not self.via_community:
            return "street"
        steps = self.levels
        if level not in steps:
            return None
        index = steps.index(level)
        return steps[index + 1] if index + 1 < len(steps) else None
