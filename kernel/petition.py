"""The petition line's own clocks, as the 信访工作条例 (2022) counts them: calendar days.

- 受理告知: decide whether to accept, and tell the petitioner, within 15 days of filing;
- 办理: answer in writing within 60 days of acceptance (until acceptance is recorded, counted
  from the filing); one extension of at most 30 days, with a reason, approved by a supervisor;
- 复查: may be asked within 30 days of the answer, and is answered within 30 days of the asking;
- 复核: likewise, after the review's answer, at the level above.

A limit of N days runs out at the end (24:00, Beijing) of the N-th day after the day it
starts: the day of the filing or the answer is not counted, as Chinese law counts periods.
Pure values; the numbers come from ``sla.yml`` (``petition:``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any, ClassVar, Final, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, PlainValidator, model_validator
from pydantic_core import PydanticCustomError

BEIJING: Final = timezone(timedelta(hours=8))

PetitionStage = Literal["handling", "review", "re_review"]
"""办理 (the first answer), 复查 (a review of it), 复核 (a re-review of the review)."""

NEXT_STAGE: Final[dict[PetitionStage, PetitionStage | None]] = {
    "handling": "review",
    "review": "re_review",
    "re_review": None,
}
"""What may be asked after each stage's answer; after a re-review, nothing (复核 is final)."""

NOTICE_OF_STAGE: Final[dict[PetitionStage, str]] = {
    "handling": "处理意见书",
    "review": "复查意见书",
    "re_review": "复核意见书",
}


class PetitionRefused(ValueError):
    """A petition step the law does not allow now; the message says why (and when it fell
    due, for a late review)."""

    def __init__(self, message: str, fell_due: datetime | None = None) -> None:
        super().__init__(message)
        self.fell_due = fell_due


@dataclass(frozen=True)
class PetitionLimits:
    """Calendar days of each petition clock (``sla.yml`` ``petition:``)."""

    acknowledge: int = 15
    answer: int = 60
    extension: int = 30
    review_window: int = 30
    review_answer: int = 30


def end_of_day_after(start: datetime, days: int) -> datetime:
    """The end (24:00 Beijing) of the ``days``-th calendar day after ``start``'s day."""
    day: date = start.astimezone(BEIJING).date() + timedelta(days=days + 1)
    return datetime.combine(day, time(0), tzinfo=BEIJING)


@dataclass(frozen=True)
class PetitionClocks:
    """Where a petition stands against the law's clocks."""

    filed_at: datetime
    acknowledge_by: datetime | None
    answer_by: datetime
    stage: PetitionStage = "handling"
    accepted_at: datetime | None = None
    answered_at: datetime | None = None
    review_asked_by: datetime | None = None
    """The last moment a review (or re-review) of the latest answer may be asked."""
    extended: bool = False
    """The stage's one extension has been approved."""


@dataclass(frozen=True)
class PetitionPlan:
    """The law's arithmetic over ``PetitionLimits``."""

    limits: PetitionLimits = PetitionLimits()

    def filed(self, filed_at: datetime) -> PetitionClocks:
        """受理告知 and 办理 both counted from the filing until acceptance is recorded."""
        return PetitionClocks(
            filed_at=filed_at,
            acknowledge_by=end_of_day_after(filed_at, self.limits.acknowledge),
            answer_by=end_of_day_after(filed_at, self.limits.answer),
        )

    def acknowledged(self, clocks: PetitionClocks, at: datetime) -> PetitionClocks:
        """受理: the answer is due 60 days from the day of acceptance."""
        if clocks.stage != "handling" or clocks.accepted_at is not None:
            raise PetitionRefused("受理告知已作出，不能重复")
        return replace(clocks, accepted_at=at, answer_by=end_of_day_after(at, self.limits.answer))

    def latest_extension(self, clocks: PetitionClocks) -> datetime:
        return clocks.answer_by + timedelta(days=self.limits.extension)

    def check_extension(self, clocks: PetitionClocks, until: datetime) -> None:
        """One extension per stage, of at most the configured days past the answer's limit."""
        if clocks.extended:
            raise PetitionRefused("信访事项办理期限只能延长一次")
        latest = self.latest_extension(clocks)
        if until > latest:
            raise PetitionRefused(
                f"延长期限不得超过{self.limits.extension}日（最迟至{_shown(latest)}）"
            )

    def extended(self, clocks: PetitionClocks, until: datetime) -> PetitionClocks:
        return replace(clocks, answer_by=until, extended=True)

    def answered(self, clocks: PetitionClocks, at: datetime) -> PetitionClocks:
        """The written answer (处理意见书 / 复查意见书 / 复核意见书): a further review may be
        asked within the window, unless this was the re-review."""
        if clocks.stage == "handling" and clocks.accepted_at is None:
            raise PetitionRefused("尚未受理告知，不能出具处理意见")
        window = end_of_day_after(at, self.limits.review_window)
        asked_by = window if NEXT_STAGE[clocks.stage] is not None else None
        return replace(clocks, answered_at=at, review_asked_by=asked_by)

    def review_asked(self, clocks: PetitionClocks, at: datetime) -> PetitionClocks:
        """复查 (or 复核): refused after its window, naming the day it fell due."""
        stage = NEXT_STAGE[clocks.stage]
        if clocks.answered_at is None:
            raise PetitionRefused("尚未出具书面答复，不能申请复查")
        if stage is None or clocks.review_asked_by is None:
            raise PetitionRefused("复核意见为最终意见，不能再申请复查或复核")
        if at >= clocks.review_asked_by:
            due = clocks.review_asked_by
            what = "复查" if stage == "review" else "复核"
            raise PetitionRefused(
                f"{what}申请已超过{self.limits.review_window}日期限（截止{_shown(due)}）", due
            )
        return PetitionClocks(
            filed_at=clocks.filed_at,
            acknowledge_by=None,
            answer_by=end_of_day_after(at, self.limits.review_answer),
            stage=stage,
            accepted_at=at,
        )


def _shown(at: datetime) -> str:
    """The moment a limit runs out, as a person reads it: the last day, Beijing time."""
    return (at.astimezone(BEIJING) - timedelta(microseconds=1)).strftime("%Y-%m-%d")


# --- sla.yml ``petition:`` ------------------------------------------------------------------

_FIELDS: Final = ("acknowledge", "answer", "extension", "review_window", "review_answer")


def _days(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 365:
        raise PydanticCustomError("sla_days", f"{value!r} must be a whole number of days, 1..365")
    return value


def _unknown(value: object) -> NoReturn:
    raise PydanticCustomError("sla_unknown_field", f"unknown field (expected {', '.join(_FIELDS)})")


Days = Annotated[int, PlainValidator(_days)]


class PetitionFile(BaseModel):
    """``petition:`` in ``sla.yml``: the 信访工作条例's limits in calendar days."""

    model_config = ConfigDict(extra="allow", frozen=True)
    shape: ClassVar[str] = ", ".join(_FIELDS)
    __pydantic_extra__: dict[str, Annotated[object, PlainValidator(_unknown)]]
    acknowledge: Days = 15
    answer: Days = 60
    extension: Days = 30
    review_window: Days = 30
    review_answer: Days = 30

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, data: Any) -> Any:
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise PydanticCustomError("not_a_mapping", f"{data!r} is not a mapping of days")
        return data

    def limits(self) -> PetitionLimits:
        return PetitionLimits(
            self.acknowledge, self.answer, self.extension, self.review_window, self.review_answer
        )
