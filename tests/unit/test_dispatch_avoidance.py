"""回避, pure: a petition that accuses a unit is never routed to it; it goes to the level above,
and the decision names the rule ``avoidance`` and says why in Chinese."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from contracts.events import Assignee
from kernel.levels import EscalationSteps
from services.dispatch.avoidance import AVOIDANCE, avoid
from services.dispatch.domain import (
    Place,
    RoutingDecision,
    RoutingRules,
    RoutingTable,
    decide,
    extra_keywords,
)
from tests.unit.test_dispatch_routing import HBJ, LOCATED, NOWHERE, STREET_LEAD, case, duty, load

LADDER = EscalationSteps()
ZJJ = duty("D-ZJJ", "县住房和城乡建设局", "district")
DUTIES: dict[str, Any] = {"street": [STREET_LEAD], "district": [HBJ]}


def petition(accused: str | None, category: str = "environment.noise") -> Any:
    return case("反映施工噪音问题，街道处理不力", channel="petition",
                category=category, accused_unit=accused)  # fmt: skip


@pytest.fixture(scope="module")
def routing_doc() -> dict[str, Any]:
    return load("routing.yml")


@pytest.fixture(scope="module")
def table(routing_doc: dict[str, Any]) -> RoutingTable:
    catalogue = RoutingTable.from_config(load("categories.yml"), load("departments.yml"))
    return extra_keywords(routing_doc, catalogue)


@pytest.fixture(scope="module")
def rules(routing_doc: dict[str, Any], table: RoutingTable) -> RoutingRules:
    """The county's own rules: petitions to the 信访局, for a person to confirm."""
    return RoutingRules.from_config(routing_doc, table)


@pytest.fixture(scope="module")
def by_duty(routing_doc: dict[str, Any], table: RoutingTable) -> RoutingRules:
    """The county's rules with petitions routed like any case (no bureau rule), and one rule
    sending petitions to their grid, so that the accused can be the one the rules choose."""
    document = copy.deepcopy(routing_doc)
    document["rules"] = [r for r in document["rules"] if r["name"] != "petitions_to_the_bureau"]
    if_grid = {
        "name": "petitions_about_the_grid",
        "when": {"channels": ["petition"], "categories": ["dispute.neighbour"], "located": True},
        "then": {"assign": "grid"},
    }
    document["rules"].insert(0, if_grid)
    return RoutingRules.from_config(document, table)


def routed(
    received: Any, place: Place, table: RoutingTable, rules: RoutingRules,
    duties: dict[str, Any] = DUTIES,
) -> RoutingDecision:  # fmt: skip
    decision = decide(received, place, duties, table, rules)
    return avoid(decision, received, place, duties, table, rules, LADDER)


def test_a_petition_accusing_its_street_goes_to_the_county(
    table: RoutingTable,
    by_duty: RoutingRules,
) -> None:
    plain = routed(petition(None), LOCATED, table, by_duty)
    assert plain.assignee is not None and plain.assignee.code == "S-001"  # the rules' choice
    decision = routed(petition("S-001"), LOCATED, table, by_duty)
    assert decision.decision == "dispatch" and decision.rule == AVOIDANCE
    assert decision.level == "district"
    assert decision.assignee == Assignee(kind="department", code="D-HBJ", name="市生态环境局县分局")
    assert decision.reason.startswith(
        "回避：信访件反映城关街道综治中心，不交其办理，交上一级市生态环境局县分局"
    )
    assert "大事不出乡" in decision.reason  # the rule it overrode
    assert not re.search(r"[A-Za-z]", decision.reason)


def test_without_a_county_duty_the_category_s_own_department_takes_it(
    table: RoutingTable,
    by_duty: RoutingRules,
) -> None:
    decision = routed(petition("S-001"), LOCATED, table, by_duty, {"street": [STREET_LEAD]})
    own = table.departments[table.categories["environment.noise"].department]
    assert decision.assignee == own.as_assignee() and decision.level == "district"


def test_a_petition_accusing_its_grid_goes_to_the_street(
    table: RoutingTable,
    by_duty: RoutingRules,
) -> None:
    neighbours = petition("37011300100101", category="dispute.neighbour")
    assert routed(petition(None, category="dispute.neighbour"), LOCATED, table,
                  by_duty).assignee.code == "37011300100101"  # type: ignore[union-attr]  # fmt: skip
    decision = routed(neighbours, LOCATED, table, by_duty)
    assert (decision.rule, decision.level) == (AVOIDANCE, "street")
    assert decision.assignee is not None and decision.assignee.code == "S-001"
    assert "幸福社区第1网格" in decision.reason


def test_a_petition_accusing_the_bureau_goes_to_the_centre_above_it(
    table: RoutingTable,
    rules: RoutingRules,
) -> None:
    """The real rules send petitions to the 信访局 for a person to confirm; one accusing the
    bureau is suggested to the county's comprehensive-governance centre instead."""
    decision = routed(petition("D-XFJ"), NOWHERE, table, rules, {"district": []})
    assert (decision.decision, decision.rule) == ("await", AVOIDANCE)
    assert decision.assignee is not None and decision.assignee.code == "D-ZZB"
    assert "信访局" in decision.reason and "由人工确认" in decision.reason


def test_with_nobody_above_a_person_decides_and_the_accused_is_never_suggested(
    table: RoutingTable,
    rules: RoutingRules,
) -> None:
    bare = RoutingRules(rules.rules)  # no avoidance.above_district
    decision = routed(petition("D-XFJ"), NOWHERE, table, bare, {"district": []})
    assert (decision.decision, decision.rule, decision.assignee) == ("await", AVOIDANCE, None)
    assert "由人工决定" in decision.reason


def test_the_accused_leaves_the_alternatives_and_helpers_too(
    table: RoutingTable,
    by_duty: RoutingRules,
) -> None:
    two = {"district": [HBJ, ZJJ, duty("D-GAJ", "县公安局", "district", role="assist")]}
    decision = routed(petition("D-ZJJ"), NOWHERE, table, by_duty, two)
    assert decision.assignee is not None and decision.assignee.code == "D-HBJ"
    assert "D-ZJJ" not in [a.code for a in decision.alternatives]
    helped = routed(petition("D-GAJ"), NOWHERE, table, by_duty, two)
    assert "D-GAJ" not in [a.code for a in helped.helpers] and helped.rule != AVOIDANCE


def test_other_lines_and_unaccused_petitions_route_as_before(
    table: RoutingTable,
    by_duty: RoutingRules,
) -> None:
    hotline = case("施工噪音", category="environment.noise", accused_unit="S-001")
    assert routed(hotline, LOCATED, table, by_duty) == decide(
        hotline, LOCATED, DUTIES, table, by_duty
    )
    other = routed(petition("D-ZJJ"), LOCATED, table, by_duty)
    assert other == decide(petition("D-ZJJ"), LOCATED, DUTIES, table, by_duty)
