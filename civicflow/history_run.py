"""``civicflow demo --history 30d``: the planned month (``civicflow.history``) carried out
through the platform itself. The services run in this process on a ``ManualClock`` set to the
month's first midnight; each matter is submitted to intake (signed as its source) or registered
at the console's desk, and each step is a console call (一键派单, 签收, 反馈, 办结, 回访, 退单,
上报, 督办 and its reply) at its planned time, the clock moved on before it. Routing, clocks,
warnings, overdue alerts, escalations and every counter (the big screen's tallies, the
assessment's days) come from the services' own handling of the events, as in production.

Notify does not run: a month of texts to citizens and units would be sent at once (with the
file provider, written to ``var/notify``); its queues do not exist before it first starts, so it
never sees the month."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import os
import random
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shapely import wkb
from shapely.geometry import Point
from sqlalchemy import func, select

from civicflow.history import (
    EXTERNAL_PREFIX,
    HistoryPlan,
    Place,
    PlannedCase,
    Step,
    plan_history,
    submission,
)
from kernel.calendar import SHANGHAI
from kernel.clock import ManualClock
from kit.catalogue import load_catalogue
from kit.db import Store
from kit.settings import Settings

if TYPE_CHECKING:
    from kit.runner import InProcess

REPLAYED = ("grid", "intake", "dispatch", "supervision", "console")
TICK_SECONDS = 0.5
"""Supervision's scans while the month is replayed: often enough that a limit passed between
two steps is seen at the next."""
SETTLE_SECONDS = 8.0
"""How long an action waits for the case to be routed (or for an earlier step to land)."""
LOGIN_EVERY = timedelta(hours=6)
"""A console token lasts eight hours of the console's clock: a new one well before."""


class HistoryError(Exception):
    """The month could not be replayed (a service refused what it should take)."""


def already_loaded(settings: Settings) -> int:
    """How many of the history's matters intake already holds (0: none, load it)."""
    from services.intake.models import TABLES, Submission

    store = Store(settings.database_url_for("intake"), "intake", TABLES)
    try:
        with store.read() as session:
            found = session.scalar(
                select(func.count()).where(Submission.external_id.like(f"{EXTERNAL_PREFIX}%"))
            )
    finally:
        store.dispose()
    return int(found or 0)


def territory_places(settings: Settings) -> list[Place]:
    """Every basic grid of the loaded territory with a point inside it, and its street."""
    from services.grid.models import TABLES, UnitRow

    store = Store(settings.database_url_for("grid"), "grid", TABLES)
    try:
        with store.read() as session:
            columns = (UnitRow.code, UnitRow.name, UnitRow.level, UnitRow.parent, UnitRow.kind,
                       UnitRow.geometry)  # fmt: skip
            rows = session.execute(select(*columns))
            units = {row.code: row for row in rows}
    finally:
        store.dispose()
    places = []
    for unit in sorted(units.values(), key=lambda u: u.code):
        if unit.level != "grid" or unit.kind != "basic" or not unit.geometry:
            continue
        street = ancestor(units, unit.code, "street")
        shape = wkb.loads(bytes.fromhex(unit.geometry))
        point = shape.representative_point()
        if street is not None:
            places.append(Place(unit.code, street, unit.name, round(point.y, 6),
                                round(point.x, 6), spots_in(shape, unit.code)))  # fmt: skip
    return places


def spots_in(shape: Any, code: str, wanted: int = 4) -> tuple[tuple[float, float], ...]:
    """A few points inside ``shape`` (lat, lon), the same for the same grid every time."""
    rng = random.Random(code)
    west, south, east, north = shape.bounds
    found: list[tuple[float, float]] = []
    for _ in range(wanted * 10):
        lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        if shape.contains(Point(lon, lat)):
            found.append((round(lat, 6), round(lon, 6)))
            if len(found) == wanted:
                break
    return tuple(found)


def ancestor(units: dict[str, Any], code: str, level: str) -> str | None:
    seen = units.get(code)
    while seen is not None and seen.level != level:
        seen = units.get(seen.parent) if seen.parent else None
    return seen.code if seen is not None else None


def load_history(settings: Settings, days: int, seed: int = 22) -> dict[str, int]:
    """Replay ``days`` of history ending now; nothing when it is there already."""
    from civicflow.registry import service_class
    from kit.runner import configure_logging

    configure_logging(os.environ.get("CIVICFLOW_LOG_LEVEL", "WARNING"), "history")
    # the replay asks for steps a case may have outgrown (an escalation took it elsewhere):
    # dispatch's refusals are expected here, and counted as skipped steps
    logging.getLogger("nameko.containers").setLevel(logging.CRITICAL)
    present = already_loaded(settings)
    if present:
        return {"cases": present, "loaded": 0}
    plan = plan_history(territory_places(settings), settings.clock.now(), days, seed)
    clock = ManualClock(plan.start)
    replay_settings = dataclasses.replace(
        settings, clock=clock, supervision_tick_seconds=TICK_SECONDS, http_host="127.0.0.1"
    )
    services = started([service_class(name) for name in REPLAYED], replay_settings)
    try:
        replay = Replay(replay_settings, clock)
        replay.wait_until_up()
        replay.run(plan)
        time.sleep(1.0)  # the last events reach the counters before the services stop
    finally:
        services.stop()
    return {"cases": len(replay.case_ids), "loaded": 1, **replay.done}


def started(classes: list[type], settings: Settings, tries: int = 3) -> InProcess:
    """The services running in this process; a broker that drops the first connections (it
    has just been started, or is restarting) is given a few more seconds."""
    from kombu.exceptions import OperationalError

    from kit.runner import InProcess

    services: InProcess
    for attempt in range(1, tries + 1):
        services = InProcess(classes, settings)
        try:
            return services.start()
        except (OSError, OperationalError) as failed:
            services.kill()
            if attempt == tries:
                raise HistoryError(f"the broker did not take the services: {failed}") from None
            time.sleep(3.0 * attempt)
    raise AssertionError("unreachable")


def load_from_cli(settings: Settings, days: int, seed: int) -> int:
    """``civicflow demo --history``: the month, and a line saying what was done."""
    started = time.monotonic()
    try:
        done = load_history(settings, days, seed)
    except HistoryError as failed:
        print(f"history not loaded: {failed}", file=sys.stderr)
        return 1
    if not done["loaded"]:
        print(f"history already there ({done['cases']} matters): nothing added")
        return 0
    steps = sum(n for kind, n in done.items() if kind not in ("cases", "loaded")
                and not kind.startswith(("line:", "skipped:")))  # fmt: skip
    print(f"history of {days} days loaded through the platform: {done['cases']} matters, "
          f"{steps} steps, in {time.monotonic() - started:.0f} s")  # fmt: skip
    return 0


def say(line: str) -> None:
    print(line, flush=True)


class Replay:
    """Carries a plan out against the services running on ``clock``."""

    def __init__(self, settings: Settings, clock: ManualClock) -> None:
        from services.intake.domain import SourceRegistry

        self.settings = settings
        self.clock = clock
        self.sources = SourceRegistry.from_file(
            settings.config_dir / "sources.yml", os.environ, production=not settings.is_dev
        )
        self.tokens: dict[str, tuple[str, datetime]] = {}
        self.case_ids: dict[str, str] = {}
        self.orders: dict[str, str] = {}
        self.done: Counter[str] = Counter()
        self.catalogue = load_catalogue(settings.config_dir)

    def lead_of(self, category: str) -> str:
        """The department that leads on ``category`` (the catalogue's), for a case routing
        could suggest no one for: the operator names it."""
        return self.catalogue.categories[category].department

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.settings.ports[service]}{path}"

    def wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for service in REPLAYED:
            while call("GET", self.url(service, "/healthz"))[0] != 200:
                if time.monotonic() > deadline:
                    raise HistoryError(f"{service} did not start")
                time.sleep(0.2)

    def run(self, plan: HistoryPlan, progress: Callable[[str], None] = say) -> None:
        """Every arrival and step at its time; a line of ``progress`` as each day begins."""
        day = None
        for at, _n, case, step in plan.timeline():
            if at > self.clock.now():
                self.clock.set(at)
            if at.astimezone(SHANGHAI).date() != day:
                day = at.astimezone(SHANGHAI).date()
                progress(f"  {day} ({len(self.case_ids)} matters so far)")
            if step is None:
                self.arrive(case)
            elif case.key in self.case_ids:
                self.perform(case, step)

    # --- arrivals ---

    def arrive(self, case: PlannedCase) -> None:
        path, source, body = submission(case, self.clock.now())
        raw = json.dumps(body, ensure_ascii=False).encode()
        if source == "centre":
            status, answer = self.console("POST", path, body, "operator",
                                          {"Idempotency-Key": case.key})  # fmt: skip
        else:
            status, answer = call("POST", self.url("intake", path), raw, self.signed(source, raw))
        if status not in (200, 201, 202):
            raise HistoryError(f"{case.key} on {case.line} refused: {status} {answer}")
        self.case_ids[case.key] = str(answer["case_id"])
        self.done[f"line:{case.line}"] += 1

    def signed(self, source: str, raw: bytes) -> dict[str, str]:
        known = self.sources.get(source)
        if known is None:
            raise HistoryError(f"no source {source!r} in sources.yml")
        stamp = str(int(self.clock.now().timestamp()))
        digest = hmac.new(known.secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256)
        return {"Content-Type": "application/json", "X-Source": source, "X-Timestamp": stamp,
                "X-Signature": f"sha256={digest.hexdigest()}"}  # fmt: skip

    # --- steps ---

    def perform(self, case: PlannedCase, step: Step) -> None:
        case_id = self.case_ids[case.key]
        if step.action == "supervise":
            status, answer = self.console("POST", f"/api/v1/cases/{case_id}/supervise", step.body)
            if status == 201:
                self.orders[case.key] = str(answer["order_id"])
        elif step.action == "reply":
            order = self.orders.get(case.key)
            status = 0 if order is None else self.console(
                "POST", f"/api/v1/orders/{order}/reply", step.body)[0]  # fmt: skip
        elif step.action == "merge":
            into = self.case_ids.get(str(step.body["into"]))
            status = 0 if into is None else self.act(case_id, "merge", {"into": into}, "")
        else:
            status = self.act(case_id, step.action, step.body, case.matter.category)
        self.done[step.action if status in (200, 201) else f"skipped:{step.action}"] += 1

    def act(self, case_id: str, action: str, body: dict[str, Any], category: str) -> int:
        """The action, after what it needs first when the case is not there yet: routed
        (it waits), dispatched (the one click), signed for (签收), a petition accepted
        (受理告知, and its conclusion is the written answer). 0: it no longer fits the case
        (the routing was certain, or an escalation took it elsewhere)."""
        deadline = time.monotonic() + SETTLE_SECONDS
        done_first: set[str] = set()
        while True:
            status, answer = self.console("POST", f"/api/v1/cases/{case_id}/{action}", body)
            if status == 404 and time.monotonic() < deadline:
                time.sleep(0.2)  # intake has it; dispatch has not routed it yet
                continue
            if status == 422 and action == "dispatch" and not body:
                body = {"assignee": self.lead_of(category)}  # no suggestion: its department
                continue
            if status != 409:
                return status
            refused = answer["errors"][0]
            allowed, now = refused.get("allowed_actions", []), refused.get("status")
            if action == "dispatch" or (now == "received" and time.monotonic() > deadline):
                return 0
            if now == "received":
                time.sleep(0.2)
                continue
            first = self.needed_first(action, allowed)
            if first is None or first in done_first:
                return 0  # what it needs was done and did not help: the step no longer fits
            done_first.add(first)
            if first == "answer":  # a petition is concluded by its written answer
                action, body = "answer", {"opinion": str(body.get("result", "已书面答复"))}
            else:
                self.act(case_id, first, {}, category)

    @staticmethod
    def needed_first(action: str, allowed: list[str]) -> str | None:
        """What a refused ``action`` needs done first, by the actions the case allows now."""
        if "dispatch" in allowed:
            return "dispatch"
        if "acknowledge" in allowed and action in ("feedback", "conclude"):
            return "acknowledge"
        if action == "conclude" and "answer" in allowed:
            return "answer"
        if "accept" in allowed and action in ("feedback", "conclude"):
            return "accept"
        return None

    def console(
        self, method: str, path: str, body: Any = None, user: str = "admin",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:  # fmt: skip
        raw = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        wanted = {"Content-Type": "application/json", **(headers or {}),
                  "Authorization": f"Bearer {self.token(user)}"}  # fmt: skip
        return call(method, self.url("console", path), raw, wanted)

    def token(self, user: str) -> str:
        """The user's token: signed in once, then renewed as the console would issue it
        (a token lasts eight hours of the console's clock, and a month of sign-ins with
        argon2 would cost the replay a minute)."""
        from services.console.config import load_token_secret
        from services.console.domain import issue_token

        held = self.tokens.get(user)
        if held is not None and self.clock.now() - held[1] < LOGIN_EVERY:
            return held[0]
        if held is None:
            raw = json.dumps({"username": user, "password": user}).encode()
            status, answer = call("POST", self.url("console", "/api/v1/auth/login"), raw,
                                  {"Content-Type": "application/json"})  # fmt: skip
            if status != 200:
                raise HistoryError(f"the dev user {user!r} cannot sign in: {status} {answer}")
            token = str(answer["token"])
        else:
            now = self.clock.now().timestamp()
            token = issue_token(load_token_secret(self.settings), user, user, now)
        self.tokens[user] = (token, self.clock.now())
        return token


def call(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            raw, status = answer.read(), answer.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    except OSError:
        return 0, {}
    try:
        return status, json.loads(raw) if raw else {}
    except ValueError:
        return status, {}
