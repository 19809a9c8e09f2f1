"""Dispatch's pure rules: the routing table, routing decisions, and the lifecycle machine."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.events import Assignee, CaseReceived, Reporter
from services.dispatch.domain import (
    LEVELS,
    Category,
    Department,
    RoutingConfigError,
    RoutingTable,
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
