"""A month of the demo county, planned: which matters arrive on which line (the four lines and
the centre's desk), when, where, and what becomes of each (its *fate*: closed satisfied, sent
back unsatisfied, late, escalated, 督办, still open…). Pure: the same territory, end and seed
give the same plan. ``civicflow.history_run`` carries the plan out through the platform itself
(its intake and console APIs, the services' clock moved step by step).

A plan never reaches past its end: the steps a fate would take after it are left out, so a
case received an hour ago is merely signed for, and the last days hold the open work."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from kernel.calendar import SHANGHAI

LINES = ("hotline", "grid", "opinion", "petition", "desk")
"""The four lines (四线) and the centre's own desk (the desk's 直办 among them)."""
LINE_WEIGHTS = (46, 24, 9, 7, 14)
WEEKDAY_CASES = 9
WEEKEND_CASES = 4
EXTERNAL_PREFIX = "HIST-"
"""Every external id (ticket, report, item, petition number, desk key) of the history starts
so: how a second run knows the month is already there."""
MAX_DAYS = 92
HOURLY = (1, 1, 1, 1, 1, 2, 3, 6, 9, 10, 10, 9, 6, 7, 9, 10, 9, 8, 6, 5, 4, 3, 2, 1)
"""Arrivals by hour of the day (Beijing): the hotline never closes, the mornings are busiest."""


@dataclass(frozen=True)
class Place:
    """A grid of the territory and a point inside it."""

    grid: str
    street: str
    name: str
    lat: float
    lon: float
    spots: tuple[tuple[float, float], ...] = ()
    """Other points inside the grid (lat, lon), so that its matters do not all stand on one."""

    def point(self, rng: random.Random) -> tuple[float, float]:
        return rng.choice(((self.lat, self.lon), *self.spots))


@dataclass(frozen=True)
class Matter:
    """What a citizen reports: its category, its words, and the lines it comes on."""

    category: str
    content: str
    lines: tuple[str, ...] = LINES


MATTERS: tuple[Matter, ...] = (
    Matter("environment.pollution", "{place}附近饭店油烟直排，居民窗户都是油污"),
    Matter("environment.noise", "{place}工地夜间施工噪音扰民，凌晨还在作业"),
    Matter("environment.noise", "{place}广场舞音响声音太大，影响老人休息"),
    Matter("dispute.neighbour", "{place}楼上邻居漏水到楼下，协商不成发生争吵"),
    Matter("dispute.neighbour", "{place}邻里因占道堆放杂物发生纠纷"),
    Matter("property.management", "{place}小区电梯经常停运，物业不及时维修"),
    Matter("property.management", "{place}物业费上涨未公示，业主意见很大"),
    Matter("city.management", "{place}路边占道经营，早晚高峰通行困难"),
    Matter("city.management", "{place}垃圾桶满溢无人清运，气味很大"),
    Matter("labour.wage_arrears", "{place}建筑工地拖欠农民工工资三个月"),
    Matter("safety.hazard", "{place}小区消防通道被私家车长期占用"),
    Matter("safety.hazard", "{place}老旧小区燃气管道锈蚀，担心燃气泄漏"),
    Matter("traffic.roads", "{place}道路坑洼严重，雨天积水车辆难行"),
    Matter("water.supply", "{place}连续两天停水，没有提前通知"),
    Matter("housing.construction", "{place}新交付房屋墙体出现裂缝"),
    Matter("market.food_safety", "{place}菜市场有摊贩销售过期食品"),
    Matter("welfare.elderly", "{place}独居老人生活困难，希望社区帮扶"),
    Matter("dispute.land", "{place}两户村民因宅基地地界发生争执",
           ("hotline", "grid", "petition", "desk")),
    Matter("petition.stability", "反映{place}征地补偿标准偏低，要求重新核定",
           ("petition", "desk")),
    Matter("labour.wage_arrears", "{place}十余名工人讨薪无果，准备聚集讨要说法",
           ("petition", "hotline")),
)  # fmt: skip
RED_MATTER = MATTERS[-1]
"""A matter whose words grade it red (聚集): it waits for a person to dispatch it."""

# fates: what becomes of a case (the steps below)
CLOSED = "closed"
BASICALLY = "basically_satisfied"
REWORKED = "reworked"
REOPENED = "reopened"
CONCLUDED = "concluded"
IN_PROGRESS = "in_progress"
ACCEPTED = "accepted"
LATE = "late"
OVERDUE = "overdue"
ESCALATED = "escalated"
SUPERVISED = "supervised"
RETURNED = "returned"
PENDING = "pending"
ON_SITE = "on_site"
DIRECT = "direct"
MERGED = "merged"

SETTLED_FATES = {CLOSED: 52, BASICALLY: 10, REWORKED: 7, LATE: 7, SUPERVISED: 5, RETURNED: 5,
                 ESCALATED: 5, OVERDUE: 3, MERGED: 2, CONCLUDED: 4}  # fmt: skip
"""A week old or more: most are closed."""
RECENT_FATES = {CLOSED: 22, CONCLUDED: 20, IN_PROGRESS: 16, REOPENED: 6, SUPERVISED: 6,
                LATE: 6, ESCALATED: 6, OVERDUE: 6, RETURNED: 5, MERGED: 2, ACCEPTED: 5}  # fmt: skip
"""Two to seven days old: much is still in hand."""
FRESH_FATES = {ACCEPTED: 30, IN_PROGRESS: 25, CONCLUDED: 10, OVERDUE: 10, PENDING: 15,
               CLOSED: 10, MERGED: 5}  # fmt: skip
"""Less than two days old."""


@dataclass(frozen=True)
class Step:
    """One thing someone does to a case, ``after`` its receipt: a lifecycle action on the
    console (``dispatch``, ``accept``, ``feedback``, ``conclude``, ``revisit``, ``return``,
    ``escalate``, ``merge``), ``supervise`` (督办) or ``reply`` (the unit answers the order)."""

    after: timedelta
    action: str
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedCase:
    key: str
    """Its external id (ticket no., report id…; the desk's Idempotency-Key)."""
    line: str
    received_at: datetime
    matter: Matter
    place: Place
    fate: str
    steps: tuple[Step, ...]
    phone: str
    located: bool = True
    point: tuple[float, float] | None = None
    """Where it is (lat, lon): one of its grid's points."""

    @property
    def content(self) -> str:
        return self.matter.content.format(place=self.place.name)


@dataclass(frozen=True)
class HistoryPlan:
    start: datetime
    end: datetime
    cases: tuple[PlannedCase, ...]

    def timeline(self) -> list[tuple[datetime, int, PlannedCase, Step | None]]:
        """Every arrival (step ``None``) and step in time order (an arrival before its steps)."""
        moments: list[tuple[datetime, int, PlannedCase, Step | None]] = []
        for n, case in enumerate(self.cases):
            moments.append((case.received_at, n, case, None))
            moments += [(case.received_at + s.after, n, case, s) for s in case.steps]
        return sorted(moments, key=lambda m: (m[0], m[1], m[3] is not None))


def parse_span(text: str) -> int:
    """``30d`` (or ``7d``, ``2w``): how many days of history; refused beyond a quarter."""
    found = re.fullmatch(r"\s*(\d+)\s*([dw])\s*", text)
    if found is None:
        raise ValueError(f"expected days like 30d or weeks like 2w: {text!r}")
    days = int(found.group(1)) * (7 if found.group(2) == "w" else 1)
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"from 1 to {MAX_DAYS} days: {text!r}")
    return days


def plan_history(places: Sequence[Place], end: datetime, days: int, seed: int = 22) -> HistoryPlan:
    """``days`` of matters ending at ``end`` (aware), in the county's ``places``."""
    if not places:
        raise ValueError("a history needs a territory with grids")
    rng = random.Random(seed)
    local_end = end.astimezone(SHANGHAI)
    first_day = local_end.date() - timedelta(days=days - 1)
    start = datetime.combine(first_day, time(0), SHANGHAI)
    cases: list[PlannedCase] = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        count = WEEKEND_CASES if day.weekday() >= 5 else WEEKDAY_CASES
        arrivals = sorted(arrival(rng, day) for _ in range(max(1, count + rng.randint(-2, 2))))
        for n, at in enumerate(a for a in arrivals if a < local_end):
            earlier = cases[-1] if cases and cases[-1].received_at.date() == day else None
            key = f"{EXTERNAL_PREFIX}{day:%Y%m%d}-{n:02d}"
            case = plan_case(rng, key, at, end - at, places, earlier)
            cases.append(trimmed(case, end))
    return HistoryPlan(start, end, tuple(cases))


def arrival(rng: random.Random, day: date) -> datetime:
    """A moment of ``day`` (Beijing) by the hours' weights."""
    hour = rng.choices(range(24), HOURLY)[0]
    return datetime.combine(day, time(hour), SHANGHAI) + timedelta(minutes=rng.randint(0, 59))


def plan_case(
    rng: random.Random, key: str, at: datetime, age: timedelta, places: Sequence[Place],
    earlier: PlannedCase | None,
) -> PlannedCase:  # fmt: skip
    """One matter: its line, words, place, and fate by its ``age`` at the plan's end."""
    line = rng.choices(LINES, LINE_WEIGHTS)[0]
    matter = rng.choice([m for m in MATTERS if line in m.lines])
    place = rng.choice(places)
    phone = f"139{rng.randrange(10**8):08d}"
    fate = choose_fate(rng, line, matter, age)
    if fate == PENDING and line != "petition" and matter is not RED_MATTER:
        # what waits for the one click is a petition (the bureau's rule is never automatic)
        line, matter = "petition", rng.choice([m for m in MATTERS if "petition" in m.lines])
    if fate == MERGED and earlier is not None and earlier.line != "desk":
        # the same matter again from someone else: a duplicate merged into the first
        line, matter, place = earlier.line, earlier.matter, earlier.place
        steps: tuple[Step, ...] = (Step(timedelta(minutes=rng.randint(15, 50)), "merge",
                                        {"into": earlier.key}),)  # fmt: skip
    else:
        fate = CLOSED if fate == MERGED else fate
        steps = steps_of(rng, fate)
    if steps and fate != MERGED and (line == "petition" or matter is RED_MATTER):
        # the one click: petitions and red risk wait for a person (other cases the routing
        # was not certain of are clicked when their unit first acts on them)
        steps = (Step(timedelta(minutes=rng.randint(3, 12)), "dispatch"), *steps)
    located = line != "opinion" or rng.random() < 0.6
    point = place.point(rng)
    return PlannedCase(key, line, at, matter, place, fate, steps, phone, located, point)


def choose_fate(rng: random.Random, line: str, matter: Matter, age: timedelta) -> str:
    """The desk solves some at once (直办), the grid some on the spot (就地化解); some red-risk
    matters still wait for the one click; the rest by the weights of their age."""
    if line == "desk" and rng.random() < 0.4:
        return DIRECT
    if line == "grid" and rng.random() < 0.2:
        return ON_SITE
    if matter is RED_MATTER and rng.random() < 0.3:
        return PENDING
    if age >= timedelta(days=7):
        weights = SETTLED_FATES
    else:
        weights = RECENT_FATES if age >= timedelta(days=2) else FRESH_FATES
    return rng.choices(list(weights), list(weights.values()))[0]


def minutes(value: float) -> timedelta:
    return timedelta(minutes=round(value))


def steps_of(rng: random.Random, fate: str) -> tuple[Step, ...]:
    """The steps of a fate, each after the case's receipt, in the order they happen."""
    u = rng.uniform
    sign = Step(minutes(u(20, 100)), "accept")
    if fate == LATE:
        sign = Step(minutes(u(140, 170)), "accept")  # past the 2 h limit, before escalation
    note = Step(sign.after + minutes(u(60, 600)), "feedback", {"note": "已联系群众，正在处理"})
    done = Step(note.after + minutes(u(600, 3600)), "conclude", {"result": "已处理完毕，群众认可"})
    if fate == DIRECT:  # concluded at the desk: the revisit by phone (待回访) follows
        return (revisit(minutes(u(120, 1440)), "satisfied"),)
    if fate in (PENDING, ON_SITE, MERGED):
        return ()
    if fate == ACCEPTED:
        return (sign,)
    if fate == IN_PROGRESS:
        return sign, note
    if fate == CONCLUDED:
        return sign, note, done
    if fate == OVERDUE:  # nobody signs: the ladder climbs; signed days later at the top
        return (Step(minutes(u(4 * 1440, 6 * 1440)), "accept"),)
    if fate == ESCALATED:  # the unit finds it beyond it and 上报; the level above takes it
        up = Step(
            sign.after + minutes(u(30, 240)), "escalate", {"reason": "涉及多个部门，需上级协调"}
        )
        return sign, up, *after_sign(rng, up.after)
    if fate == SUPERVISED:  # slow: 督办, the unit answers the order and concludes
        order = Step(
            note.after + minutes(u(1440, 2880)),
            "supervise",
            {"grade": rng.choice(("normal", "yellow", "red")), "note": "请加快办理"},
        )
        reply = Step(order.after + minutes(u(60, 180)), "reply", {"reply": "已督促落实，明日办结"})
        return sign, note, order, reply, *closing(rng, reply.after + minutes(u(600, 1440)))
    if fate == RETURNED:  # 退单: not its duty; dispatched again by the one click
        back = Step(sign.after + minutes(u(10, 60)), "return", {"reason": "不属于本单位职责"})
        again = Step(back.after + minutes(u(10, 40)), "dispatch")
        return sign, back, again, *after_sign(rng, again.after)
    if fate in (REWORKED, REOPENED):
        first = (sign, note, done, revisit(done.after + minutes(u(120, 1440)), "unsatisfied"))
        if fate == REOPENED:
            return first
        return *first, *closing(rng, first[-1].after + minutes(u(600, 2880)))
    answer = "basically_satisfied" if fate == BASICALLY else "satisfied"
    return sign, note, done, revisit(done.after + minutes(u(120, 1800)), answer)


def after_sign(rng: random.Random, at: timedelta) -> tuple[Step, ...]:
    """Signed for at ``at`` (or just after): feedback, conclusion, a satisfied revisit."""
    sign = Step(at + minutes(rng.uniform(20, 90)), "accept")
    note = Step(sign.after + minutes(rng.uniform(60, 600)), "feedback", {"note": "正在协调处理"})
    return sign, note, *closing(rng, note.after + minutes(rng.uniform(600, 2880)))


def closing(rng: random.Random, at: timedelta) -> tuple[Step, ...]:
    done = Step(at, "conclude", {"result": "已整改到位"})
    return done, revisit(at + minutes(rng.uniform(120, 1440)), "satisfied")


def revisit(after: timedelta, satisfaction: str) -> Step:
    return Step(after, "revisit", {"satisfaction": satisfaction})


def trimmed(case: PlannedCase, end: datetime) -> PlannedCase:
    """Without the steps that would come after ``end``."""
    steps = tuple(s for s in case.steps if case.received_at + s.after < end)
    return replace(case, steps=steps)


def expected_status(case: PlannedCase) -> str:
    """Where the case's planned steps leave it (the platform may add escalations)."""
    if case.fate == ON_SITE:
        return "resolved_on_site"
    status = {PENDING: "pending_dispatch", DIRECT: "concluded"}.get(case.fate, "dispatched")
    after = {"accept": "accepted", "feedback": "in_progress", "conclude": "concluded",
             "return": "pending_dispatch", "escalate": "dispatched", "merge": "merged",
             "dispatch": "dispatched"}  # fmt: skip
    for step in case.steps:
        if step.action == "revisit":
            status = "in_progress" if step.body["satisfaction"] == "unsatisfied" else "closed"
        elif step.action in after:
            status = after[step.action]
    return status


def tally(plan: HistoryPlan) -> dict[str, Counter[str]]:
    """How many cases by line, fate, expected status and Beijing day: what the plan holds."""
    return {
        "line": Counter(c.line for c in plan.cases),
        "fate": Counter(c.fate for c in plan.cases),
        "status": Counter(expected_status(c) for c in plan.cases),
        "day": Counter(c.received_at.astimezone(SHANGHAI).date().isoformat() for c in plan.cases),
    }


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
PLATFORMS = ("weibo", "wechat", "douyin", "news", "forum")


def submission(case: PlannedCase, now: datetime) -> tuple[str, str, dict[str, Any]]:
    """How the matter arrives: (path, source, JSON body). Intake's four lines are signed by
    their source; ``centre`` is the console's desk (登记, with ``case.key`` as its
    Idempotency-Key)."""
    at, place = now.isoformat(), case.place
    lat, lon = case.point or (place.lat, place.lon)
    where = {"lat": lat, "lon": lon} if case.located else None
    common: dict[str, Any] = {"content": case.content, "address": f"{place.name}附近"}
    if where is not None:
        common["location"] = where
    name = f"{SURNAMES[int(case.phone[-2:]) % len(SURNAMES)]}先生"
    digit = int(case.phone[-1])
    if case.line == "hotline":
        return "/api/v1/hotline/tickets", "hotline", {
            **common, "ticket_no": case.key, "received_at": at, "category": case.matter.category,
            "caller": {"name": name, "phone": case.phone},
        }  # fmt: skip
    if case.line == "grid":  # the grid app sends its grid and point, no address
        common.pop("address")
        return "/api/v1/grid/reports", "gridapp", {
            **common, "report_id": case.key, "reported_at": at, "grid_code": place.grid,
            "reporter_id": f"W-{place.grid}", "category": case.matter.category,
            "resolved_on_site": case.fate == ON_SITE,
        }  # fmt: skip
    if case.line == "opinion":
        return "/api/v1/opinion/items", "opinion", {
            **common, "item_id": case.key, "published_at": at,
            "platform": PLATFORMS[digit % len(PLATFORMS)], "heat": 200 + 1700 * digit,
        }  # fmt: skip
    if case.line == "petition":  # a petition names no point: its address places it
        common.pop("location", None)
        return "/api/v1/petitions", "petition", {
            **common, "petition_no": case.key, "filed_at": at, "category": case.matter.category,
            "form": ("visit", "letter", "phone", "online")[digit % 4],
            "petitioners": [{"name": name, "phone": case.phone}],
        }  # fmt: skip
    desk: dict[str, Any] = {
        **common, "line": "hotline" if digit % 3 else "petition", "grid_code": place.grid,
        "form": "visit" if digit % 2 else "phone", "category": case.matter.category,
        "citizen": {"name": name, "phone": case.phone},
    }  # fmt: skip
    if case.fate == DIRECT:
        desk["handled_at_desk"] = {"result": "窗口当场答复，群众表示认可"}
    return "/api/v1/cases", "centre", desk
