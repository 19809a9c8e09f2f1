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
from kernel.config import ConfigError
from kernel.durations import PolicyError, parse_duration
from kernel.levels import EscalationSteps
from kernel.sla import EscalationLadder, Limits, SlaPolicy
from services.supervision.domain import (
    CLOCK_KINDS,
    CaseScope,
    Clock,
    ClockPlan,
    Fact,
    PlannedClock,
    Scope,
    Subscription,
    next_step,
    plan_clocks,
    recipients_of,
    settle,
    stood_still,
    summary_of,
)

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
    assert issubclass(PolicyError, ConfigError)


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
    with pytest.raises(PolicyError) as exc:
        SlaPolicy.from_config(document)
    if default is None:
        assert str(exc.value) == "sla.yml: default: missing: give respond, feedback and resolve"
    else:
        assert str(exc.value) == (
            f"sla.yml: default: {default!r} is not a mapping with respond, feedback and resolve"
        )


def test_absent_default_is_refused_by_name() -> None:
    with pytest.raises(PolicyError, match=r"^sla.yml: default: Field required$"):
        SlaPolicy.from_config({"warn_at": 0.8})


@pytest.mark.parametrize("kind", ["respond", "feedback", "resolve"])
def test_missing_limit_is_refused_by_name(kind: str) -> None:
    document = doc()
    del document["default"][kind]
    with pytest.raises(PolicyError, match=rf"^sla.yml: default\.{kind}: Field required$"):
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


# --- the scanner's step: warn, overdue, climb, each once -------------------------------------


# the community on the ladder (via_community), as some counties configure it
LADDER = EscalationLadder(
    after={"grid": timedelta(hours=1), "community": timedelta(hours=2)},
    max_levels=2,
    steps=EscalationSteps(via_community=True),
)
RESPOND = Clock(
    kind="respond", level="grid", warn_at=T0 + timedelta(minutes=96), due_at=T0 + timedelta(hours=2)
)


def walk(clock: Clock, moments: list[datetime], climbs: int = 0) -> list[tuple[Any, ...]]:
    """What each look at the clock does, following next_due_at as the scanner would."""
    seen = []
    for now in moments:
        step = next_step(clock, now, LADDER, climbs)
        seen.append((step.alert, step.escalate_to, step.next_due_at))
        clock = step.clock
    return seen


def test_a_clock_warns_then_goes_overdue_then_climbs_once_each() -> None:
    looks = [T0, T0 + timedelta(minutes=97), T0 + timedelta(hours=2), T0 + timedelta(hours=3),
             T0 + timedelta(hours=4)]  # fmt: skip
    assert walk(RESPOND, looks) == [
        (None, None, T0 + timedelta(minutes=96)),  # nothing yet: look again at the warning
        ("warning", None, T0 + timedelta(hours=2)),
        ("overdue", None, T0 + timedelta(hours=3)),  # the ladder waits an hour at grid level
        (None, "community", None),  # climbs, and nothing is left to look at
        (None, None, None),
    ]


def test_a_clock_found_past_its_limit_is_overdue_without_a_stale_warning() -> None:
    step = next_step(RESPOND, T0 + timedelta(hours=5), LADDER, 0)
    assert (step.alert, step.escalate_to) == ("overdue", "community")
    assert step.clock.warned and step.clock.overdue and step.clock.escalation_asked


def test_the_ladder_stops_at_max_levels_and_at_levels_it_does_not_list() -> None:
    late = T0 + timedelta(hours=9)
    assert next_step(RESPOND, late, LADDER, climbs_so_far=2).escalate_to is None
    street = Clock("respond", "street", T0, T0 + timedelta(hours=1))
    assert next_step(street, late, LADDER, 0) == next_step(street, late, LADDER, 0)
    assert next_step(street, late, LADDER, 0).escalate_to is None
    order = Clock("order", "grid", T0, T0 + timedelta(hours=1))
    assert next_step(order, late, LADDER, 0).escalate_to is None  # orders do not climb


def test_a_paused_clock_gives_back_the_time_it_stood_still() -> None:
    due = T0 + timedelta(days=3)
    assert stood_still(due, T0, T0 + timedelta(hours=5)) == due + timedelta(hours=5)
    assert stood_still(due, T0, T0 - timedelta(hours=1)) == due  # a clock skew adds nothing


@FAST
@given(st.lists(st.integers(min_value=0, max_value=600), min_size=1, max_size=12))
def test_no_alert_fires_twice_however_the_looks_fall(minutes: list[int]) -> None:
    looks = [T0 + timedelta(minutes=m) for m in sorted(minutes)]
    seen = walk(RESPOND, looks)
    alerts = [alert for alert, _, _ in seen if alert]
    climbs = [to for _, to, _ in seen if to]
    assert len(alerts) == len(set(alerts)) and len(climbs) <= 1
    if looks[-1] >= RESPOND.due_at:
        assert "overdue" in alerts
    if looks[-1] < RESPOND.warn_at:
        assert alerts == []


# --- subscriptions ---------------------------------------------------------------------------

CASE = CaseScope(territory={"grid": "G-1", "community": "C-1", "street": "S-1"}, assignee="D-ZJJ",
                 risk="red")  # fmt: skip


def sub(n: int, kinds: set[str], scope: Scope, channels: set[str]) -> Subscription:
    return Subscription(n, f"sup-{n}", frozenset(kinds), scope, frozenset(channels))  # type: ignore[arg-type]


def test_subscriptions_reach_by_kind_scope_and_channel() -> None:
    subscriptions = [
        sub(1, {"overdue"}, Scope("unit", "S-1"), {"sms", "wechat"}),  # the street's subtree
        sub(2, {"overdue"}, Scope("unit", "S-2"), {"sms"}),  # another street
        sub(3, {"warning"}, Scope("all"), {"sms"}),  # another kind
        sub(4, {"overdue", "order"}, Scope("department", "D-ZJJ"), {"amqp"}),  # its own queue
        sub(5, {"overdue"}, Scope("risk", "red"), {"wechat"}),
        sub(6, {"overdue"}, Scope("risk", "blue"), {"sms"}),
        sub(7, {"overdue"}, Scope("department", "D-ZJJ"), {"sms"}),
    ]
    reached = [
        (s.subscriber, channel) for s, channel in recipients_of(subscriptions, "overdue", CASE)
    ]
    assert reached == [("sup-1", "sms"), ("sup-1", "wechat"), ("sup-5", "wechat"), ("sup-7", "sms")]


def test_a_summary_names_the_alert_and_the_case() -> None:
    assert summary_of("overdue", "CF1", "respond") == "【已超时】CF1 respond"
    assert summary_of("red_risk", "CF1", "") == "【红色风险】CF1"


# --- settling an assignment from its facts -----------------------------------------------------


H = timedelta(hours=1)
PLANNED = [
    PlannedClock("respond", T0, T0 + 1.6 * H, T0 + 2 * H),
    PlannedClock("feedback", T0, T0 + 19.2 * H, T0 + 24 * H),
    PlannedClock("resolve", T0, T0 + 96 * H, T0 + 120 * H),
]


def settled(facts: list[Fact], until: datetime | None = None, pause: bool = True) -> Any:
    return settle(T0, until, facts, PLANNED, 0.8, pause)


def test_each_limit_is_met_at_the_earliest_fact_that_meets_it() -> None:
    result = settled([
        Fact("concluded", T0 + 30 * H), Fact("feedback", T0 + 20 * H), Fact("accepted", T0 + 3 * H),
    ])  # fmt: skip
    stops = {kind: (c.state, c.stopped_at) for kind, c in result.clocks.items()}
    assert stops == {
        "respond": ("stopped", T0 + 3 * H),  # late: the assessment tells
        "feedback": ("stopped", T0 + 20 * H),
        "resolve": ("stopped", T0 + 30 * H),
    }
    assert result.concluded and not result.returned and result.ended_at is None


def test_a_return_is_a_response_and_ends_the_other_limits() -> None:
    result = settled([Fact("returned", T0 + H)])
    assert result.returned and (result.ended_at, result.ended_by) == (T0 + H, "returned")
    assert result.clocks["respond"].state == "stopped"
    assert {result.clocks[k].state for k in ("feedback", "resolve")} == {"cancelled"}
    assert result.clocks["resolve"].cancelled_at == T0 + H


def test_facts_of_the_next_dispatch_do_not_count_for_this_one() -> None:
    result = settled([Fact("accepted", T0 + 5 * H)], until=T0 + 4 * H)
    assert result.clocks["respond"].state == "cancelled"
    assert (result.ended_at, result.ended_by) == (T0 + 4 * H, "redispatched")
    escalated = settled([Fact("escalated", T0 + 4 * H)], until=T0 + 4 * H)
    assert escalated.ended_by == "escalated"  # the climb and its dispatch at one moment
    # ... and the climb that brought this dispatch, at its very moment, does not end it
    assert settled([Fact("escalated", T0)]).ended_at is None


def test_revisits_give_the_last_satisfaction_and_a_reopen() -> None:
    result = settled([
        Fact("concluded", T0 + 10 * H), Fact("reopened", T0 + 11 * H, "unsatisfied"),
        Fact("concluded", T0 + 20 * H), Fact("closed", T0 + 30 * H, "satisfied"),
    ])  # fmt: skip
    assert (result.reopened, result.satisfaction, result.ended_by) == (True, "satisfied", "closed")


def test_an_extension_pauses_then_moves_or_gives_the_time_back() -> None:
    asked = Fact("extension_asked", T0 + 10 * H)
    paused = settled([asked]).clocks["resolve"]
    assert (paused.state, paused.paused_at, paused.due_at) == ("paused", T0 + 10 * H, T0 + 120 * H)
    approved = settled([asked, Fact("extension", T0 + 12 * H, resolve_by=T0 + 300 * H)])
    moved = approved.clocks["resolve"]
    assert (moved.state, moved.due_at) == ("open", T0 + 300 * H)
    assert moved.warn_at == T0 + 12 * H + (288 * H) * 0.8  # warns on the extension's own span
    refused = settled([asked, Fact("extension", T0 + 15 * H)]).clocks["resolve"]
    assert (refused.state, refused.due_at) == ("open", T0 + 125 * H)
    assert settled([asked], pause=False).clocks["resolve"].state == "open"


FACTS = [
    Fact("accepted", T0 + H), Fact("extension_asked", T0 + 2 * H), Fact("feedback", T0 + 3 * H),
    Fact("extension", T0 + 5 * H), Fact("concluded", T0 + 50 * H),
    Fact("reopened", T0 + 51 * H, "unsatisfied"), Fact("concluded", T0 + 60 * H),
    Fact("closed", T0 + 70 * H, "basically_satisfied"),
]  # fmt: skip


@FAST
@given(st.permutations(FACTS))
def test_the_order_facts_arrive_in_changes_nothing(facts: list[Fact]) -> None:
    assert settled(facts) == settled(FACTS)
