"""The OpenAPI 3.1 document of the console's staff API.

Its schemas are taken from what the API validates and answers: the contracts' pydantic models
where a handler (or the service it calls) uses them, and otherwise the checks the handlers
and dispatch's commands make, field by field; every status an operation can answer is listed
with the error body ``{"errors": [{"loc", "msg"}]}``."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from pydantic import BaseModel

from contracts.rpc import (
    CasePage,
    CaseView,
    GridUnit,
    OrderReply,
    OrderRequest,
    SubscriptionRequest,
)
from kit.web import RETRY_AFTER_HEADER
from services.console import admin, domain

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
PHONE_PATTERN = r"^(?:\+86|0086)?(?:1[3-9][0-9]{9}|0[0-9]{9,11})$"
"""As intake documents it: the canonical form; separators and full-width digits are removed."""
SEGMENT = {"type": "string", "pattern": "^[^/]+$"}
"""A path segment: the routes match no slash within one."""
TEXT = {"type": "string"}
REQUIRED_TEXT = {"type": "string", "pattern": r"\S", "description": "not blank"}
NULLABLE_TEXT = {"type": ["string", "null"]}
MOMENT = {"type": "string", "format": "date-time"}
LEVELS = ["micro_grid", "grid", "community", "street", "district"]
ERROR_ITEM = {
    "type": "object",
    "required": ["loc", "msg"],
    "properties": {
        "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
        "msg": {"type": "string"},
        "type": {"type": "string"},
        "status": {"type": ["string", "null"], "description": "409: the case's status now"},
        "allowed_actions": {
            "type": "array",
            "items": {"type": "string"},
            "description": "409: the actions its status allows now",
        },
    },
    "additionalProperties": False,
}
ME: dict[str, Any] = {
    "type": "object",
    "required": ["username", "role", "unit", "display"],
    "properties": {
        "username": TEXT,
        "role": {"enum": list(domain.ROLES)},
        "unit": NULLABLE_TEXT,
        "display": TEXT,
    },
    "additionalProperties": False,
}
ACTIONS = sorted(domain.LIFECYCLE_ACTIONS)
COMMON_ACTION_FIELDS: dict[str, Any] = {
    "expected_version": {
        "type": "integer",
        "description": "the case's version as last seen: a stale view is refused (409)",
    },
    "on_behalf_of": {
        "type": "string",
        "maxLength": 64,
        "description": "an admin's: the unit acted for (ignored for other roles)",
    },
}
ACTION_FIELDS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "dispatch": (
        {
            "assignee": {
                "type": "string",
                "description": "a department's code or the case's own grid; none: the "
                "suggestion, with its proposed helpers (一键派单)",
            },
            "helpers": {
                "type": "array",
                "items": TEXT,
                "uniqueItems": True,
                "description": "departments that assist (协办)",
            },
        },
        [],
    ),
    "accept": ({}, []),
    "return": ({"reason": REQUIRED_TEXT}, ["reason"]),
    "feedback": ({"note": REQUIRED_TEXT}, ["note"]),
    "conclude": ({"result": REQUIRED_TEXT}, ["result"]),
    "verify": (
        {
            "passed": {"type": "boolean"},
            "note": {
                "type": "string",
                "description": "required (not blank) when the result did not pass",
            },
        },
        ["passed"],
    ),
    "revisit": (
        {
            "satisfaction": {"enum": ["satisfied", "basically_satisfied", "unsatisfied"]},
            "note": TEXT,
        },
        ["satisfaction"],
    ),
    "escalate": (
        {
            "reason": REQUIRED_TEXT,
            "to_level": {
                "enum": ["grid", "community", "street", "district"],
                "description": "default: the level above the case's",
            },
            "supervisors": {"type": "array", "items": TEXT},
        },
        ["reason"],
    ),
    "extend": (
        {
            "until": {**MOMENT, "description": "asking (延期): the new time limit, with a zone"},
            "reason": {**REQUIRED_TEXT, "description": "asking: why"},
            "approve": {"type": "boolean", "description": "deciding: a supervisor's answer"},
            "note": TEXT,
        },
        [],
    ),
    "resolve_on_site": ({"note": REQUIRED_TEXT}, ["note"]),
    "merge": ({"into": {**REQUIRED_TEXT, "description": "the case it repeats"}}, ["into"]),
}
ACTION_RULES: dict[str, dict[str, Any]] = {
    "verify": {"if": {"required": ["passed"], "properties": {"passed": {"const": False}}},
               "then": {"required": ["note"], "properties": {"note": REQUIRED_TEXT}}},
    "extend": {"anyOf": [{"required": ["approve"]},
                         {"required": ["until", "reason"], "not": {"required": ["approve"]}}]},
}  # fmt: skip
ACTION_SUMMARIES = {
    "dispatch": "派单: to a department or a grid; an empty body takes the suggestion",
    "accept": "签收: the unit signs for the case",
    "return": "退单: not our duty, back to dispatch",
    "feedback": "progress feedback",
    "conclude": "办结: the unit's result",
    "verify": "核查: the centre checks the result",
    "revisit": "回访: the citizen's satisfaction; unsatisfied reopens",
    "escalate": "上报 to the level above",
    "extend": "延期: ask for more time, or (a supervisor) decide on it",
    "resolve_on_site": "就地化解: solved in the grid",
    "merge": "a repeat of another case",
}


def action_body(action: str) -> dict[str, Any]:
    fields, required = ACTION_FIELDS[action]
    body: dict[str, Any] = {
        "type": "object",
        "properties": {**COMMON_ACTION_FIELDS, **fields},
        **ACTION_RULES.get(action, {}),
    }
    if required:
        body["required"] = required
    return body


def any_action_body() -> dict[str, Any]:
    """Every action's fields together: which are required depends on the action."""
    properties: dict[str, Any] = dict(COMMON_ACTION_FIELDS)
    for fields, _ in ACTION_FIELDS.values():
        for name, schema in fields.items():
            properties.setdefault(name, {k: v for k, v in schema.items() if k != "description"})
    return {"type": "object", "properties": properties}


def new_user_body() -> dict[str, Any]:
    """What ``admin.new_user`` checks."""
    return {
        "type": "object",
        "required": ["username", "password", "role"],
        "properties": {
            "username": {"type": "string", "pattern": f"^{admin._USERNAME.pattern}$"},
            "password": {"type": "string", "minLength": admin.MIN_PASSWORD},
            "role": {"enum": list(domain.ROLES)},
            "unit": {"type": ["string", "null"], "description": "required for "
                     f"{', '.join(sorted(domain.UNIT_ROLES))}; ignored for the others"},
            "display": {"type": ["string", "null"], "maxLength": 64},
        },
        "if": {"properties": {"role": {"enum": sorted(domain.UNIT_ROLES)}}},
        "then": {"required": ["unit"], "properties": {"unit": {"type": "string", "minLength": 1}}},
    }  # fmt: skip


def subscription_body(schemas: dict[str, Any]) -> dict[str, Any]:
    """``SubscriptionRequest`` without ``subscriber`` (the console sets it to the user), with
    its validators' rules: sms needs a phone, wechat an openid; a scope ``all`` takes no
    value, the others one, ``risk`` a grade."""
    body: dict[str, Any] = copy.deepcopy(schemas.pop("SubscriptionRequest"))
    body["title"] = "NewSubscription"
    body["properties"].pop("subscriber")
    body["required"] = [name for name in body["required"] if name != "subscriber"]
    body["properties"]["phone"]["anyOf"][0]["pattern"] = PHONE_PATTERN
    body["allOf"] = [
        {"if": {"required": ["channels"],
                "properties": {"channels": {"contains": {"const": "sms"}}}},
         "then": {"required": ["phone"], "properties": {"phone": {"type": "string"}}}},
        {"if": {"required": ["channels"],
                "properties": {"channels": {"contains": {"const": "wechat"}}}},
         "then": {"required": ["wechat_openid"],
                  "properties": {"wechat_openid": {"type": "string"}}}},
    ]  # fmt: skip
    scope = schemas["SubscriptionScope"]
    scope["allOf"] = [
        {"if": {"not": {"required": ["kind"]}},
         "then": {"properties": {"value": {"type": "null"}}}},
        {"if": {"required": ["kind"], "properties": {"kind": {"const": "all"}}},
         "then": {"properties": {"value": {"type": "null"}}},
         "else": {"required": ["value"],
                  "properties": {"value": {"type": "string", "minLength": 1}}}},
        {"if": {"required": ["kind"], "properties": {"kind": {"const": "risk"}}},
         "then": {"properties": {"value": {"enum": ["red", "yellow", "blue"]}}}},
    ]  # fmt: skip
    return body


ORDER = {
    "type": "object",
    "required": ["order_id", "case_id", "grade", "note", "issued_by", "issued_at", "due_at",
                 "assignee", "reply", "replied_by", "replied_at"],
    "properties": {
        "order_id": TEXT, "case_id": TEXT, "grade": {"enum": ["normal", "yellow", "red"]},
        "note": TEXT, "issued_by": TEXT, "issued_at": MOMENT, "due_at": MOMENT,
        "assignee": {"type": ["object", "null"]}, "reply": NULLABLE_TEXT,
        "replied_by": NULLABLE_TEXT, "replied_at": {"type": ["string", "null"],
                                                     "format": "date-time"},
    },
    "additionalProperties": False,
}  # fmt: skip
SUBSCRIPTION = {
    "type": "object",
    "required": ["subscription_id", "subscriber", "kinds", "scope", "channels", "phone",
                 "wechat", "queue", "created_at"],
    "properties": {
        "subscription_id": {"type": "integer"}, "subscriber": TEXT,
        "kinds": {"type": "array", "items": TEXT},
        "scope": {"type": "object", "required": ["kind", "value"],
                  "properties": {"kind": TEXT, "value": NULLABLE_TEXT}},
        "channels": {"type": "array", "items": TEXT},
        "phone": {"type": ["string", "null"], "description": "masked"},
        "wechat": {"type": "boolean"}, "queue": NULLABLE_TEXT, "created_at": MOMENT,
    },
    "additionalProperties": False,
}  # fmt: skip
COUNT = {"type": "integer", "minimum": 0}
RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
BOARD = {
    "type": "object",
    "required": ["units", "totals"],
    "properties": {
        "units": {"type": "array", "items": {
            "type": "object",
            "required": ["code", "name", "kind", "late", "red", "yellow", "blue", "cases"],
            "properties": {
                "code": TEXT, "name": TEXT, "kind": TEXT, "late": COUNT, "red": COUNT,
                "yellow": COUNT, "blue": COUNT,
                "cases": {"type": "array", "items": {
                    "type": "object", "required": ["case_id", "risk", "clock", "due_at", "status"],
                    "properties": {"case_id": TEXT, "risk": TEXT, "clock": TEXT,
                                   "due_at": MOMENT, "status": TEXT}}}}}},
        "totals": {"type": "object", "required": ["late", "red", "yellow", "blue"],
                   "additionalProperties": COUNT},
    },
}  # fmt: skip
SCREEN = {
    "type": "object",
    "required": ["date", "received", "dispatched", "overdue", "escalated", "closed",
                 "satisfaction_rate"],
    "properties": {
        "date": {"type": "string", "format": "date"},
        "received": {"type": "object", "required": ["hotline", "grid", "opinion", "petition"],
                     "additionalProperties": COUNT},
        "dispatched": COUNT, "overdue": COUNT, "escalated": COUNT, "closed": COUNT,
        "satisfaction_rate": RATE,
    },
    "additionalProperties": False,
}  # fmt: skip
ASSESSMENT_ROW = {
    "type": "object",
    "required": ["assignee_kind", "assignee_code", "assignee_name", "dispatched", "score"],
    "properties": {
        "assignee_kind": {"enum": ["department", "grid"]}, "assignee_code": TEXT,
        "assignee_name": TEXT, "dispatched": COUNT, "respond_on_time_rate": RATE,
        "feedback_on_time_rate": RATE, "resolve_on_time_rate": RATE, "overdue": COUNT,
        "return_rate": {"type": "number", "minimum": 0},
        "reopen_rate": {"type": ["number", "null"]},
        "satisfaction_rate": RATE, "orders": COUNT, "yellow_cards": COUNT, "red_cards": COUNT,
        "score": {"type": "number"},
    },
    "additionalProperties": False,
}  # fmt: skip
MAP = {
    "type": "object",
    "required": ["units", "cases"],
    "properties": {
        "units": {"type": "array", "items": {
            "type": "object", "required": ["code", "name", "level", "polygons"],
            "properties": {"code": TEXT, "name": TEXT, "level": {"enum": LEVELS},
                           "polygons": {"type": "array", "items": {"type": "array", "items": {
                               "type": "array", "items": {"type": "number"},
                               "minItems": 2, "maxItems": 2}}}}}},
        "cases": {"type": "array", "items": {
            "type": "object", "required": ["case_id", "lat", "lon", "risk", "status"],
            "properties": {"case_id": TEXT, "lat": {"type": "number"}, "lon": {"type": "number"},
                           "risk": TEXT, "status": TEXT}}},
    },
}  # fmt: skip
SOURCE = {
    "type": "object",
    "required": ["id", "name", "lines", "secret_set", "dev_secret"],
    "properties": {"id": TEXT, "name": TEXT, "lines": {"type": "array", "items": TEXT},
                   "secret_set": {"type": "boolean"}, "dev_secret": {"type": "boolean"}},
    "additionalProperties": False,
}  # fmt: skip
HEALTH = {
    "type": "object",
    "required": ["status", "service", "checks"],
    "properties": {"status": {"enum": ["ok", "degraded"]}, "service": TEXT,
                   "checks": {"type": "object", "additionalProperties": TEXT}},
}  # fmt: skip


UNROUTED = (
    "; also a URL that no route matches (a slash or a line break within a segment, an id "
    "that is not a whole number)"
)


def unrouted(answer: dict[str, Any] | None) -> dict[str, Any]:
    """A 404 that may also come from the routing, before any handler is reached."""
    answer = copy.deepcopy(answer) if answer else _error("not found")
    answer["description"] += UNROUTED
    return answer


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    if schema is not None:
        answer["content"] = {"application/json": {"schema": schema}}
    return answer


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = _json(description, {"$ref": "#/components/schemas/Errors"})
    if headers:
        answer["headers"] = headers
    return answer


UNAUTHORIZED = _error("no token, or a forged or expired one")
UNAVAILABLE = _error(
    "temporarily unable to store, or another service is not answering; retry", RETRY_AFTER_HEADER
)
REMOTE_FAILURES = {
    "502": _error("another service failed on the call (logged; its message is not passed on)"),
    "503": UNAVAILABLE,
}
CALLS_OTHERS = (
    "/api/v1/cases",
    "/api/v1/orders/",
    "/api/v1/board",
    "/api/v1/assessment",
    "/api/v1/grid/",
    "/api/v1/subscriptions",
)
"""Paths whose handlers call another service: each may answer 502 or 503 for it."""
BODY_ERRORS = {
    "400": _error("the body is not JSON"),
    "413": _error("body over 256 KiB"),
    "415": _error("Content-Type is not application/json"),
}
REMOTE_ERRORS = {
    "404": _error("no such case within your reach"),
    "409": _error("not now: the case's status and the actions it allows"),
    "422": _error("a field is missing or wrong"),
}


def _op(
    summary: str,
    answers: dict[str, Any],
    body: dict[str, Any] | None = None,
    secured: bool = True,
    params: list[dict[str, Any]] | None = None,
    body_required: bool = True,
    tag: str = "cases",
    operation_id: str | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": dict(answers)}
    if operation_id:
        operation["operationId"] = operation_id
    if secured:
        operation["security"] = BEARER
        operation["responses"] = {"401": UNAUTHORIZED, **answers}
    if body is not None:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": body}},
        }
        operation["responses"] = {**BODY_ERRORS, **operation["responses"]}
    if params:
        operation["parameters"] = params
        if any(param["in"] == "path" for param in params):
            operation["responses"]["404"] = unrouted(operation["responses"].get("404"))
    return operation


def _path(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or SEGMENT}


def _query(name: str, schema: dict[str, Any] | None = None, note: str = "") -> dict[str, Any]:
    param = {"name": name, "in": "query", "required": False, "schema": schema or TEXT}
    if note:
        param["description"] = note
    return param


IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
               "description": "the same key again changes nothing more",
               "schema": {"type": "string", "maxLength": 200}}  # fmt: skip


@cache
def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    case, page, grid_unit = ref(CaseView), ref(CasePage), ref(GridUnit)
    order_request, order_reply = ref(OrderRequest), ref(OrderReply)
    ref(SubscriptionRequest)
    schemas["NewSubscription"] = subscription_body(schemas)
    schemas["Errors"] = {
        "type": "object", "required": ["errors"],
        "properties": {"errors": {"type": "array", "items": ERROR_ITEM}},
        "additionalProperties": False,
    }  # fmt: skip
    schemas["Login"] = {
        "type": "object", "required": ["username", "password"],
        "properties": {"username": TEXT, "password": TEXT},
    }  # fmt: skip
    schemas["Token"] = {
        "type": "object", "required": ["token", "token_type", *ME["required"]],
        "properties": {"token": TEXT, "token_type": {"const": "bearer"}, **ME["properties"]},
        "additionalProperties": False,
    }  # fmt: skip
    schemas["Me"] = ME
    schemas["NewUser"] = new_user_body()
    me = {"$ref": "#/components/schemas/Me"}
    case_id = [_path("case_id")]
    not_found = _error("no such case within your reach")
    refusals = {**REMOTE_ERRORS, "404": not_found}
    paths: dict[str, Any] = {
        "/api/v1/auth/login": {"post": _op("log in: a bearer token", {
            "200": _json("the token and who you are", {"$ref": "#/components/schemas/Token"}),
            "401": _error("wrong username or password"),
            "422": _error("username or password missing, or not text"),
            "429": _error("too many failed logins", RETRY_AFTER_HEADER),
            "503": UNAVAILABLE}, {"$ref": "#/components/schemas/Login"}, secured=False,
            tag="who", operation_id="login")},
        "/api/v1/me": {"get": _op("who you are", {"200": _json("user", me),
                                                  "503": UNAVAILABLE}, tag="who")},
        "/api/v1/cases": {"get": _op("cases within your reach, newest first", {
            "200": _json("a page", page)}, operation_id="list_cases", params=[
                _query("status"), _query("channel"), _query("risk"), _query("category"),
                _query("level"),
                _query("mine", {"enum": ["1", "true", "0", "false"]},
                       "1 or true: only your unit's, also for those who see all"),
                _query("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000}),
                _query("page_size", {"type": "integer", "minimum": 1, "maximum": 200})])},
        "/api/v1/cases/dispatch": {"post": _op("一键派单 for many: each takes its suggestion", {
            "200": _json("an answer per case", {"type": "array", "items": {
                "type": "object", "required": ["case_id", "ok"],
                "properties": {"case_id": TEXT, "ok": {"type": "boolean"}, "status": TEXT,
                               "error": TEXT}, "additionalProperties": False}}),
            "403": _error("not an operator"), "422": _error("case_ids missing")},
            {"type": "object", "required": ["case_ids"],
             "properties": {"case_ids": {"type": "array", "items": TEXT}}},
            params=[IDEMPOTENCY])},
        "/api/v1/cases/{case_id}": {"get": _op("a case and its timeline", {
            "200": _json("the case, with the actions you may take now", case),
            "404": not_found}, params=case_id, operation_id="get_case")},
        "/api/v1/cases/{case_id}/contact": {"get": _op(
            "the citizen's number, for the unit holding the case (audited)",
            {"200": _json("phone", {"type": "object", "required": ["phone"],
                                    "properties": {"phone": TEXT},
                                    "additionalProperties": False}),
             "404": _error("nothing to show you"), "503": UNAVAILABLE}, params=case_id)},
        "/api/v1/cases/{case_id}/supervise": {"post": _op("督办: an order on a case", {
            "201": _json("the order", ORDER), "403": _error("not a supervisor"), **refusals},
            order_request, params=case_id, tag="supervision")},
        "/api/v1/cases/{case_id}/{action}": {"post": _op(
            "a lifecycle action by name (each action's fields: its own operation)", {
                "200": _json("the case after it", case), "403": _error("not for your role"),
                **refusals, "404": _error("no such case within your reach, or no such action")},
            any_action_body(), params=[*case_id, _path("action", {"enum": ACTIONS})],
            body_required=False)},
        "/api/v1/orders/{order_id}/reply": {"post": _op("answer a 督办 order", {
            "200": _json("the order", ORDER), **REMOTE_ERRORS,
            "404": _error("no such order"), "409": _error("answered already")},
            order_reply, params=[_path("order_id")], tag="supervision")},
        "/api/v1/board": {"get": _op("超时看板: late cases by unit", {
            "200": _json("board", BOARD)}, tag="supervision")},
        "/api/v1/screen": {"get": _op("中心大屏: today's figures (Beijing day)", {
            "200": _json("figures", SCREEN), "503": UNAVAILABLE}, tag="supervision")},
        "/api/v1/assessment": {"get": _op("一单考评: a row per unit", {
            "200": _json("rows", {"type": "array", "items": ASSESSMENT_ROW}),
            "403": _error("not for your role"),
            "422": _error("period: a year, quarter, month or day")},
            params=[_query("period", {"type": "string",
                                      "pattern": r"^[0-9]{4}(-Q[1-4]|-[0-9]{2}(-[0-9]{2})?)?$"},
                           "2026, 2026-Q4, 2026-11 or 2026-11-21"),
                    _query("kind", {"enum": ["department", "grid"]})], tag="supervision")},
        "/api/v1/grid/units": {"get": _op("grid units by level and parent", {
            "200": _json("units", {"type": "array", "items": grid_unit})}, tag="grid",
            params=[_query("level", {"enum": LEVELS}), _query("parent"),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 5000})])},
        "/api/v1/grid/map": {"get": _op("unit outlines and the open cases within reach", {
            "200": _json("map", MAP), "422": _error("no such level")}, tag="grid",
            params=[_query("level", {"enum": LEVELS})])},
        "/api/v1/subscriptions": {
            "get": _op("your alert subscriptions", {"200": _json("subscriptions", {
                "type": "array", "items": SUBSCRIPTION})}, tag="supervision"),
            "post": _op("subscribe to alerts", {
                "201": _json("made", SUBSCRIPTION), "403": _error("not a supervisor"),
                **REMOTE_ERRORS, "404": _error("not found"),
                "422": _error("a field is missing or wrong")},
                {"$ref": "#/components/schemas/NewSubscription"}, tag="supervision")},
        "/api/v1/subscriptions/{subscription_id}": {"delete": _op("unsubscribe", {
            "204": {"description": "gone"},
            **REMOTE_ERRORS, "404": _error("no such subscription of yours")}, tag="supervision",
            params=[_path("subscription_id", {"type": "integer", "minimum": 0,
                                              "maximum": 2**63 - 1})])},
        "/api/v1/stream": {"get": _op("server-sent events: the types of public events", {
            "200": {"description": "an event per public event: its type, never a case number",
                    "content": {"text/event-stream": {"schema": TEXT}}}},
            params=[_query("token", note="the bearer token, for browsers' EventSource")],
            tag="supervision")},
        "/api/v1/admin/users": {
            "get": _op("users", {"200": _json("users", {"type": "array", "items": me}),
                                 "403": _error("admins only"), "503": UNAVAILABLE},
                       tag="admin"),
            "post": _op("add a user", {
                "201": _json("user", me), "403": _error("admins only"),
                "409": _error("exists"), "422": _error("a field is wrong; its name first"),
                "503": UNAVAILABLE}, {"$ref": "#/components/schemas/NewUser"}, tag="admin")},
        "/api/v1/admin/users/{username}": {"delete": _op("remove a user", {
            "204": {"description": "gone"}, "403": _error("admins only"),
            "404": _error("no such user"), "409": _error("you cannot remove yourself"),
            "503": UNAVAILABLE}, params=[_path("username")], tag="admin")},
        "/api/v1/admin/config": {"get": _op("routing, SLA, notify, assessment: read-only", {
            "200": _json("files by name", {"type": "object", "required": ["files"],
                                           "properties": {"files": {
                                               "type": "object",
                                               "additionalProperties": TEXT}}}),
            "403": _error("admins only")}, tag="admin")},
        "/api/v1/admin/sources": {"get": _op("registered sources, never their secrets", {
            "200": _json("sources", {"type": "array", "items": SOURCE}),
            "403": _error("admins only")}, tag="admin")},
        "/": {"get": _op("the web UI", {"200": {"description": "index.html", "content": {
            "text/html": {"schema": TEXT}}}}, secured=False, tag="ui")},
        "/static/{path}": {"get": _op("a file of the web UI", {
            "200": {"description": "the file", "content": {"*/*": {"schema": TEXT}}},
            "404": _error("no such file")}, secured=False, tag="ui",
            params=[_path("path")])},
        "/healthz": {"get": _op("health", {"200": _json("ok", HEALTH),
                                           "503": _json("degraded", HEALTH)},
                                secured=False, tag="operations")},
        "/metrics": {"get": _op("Prometheus metrics", {"200": {"description": "text format",
            "content": {"text/plain": {"schema": TEXT}}}}, secured=False, tag="operations")},
        "/openapi.json": {"get": _op("this document", {"200": _json("OpenAPI 3.1", {
            "type": "object"})}, secured=False, tag="operations")},
    }  # fmt: skip
    for action in ACTIONS:
        paths[f"/api/v1/cases/{{case_id}}/{action}"] = {"post": _op(
            ACTION_SUMMARIES[action], {
                "200": _json("the case after it", case), "403": _error("not for your role"),
                **refusals},
            action_body(action), params=case_id, operation_id=f"act_{action}",
            body_required=bool(ACTION_FIELDS[action][1]))}  # fmt: skip
    for template, item in paths.items():
        if template.startswith(CALLS_OTHERS):
            for operation in item.values():
                operation["responses"].update(REMOTE_FAILURES)
    return {
        "openapi": "3.1.0",
        "info": {"title": "civicflow console", "version": "1",
                 "description": "The staff API of the centre (综治中心): cases within "
                 "each user's reach (outside it a case does not exist: 404), every lifecycle "
                 "action, 督办, the board, the screen, assessment, administration. Errors "
                 "are {\"errors\": [{\"loc\", \"msg\"}]}."},
        "tags": [{"name": name} for name in
                 ("who", "cases", "supervision", "grid", "admin", "ui", "operations")],
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }  # fmt: skip
