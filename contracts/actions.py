"""The lifecycle actions staff take on a case: ``POST /api/v1/cases/{id}/{action}`` as the
console receives it, and ``dispatch.act`` as dispatch carries it out.

One model per action, told apart by ``action`` (the path names it; the console adds it to the
body). Each model holds what its action needs and refuses what it does not; checks that need
the case (is the assignee a department, is there a suggestion) stay with dispatch. ``supervise``
(督办) is not among them: it goes to supervision as an ``OrderRequest``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from contracts.attachments import AttachmentIds
from contracts.common import Contract, RiskGrade

Satisfaction = Literal["satisfied", "basically_satisfied", "unsatisfied"]
"""回访: the citizen's answer; unsatisfied reopens the case."""

EscalationLevel = Literal["grid", "community", "street", "district"]

SITE_PHOTOS = "现场照片 and other files uploaded to this case before, by id"


def not_blank(value: str) -> str:
    """The text without its surrounding blanks; blank text is refused as missing."""
    if not value.strip():
        raise PydanticCustomError("blank", "required text")
    return value.strip()


RequiredText = Annotated[
    str, AfterValidator(not_blank), Field(json_schema_extra={"pattern": r"\S"})
]
"""Text that must say something (not only blanks); kept without its surrounding blanks."""

OptionalText = Annotated[str, AfterValidator(str.strip)]


class Action(Contract):
    """What every action may carry besides its own fields. A field an action does not take is
    ignored, as the 1.0 console did: a client that sends more than it must keeps working."""

    model_config = Contract.model_config | {"extra": "ignore"}

    expected_version: StrictInt | None = Field(
        default=None,
        description="the case's version as last seen: a stale view is refused (409)",
    )
    on_behalf_of: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="an admin's: the unit acted for (ignored for other roles)",
    )


class DispatchAction(Action):
    """派单: to a department or a grid; an empty body takes the suggestion."""

    action: Literal["dispatch"] = "dispatch"
    assignee: str | None = Field(
        default=None,
        description="a department's code or the case's own grid; none: the suggestion, "
        "with its proposed helpers (一键派单)",
    )
    helpers: list[str] | None = Field(
        default=None,
        json_schema_extra={"uniqueItems": True},
        description="departments that assist (协办); none: the suggestion's",
    )

    @field_validator("helpers")
    @classmethod
    def _helpers_once(cls, helpers: list[str] | None) -> list[str] | None:
        if helpers is not None and len(set(helpers)) != len(helpers):
            raise PydanticCustomError("repeated", "a unit is named twice")
        return helpers


class AcceptAction(Action):
    """签收: the unit signs for the case."""

    action: Literal["accept"] = "accept"


class ReturnAction(Action):
    """退单: not our duty, back to dispatch."""

    action: Literal["return"] = "return"
    reason: RequiredText


class FeedbackAction(Action):
    """Progress feedback."""

    action: Literal["feedback"] = "feedback"
    note: RequiredText
    attachments: AttachmentIds = Field(default=[], description=SITE_PHOTOS)


class ConcludeAction(Action):
    """办结: the unit's result."""

    action: Literal["conclude"] = "conclude"
    result: RequiredText
    attachments: AttachmentIds = Field(default=[], description=SITE_PHOTOS)


class VerifyAction(Action):
    """核查: the centre checks the result; a result that did not pass says why."""

    model_config = Action.model_config | {
        "json_schema_extra": {
            "if": {"required": ["passed"], "properties": {"passed": {"const": False}}},
            "then": {"required": ["note"], "properties": {"note": {"pattern": r"\S"}}},
        }
    }
    action: Literal["verify"] = "verify"
    passed: StrictBool
    note: OptionalText = Field(
        default="",
        validate_default=True,
        description="required (not blank) when the result did not pass",
    )

    @field_validator("note")
    @classmethod
    def _why_not(cls, note: str, info: ValidationInfo) -> str:
        if info.data.get("passed") is False and not note:
            raise PydanticCustomError("blank", "required text")
        return note


class RevisitAction(Action):
    """回访: the citizen's satisfaction; unsatisfied reopens."""

    action: Literal["revisit"] = "revisit"
    satisfaction: Satisfaction
    note: OptionalText = ""


class EscalateAction(Action):
    """上报 to the level above."""

    action: Literal["escalate"] = "escalate"
    reason: RequiredText
    to_level: EscalationLevel | None = Field(
        default=None, description="default: the level above the case's"
    )
    supervisors: list[str] = Field(
        default=[], description="the supervisors (督导) of the level above, to be alerted"
    )


class ExtendAction(Action):
    """延期: ask for more time, or (a supervisor) decide on it.

    Asking gives ``until`` and ``reason``; deciding gives ``approve``."""

    model_config = Action.model_config | {
        "json_schema_extra": {
            "anyOf": [
                {"required": ["approve"]},
                {"required": ["until", "reason"], "not": {"required": ["approve"]}},
            ]
        }
    }
    action: Literal["extend"] = "extend"
    approve: StrictBool | None = Field(default=None, description="deciding: a supervisor's answer")
    until: AwareDatetime | None = Field(
        default=None,
        validate_default=True,
        description="asking: the new time limit, with a zone",
    )
    reason: str | None = Field(
        default=None,
        validate_default=True,
        json_schema_extra={"pattern": r"\S"},
        description="asking: why",
    )
    note: OptionalText = ""

    @field_validator("until")
    @classmethod
    def _until_when_asking(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        if until is None and info.data.get("approve") is None:
            raise PydanticCustomError("missing", "an ISO 8601 date-time with a zone")
        return until

    @field_validator("reason")
    @classmethod
    def _reason_when_asking(cls, reason: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("approve") is None:
            return not_blank(reason or "")
        return reason.strip() if reason is not None else None


class ResolveOnSiteAction(Action):
    """就地化解: solved in the grid."""

    action: Literal["resolve_on_site"] = "resolve_on_site"
    note: RequiredText


class AcknowledgeAction(Action):
    """受理告知 (信访): the petition is accepted and the petitioner told; the 受理告知书 is
    attached to the case. The written answer is due 60 days from today."""

    action: Literal["acknowledge"] = "acknowledge"
    note: OptionalText = Field(default="", description="what the petitioner is told besides")


class AnswerAction(Action):
    """书面答复 (信访): the stage's written answer (处理意见, 复查意见 or 复核意见), attached to
    the case as its 意见书; the case is concluded."""

    action: Literal["answer"] = "answer"
    opinion: RequiredText = Field(max_length=4000, description="the answer in full")
    attachments: AttachmentIds = Field(default=[], description=SITE_PHOTOS)


class RequestReviewAction(Action):
    """复查 (or, after a review's answer, 复核) asked by the petitioner: within 30 days of the
    answer, else refused (422) with the day it fell due. The case goes to the level above."""

    action: Literal["request_review"] = "request_review"
    reason: RequiredText = Field(max_length=2000, description="why the petitioner disagrees")


class MergeAction(Action):
    """A repeat of another case."""

    action: Literal["merge"] = "merge"
    into: RequiredText = Field(description="the case it repeats")


class ReviewReturnAction(Action):
    """退单审核: the centre checks a unit's return. Approved: the return does not count against
    the unit and the case waits for dispatch; refused: the case goes back to the unit."""

    action: Literal["review_return"] = "review_return"
    approve: StrictBool
    note: OptionalText = ""


class AppealAction(Action):
    """不满意甄别: the unit contests the citizen's "unsatisfied", with its reasons and evidence."""

    action: Literal["appeal"] = "appeal"
    reason: RequiredText
    attachments: AttachmentIds = Field(default=[], description="evidence: " + SITE_PHOTOS)


class DecideAppealAction(Action):
    """不满意甄别's decision, a supervisor's: upheld, the rating leaves the score and the case
    is closed; rejected, the rating stays."""

    action: Literal["decide_appeal"] = "decide_appeal"
    upheld: StrictBool
    note: OptionalText = ""


class RegradeAction(Action):
    """调整风险等级: an operator, supervisor or admin grades the case's risk anew, saying why
    (the rules graded it at intake; a person may know better)."""

    action: Literal["regrade"] = "regrade"
    risk: RiskGrade
    reason: RequiredText = Field(max_length=2000, description="why the risk is graded anew")


LifecycleAction = Annotated[
    DispatchAction
    | AcceptAction
    | ReturnAction
    | FeedbackAction
    | ConcludeAction
    | VerifyAction
    | RevisitAction
    | EscalateAction
    | ExtendAction
    | ResolveOnSiteAction
    | MergeAction
    | ReviewReturnAction
    | AppealAction
    | DecideAppealAction
    | AcknowledgeAction
    | AnswerAction
    | RequestReviewAction
    | RegradeAction,
    Field(discriminator="action"),
]
"""Any lifecycle action, by its name."""

LIFECYCLE_ACTION: TypeAdapter[LifecycleAction] = TypeAdapter(LifecycleAction)

ACTION_MODELS: Mapping[str, type[Action]] = {
    model.model_fields["action"].default: model for model in get_args(get_args(LifecycleAction)[0])
}
"""Each action's model by its name."""


def action_from(name: str, body: Mapping[str, Any]) -> LifecycleAction:
    """The action ``name`` with the fields of an HTTP body (the path names the action, the
    body does not). Raises pydantic's ``ValidationError``, each location a field of the
    body; ``KeyError`` for a name that is no action."""
    model = ACTION_MODELS[name]
    if "action" in body:
        raise _validation(model, "action", "named by the path, not the body")
    action: LifecycleAction = model.model_validate({**body, "action": name})  # type: ignore[assignment]
    return action


def _validation(model: type[Action], field: str, message: str) -> ValidationError:
    detail = InitErrorDetails(type=PydanticCustomError("field", message), loc=(field,), input=None)
    return ValidationError.from_exception_data(model.__name__, [detail])


def for_dispatch(action: Action) -> dict[str, Any]:
    """The action as dispatch is sent it: without the files it names (``attachments``), which
    the console keeps and dispatch has no use for."""
    return action.model_dump(mode="json", exclude={"attachments"})
