"""The routing rules of routing.yml, pure: which tier a case goes to, and why."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.events import Assignee, CaseReceived, Level, Reporter
from contracts.rpc import DepartmentDuty, GridUnit, Location
from kit.providers import RpcTimeout
from services.dispatch.domain import (
    Place,
    RoutingConfigError,
    RoutingRules,
    RoutingTable,
    decide,
    extra_keywords,
)
from services.dispatch.routing import locate_all
from services.dispatch.routing_config import load_routing

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "config"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((CONFIG / name).read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def routing_doc() -> dict[str, Any]:
    return load("routing.yml")


@pytest.fixture(scope="module")
def table(routing_doc: dict[str, Any]) -> RoutingTable:
    catalogue = RoutingTable.from_config(load("categories.yml"), load("departments.yml"))
    return extra_keywords(routing_doc, catalogue)


@pytest.fixture(scope="module")
def rules(routing_doc: dict[str, Any], table: RoutingTable) -> RoutingRules:
    return RoutingRules.from_config(routing_doc, table)


CHAIN = (
    GridUnit(code="3701130010010101", name="第1网格1号微网格", level="micro_grid",
             parent="37011300100101"),
    GridUnit(code="37011300100101", name="幸福社区第1网格", level="grid", parent="370113001001"),
    GridUnit(code="370113001001", name="幸福社区", level="community", parent="370113001"),
    GridUnit(code="370113001", name="城关街道", level="street", parent="370113"),
    GridUnit(code="370113", name="示范县", level="district", parent=None),
)  # fmt: skip
LOCATED = Place(CHAIN, "按坐标定位")
NOWHERE = Place((), "未给出位置")


def case(content: str = "有事反映", **fields: Any) -> CaseReceived:
    base: dict[str, Any] = {
        "channel": "hotline", "source": "hotline", "external_id": "T-1",
        "reporter": Reporter(), "content": content, "received_at": datetime.now(UTC),
    }  # fmt: skip
    return CaseReceived(**{**base, **fields})


def duty(
    code: str, name: str, level: Level, role: str = "lead", unit: str | None = None
) -> DepartmentDuty:
    return DepartmentDuty(
        department=code,
        name=name,
        level=level,
        unit=unit,
        category="x",
        role=role,  # type: ignore[arg-type]
    )


STREET_LEAD = duty("S-001", "城关街道综治中心", "street", unit="370113001")
HBJ = duty("D-HBJ", "市生态环境局县分局", "district")
GAJ_ASSIST = duty("D-GAJ", "县公安局", "district", role="assist")


def test_the_real_rules_load_in_order(rules: RoutingRules) -> None:
    assert [rule.name for rule in rules.rules] == [
        "red_risk_waits_for_a_person",
        "solved_in_the_grid",
        "small_matters_stay_in_the_grid",
        "petitions_to_the_bureau",
        "big_matters_stay_in_the_street",
        "hard_matters_to_the_county",
    ]


def test_routing_keywords_join_the_catalogues(table: RoutingTable) -> None:
    noise = table.categories["environment.noise"]
    assert noise.keywords["广场舞"] == 2.0
    assert table.classify("小区广场舞太吵")[0][0].code == "environment.noise"


def test_a_given_category_on_duty_in_the_street_stays_in_the_street(
    table: RoutingTable, rules: RoutingRules
) -> None:
    decision = decide(
        case(category="environment.noise"), LOCATED,
        {"street": [STREET_LEAD], "district": [HBJ]}, table, rules,
    )  # fmt: skip
    assert decision.decision == "dispatch" and decision.level == "street"
    assert decision.assignee == Assignee(kind="department", code="S-001", name="城关街道综治中心")
    assert decision.rule == "big_matters_stay_in_the_street"
    assert decision.category == "environment.noise" and "城关街道综治中心" in decision.reason


def test_the_routing_reason_is_chinese_and_names_the_rule_by_its_label(
    table: RoutingTable, rules: RoutingRules
) -> None:
    """The operator reads the reason on the case page: the rule's label, not its identifier."""
    decision = decide(case(category="environment.noise"), LOCATED,
                      {"street": [STREET_LEAD], "district": [HBJ]}, table, rules)  # fmt: skip
    assert decision.reason == "大事不出乡：来源给出分类“噪声扰民” → 城关街道综治中心"
    assert not re.search(r"[A-Za-z]", decision.reason)


def test_without_a_street_duty_it_goes_to_the_county_with_its_helpers(
    table: RoutingTable, rules: RoutingRules
) -> None:
    decision = decide(
        case(category="environment.pollution"), LOCATED,
        {"street": [], "district": [HBJ, GAJ_ASSIST]}, table, rules,
    )  # fmt: skip
    assert (decision.decision, decision.level, decision.rule) == (
        "dispatch",
        "district",
        "hard_matters_to_the_county",
    )
    assert decision.assignee is not None and decision.assignee.code == "D-HBJ"
    assert [h.code for h in decision.helpers] == ["D-GAJ"]


def test_another_streets_duty_does_not_count(table: RoutingTable, rules: RoutingRules) -> None:
    elsewhere = duty("S-002", "东城街道综治中心", "street", unit="370113002")
    decision = decide(
        case(category="environment.noise"), LOCATED, {"street": [elsewhere], "district": [HBJ]},
        table, rules,
    )  # fmt: skip
    assert decision.assignee is not None and decision.assignee.code == "D-HBJ"


def test_two_leads_make_it_a_suggestion_with_an_alternative(
    table: RoutingTable, rules: RoutingRules
) -> None:
    other = duty("D-CGJ", "县城市管理局", "district")
    decision = decide(case(category="environment.pollution"), NOWHERE,
                      {"district": [HBJ, other]}, table, rules)  # fmt: skip
    assert decision.decision == "await"
    assert decision.assignee is not None and decision.assignee.code == "D-HBJ"
    assert [a.code for a in decision.alternatives] == ["D-CGJ"]
    assert "由人工确认" in decision.reason


def test_a_guessed_category_is_only_suggested(table: RoutingTable, rules: RoutingRules) -> None:
    decision = decide(case("楼下广场舞噪音太大"), LOCATED,
                      {"street": [STREET_LEAD], "district": [HBJ]}, table, rules)  # fmt: skip
    assert decision.decision == "await" and decision.category == "environment.noise"
    assert decision.assignee is not None and decision.assignee.code == "S-001"
    assert "关键词" in decision.reason and "广场舞" in decision.reason


def test_red_risk_always_waits_but_keeps_a_suggestion(
    table: RoutingTable, rules: RoutingRules
) -> None:
    decision = decide(case(category="environment.noise", risk="red"), LOCATED,
                      {"street": [STREET_LEAD], "district": [HBJ]}, table, rules)  # fmt: skip
    assert (decision.decision, decision.rule) == ("await", "red_risk_waits_for_a_person")
    assert decision.assignee is not None and decision.assignee.code == "S-001"


def test_a_small_matter_reported_in_the_grid_stays_in_the_grid(
    table: RoutingTable, rules: RoutingRules
) -> None:
    report = case("邻居占道堆放杂物", channel="grid", category="dispute.neighbour",
                  grid_code="37011300100101")  # fmt: skip
    decision = decide(report, LOCATED, {"street": [STREET_LEAD], "district": []}, table, rules)
    assert (decision.decision, decision.level) == ("dispatch", "grid")
    assert decision.assignee == Assignee(kind="grid", code="37011300100101", name="幸福社区第1网格")


def test_a_grid_report_solved_on_site_needs_no_dispatch(
    table: RoutingTable, rules: RoutingRules
) -> None:
    report = case("纠纷已调解", channel="grid", resolved_on_site=True)
    assert decide(report, LOCATED, {}, table, rules).decision == "resolve_on_site"


def test_petitions_go_to_the_bureau_for_a_person_to_confirm(
    table: RoutingTable, rules: RoutingRules
) -> None:
    decision = decide(case("讨要工资", channel="petition", category="labour.wage_arrears"),
                      NOWHERE, {"district": []}, table, rules)  # fmt: skip
    assert (decision.decision, decision.rule) == ("await", "petitions_to_the_bureau")
    assert decision.assignee is not None and decision.assignee.code == "D-XFJ"


def test_nothing_known_leaves_it_to_a_person(table: RoutingTable, rules: RoutingRules) -> None:
    decision = decide(case("你好"), NOWHERE, {}, table, rules)
    assert (decision.decision, decision.rule, decision.assignee) == ("await", "no_rule", None)
    assert "没有关键词命中" in decision.reason


def test_without_a_place_the_street_tier_is_skipped(
    table: RoutingTable, rules: RoutingRules
) -> None:
    silent = Place((), "grid did not answer in time")
    decision = decide(case(category="environment.noise"), silent,
                      {"street": [STREET_LEAD], "district": [HBJ]}, table, rules)  # fmt: skip
    assert decision.assignee is not None and decision.assignee.code == "D-HBJ"


def broken(routing_doc: dict[str, Any], **change: Any) -> str:
    """routing.yml as text, its second rule changed."""
    document = copy.deepcopy(routing_doc)
    document["rules"][1].update(change)
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"when": {"colour": ["red"]}},
         r"rules\[1\]\.when\.colour: Extra inputs are not permitted"),
        ({"when": {"channels": ["fax"]}},
         r"rules\[1\]\.when\.channels\[0\]: Input should be 'hotline', 'grid'"),
        ({"when": {"categories": ["no.such"]}},
         r"rules\[1\]\.when\.categories\[0\]: 'no.such' is not in the catalogue"),
        ({"when": {"located": "yes"}}, r"rules\[1\]\.when\.located: Input should be a valid bool"),
        ({"then": {"assign": "mayor"}},
         r"rules\[1\]\.then\.assign: Input should be 'grid', 'duty' or 'department'"),
        ({"then": {"wait": True, "assign": "grid"}},
         r"rules\[1\]\.then: exactly one of wait, resolve_on_site, assign"),
        ({"then": {"assign": "grid", "level": "street"}},
         r"rules\[1\]\.then\.level: street or district, with assign: duty only"),
        ({"then": {"assign": "department"}},
         r"rules\[1\]\.then\.department: needed with assign: department only"),
        ({"then": {"assign": "department", "department": "D-NONE"}},
         r"rules\[1\]\.then\.department: 'D-NONE' is not a department"),
        ({"then": {"assign": "duty", "auto": "sometimes"}},
         r"rules\[1\]\.then\.auto: Input should be a valid boolean"),
        ({"name": "red_risk_waits_for_a_person"},
         r"rules\[1\]\.name: 'red_risk_waits_for_a_person' repeats"),
    ],
)  # fmt: skip
def test_a_broken_rule_is_refused_naming_its_line_and_field(
    routing_doc: dict[str, Any], table: RoutingTable, change: dict[str, Any], message: str
) -> None:
    text = broken(routing_doc, **change)
    with pytest.raises(RoutingConfigError, match=r"^routing.yml line [0-9]+: " + message):
        load_routing(text, table.categories, table.departments)
    with pytest.raises(RoutingConfigError, match=message):  # the same, read already
        RoutingRules.from_config(yaml.safe_load(text), table)


def test_the_line_named_is_the_field_s_own(table: RoutingTable) -> None:
    text = (
        "rules:\n"
        "  - name: first\n"
        "    when: {channels: [grid]}\n"
        "    then: {assign: grid}\n"
        "  - name: second\n"
        "    then:\n"
        "      assign: department\n"
        "      department: D-NONE\n"
    )
    with pytest.raises(RoutingConfigError) as refused:
        load_routing(text, table.categories, table.departments)
    assert str(refused.value) == (
        "routing.yml line 8: rules[1].then.department: 'D-NONE' is not a department"
    )
    rules = RoutingRules.from_routing(
        load_routing(text.replace("D-NONE", "D-HBJ"), table.categories, table.departments)
    )
    assert [(rule.name, rule.action, rule.department) for rule in rules.rules] == [
        ("first", "grid", None), ("second", "department", "D-HBJ")
    ]  # fmt: skip


def test_routing_keywords_for_an_unknown_category_are_refused(table: RoutingTable) -> None:
    with pytest.raises(RoutingConfigError, match=r"keywords\.no\.such: not in the catalogue"):
        extra_keywords({"keywords": {"no.such": {"词": 1}}}, table)
    text = "keywords:\n  no.such: {词: 1}\nrules:\n  - {name: all, then: {wait: true}}\n"
    with pytest.raises(
        RoutingConfigError, match=r"^routing.yml line 2: keywords\.no\.such: not in"
    ):
        load_routing(text, table.categories, table.departments)


def test_a_console_request_naming_a_helper_twice_is_bad_input() -> None:
    from pydantic import ValidationError

    from contracts.actions import action_from

    body = {"assignee": "D-HBJ", "helpers": ["D-GAJ", "D-GAJ"]}
    with pytest.raises(ValidationError) as refused:
        action_from("dispatch", body)
    assert [(e["loc"], e["msg"]) for e in refused.value.errors()] == [
        (("helpers",), "a unit is named twice")
    ]


def test_a_helper_that_is_no_department_is_refused_by_dispatch(table: RoutingTable) -> None:
    from contracts.actions import DispatchAction
    from kernel.sla import SlaPolicy
    from services.dispatch.commands import BadCommand, CaseFacts, parse
    from services.dispatch.lifecycle import CaseState, CaseStatus

    facts = CaseFacts("C-1", "environment.noise", "hotline", "blue", None, None, (), ())
    state = CaseState(status=CaseStatus.PENDING_DISPATCH, level="district")
    sla = SlaPolicy.from_config(load("sla.yml"))
    action = DispatchAction(assignee="D-HBJ", helpers=["D-GAJ", "D-NONE"])
    with pytest.raises(BadCommand, match="assignee: 'D-NONE' is neither a department"):
        parse(action, state, facts, table, sla, datetime.now(UTC))


class FakeGrid:
    """grid's ``locate_all`` as dispatch sees it: the places asked, or silence."""

    def __init__(self, answers: list[dict[str, Any]] | None) -> None:
        self.answers, self.asked = answers, list[list[dict[str, Any]]]()

    def locate_all(self, places: list[dict[str, Any]]) -> list[Location]:
        self.asked.append(places)
        if self.answers is None:
            raise RpcTimeout("grid.locate_all gave no answer in 2.0s")
        return [Location.model_validate(answer) for answer in self.answers[: len(places)]]

    def departments_for(self, category: str, level: str, unit: str | None) -> list[DepartmentDuty]:
        raise AssertionError("routing asks no duty list to locate cases")

    def staff(self, unit: str, role: str) -> list[Any]:
        raise AssertionError("routing asks for no one to locate cases")


UNLOCATED = {"located": False, "reason": "outside", "detail": "", "chain": [], "exclusive": []}
PLACELESS_BURST = [
    case(grid_code="3701130010010102"),
    case(),  # no place given: grid is not asked about it
    case(location={"lat": 36.6, "lon": 117.0}),
    case(address="城关街道新华社区"),
]


def test_a_burst_is_located_in_one_call_and_placeless_cases_are_not_asked() -> None:
    reasons = ("unknown_code", "outside", "no_match")
    grid = FakeGrid([{**UNLOCATED, "reason": reason} for reason in reasons])
    places = locate_all(grid, PLACELESS_BURST)
    assert grid.asked == [[{"grid_code": "3701130010010102"}, {"lat": 36.6, "lon": 117.0},
                           {"address": "城关街道新华社区"}]]  # fmt: skip
    assert [place.note for place in places] == [
        "未能定位：网格编码不存在", "未给出位置", "未能定位：不在辖区内",
        "未能定位：地址未匹配到单位",
    ]  # fmt: skip


def test_a_silent_grid_routes_the_burst_without_places() -> None:
    places = locate_all(FakeGrid(None), PLACELESS_BURST)
    assert [place.chain for place in places] == [()] * 4
    assert [place.note for place in places] == [
        "网格服务无应答，未定位", "未给出位置", "网格服务无应答，未定位", "网格服务无应答，未定位"
    ]  # fmt: skip
    assert locate_all(FakeGrid(None), [case()]) == [NOWHERE]  # nothing asked at all
