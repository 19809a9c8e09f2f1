"""Dispatch's pure rules: the routing table, routing decisions, and the lifecycle machine."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.events import Assignee, CaseReceived, Reporter
from services.dispatch.domain import (
    LEVELS,
    TRANSITIONS,
    CaseStatus,
    Category,
    Department,
    IllegalTransition,
    RoutingConfigError,
    RoutingTable,
    allowed_actions,
    decide,
    transition,
)

DESIGN_STATES = {
    "received",
    "pending_dispatch",
    "dispatched",
    "accepted",
    "in_progress",
    "concluded",
    "closed",
    "resolved_on_site",
    "merged",
}


@pytest.fixture(scope="module")
def table(categories_doc: dict[str, Any], departments_doc: dict[str, Any]) -> RoutingTable:
    return RoutingTable.from_config(categories_doc, departments_doc)


def small_table() -> RoutingTable:
    """Three departments, four categories, weights chosen to make the ranking explicit."""
    departments = {
        "departments": [
            {"code": "D-A", "name": "甲局", "level": "district", "phone": "13800000001"},
            {"code": "D-B", "name": "乙局", "level": "district"},
            {"code": "S-C", "name": "丙街道", "level": "street"},
        ]
    }
    categories = {
        "categories": [
            {"code": "a.one", "name": "甲一", "department": "D-A", "keywords": ["苹果", "香蕉"]},
            {"code": "a.two", "name": "甲二", "department": "D-A", "keywords": [{"苹果": 0.5}]},
            {"code": "b.one", "name": "乙一", "department": "D-B", "keywords": [{"香蕉": 1.5}]},
            {"code": "c.one", "name": "丙一", "department": "S-C", "keywords": ["樱桃", "苹果"]},
        ]
    }
    return RoutingTable.from_config(categories, departments)


def case(
    content: str = "楼上广场舞噪音扰民", category: str | None = None, risk: str = "blue"
) -> CaseReceived:
    return CaseReceived.model_validate(
        {
            "channel": "hotline",
            "source": "hotline",
            "external_id": "T-1",
            "reporter": Reporter(phone="138****1234").model_dump(),
            "content": content,
            "category": category,
            "risk": risk,
            "received_at": datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        }
    )


def dept(code: str, name: str) -> Assignee:
    return Assignee(kind="department", code=code, name=name)


# --- the real configuration ------------------------------------------------------------------


def test_real_configuration_loads(table: RoutingTable) -> None:
    assert len(table.departments) == 30
    assert len(table.categories) == 75
    for category in table.categories.values():
        assert category.department in table.departments
        assert category.level in LEVELS
        assert category.resolve > timedelta(0)
        assert category.keywords
        assert all(weight == 1.0 for weight in category.keywords.values())


def test_real_configuration_values(table: RoutingTable) -> None:
    noise = table.categories["environment.noise"]
    assert noise == Category(
        code="environment.noise",
        name="噪声扰民",
        department="D-HBJ",
        level="district",
        resolve=timedelta(days=3),
        keywords=dict.fromkeys(["噪音", "噪声", "扰民", "施工噪音", "广场舞"], 1.0),
    )
    assert table.categories["dispute.land"].resolve == timedelta(days=15)
    assert table.categories["power.supply"].resolve == timedelta(days=2)
    assert table.departments["D-GAJ"] == Department("D-GAJ", "县公安局", "district", "13800000003")
    assert table.assignee_for(noise) == dept("D-HBJ", "市生态环境局县分局")


def test_department_as_assignee() -> None:
    department = Department("D-X", "某局", "street")
    assert department.phone is None
    assert department.as_assignee() == Assignee(kind="department", code="D-X", name="某局")


def test_unquoted_phone_is_kept_as_text() -> None:
    doc = {"departments": [{"code": "D", "name": "n", "level": "grid", "phone": 13800000001}]}
    routing = RoutingTable.from_config({}, doc)
    assert routing.departments["D"].phone == "13800000001"


def test_category_defaults() -> None:
    departments = {"departments": [{"code": "S-1", "name": "街道办", "level": "street"}]}
    categories = {"categories": [{"code": "x", "name": "叉", "department": "S-1"}]}
    category = RoutingTable.from_config(categories, departments).categories["x"]
    assert category.level == "street"  # the department's level when the category has none
    assert category.resolve == timedelta(days=5)  # P5D unless given
    assert dict(category.keywords) == {}


def test_keyword_weights() -> None:
    routing = small_table()
    assert dict(routing.categories["a.one"].keywords) == {"苹果": 1.0, "香蕉": 1.0}
    assert dict(routing.categories["b.one"].keywords) == {"香蕉": 1.5}
    assert dict(routing.categories["a.two"].keywords) == {"苹果": 0.5}


@pytest.mark.parametrize("document", [{}, {"categories": None}, {"categories": []}])
def test_empty_documents_give_an_empty_table(document: dict[str, Any]) -> None:
    routing = RoutingTable.from_config(document, {"departments": None})
    assert dict(routing.categories) == {}
    assert dict(routing.departments) == {}
    assert routing.classify("噪音") == []


# --- broken configuration --------------------------------------------------------------------


def broken(
    categories_doc: dict[str, Any], departments_doc: dict[str, Any], where: str, index: int
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Deep copies of both documents and the entry at ``index`` of ``where`` to break."""
    categories = copy.deepcopy(categories_doc)
    departments = copy.deepcopy(departments_doc)
    doc = categories if where == "categories" else departments
    return categories, departments, doc[where][index]


def test_unknown_department_is_named(
    categories_doc: dict[str, Any], departments_doc: dict[str, Any]
) -> None:
    categories, departments, entry = broken(categories_doc, departments_doc, "categories", 3)
    entry["department"] = "D-NOPE"
    with pytest.raises(RoutingConfigError) as exc:
        RoutingTable.from_config(categories, departments)
    message = str(exc.value)
    assert "categories.yml" in message
    assert "categories[3]" in message
    assert "labour.wage_arrears" in message
    assert ".department" in message
    assert "'D-NOPE'" in message


def test_missing_department_reference_is_named(
    categories_doc: dict[str, Any], departments_doc: dict[str, Any]
) -> None:
    categories, departments, entry = broken(categories_doc, departments_doc, "categories", 0)
    del entry["department"]
    with pytest.raises(
        RoutingConfigError, match=r"categories\[0\] \(dispute.neighbour\)\.department"
    ):
        RoutingTable.from_config(categories, departments)


def test_removing_a_department_breaks_its_categories(
    categories_doc: dict[str, Any], departments_doc: dict[str, Any]
) -> None:
    departments = copy.deepcopy(departments_doc)
    departments["departments"] = [d for d in departments["departments"] if d["code"] != "D-SFJ"]
    with pytest.raises(RoutingConfigError, match=r"'D-SFJ' is not a known department"):
        RoutingTable.from_config(categories_doc, departments)


@pytest.mark.parametrize("level", ["province", "county", "", "District"])
def test_bad_department_level_is_named(
    categories_doc: dict[str, Any], departments_doc: dict[str, Any], level: str
) -> None:
    categories, departments, entry = broken(categories_doc, departments_doc, "departments", 2)
    entry["level"] = level
    with pytest.raises(RoutingConfigError) as exc:
        RoutingTable.from_config(categories, departments)
    message = str(exc.value)
    assert message.startswith("departments.yml: departments[2].level")
    if level:
        assert repr(level) in message
    else:
        assert "missing" in message


@pytest.mark.parametrize("key", ["code", "name", "level"])
def test_department_missing_field_is_named(
    categories_doc: dict[str, Any], departments_doc: dict[str, Any], key: str
) -> None:
    categories, departments, entry = broken(categories_doc, departments_doc, "departments", 5)
    del entry[key]
    with pytest.raises(RoutingConfigError, match=rf"departments\[5\]\.{key}: missing"):
        RoutingTable.from_config(categories, departments)


@pytest.mark.parametrize("key", ["code", "name"])
def test_category_missing_code_or_name_is_named(
    categories_doc: dict[str, Any], departments_doc: dict[str, Any], key: str
) -> None:
    categories, departments, entry = broken(categories_doc, departments_doc, "categories", 7)
    del entry[key]
    with pytest.raises(RoutingConfigError, match=r"categories\[7\].*code and name are required"):
        RoutingTable.from_config(categories, departments)


@pytest.mark.parametrize("resolve", ["five days", "P", "2h", "", None, [5]])
def test_bad_duration_is_named(
    categories_doc: dict[str, Any], departments_doc: dict[str, Any], resolve: object
) -> None:
    categories, departments, entry = broken(categories_doc, departments_doc, "categories", 1)
    entry["resolve"] = resolve
    with pytest.raises(RoutingConfigError) as exc:
        RoutingTable.from_config(categories, departments)
    message = str(exc.value)
    assert "categories[1] (dispute.family).resolve" in message
    assert repr(resolve) in message
    assert "ISO 8601" in message


@pytest.mark.parametrize("resolve", ["P0D", "PT0S", "-P1D"])
def test_non_positive_duration_is_named(
    categories_doc: dict[str, Any], departments_doc: dict[str, Any], resolve: str
) -> None:
    categories, departments, entry = broken(categories_doc, departments_doc, "categories", 1)
    entry["resolve"] = resolve
    with pytest.raises(
        RoutingConfigError, match=r"categories\[1\] \(dispute.family\)\.resolve: must be positive"
    ):
        RoutingTable.from_config(categories, departments)


@pytest.mark.parametrize(
    "item",
    [{"噪音": 1, "噪声": 2}, {}, 42, None, ["噪音"], 1.5],
    ids=["two-keys", "empty-map", "int", "none", "list", "float"],
)
def test_bad_keyword_entry_is_named(
    categories_doc: dict[str, Any], departments_doc: dict[str, Any], item: object
) -> None:
    categories, departments, entry = broken(categories_doc, departments_doc, "categories", 8)
    entry["keywords"] = ["噪音", item]
    with pytest.raises(RoutingConfigError) as exc:
        RoutingTable.from_config(categories, departments)
    message = str(exc.value)
    assert "categories[8] (environment.noise).keywords" in message
    assert repr(item) in message


def test_routing_config_error_is_a_value_error() -> None:
    assert issubclass(RoutingConfigError, ValueError)


def test_bad_category_level_is_named(
    categories_doc: dict[str, Any], departments_doc: dict[str, Any]
) -> None:
    categories, departments, entry = broken(categories_doc, departments_doc, "categories", 0)
    entry["level"] = "province"
    with pytest.raises(RoutingConfigError, match=r"categories\[0\] \(dispute.neighbour\)\.level"):
        RoutingTable.from_config(categories, departments)


@pytest.mark.parametrize("weight", ["heavy", None], ids=["text", "none"])
def test_non_numeric_keyword_weight_is_named(
    categories_doc: dict[str, Any], departments_doc: dict[str, Any], weight: object
) -> None:
    categories, departments, entry = broken(categories_doc, departments_doc, "categories", 8)
    entry["keywords"] = [{"噪音": weight}]
    with pytest.raises(
        RoutingConfigError, match=r"categories\[8\] \(environment.noise\)\.keywords"
    ):
        RoutingTable.from_config(categories, departments)


def test_keywords_given_as_a_bare_string_are_refused(
    categories_doc: dict[str, Any], departments_doc: dict[str, Any]
) -> None:
    categories, departments, entry = broken(categories_doc, departments_doc, "categories", 8)
    entry["keywords"] = "噪音"
    with pytest.raises(RoutingConfigError, match=r"\.keywords"):
        RoutingTable.from_config(categories, departments)


# --- classify ------------------------------------------------------------------------------


def test_classify_scores_by_keywords_found(table: RoutingTable) -> None:
    ranked = table.classify("楼上邻居漏水")
    assert [(c.code, s) for c, s in ranked] == [("dispute.neighbour", 2.0)]
    ranked = table.classify("广场舞噪音扰民")
    assert [(c.code, s) for c, s in ranked] == [("environment.noise", 3.0)]


def test_classify_ranks_best_first(table: RoutingTable) -> None:
    ranked = table.classify("包工头拖欠工资,还有施工噪音")
    codes = [c.code for c, _ in ranked]
    assert codes[0] == "labour.wage_arrears"  # 包工头, 拖欠工资, 工资
    assert ranked[0][1] == 3.0
    assert "environment.noise" in codes
    scores = [s for _, s in ranked]
    assert scores == sorted(scores, reverse=True)


def test_classify_nothing_matches(table: RoutingTable) -> None:
    assert table.classify("今天天气很好") == []
    assert table.classify("") == []


def test_classify_uses_weights_and_keeps_ties_in_configuration_order() -> None:
    routing = small_table()
    ranked = [(c.code, s) for c, s in routing.classify("苹果和香蕉")]
    assert ranked == [("a.one", 2.0), ("b.one", 1.5), ("c.one", 1.0), ("a.two", 0.5)]
    ranked = [(c.code, s) for c, s in routing.classify("苹果")]
    assert ranked == [("a.one", 1.0), ("c.one", 1.0), ("a.two", 0.5)]


def test_classify_counts_each_keyword_once() -> None:
    routing = small_table()
    assert [(c.code, s) for c, s in routing.classify("樱桃樱桃樱桃")] == [("c.one", 1.0)]


def test_classify_leaves_out_zero_scores() -> None:
    departments = {"departments": [{"code": "D", "name": "局", "level": "district"}]}
    categories = {
        "categories": [{"code": "z", "name": "零", "department": "D", "keywords": [{"噪音": 0}]}]
    }
    assert RoutingTable.from_config(categories, departments).classify("噪音") == []


# --- decide --------------------------------------------------------------------------------


def test_known_category_is_dispatched_automatically(table: RoutingTable) -> None:
    decision = decide(case(category="environment.noise"), table)
    assert decision.auto is True
    assert decision.rule == "category:environment.noise"
    assert decision.category == "environment.noise"
    assert decision.assignee == dept("D-HBJ", "市生态环境局县分局")
    assert decision.level == "district"
    assert decision.resolve == timedelta(days=3)
    assert decision.alternatives == ()
    assert "噪声扰民" in decision.reason
    assert "市生态环境局县分局" in decision.reason


@pytest.mark.parametrize("risk", ["blue", "yellow"])
def test_known_category_with_low_risk_is_automatic(table: RoutingTable, risk: str) -> None:
    decision = decide(case(content="无关内容", category="order.public", risk=risk), table)
    assert decision.auto is True
    assert decision.rule == "category:order.public"
    assert decision.assignee == dept("D-GAJ", "县公安局")


def test_the_given_category_wins_over_keywords(table: RoutingTable) -> None:
    decision = decide(case(content="拖欠工资", category="environment.noise"), table)
    assert decision.rule == "category:environment.noise"
    assert decision.assignee is not None
    assert decision.assignee.code == "D-HBJ"


def test_red_risk_waits_for_a_person_but_keeps_the_suggestion(table: RoutingTable) -> None:
    decision = decide(case(category="environment.noise", risk="red"), table)
    assert decision.auto is False
    assert decision.rule == "risk:red"
    assert decision.assignee == dept("D-HBJ", "市生态环境局县分局")
    assert decision.category == "environment.noise"
    assert decision.level == "district"
    assert decision.resolve == timedelta(days=3)
    assert "red" in decision.reason


def test_keywords_suggest_but_do_not_dispatch(table: RoutingTable) -> None:
    decision = decide(case(content="包工头拖欠工资,晚上还有噪音"), table)
    assert decision.auto is False
    assert decision.rule == "keywords:labour.wage_arrears"
    assert decision.category == "labour.wage_arrears"
    assert decision.assignee == dept("D-RSJ", "县人力资源和社会保障局")
    assert decision.resolve == timedelta(days=5)
    assert dept("D-HBJ", "市生态环境局县分局") in decision.alternatives
    assert all(alt.code != "D-RSJ" for alt in decision.alternatives)
    assert "包工头" in decision.reason
    assert "拖欠工资" in decision.reason
    assert "拖欠农民工工资" in decision.reason


def test_keyword_alternatives_exclude_the_suggested_department(table: RoutingTable) -> None:
    decision = decide(case(content="拖欠工资,社保也没交"), table)
    assert decision.assignee is not None
    assert decision.assignee.code == "D-RSJ"
    assert decision.alternatives == ()  # social insurance is the same department


def test_keyword_alternatives_come_from_the_next_two_candidates() -> None:
    decision = decide(case(content="苹果和香蕉和樱桃"), small_table())
    assert decision.rule == "keywords:a.one"
    assert decision.assignee == dept("D-A", "甲局")
    # ranked: a.one 2.0, c.one 2.0, b.one 1.5, a.two 0.5
    assert decision.alternatives == (dept("S-C", "丙街道"), dept("D-B", "乙局"))
    assert decision.level == "district"


def test_keyword_decision_uses_the_categorys_level() -> None:
    decision = decide(case(content="樱桃"), small_table())
    assert decision.rule == "keywords:c.one"
    assert decision.level == "street"
    assert decision.assignee == dept("S-C", "丙街道")


def test_keyword_alternatives_are_distinct(table: RoutingTable) -> None:
    # ranked: labour.wage_arrears (D-RSJ) 2.0, environment.pollution (D-HBJ) 1.0,
    # environment.noise (D-HBJ) 1.0
    decision = decide(case(content="欠薪,工资没发,还有噪音和污染"), table)
    codes = [alt.code for alt in decision.alternatives]
    assert len(codes) == len(set(codes))


def test_unknown_category_falls_back_to_keywords(table: RoutingTable) -> None:
    decision = decide(case(content="广场舞噪音", category="no.such"), table)
    assert decision.auto is False
    assert decision.rule == "keywords:environment.noise"
    assert decision.category == "environment.noise"


def test_red_risk_without_category_is_not_automatic(table: RoutingTable) -> None:
    decision = decide(case(content="广场舞噪音", risk="red"), table)
    assert decision.auto is False
    assert decision.rule == "keywords:environment.noise"


def test_nothing_matches_leaves_it_to_a_person(table: RoutingTable) -> None:
    decision = decide(case(content="今天天气很好"), table)
    assert decision.auto is False
    assert decision.rule == "none"
    assert decision.assignee is None
    assert decision.category is None
    assert decision.alternatives == ()
    assert decision.resolve is None
    assert decision.level == "district"
    assert "no category" in decision.reason


def test_unknown_category_and_no_keywords_names_the_category(table: RoutingTable) -> None:
    decision = decide(case(content="今天天气很好", category="mystery"), table)
    assert decision.auto is False
    assert decision.assignee is None
    assert "unknown category 'mystery'" in decision.reason


# --- the lifecycle -------------------------------------------------------------------------


def test_case_states_are_the_designed_ones() -> None:
    assert {status.value for status in CaseStatus} == DESIGN_STATES
    assert CaseStatus("pending_dispatch") is CaseStatus.PENDING_DISPATCH
    assert str(CaseStatus.DISPATCHED) == "dispatched"


def test_every_transition_is_between_known_states() -> None:
    assert TRANSITIONS
    for action, (sources, target) in TRANSITIONS.items():
        assert isinstance(action, str)
        assert action
        assert sources
        assert all(isinstance(status, CaseStatus) for status in sources)
        assert isinstance(target, CaseStatus)


def test_designed_transitions() -> None:
    assert transition(CaseStatus.RECEIVED, "await_dispatch") is CaseStatus.PENDING_DISPATCH
    assert transition(CaseStatus.RECEIVED, "dispatch") is CaseStatus.DISPATCHED
    assert transition(CaseStatus.PENDING_DISPATCH, "dispatch") is CaseStatus.DISPATCHED


@pytest.mark.parametrize(
    ("action", "status"),
    [(action, status) for action in TRANSITIONS for status in CaseStatus],
    ids=lambda value: str(value),
)
def test_transition_table(action: str, status: CaseStatus) -> None:
    sources, target = TRANSITIONS[action]
    if status in sources:
        assert transition(status, action) is target
        assert action in allowed_actions(status)
    else:
        with pytest.raises(IllegalTransition) as exc:
            transition(status, action)
        assert exc.value.action == action
        assert exc.value.status is status
        assert exc.value.allowed == sorted(allowed_actions(status))
        assert f"cannot {action} a case that is {status}" in str(exc.value)
        assert action not in allowed_actions(status)


@pytest.mark.parametrize("status", list(CaseStatus), ids=str)
def test_allowed_actions_are_exactly_those_whose_sources_hold_the_status(
    status: CaseStatus,
) -> None:
    expected = {action for action, (sources, _) in TRANSITIONS.items() if status in sources}
    assert set(allowed_actions(status)) == expected
    assert len(allowed_actions(status)) == len(expected)


def test_allowed_actions_examples() -> None:
    assert {"await_dispatch", "dispatch"} <= set(allowed_actions(CaseStatus.RECEIVED))
    assert "dispatch" in allowed_actions(CaseStatus.PENDING_DISPATCH)
    assert "await_dispatch" not in allowed_actions(CaseStatus.PENDING_DISPATCH)
    assert "dispatch" not in allowed_actions(CaseStatus.DISPATCHED)
    assert "dispatch" not in allowed_actions(CaseStatus.CLOSED)


def test_cannot_dispatch_twice() -> None:
    with pytest.raises(IllegalTransition) as exc:
        transition(CaseStatus.DISPATCHED, "dispatch")
    assert "dispatch" not in exc.value.allowed
    assert "cannot dispatch a case that is dispatched" in str(exc.value)


def test_merged_case_cannot_be_dispatched() -> None:
    with pytest.raises(IllegalTransition):
        transition(CaseStatus.MERGED, "dispatch")


def test_illegal_transition_lists_allowed_actions_sorted() -> None:
    error = IllegalTransition("close", CaseStatus.RECEIVED, ["zeta", "alpha"])
    assert error.allowed == ["alpha", "zeta"]
    assert str(error) == "cannot close a case that is received; allowed: ['alpha', 'zeta']"
