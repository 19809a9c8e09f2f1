"""One-ticket assessment (一单考评): how well each unit handled the cases dispatched to it.

Pure: the supervision service gathers one ``AssignmentRecord`` per dispatch of a case to a unit
(a department or a grid) from its clocks, the case lifecycle, the citizen's revisit (回访) and
the supervision orders (督办), keeps those dispatched in the period asked for, and hands them to
``assess``. Nothing here reads a database or the broker; only the config loader reads a file.

The rules, per unit (grouped by assignee kind and code):

* Each of the three clocks of a dispatch (respond, feedback, resolve) is **on time** when the
  unit stopped it (accepted, fed back, concluded) at or before its due time. It is **late** when
  an overdue alert was raised for it, or it was stopped after its due time, or the assignment
  ended without a stop (returned, escalated, re-dispatched) after its due time, or it is still
  running past its due time. Anything else is **not counted**: a clock cancelled before it fell
  due was taken away from the unit before it could be late, and one still running before its due
  time has not been decided yet. A clock stopped in time is on time even when an overdue alert was
  raised for it (the stop reached supervision after the alert): the alert still counts in
  ``overdue`` and its deduction.
* The on-time rate of a kind is on time / (on time + late); ``None`` when no clock counts.
* The return rate (退单率) is returned / dispatched; the rework rate (返工率) reworked /
  concluded; the satisfaction rate (满意率, the 12345 convention) satisfied and basically
  satisfied / revisited. A rate whose denominator is zero is ``None``.
* The score weighs the rates with ``assessment.yml``: 100 x sum(weight x rate) / sum(weight) over
  the rates that have a value (so a missing rate neither helps nor hurts the unit), less points
  per overdue clock and per supervision order by its grade, floored at 0 and rounded to two
  decimals. With no weighted rate at all the score is 100 less the deductions.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Final, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, PlainValidator, model_validator
from pydantic_core import PydanticCustomError

from kernel.config import ConfigError, load_model
from kernel.config import Fault as _Fault
from kernel.config import either as _either
from kernel.config import refuse_unknown as _refuse_unknown

ClockKind = Literal["respond", "feedback", "resolve"]
Satisfaction = Literal["satisfied", "basically_satisfied", "unsatisfied"]
OrderGrade = Literal["normal", "yellow", "red"]
AssigneeKind = Literal["department", "grid"]
Verdict = Literal["on_time", "late"]

BEIJING: Final = ZoneInfo("Asia/Shanghai")

# --- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockOutcome:
    kind: ClockKind
    due_at: datetime  # aware
    stopped_at: datetime | None  # when the unit met it (accepted / fed back / concluded)
    cancelled_at: datetime | None  # the assignment ended without a stop
    overdue: bool  # an sla.overdue alert was raised for it


@dataclass(frozen=True)
class AssignmentRecord:
    """One dispatch of one case to one unit (a department or a grid)."""

    case_id: str
    assignee_kind: AssigneeKind
    assignee_code: str
    assignee_name: str
    level: str
    dispatched_at: datetime  # aware
    clocks: tuple[ClockOutcome, ...]
    returned: bool  # the unit sent it back (退单)
    concluded: bool  # the unit reported it concluded (办结) at least once
    reopened: bool  # a conclusion of this unit was sent back (返工)
    satisfaction: Satisfaction | None  # the citizen's revisit (回访) answer, if revisited
    orders: tuple[OrderGrade, ...]  # supervision orders (督办) received while the unit held it
    on_site: bool = False  # 就地化解: the grid solved it itself (concluded, with no clocks)


# --- configuration -----------------------------------------------------------------------------


class AssessmentConfigError(ConfigError, ValueError):
    """assessment.yml is wrong; the message names the file, the line and the field."""


def _amount(value: object) -> float:
    # bool is an int: `satisfaction: yes` must not read as a weight of 1
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PydanticCustomError("not_a_number", "{value} is not a number", {"value": repr(value)})
    if value < 0:
        raise PydanticCustomError(
            "negative", "{value} is negative (0 or more)", {"value": repr(value)}
        )
    return float(value)


Amount = Annotated[float, PlainValidator(_amount)]
"""A weight or a deduction: a finite number, 0 or more."""


@dataclass(frozen=True)
class Weights:
    """Relative weights of the rates; only their proportions matter."""

    respond_on_time: Amount = 0.0
    feedback_on_time: Amount = 0.0
    resolve_on_time: Amount = 0.0
    satisfaction: Amount = 0.0
    no_return: Amount = 0.0  # weighs 1 - return_rate
    no_reopen: Amount = 0.0  # weighs 1 - reopen_rate


@dataclass(frozen=True)
class Deductions:
    """Points off the score per occurrence."""

    overdue: Amount = 0.0
    order_normal: Amount = 0.0
    order_yellow: Amount = 0.0
    order_red: Amount = 0.0


@dataclass(frozen=True)
class OnSite:
    """就地化解: the share of on-site resolutions spot-revisited (抽查回访), 0 to 1."""

    spot_revisit: Amount = 0.0


_TOP_FIELDS: Final = ("weights", "deductions", "on_site")
_WEIGHT_FIELDS: Final = tuple(f.name for f in fields(Weights))
_DEDUCTION_FIELDS: Final = tuple(f.name for f in fields(Deductions))


class AssessmentFile(BaseModel):
    """``assessment.yml``: the weights of the rates and the points off."""

    model_config = ConfigDict(frozen=True)

    weights: Weights
    deductions: Deductions = Deductions()
    on_site: OnSite = OnSite()

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, document: object) -> object:
        """The document's shape, with messages that say what belongs where."""
        if not isinstance(document, Mapping) or not document:
            raise _Fault((), "must be a mapping with weights (and deductions)")
        _refuse_unknown(document, (), _TOP_FIELDS)
        weights = document.get("weights")
        if not isinstance(weights, Mapping):
            got = "" if weights is None else f", not {weights!r}"
            raise _Fault(("weights",), f"missing (a mapping of {_either(_WEIGHT_FIELDS)}){got}")
        _refuse_unknown(weights, ("weights",), _WEIGHT_FIELDS)
        # `deductions:` with every entry commented out: no points off, as if absent
        deductions = document.get("deductions") or {}
        if not isinstance(deductions, Mapping):
            raise _Fault(
                ("deductions",), f"{deductions!r} is not a mapping of {_either(_DEDUCTION_FIELDS)}"
            )
        _refuse_unknown(deductions, ("deductions",), _DEDUCTION_FIELDS)
        on_site = document.get("on_site") or {}
        if not isinstance(on_site, Mapping):
            raise _Fault(("on_site",), f"{on_site!r} is not a mapping of spot_revisit")
        _refuse_unknown(on_site, ("on_site",), ("spot_revisit",))
        return {"weights": weights, "deductions": deductions, "on_site": on_site}

    @model_validator(mode="after")
    def _some_weight(self) -> Self:
        if not any(getattr(self.weights, name) for name in _WEIGHT_FIELDS):
            # every score would be 100 less deductions: surely not what was meant
            raise _Fault(("weights",), "all zero: give at least one rate a positive weight")
        if self.on_site.spot_revisit > 1:
            raise _Fault(("on_site", "spot_revisit"), "is a share: from 0 to 1 (0.2 is 20%)")
        return self


@dataclass(frozen=True)
class AssessmentConfig:
    weights: Weights
    deductions: Deductions = field(default_factory=Deductions)
    on_site: OnSite = field(default_factory=OnSite)

    @classmethod
    def from_text(cls, text: str, name: str = "assessment.yml") -> AssessmentConfig:
        """From the YAML text: errors name the line and the field, so a refused start says
        where to look."""
        read = load_model(text, name, AssessmentFile, AssessmentConfigError)
        return cls(read.weights, read.deductions, read.on_site)

    @classmethod
    def from_file(cls, path: Path) -> AssessmentConfig:
        return cls.from_text(path.read_text(encoding="utf-8"), name=path.name)


# --- periods -----------------------------------------------------------------------------------

_YEAR: Final = re.compile(r"(?P<year>[0-9]{4})")
_QUARTER: Final = re.compile(r"(?P<year>[0-9]{4})-Q(?P<quarter>[1-4])")
_MONTH: Final = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})")
_DAY: Final = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})")
_FORMS: Final = "a year (2026), a quarter (2026-Q4), a month (2026-11) or a day (2026-11-21)"


@dataclass(frozen=True)
class Period:
    """A calendar span, half-open [start, end), from Beijing midnight to Beijing midnight: the
    centre reports by the local calendar, so 00:10 on 1 December belongs to December even though
    it is still 30 November in UTC."""

    label: str
    start: datetime
    end: datetime

    @classmethod
    def parse(cls, text: str) -> Period:
        try:
            first, after = _span(text)
        except (ValueError, OverflowError) as exc:
            # the right shape but no such date (2026-02-30): say why as well
            why = f" ({exc})" if str(exc) else ""
            raise ValueError(f"period {text!r}: expected {_FORMS}{why}") from None
        return cls(text, _midnight(first), _midnight(after))

    def contains(self, moment: datetime) -> bool:
        if moment.tzinfo is None:
            raise ValueError(f"period {self.label}: {moment!r} has no time zone")
        return self.start <= moment < self.end

    def months(self) -> tuple[str, str] | None:
        """The first month of the period and the first after it (``YYYY-MM``) when it is whole
        months (a month, a quarter, a year); None for a day."""
        first, after = self.start.astimezone(BEIJING), self.end.astimezone(BEIJING)
        if first.day != 1 or after.day != 1:
            return None
        return first.strftime("%Y-%m"), after.strftime("%Y-%m")


def _span(text: str) -> tuple[date, date]:
    """The first day of the period and the first day after it."""
    if match := _DAY.fullmatch(text):
        first = date(int(match["year"]), int(match["month"]), int(match["day"]))
        return first, date.fromordinal(first.toordinal() + 1)
    if match := _MONTH.fullmatch(text):
        year, month = int(match["year"]), int(match["month"])
        return date(year, month, 1), _month_after(year, month)
    if match := _QUARTER.fullmatch(text):
        year, month = int(match["year"]), 3 * int(match["quarter"]) - 2
        return date(year, month, 1), _month_after(year, month + 2)
    if match := _YEAR.fullmatch(text):
        year = int(match["year"])
        return date(year, 1, 1), date(year + 1, 1, 1)
    raise ValueError


def _month_after(year: int, month: int) -> date:
    return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)


def _midnight(day: date) -> datetime:
    # Beijing has kept UTC+8 without daylight saving since 1991: midnight always exists
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING)


# --- assessing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitAssessment:
    assignee_kind: AssigneeKind
    assignee_code: str
    assignee_name: str
    dispatched: int
    respond_on_time_rate: float | None
    feedback_on_time_rate: float | None
    resolve_on_time_rate: float | None
    overdue: int
    return_rate: float
    reopen_rate: float | None
    satisfaction_rate: float | None
    orders: int
    yellow_cards: int
    red_cards: int
    score: float
    resolved_on_site: int = 0

    def as_dict(self) -> dict[str, str | int | float | None]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


def clock_verdict(clock: ClockOutcome, now: datetime) -> Verdict | None:
    """On time, late, or ``None`` when the clock does not count (see the module's rules)."""
    if clock.stopped_at is not None:
        return "on_time" if clock.stopped_at <= clock.due_at else "late"
    if clock.overdue:
        return "late"
    # cancelled: judged when it ended; running: judged now
    ended = clock.cancelled_at if clock.cancelled_at is not None else now
    return "late" if ended > clock.due_at else None


def assess(
    records: Iterable[AssignmentRecord], config: AssessmentConfig, now: datetime
) -> list[UnitAssessment]:
    """One assessment per unit, best score first (ties by code). ``records`` are already the
    period's: those dispatched in it."""
    if now.tzinfo is None:
        raise ValueError(f"now {now!r} has no time zone")
    units: dict[tuple[str, str], list[AssignmentRecord]] = {}
    for record in records:
        units.setdefault((record.assignee_kind, record.assignee_code), []).append(record)
    rows = [_assess_unit(unit, config, now) for unit in units.values()]
    return sorted(rows, key=lambda row: (-row.score, row.assignee_code, row.assignee_kind))


def _assess_unit(
    records: Sequence[AssignmentRecord], config: AssessmentConfig, now: datetime
) -> UnitAssessment:
    # a unit renamed within the period is reported under its latest name
    latest = max(records, key=lambda record: record.dispatched_at)
    clocks = [clock for record in records for clock in record.clocks]
    concluded = [record for record in records if record.concluded]
    answers = [record.satisfaction for record in records if record.satisfaction is not None]
    orders = [grade for record in records for grade in record.orders]
    row = UnitAssessment(
        assignee_kind=latest.assignee_kind,
        assignee_code=latest.assignee_code,
        assignee_name=latest.assignee_name,
        dispatched=len(records),
        respond_on_time_rate=_on_time_rate(clocks, "respond", now),
        feedback_on_time_rate=_on_time_rate(clocks, "feedback", now),
        resolve_on_time_rate=_on_time_rate(clocks, "resolve", now),
        overdue=sum(clock.overdue for clock in clocks),
        return_rate=sum(record.returned for record in records) / len(records),
        # only concluded work can be reworked: keeps the rate within 0..1 on odd data
        reopen_rate=_ratio(sum(record.reopened for record in concluded), len(concluded)),
        satisfaction_rate=_ratio(sum(a != "unsatisfied" for a in answers), len(answers)),
        orders=len(orders),
        yellow_cards=orders.count("yellow"),
        red_cards=orders.count("red"),
        score=0.0,
        resolved_on_site=sum(record.on_site for record in records),
    )
    return scored(row, orders.count("normal"), config)


def scored(row: UnitAssessment, normal_orders: int, config: AssessmentConfig) -> UnitAssessment:
    """The row with its score: the score is a function of the figures, computed from the row
    (whether its figures came from the assignments or from the counters) and then set on it."""
    deduction = _deduction(row, normal_orders, config.deductions)
    return replace(row, score=_score(_weighted_rates(row, config.weights), deduction))


def _on_time_rate(clocks: Iterable[ClockOutcome], kind: ClockKind, now: datetime) -> float | None:
    verdicts = [clock_verdict(clock, now) for clock in clocks if clock.kind == kind]
    return _ratio(verdicts.count("on_time"), verdicts.count("on_time") + verdicts.count("late"))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _weighted_rates(row: UnitAssessment, weights: Weights) -> list[tuple[float, float | None]]:
    return [
        (weights.respond_on_time, row.respond_on_time_rate),
        (weights.feedback_on_time, row.feedback_on_time_rate),
        (weights.resolve_on_time, row.resolve_on_time_rate),
        (weights.satisfaction, row.satisfaction_rate),
        (weights.no_return, 1 - row.return_rate),
        (weights.no_reopen, None if row.reopen_rate is None else 1 - row.reopen_rate),
    ]


def _deduction(row: UnitAssessment, normal_orders: int, deductions: Deductions) -> float:
    return (
        row.overdue * deductions.overdue
        + normal_orders * deductions.order_normal
        + row.yellow_cards * deductions.order_yellow
        + row.red_cards * deductions.order_red
    )


def _score(rated: Iterable[tuple[float, float | None]], deduction: float) -> float:
    # a rate without a value drops out and the others share its weight (renormalised)
    counted = [(weight, rate) for weight, rate in rated if rate is not None]
    total = sum(weight for weight, _ in counted)
    base = 100 * sum(weight * rate for weight, rate in counted) / total if total else 100.0
    return round(max(0.0, base - deduction), 2)


# --- export ------------------------------------------------------------------------------------

CSV_COLUMNS: Final = (
    "period",
    "kind",
    "code",
    "name",
    "dispatched",
    "respond_on_time_rate",
    "feedback_on_time_rate",
    "resolve_on_time_rate",
    "overdue",
    "return_rate",
    "reopen_rate",
    "satisfaction_rate",
    "orders",
    "yellow_cards",
    "red_cards",
    "score",
)


def to_csv(rows: Sequence[UnitAssessment], period_label: str) -> str:
    """The assessment as CSV text (UTF-8 when written): rates as percentages with one decimal,
    empty when there is none; lines end in ``\\n`` (the writer of the file or response picks
    the bytes, a BOM for Excel included)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(_csv_line(row, period_label))
    return buffer.getvalue()


def _csv_line(row: UnitAssessment, period_label: str) -> list[str | int]:
    return [
        period_label,
        row.assignee_kind,
        row.assignee_code,
        row.assignee_name,
        row.dispatched,
        _percent(row.respond_on_time_rate),
        _percent(row.feedback_on_time_rate),
        _percent(row.resolve_on_time_rate),
        row.overdue,
        _percent(row.return_rate),
        _percent(row.reopen_rate),
        _percent(row.satisfaction_rate),
        row.orders,
        row.yellow_cards,
        row.red_cards,
        f"{row.score:.2f}",
    ]


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}"
