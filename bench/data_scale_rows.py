"""The data-scale bench's cases as rows of the services' own tables, as pure functions of a
case's number, the pools (``bench.data_scale_pools``) and a seeded random generator.

Cases are spread evenly over the years asked, oldest first (their ids sort as they were
received); the four lines and the centre's desk (source ``centre``) in fixed shares; what
became of a case depends on its age: nearly every old case is closed, the recent ones are
open in every state, and a few old ones were never concluded, so that they, and the open ones
past their limits, are overdue. Each case gives dispatch's case, history and reach rows,
supervision's case, assignment and clocks, and intake's submission.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bench.data_scale_pools import SURNAMES, Category, Citizen, Place, Pools, merged_words
from services.dispatch.models import OPEN_LIMITS, reach_of

LINES = (  # channel, source, transport, share (%)
    ("hotline", "hotline", "http", 38),
    ("grid", "gridapp", "amqp", 25),
    ("opinion", "opinion", "http", 11),
    ("petition", "petition", "http", 11),
    ("desk", "centre", "http", 15),
)
DESK_LINES = ("hotline", "petition")
"""What the centre's desk registers (来电 as hotline, 来访/来信 as petition)."""
OPEN = ("dispatched", "accepted", "in_progress")
RESPOND = timedelta(hours=2)
FEEDBACK = timedelta(days=1)
TABLES = (
    ("dispatch", "cases"),
    ("dispatch", "case_history"),
    ("dispatch", "case_reach"),
    ("supervision", "cases"),
    ("supervision", "assignments"),
    ("supervision", "clocks"),
    ("intake", "submissions"),
)


def received_at(index: int, count: int, start: datetime, end: datetime, jitter: float) -> datetime:
    """Case ``index`` of ``count``, evenly over [start, end), in order: ``jitter`` in [0, 1)
    places it within its own slot."""
    return start + (end - start) * ((index + jitter) / count)


def status_of(age_days: float, u: float) -> str:
    """What became of a case ``age_days`` old (``u`` uniform in [0, 1)): recent cases wait or
    are open; a few old ones never were concluded (overdue for years)."""
    waiting = 0.04 * math.exp(-age_days / 3) + 0.0003
    open_ = 0.45 * math.exp(-age_days / 10) + 0.003
    concluded = 0.15 * math.exp(-age_days / 20) + 0.01
    for status, share in (
        ("pending_dispatch", waiting),
        ("open", open_),
        ("concluded", concluded),
        ("resolved_on_site", 0.07),
        ("merged", 0.015),
    ):
        if u < share:
            return OPEN[int(u / share * 3)] if status == "open" else status
        u -= share
    return "closed"


def case_id_of(index: int, at: datetime) -> str:
    """``CF`` + the day received + the number in base 36: unique, and sorted as received."""
    digits, n = [], index
    for _ in range(6):
        n, rest = divmod(n, 36)
        digits.append("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rest])
    return f"CF{at:%y%m%d}-{''.join(reversed(digits))}"


@dataclass
class Drawn:
    """One case's draws, before it becomes rows."""

    case_id: str
    channel: str
    source: str
    transport: str
    category: Category
    place: Place | None
    address: tuple[str, list[str]] | None
    content: tuple[str, list[str]]
    citizen: Citizen | None
    risk: str
    status: str
    at: datetime
    holder: dict[str, str] | None = None
    level: str = "district"
    extra: dict[str, Any] = field(default_factory=dict)


def pick_line(rng: random.Random) -> tuple[str, str, str]:
    roll = rng.randrange(100)
    for channel, source, transport, share in LINES:
        if roll < share:
            return (rng.choice(DESK_LINES) if channel == "desk" else channel), source, transport
        roll -= share
    raise AssertionError("the shares add up to 100")


def draw(
    index: int, count: int, pools: Pools, span: tuple[datetime, datetime], rng: random.Random
) -> Drawn:
    """The case's line, category, place, words, citizen, risk and fate."""
    now = span[1]
    at = received_at(index, count, span[0], now, rng.random())
    channel, source, transport = pick_line(rng)
    category = rng.choices(pools.categories, pools.category_weights)[0]
    located = channel == "grid" or source == "centre" or rng.random() < 0.7
    place = rng.choice(pools.places) if located else None
    citizen = rng.choice(pools.citizens) if channel in ("hotline", "petition") else None
    roll = rng.random()
    risk = "red" if roll < 0.01 else "yellow" if roll < 0.12 else category.risk
    status = status_of((now - at).total_seconds() / 86400, rng.random())
    drawn = Drawn(
        case_id_of(index, at),
        channel,
        source,
        transport,
        category,
        place,
        rng.choice(place.addresses) if place else None,
        rng.choice(pools.contents[category.code]),
        citizen,
        risk,
        status,
        at,
    )
    drawn.holder, drawn.level = holder_of(drawn, rng)
    return drawn


def holder_of(case: Drawn, rng: random.Random) -> tuple[dict[str, str] | None, str]:
    """Who holds (or, waiting, would hold) the case: its grid for a grid report, its street's
    centre for half of the street's matters, else the category's department."""
    place = case.place
    if case.channel == "grid" and place is not None:
        return place.grid, "grid"
    if place and place.street_centre and case.category.street_duty and rng.random() < 0.5:
        return place.street_centre, "street"
    return case.category.department, "district"


def received_of(case: Drawn, external_id: str) -> dict[str, Any]:
    """The ``case.received`` data as dispatch and intake keep it."""
    citizen, name = case.citizen, SURNAMES[ord(case.case_id[-1]) % len(SURNAMES)] + "先生"
    reporter: dict[str, Any] = {"name": None, "phone": None, "kind": "citizen", "id": None}
    if citizen:
        reporter |= {"name": name, "phone": citizen.masked}
    elif case.channel == "grid":
        reporter |= {"kind": "grid_worker", "id": "W-1"}
    return {
        "channel": case.channel,
        "source": case.source,
        "external_id": external_id,
        "reporter": reporter,
        "content": case.content[0],
        "category": case.category.code,
        "address": case.address[0] if case.address else None,
        "location": None,
        "grid_code": case.place.chain[0]["code"] if case.place else None,
        "risk": case.risk,
        "risk_rules": ["red_words"] if case.risk == "red" else [],
        "repeat_of": [],
        "repeat_count": 0,
        "urgent": case.risk == "red",
        "resolved_on_site": case.status == "resolved_on_site",
        "received_at": case.at.isoformat(),
        "attachments": [],
        "heat": None,
        "group_size": None,
    }


def steps_of(status: str) -> list[tuple[str, str | None, str]]:
    """The history a case in ``status`` went through: (action, from, to)."""
    if status == "pending_dispatch":
        return [("await_dispatch", "received", "pending_dispatch")]
    if status in ("resolved_on_site", "merged"):
        action = "resolve_on_site" if status == "resolved_on_site" else "merge"
        return [(action, "received", status)]
    path = ["received", "dispatched", "accepted", "in_progress", "concluded", "closed"]
    actions = ["dispatch", "accept", "feedback", "conclude", "revisit"]
    last = path.index(status)
    return [(actions[n], path[n], path[n + 1]) for n in range(last)]


def rows_of(case: Drawn, now: datetime, rng: random.Random) -> dict[tuple[str, str], list[Any]]:
    """Every row the case has in the services' tables, by (service, table)."""
    dispatched_at = case.at + timedelta(minutes=5 + rng.randrange(60))
    deadlines = {
        "respond_by": dispatched_at + RESPOND,
        "feedback_by": dispatched_at + FEEDBACK,
        "resolve_by": dispatched_at + timedelta(seconds=case.category.resolve_seconds),
    }
    steps = steps_of(case.status)
    dispatched = steps[0][0] == "dispatch"
    # each later step somewhere between the one before and its own limit
    times, at = [], dispatched_at
    for n, _ in enumerate(steps):
        limit = list(deadlines.values())[min(n, 2)]
        at = at if n == 0 else min(at + (limit - at) * rng.random() * 0.9, now)
        times.append(at)
    rows: dict[tuple[str, str], list[Any]] = {table: [] for table in TABLES}
    received = received_of(case, external_id_of(case))
    holder = case.holder if dispatched else None
    place = case.place.chain if case.place else []
    reach = reach_of(holder["code"] if holder else None, case.level, [], place)
    made = case_row(case, received, deadlines if dispatched else None, (times[-1], len(steps), now))
    rows["dispatch", "cases"].append(made | {"reach_unit_codes": tuple(sorted(reach))})
    rows["dispatch", "case_history"] += history_rows(case.case_id, steps, times)
    rows["dispatch", "case_reach"] += [
        {"case_id": case.case_id, "unit_code": code, "received_at": case.at, "held": held}
        for code, held in reach.items()
    ]
    assignment = f"A-{case.case_id}" if dispatched else None
    rows["supervision", "cases"].append(
        {
            "case_id": case.case_id,
            "channel": case.channel,
            "category": case.category.code,
            "risk": case.risk,
            "territory": case.place.territory if case.place else {},
            "assignment_id": assignment,
            "climbs": 0,
        }
    )
    if assignment and holder:
        rows["supervision", "assignments"].append(
            assignment_row(case, assignment, holder, dispatched_at, times[-1])
        )
        rows["supervision", "clocks"] += clock_rows(
            case, assignment, holder, deadlines, (dispatched_at, times, now)
        )
    rows["intake", "submissions"].append(submission_row(case, received))
    return rows


def history_rows(
    case_id: str, steps: list[tuple[str, str | None, str]], times: list[datetime]
) -> list[dict[str, Any]]:
    return [
        {
            "case_id": case_id,
            "at": when,
            "action": action,
            "from_status": before,
            "to_status": after,
            "actor": "auto" if n == 0 else f"user{n}",
            "role": "system" if n == 0 else "handler",
            "unit": None,
            "reason": None,
        }
        for n, ((action, before, after), when) in enumerate(zip(steps, times, strict=True))
    ]


def case_row(
    case: Drawn,
    received: dict[str, Any],
    deadlines: dict[str, datetime] | None,
    last_steps_now: tuple[datetime, int, datetime],
) -> dict[str, Any]:
    last, steps, now = last_steps_now
    running = OPEN_LIMITS.get(case.status, ())
    due = min(deadlines[name] for name in running) if deadlines and running else None
    holder = case.holder if deadlines else None
    waiting = case.status == "pending_dispatch"
    address_words = case.address[1] if case.address else []
    return {
        "case_id": case.case_id,
        "channel": case.channel,
        "source": case.source,
        "category": case.category.code,
        "risk": case.risk,
        "content": case.content[0],
        "status": case.status,
        "assignee": holder,
        "assignee_code": holder["code"] if holder else None,
        "helpers": [],
        "level": case.level,
        "deadlines": {k: v.isoformat() for k, v in deadlines.items()} if deadlines else None,
        "suggestion": case.holder if waiting else None,
        "alternatives": [],
        "proposed_helpers": [],
        "extension": None,
        "verified": False,
        "returns": 0,
        "reopens": 0,
        "merged_into": None,
        "satisfaction": "satisfied" if case.status == "closed" else None,
        "place": case.place.chain if case.place else [],
        "search_terms": merged_words(case.content[1], address_words),
        "due_at": due,
        "resolve_seconds": case.category.resolve_seconds,
        "routing_rule": "by_category",
        "routing_reason": f"按事项类别派至{(case.holder or {}).get('name', '')}",
        "received": received,
        "received_at": case.at,
        "updated_at": min(last, now),
        "version": steps + 1,
    }


def assignment_row(
    case: Drawn, assignment: str, holder: dict[str, str], at: datetime, last: datetime
) -> dict[str, Any]:
    ended = case.status in ("concluded", "closed")
    return {
        "id": assignment,
        "case_id": case.case_id,
        "assignee_kind": holder["kind"],
        "assignee_code": holder["code"],
        "assignee_name": holder["name"],
        "level": case.level,
        "dispatched_at": at,
        "ended_at": last if ended else None,
        "ended_by": "concluded" if ended else None,
        "returned": False,
        "concluded": ended,
        "reopened": False,
        "satisfaction": "satisfied" if case.status == "closed" else None,
    }


def clock_rows(
    case: Drawn,
    owner: str,
    holder: dict[str, str],
    deadlines: dict[str, datetime],
    when: tuple[datetime, Sequence[datetime], datetime],
) -> list[dict[str, Any]]:
    """The respond, feedback and resolve clocks of the assignment: stopped when met, else
    open; an open one past its limit is overdue, its warning and escalation behind it (no
    look left for the scanner)."""
    started, times, now = when
    running = OPEN_LIMITS.get(case.status, ())
    clocks = []
    for n, (kind, limit) in enumerate(
        zip(
            ("respond", "feedback", "resolve"),
            ("respond_by", "feedback_by", "resolve_by"),
            strict=True,
        )
    ):
        due = deadlines[limit]
        warn = started + (due - started) * 0.8
        open_ = limit in running
        late, warned = open_ and due <= now, open_ and warn <= now
        look = None if late or not open_ else due if warned else warn
        met = times[min(n + 1, len(times) - 1)]
        clocks.append(
            {
                "case_id": case.case_id,
                "owner": owner,
                "kind": kind,
                "level": case.level,
                "assignee_code": holder["code"],
                "state": "open" if open_ else "stopped",
                "started_at": started,
                "warn_at": warn,
                "due_at": due,
                "planned_due_at": due,
                "next_due_at": look,
                "stopped_at": None if open_ else met,
                "cancelled_at": None,
                "paused_at": None,
                "warned": warned,
                "overdue": late,
                "escalation_asked": late,
                "calendar_uncertain": False,
            }
        )
    return clocks


def external_id_of(case: Drawn) -> str:
    prefix = {"hotline": "T", "gridapp": "GR", "opinion": "OP", "petition": "XF", "centre": "ZZ"}
    return f"{prefix[case.source]}-{case.case_id}"


def submission_row(case: Drawn, received: dict[str, Any]) -> dict[str, Any]:
    citizen = case.citizen
    return {
        "case_id": case.case_id,
        "source": case.source,
        "external_id": external_id_of(case),
        "channel": case.channel,
        "transport": case.transport,
        "case": received,
        "content": case.content[0],
        "reporter_phone_sealed": citizen.sealed if citizen else None,
        "reporter_fingerprint": citizen.fingerprint if citizen else None,
        "phone_index": citizen.index if citizen else None,
        "risk": case.risk,
        "received_at": case.at,
        "created_at": case.at,
    }


def chunk(
    first: int, size: int, count: int, pools: Pools, span: tuple[datetime, datetime], seed: int
) -> dict[tuple[str, str], list[Any]]:
    """The rows of cases ``first`` to ``first + size`` (of ``count``), by table; the same
    seed and numbers always give the same rows."""
    rng = random.Random(seed * 1_000_003 + first)
    rows: dict[tuple[str, str], list[Any]] = {table: [] for table in TABLES}
    for index in range(first, min(first + size, count)):
        for table, made in rows_of(draw(index, count, pools, span, rng), span[1], rng).items():
            rows[table] += made
    return rows
