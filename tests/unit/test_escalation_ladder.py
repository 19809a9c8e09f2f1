"""格呼街应、街呼区应: one ladder, in the kernel, climbed alike by a supervisor's escalation
(dispatch) and by a clock past its limit (supervision)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.actions import EscalateAction
from contracts.events import Level
from kernel.levels import LEVELS, PARENT_LEVEL, TOP_DOWN, EscalationSteps, is_above
from kernel.sla import SlaPolicy
from services.dispatch.commands import BadCommand, CaseFacts, parse
from services.dispatch.domain import RoutingTable
from services.dispatch.lifecycle import CaseState, CaseStatus
from services.supervision.domain import Clock, next_step

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TABLE = RoutingTable({}, {})
FACTS = CaseFacts("C-1", None, "grid", "blue", None, None, (), ())


def policy(via_community: bool) -> SlaPolicy:
    return SlaPolicy.from_text(
        "default: {respond: PT2H, feedback: PT24H, resolve: P5D}\n"
        "escalation:\n"
        f"  via_community: {'yes' if via_community else 'no'}\n"
        "  max_levels: 4\n"
        "  ladder: {micro_grid: PT1M, grid: PT1M, community: PT1M, street: PT1M}\n"
    )


def manual(sla: SlaPolicy, level: Level) -> Level | None:
    """Where a supervisor's escalate, naming no level, takes a case at ``level``."""
    state = CaseState(status=CaseStatus.DISPATCHED, level=level)
    try:
        command = parse(EscalateAction(reason="无人响应"), state, FACTS, TABLE, sla, NOW)
    except BadCommand:
        return None
    return command.to_level  # type: ignore[attr-defined, no-any-return]


def automatic(sla: SlaPolicy, level: Level) -> Level | None:
    """Where a clock at ``level``, long past its limit, asks the case to climb."""
    clock = Clock("respond", level, NOW - timedelta(hours=3), NOW - timedelta(hours=2))
    return next_step(clock, NOW, sla.escalation, 0).escalate_to


@pytest.mark.parametrize("via_community", [False, True])
@pytest.mark.parametrize("level", LEVELS)
def test_manual_and_automatic_escalation_climb_the_same_ladder(
    level: Level, via_community: bool
) -> None:
    sla = policy(via_community)
    assert manual(sla, level) == automatic(sla, level) == sla.escalation.above(level)


def test_without_the_community_a_grid_calls_on_its_street() -> None:
    sla = policy(via_community=False)
    climbs = [manual(sla, level) for level in ("micro_grid", "grid", "street", "district")]
    assert climbs == ["grid", "street", "district", None]
    assert "community" not in {automatic(sla, level) for level in LEVELS}
    # a case put at community level by hand still goes on to its street
    assert manual(sla, "community") == automatic(sla, "community") == "street"


def test_with_the_community_both_climb_through_it() -> None:
    sla = policy(via_community=True)
    assert manual(sla, "grid") == automatic(sla, "grid") == "community"
    assert manual(sla, "community") == automatic(sla, "community") == "street"


def test_the_shipped_ladder_has_no_community_step() -> None:
    assert EscalationSteps().levels == ("micro_grid", "grid", "street", "district")
    assert EscalationSteps(via_community=True).levels == LEVELS


def test_the_territory_order_is_separate_from_the_ladder() -> None:
    assert TOP_DOWN == ("district", "street", "community", "grid", "micro_grid")
    assert PARENT_LEVEL["grid"] == "community"  # a grid belongs to its community
    assert is_above("street", "grid") and not is_above("grid", "grid")
