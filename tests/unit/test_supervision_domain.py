"""Supervision's pure rules: the SLA policy, deadlines and clock plans."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.events import Deadlines
from services.supervision.domain import CLOCK_KINDS, ClockPlan, plan_clocks
from services.supervision.policy import Limits, PolicyError, SlaPolicy, parse_duration

FAST = settings(max_examples=100, deadline=None, database=None)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
VALID: dict[str, Any] = {
    "default": {"respond": "PT2H", "feedback": "PT24H", "resolve": "P5D"},
    "warn_at": 0.8,
}


def doc(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(VALID)
    document.update(changes)
    return document


# --- parse_duration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT2H", timedelta(hours=2)),
        ("PT24H", timedelta(hours=24)),
        ("P5D", timedelta(days=5)),
        ("PT30M", timedelta(minutes=30)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P1W", timedelta(weeks=1)),
        (timedelta(hours=3), timedelta(hours=3)),
    ],
)
def test_parse_duration_accepts_iso_8601(text: object, expected: timedelta) -> None:
    assert parse_duration(text, "somewhere") == expected


@pytest.mark.parametrize("value", ["two hours", "", "P", "PT", None, "2h", [1], {"h": 2}])
def test_parse_duration_refuses_garbage_and_names_the_field(value: object) -> None:
    with pytest.raises(PolicyError) as exc:
        parse_duration(value, "sla.yml: default.respond")
    message = str(exc.value)
    assert message.startswith("sla.yml: default.respond: ")
    assert repr(value) in message
    assert "ISO 8601" in message


@pytest.mark.parametrize("value", ["PT0S", "P0D", "-PT1H", "-P5D", timedelta(0)])
def test_parse_duration_refuses_non_positive(value: object) -> None:
    with pytest.raises(PolicyError, match=r"^here: must be positive$"):
        parse_duration(value, "here")


def test_policy_error_is_a_value_error() -> None:
    assert issubclass(PolicyError, ValueError)


@pytest.mark.parametrize("value", [2, 5.0, True], ids=["int", "float", "bool"])
def test_parse_duration_refuses_bare_numbers(value: object) -> None:
    with pytest.raises(PolicyError):
        parse_duration(value, "sla.yml: default.respond")


# --- SlaPolicy.from_config -------------------------------------------------------------------


def test_real_sla_configuration(sla_doc: dict[str, Any]) -> None:
    policy = SlaPolicy.from_config(sla_doc)
    assert policy.default == Limits(
        respond=timedelta(hours=2), feedback=timedelta(hours=24), resolve=timedelta(days=5)
    )
    assert policy.warn_at == 0.8


def test_warn_at_defaults_to_eight_tenths() -> None:
    document = doc()
    del document["warn_at"]
    assert SlaPolicy.from_config(document).warn_at == 0.8


@pytest.mark.parametrize("warn_at", [0.5, 0.01, 0.99])
def test_warn_at_inside_the_unit_interval_is_accepted(warn_at: float) -> None:
    policy = SlaPolicy.from_config(doc(warn_at=warn_at))
    assert policy.warn_at == warn_at
    assert isinstance(policy.warn_at, float)


@pytest.mark.parametrize("warn_at", [0, 1, 1.5, -0.1, 0.0, 1.0, "0.8", None, True, [0.8]])
def test_warn_at_out_of_range_is_refused_by_name(warn_at: object) -> None:
    with pytest.raises(PolicyError) as exc:
        SlaPolicy.from_config(doc(warn_at=warn_at))
    message = str(exc.value)
    assert message.startswith("sla.yml: warn_at: ")
    assert repr(warn_at) in message


@pytest.mark.parametrize("default", [None, "PT2H", ["PT2H"], 5])
def test_missing_default_is_refused_by_name(default: object) -> None:
    document = doc(default=default)
    with pytest.raises(PolicyError, match=r"^sla.yml: default: missing"):
        SlaPolicy.from_config(document)


def test_absent_default_is_refused_by_name() -> None:
    with pytest.raises(PolicyError, match=r"^sla.yml: default: missing"):
        SlaPolicy.from_config({"warn_at": 0.8})


@pytest.mark.parametrize("kind", ["respond", "feedback", "resolve"])
def test_missing_limit_is_refused_by_name(kind: str) -> None:
    document = doc()
    del document["default"][kind]
    with pytest.raises(PolicyError, match=rf"^sla.yml: default\.{kind}: None is not"):
        SlaPolicy.from_config(document)


@pytest.mark.parametrize("kind", ["respond", "feedback", "resolve"])
@pytest.mark.parametrize("bad", ["soon", "-PT2H", "PT0S"])
def test_bad_limit_is_refused_by_name(kind: str, bad: str) -> None:
    document = doc()
    document["default"][kind] = bad
    with pytest.raises(PolicyError, match=rf"^sla.yml: default\.{kind}: "):
        SlaPolicy.from_config(document)


# --- deadlines -----------------------------------------------------------------------------


def test_deadlines_from_the_default_limits() -> None:
    policy = SlaPolicy.from_config(VALID)
    deadlines = policy.deadlines(T0)
    assert deadlines == Deadlines(
        respond_by=datetime(2026, 3, 2, 11, 0, tzinfo=UTC),
        feedback_by=datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
        # P5D is five working days after Monday 2 March: 3, 4, 5, 6 and Monday 9 March
        resolve_by=datetime(2026, 3, 9, 9, 0, tzinfo=UTC),
    )


def test_deadlines_take_the_categorys_resolve_limit() -> None:
    policy = SlaPolicy.from_config(VALID)
    deadlines = policy.deadlines(T0, resolve=timedelta(days=15))
    # fifteen working days (no holiday in March 2026): three weeks, Monday 23 March
    assert deadlines.resolve_by == datetime(2026, 3, 23, 9, 0, tzinfo=UTC)
    assert deadlines.respond_by == T0 + timedelta(hours=2)
    assert deadlines.feedback_by == T0 + timedelta(hours=24)


def test_deadlines_keep_the_dispatch_zone() -> None:
    shanghai = timezone(timedelta(hours=8))
    policy = SlaPolicy.from_config(VALID)
    deadlines = policy.deadlines(datetime(2026, 3, 2, 17, 0, tzinfo=shanghai))
    assert deadlines.respond_by == datetime(2026, 3, 2, 19, 0, tzinfo=shanghai)
    assert deadlines.respond_by.utcoffset() == timedelta(hours=8)


def test_deadlines_refuse_a_naive_dispatch_time() -> None:
    policy = SlaPolicy.from_config(VALID)
    with pytest.raises(ValidationError):
        policy.deadlines(datetime(2026, 3, 2, 9, 0))


# --- plan_clocks ---------------------------------------------------------------------------


def test_three_clocks_in_order() -> None:
    deadlines = SlaPolicy.from_config(VALID).deadlines(T0)
    plans = plan_clocks(T0, deadlines, 0.8)
    assert CLOCK_KINDS == ("respond", "feedback", "resolve")
    assert [plan.kind for plan in plans] == list(CLOCK_KINDS)
    assert all(plan.started_at == T0 for plan in plans)
    assert [plan.due_at for plan in plans] == [
        deadlines.respond_by,
        deadlines.feedback_by,
        deadlines.resolve_by,
    ]


def test_clocks_warn_at_the_fraction() -> None:
    deadlines = SlaPolicy.from_config(VALID).deadlines(T0)
    plans = plan_clocks(T0, deadlines, 0.8)
    assert plans[0] == ClockPlan(
        "respond", T0, T0 + timedelta(hours=2), T0 + timedelta(hours=1, minutes=36)
    )
    assert plans[1].warn_at == T0 + timedelta(hours=19, minutes=12)
    # resolve is due seven calendar days later (five working days): 0.8 of those
    assert plans[2].warn_at == T0 + timedelta(days=5, hours=14, minutes=24)


def test_half_way_warning() -> None:
    deadlines = SlaPolicy.from_config(VALID).deadlines(T0)
    plans = plan_clocks(T0, deadlines, 0.5)
    assert [plan.warn_at for plan in plans] == [
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=12),
        T0 + timedelta(days=3, hours=12),
    ]


def test_clocks_may_start_later_than_the_deadlines_were_computed() -> None:
    deadlines = SlaPolicy.from_config(VALID).deadlines(T0)
    started = T0 + timedelta(hours=1)
    respond = plan_clocks(started, deadlines, 0.5)[0]
    assert respond.started_at == started
    assert respond.due_at == T0 + timedelta(hours=2)
    assert respond.warn_at == T0 + timedelta(hours=1, minutes=30)


@FAST
@given(
    respond=st.integers(min_value=1, max_value=10**6),
    feedback=st.integers(min_value=1, max_value=10**7),
    resolve=st.integers(min_value=1, max_value=10**8),
    fraction=st.floats(min_value=0.01, max_value=0.99),
)
def test_warnings_fall_between_start_and_due(
    respond: int, feedback: int, resolve: int, fraction: float
) -> None:
    deadlines = Deadlines(
        respond_by=T0 + timedelta(seconds=respond),
        feedback_by=T0 + timedelta(seconds=feedback),
        resolve_by=T0 + timedelta(seconds=resolve),
    )
    for plan in plan_clocks(T0, deadlines, fraction):
        assert plan.started_at <= plan.warn_at <= plan.due_at
        expected = (plan.due_at - T0).total_seconds() * fraction
        assert abs((plan.warn_at - T0).total_seconds() - expected) < 1e-3
