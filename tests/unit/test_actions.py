"""The lifecycle actions as the console receives them and dispatch carries them out
(``contracts.actions``): what each needs, what is refused and where, the round trip over the
RPC, and the console's OpenAPI document generated from the same models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.actions import (
    ACTION_MODELS,
    LIFECYCLE_ACTION,
    AcceptAction,
    DispatchAction,
    ExtendAction,
    ReturnAction,
    VerifyAction,
    action_from,
)
from services.console.domain import LIFECYCLE_ACTIONS
from services.console.openapi import document

DESIGN_ACTIONS = {"dispatch", "accept", "return", "feedback", "conclude", "extend", "escalate",
                  "verify", "revisit"}  # fmt: skip
"""DESIGN's ``POST /api/v1/cases/{id}/{action}``, but ``supervise`` (an order, to supervision)."""


def refusals(name: str, body: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as refused:
        action_from(name, body)
    return [(error["loc"], error["msg"]) for error in refused.value.errors()]


def test_every_action_of_the_design_has_a_model_and_the_console_knows_them_all() -> None:
    assert set(ACTION_MODELS) >= DESIGN_ACTIONS
    assert set(LIFECYCLE_ACTIONS) == set(ACTION_MODELS)
    assert "supervise" not in ACTION_MODELS


def test_an_empty_dispatch_is_the_one_click() -> None:
    click = action_from("dispatch", {})
    assert isinstance(click, DispatchAction)
    assert (click.assignee, click.helpers) == (None, None)


@pytest.mark.parametrize(
    ("name", "field"),
    [("return", "reason"), ("feedback", "note"), ("conclude", "result"), ("escalate", "reason"),
     ("resolve_on_site", "note"), ("merge", "into")],
)  # fmt: skip
def test_blank_text_is_refused_as_missing_and_text_is_trimmed(name: str, field: str) -> None:
    assert refusals(name, {field: " \n "}) == [((field,), "required text")]
    assert refusals(name, {})[0][0] == (field,)
    assert getattr(action_from(name, {field: "  已处理 "}), field) == "已处理"


def test_a_result_that_did_not_pass_must_say_why() -> None:
    assert refusals("verify", {"passed": False}) == [(("note",), "required text")]
    assert action_from("verify", {"passed": True}) == VerifyAction(passed=True)
    assert refusals("verify", {"passed": "yes"})[0][0] == ("passed",)  # no guessing at truth


def test_extend_is_asking_with_a_zoned_time_and_a_reason_or_deciding() -> None:
    asked = action_from("extend", {"until": "2027-01-31T18:00:00+08:00", "reason": "待检测"})
    assert isinstance(asked, ExtendAction) and asked.approve is None
    assert asked.until == datetime(2027, 1, 31, 10, tzinfo=UTC)
    assert [loc for loc, _ in refusals("extend", {})] == [("until",), ("reason",)]
    unzoned = refusals("extend", {"until": "2027-01-31T18:00:00", "reason": "待检测"})
    assert [loc for loc, _ in unzoned] == [("until",)]
    decided = action_from("extend", {"approve": False, "note": "理由不足"})
    assert isinstance(decided, ExtendAction) and decided.approve is False


def test_a_field_an_action_does_not_take_is_ignored_as_in_1_0() -> None:
    assert action_from("accept", {"note": "x"}) == AcceptAction()
    assert action_from("return", {"reason": "非本单位职责", "note": "x"}) == ReturnAction(
        reason="非本单位职责"
    )


def test_what_an_action_gets_wrong_is_refused_by_name() -> None:
    assert refusals("feedback", {"note": "x", "action": "accept"})[0][0] == ("action",)
    assert refusals("dispatch", {"helpers": ["D-A", "D-A"]}) == [
        (("helpers",), "a unit is named twice")
    ]
    for wrong in (7, "", "X" * 65):
        assert refusals("accept", {"on_behalf_of": wrong})[0][0] == ("on_behalf_of",)
    assert refusals("accept", {"expected_version": True})[0][0] == ("expected_version",)
    assert refusals("revisit", {"satisfaction": "thrilled"})[0][0] == ("satisfaction",)
    assert refusals("escalate", {"reason": "x", "to_level": "province"})[0][0] == ("to_level",)


@pytest.mark.parametrize(
    ("name", "body"),
    [("dispatch", {"assignee": "D-HBJ", "helpers": ["D-GAJ"]}), ("accept", {}),
     ("verify", {"passed": False, "note": "未整改"}), ("revisit", {"satisfaction": "satisfied"}),
     ("extend", {"until": "2027-01-31T18:00:00+08:00", "reason": "待检测"}),
     ("escalate", {"reason": "协调不了", "to_level": "district", "supervisors": ["P-1"]}),
     ("feedback", {"note": "已联系", "expected_version": 3, "on_behalf_of": "D-ZJJ"})],
)  # fmt: skip
def test_what_the_console_sends_dispatch_reads_as_the_same_action(
    name: str, body: dict[str, Any]
) -> None:
    sent = action_from(name, body)
    assert LIFECYCLE_ACTION.validate_python(sent.model_dump(mode="json")) == sent


def test_the_union_tells_actions_apart_by_name() -> None:
    with pytest.raises(ValidationError) as refused:
        LIFECYCLE_ACTION.validate_python({"action": "fly"})
    assert refused.value.errors()[0]["type"] == "union_tag_invalid"


def test_each_action_operation_takes_its_model_without_the_name() -> None:
    doc = document()
    for name, model in ACTION_MODELS.items():
        operation = doc["paths"][f"/api/v1/cases/{{case_id}}/{name}"]["post"]
        body = operation["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"]
        schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
        generated = model.model_json_schema()
        assert "action" not in schema["properties"]
        assert set(schema["properties"]) == set(generated["properties"]) - {"action"}
        assert set(schema.get("required", [])) == set(generated.get("required", []))
        assert body["required"] == bool(schema.get("required"))
        assert schema.get("additionalProperties", True) is not False  # ignored, as in 1.0
    feedback = doc["components"]["schemas"]["FeedbackAction"]
    assert feedback["required"] == ["note"] and feedback["properties"]["note"]["pattern"] == r"\S"
    assert (
        doc["paths"]["/api/v1/cases/{case_id}/dispatch"]["post"]["requestBody"]["required"] is False
    )  # the one click sends nothing
