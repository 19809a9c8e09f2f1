"""Open311 GeoReport v2, spoken at ``/open311/v2/``: the category catalogue as services, and
service requests that enter the platform as 12345 hotline tickets.

Pure translation between the Open311 shapes and ours; ``service.py`` does the I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from contracts.inbound import HotlineTicket
from kernel.catalogue import Category
from kernel.config import ConfigError


def public_url(value: str) -> str:
    """``INTAKE_PUBLIC_URL``: where citizens' apps reach intake from outside (a gateway's
    address, e.g. ``https://12345.example.gov.cn/``), for discovery's endpoint and the
    requests' ``media_url``; empty: the address each request came to (its Host)."""
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"INTAKE_PUBLIC_URL={value!r}: an http(s) address, e.g. https://host/")
    return value.rstrip("/") + "/"


def base_url(public: str, host_url: str) -> str:
    """The address links to intake start with: the configured public one, else the Host's."""
    return public or host_url.rstrip("/") + "/"


class Open311Error(Exception):
    """An Open311 error: answered as ``[{"code": status, "description": …}]``."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description

    def body(self) -> list[dict[str, Any]]:
        return [{"code": self.code, "description": self.description}]


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    group: str
    keywords: tuple[str, ...]

    def as_open311(self) -> dict[str, Any]:
        return {
            "service_code": self.code,
            "service_name": self.name,
            "description": self.name,
            "metadata": False,
            "type": "realtime",
            "keywords": ",".join(self.keywords),
            "group": self.group,
        }


def catalogue(categories: Mapping[str, Category]) -> dict[str, Service]:
    """The services offered: one per category of the catalogue (``kernel.catalogue``), grouped
    by the group its code begins with (``environment.noise`` is in ``environment``), which is
    the group categories.yml lists it under."""
    return {
        code: Service(code, category.name, code.split(".", 1)[0], tuple(category.keywords))
        for code, category in categories.items()
    }


def definition(service: Service) -> dict[str, Any]:
    """``services/{code}.json``: no extra attributes are asked for."""
    return {"service_code": service.code, "attributes": []}


def ticket_from_request(
    form: Mapping[str, str],
    services: Mapping[str, Service],
    now: datetime,
    idempotency_key: str | None = None,
) -> HotlineTicket:
    """A POSTed service request as the hotline ticket it becomes."""
    code = form.get("service_code", "")
    if not code:
        raise Open311Error(400, "service_code is required")
    if code not in services:
        raise Open311Error(404, f"service_code {code!r} is not offered")
    has_point = bool(form.get("lat")) and bool(form.get("long"))
    if not has_point and not form.get("address_string"):
        raise Open311Error(400, "a location is required: lat and long, or address_string")
    name = " ".join(part for part in (form.get("first_name"), form.get("last_name")) if part)
    payload: dict[str, Any] = {
        "ticket_no": f"O311-{idempotency_key or uuid.uuid4().hex}",
        "received_at": now.isoformat(),
        "caller": {"phone": form.get("phone", ""), **({"name": name} if name else {})},
        "content": form.get("description", ""),
        "category": code,
    }
    if form.get("address_string"):
        payload["address"] = form["address_string"]
    if has_point:
        payload["location"] = {"lat": form["lat"], "lon": form["long"]}
    try:
        return HotlineTicket.model_validate(payload)
    except ValidationError as exc:
        fields = {"caller.phone": "phone", "content": "description", "location.lat": "lat"}
        problems = "; ".join(
            f"{fields.get('.'.join(map(str, err['loc'])), '.'.join(map(str, err['loc'])))}: "
            f"{err['msg']}"
            for err in exc.errors()
        )
        raise Open311Error(400, problems) from None


OPEN311_STATUS = {"closed": "closed", "resolved_on_site": "closed", "merged": "closed"}


@dataclass(frozen=True)
class RequestFacts:
    """What intake knows of one request, gathered from its tables."""

    case_id: str
    case: Mapping[str, Any]
    status: str
    assignee: Mapping[str, Any] | None
    deadlines: Mapping[str, Any] | None
    requested_at: datetime
    updated_at: datetime
    note: str | None


def request_view(facts: RequestFacts, services: Mapping[str, Service]) -> dict[str, Any]:
    case = facts.case
    code = str(case.get("category") or "")
    location = case.get("location") or {}
    return {
        "service_request_id": facts.case_id,
        "status": OPEN311_STATUS.get(facts.status, "open"),
        "status_notes": facts.note,
        "service_name": services[code].name if code in services else None,
        "service_code": code or None,
        "description": case.get("content"),
        "agency_responsible": (facts.assignee or {}).get("name"),
        "service_notice": None,
        "requested_datetime": facts.requested_at.isoformat(),
        "updated_datetime": facts.updated_at.isoformat(),
        "expected_datetime": (facts.deadlines or {}).get("resolve_by"),
        "address": case.get("address"),
        "address_id": None,
        "zipcode": None,
        "lat": location.get("lat"),
        "long": location.get("lon"),
        "media_url": (case.get("attachments") or [None])[0],
    }


@dataclass(frozen=True)
class RequestQuery:
    ids: tuple[str, ...]
    service_codes: tuple[str, ...]
    statuses: tuple[str, ...]
    start: datetime | None
    end: datetime | None


def parse_query(args: Mapping[str, str]) -> RequestQuery:
    """``GET requests.json`` filters; dates are ISO 8601 with a zone, as the spec says."""

    def listed(name: str) -> tuple[str, ...]:
        return tuple(item.strip() for item in args.get(name, "").split(",") if item.strip())

    def moment(name: str) -> datetime | None:
        raw = args.get(name)
        if not raw:
            return None
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise Open311Error(400, f"{name}: not an ISO 8601 date-time") from None
        if value.tzinfo is None:
            raise Open311Error(400, f"{name}: give the time zone")
        try:
            return value.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00:00+01:00 has no UTC time
            raise Open311Error(400, f"{name}: out of range") from None

    statuses = listed("status")
    if not set(statuses) <= {"open", "closed"}:
        raise Open311Error(400, "status: open or closed")
    return RequestQuery(
        listed("service_request_id"),
        listed("service_code"),
        statuses,
        moment("start_date"),
        moment("end_date"),
    )


def matches(query: RequestQuery, view: Mapping[str, Any]) -> bool:
    return (not query.statuses or view["status"] in query.statuses) and (
        not query.service_codes or view["service_code"] in query.service_codes
    )
