"""The OpenAPI 3.1 document of the console's staff API.

Its schemas are taken from what the API validates and answers: the contracts' pydantic models
(the lifecycle actions of ``contracts.actions``, the case, the orders and subscriptions), and
for the answers no model describes, the tables of ``openapi_schemas``; every status an
operation can answer is listed with the error body ``{"errors": [{"loc", "msg"}]}``."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from pydantic import BaseModel

from contracts.actions import ACTION_MODELS, Action
from contracts.attachments import AttachmentInfo, Note, NoteRequest
from contracts.rpc import (
    CasePage,
    CaseView,
    GridUnit,
    OrderReply,
    OrderRequest,
    SubscriptionRequest,
)
from kit.web import RETRY_AFTER_HEADER
from services.console.openapi_calendar import calendar_paths
from services.console.openapi_desk_accounts import desk_account_paths, leave_paths
from services.console.openapi_fairscore import fairscore_paths
from services.console.openapi_map import map_paths
from services.console.openapi_schemas import (
    ASSESSMENT_ROW,
    BOARD,
    ERROR_ITEM,
    HEALTH,
    LEVELS,
    MAP,
    ME,
    ORDER,
    SCREEN,
    SEGMENT,
    SOURCE,
    SUBSCRIPTION,
    TEXT,
    new_user_body,
    subscription_body,
)

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
ACTIONS = sorted(ACTION_MODELS)
REF = "#/components/schemas/{model}"


def action_body(model: type[Action]) -> dict[str, Any]:
    """An action's HTTP body: its model's schema without ``action``, which the path names."""
    body = model.model_json_schema(ref_template=REF)
    body["properties"].pop("action")
    required = [name for name in body.pop("required", []) if name != "action"]
    if required:
        body["required"] = required
    return body


def any_action_body() -> dict[str, Any]:
    """Every action's fields together: which are required depends on the action."""
    properties: dict[str, Any] = {}
    for model in ACTION_MODELS.values():
        for name, schema in action_body(model)["properties"].items():
            properties.setdefault(name, {k: v for k, v in schema.items() if k != "description"})
    return {"type": "object", "properties": properties}


def summary_of(model: type[Action]) -> str:
    """The first paragraph of the action model's docstring, on one line."""
    first = (model.__doc__ or model.__name__).split("\n\n")[0]
    return " ".join(first.split()).rstrip(".")


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
    "/api/v1/map/",
    "/api/v1/subscriptions",
    "/api/v1/attachments/",
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


CASE_ID = [_path("case_id")]
NO_CASE = _error("no such case within your reach")


class Components:
    """The schemas of the document, gathered as the paths name them."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template=REF)
        self.schemas.update(schema.pop("$defs", {}))
        self.schemas[model.__name__] = schema
        return self.named(model.__name__)

    def named(self, name: str, schema: dict[str, Any] | None = None) -> dict[str, str]:
        if schema is not None:
            self.schemas[name] = schema
        return {"$ref": REF.format(model=name)}


def own_schemas(components: Components) -> None:
    """The schemas written here: errors, login, who you are, a new user or subscription."""
    components.ref(SubscriptionRequest)
    components.named("NewSubscription", subscription_body(components.schemas))
    components.named("Errors", {
        "type": "object", "required": ["errors"],
        "properties": {"errors": {"type": "array", "items": ERROR_ITEM}},
        "additionalProperties": False,
    })  # fmt: skip
    components.named("Login", {
        "type": "object", "required": ["username", "password"],
        "properties": {"username": TEXT, "password": TEXT},
    })  # fmt: skip
    components.named("Token", {
        "type": "object", "required": ["token", "token_type", *ME["required"]],
        "properties": {"token": TEXT, "token_type": {"const": "bearer"}, **ME["properties"]},
        "additionalProperties": False,
    })  # fmt: skip
    components.named("Me", ME)
    components.named("NewUser", new_user_body())


def who_paths(components: Components) -> dict[str, Any]:
    me = components.named("Me")
    return {
        "/api/v1/auth/login": {"post": _op("log in: a bearer token", {
            "200": _json("the token and who you are", components.named("Token")),
            "401": _error("wrong username or password"),
            "422": _error("username or password missing, or not text"),
            "429": _error("too many failed logins", RETRY_AFTER_HEADER),
            "503": UNAVAILABLE}, components.named("Login"), secured=False,
            tag="who", operation_id="login")},
        "/api/v1/me": {"get": _op("who you are", {"200": _json("user", me),
                                                  "503": UNAVAILABLE}, tag="who")},
    }  # fmt: skip


def case_paths(components: Components) -> dict[str, Any]:
    case, page = components.ref(CaseView), components.ref(CasePage)
    return {
        "/api/v1/cases": {"get": _op("cases within your reach, newest first", {
            "200": _json("a page", page), "422": _error("a filter or cursor that is not one")},
            operation_id="list_cases", params=[
                _query("status"), _query("channel"), _query("risk"), _query("category"),
                _query("level"), _query("q", note="words of the content or address, all of them"),
                _query("from", {"type": "string", "format": "date"}, "received on or after"),
                _query("to", {"type": "string", "format": "date"}, "received on or before"),
                _query("overdue", {"enum": ["true", "false"]}), _query("unit",
                       note="held by this unit or one in its subtree"),
                _query("after", note="the next cursor of the page before"),
                _query("phone", note="a full number: that citizen's cases"),
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
            "404": NO_CASE}, params=CASE_ID, operation_id="get_case")},
        "/api/v1/cases/{case_id}/contact": {"get": _op(
            "the citizen's number, for the unit holding the case (audited)",
            {"200": _json("phone", {"type": "object", "required": ["phone"],
                                    "properties": {"phone": TEXT},
                                    "additionalProperties": False}),
             "404": _error("nothing to show you"), "503": UNAVAILABLE}, params=CASE_ID)},
    }  # fmt: skip


def action_paths(components: Components) -> dict[str, Any]:
    """Each lifecycle action's operation, its body from its model; and any action by name."""
    case = components.ref(CaseView)
    refusals = {**REMOTE_ERRORS, "404": NO_CASE}
    paths: dict[str, Any] = {
        "/api/v1/cases/{case_id}/{action}": {"post": _op(
            "a lifecycle action by name (each action's fields: its own operation)", {
                "200": _json("the case after it", case), "403": _error("not for your role"),
                **refusals, "404": _error("no such case within your reach, or no such action")},
            any_action_body(), params=[*CASE_ID, _path("action", {"enum": ACTIONS})],
            body_required=False)},
    }  # fmt: skip
    for action in ACTIONS:
        model = ACTION_MODELS[action]
        body = action_body(model)
        paths[f"/api/v1/cases/{{case_id}}/{action}"] = {"post": _op(
            summary_of(model), {
                "200": _json("the case after it", case), "403": _error("not for your role"),
                **refusals},
            components.named(model.__name__, body), params=CASE_ID,
            operation_id=f"act_{action}", body_required="required" in body)}  # fmt: skip
    return paths


BINARY = {"schema": {"type": "string", "format": "binary"}}
FILE_CONTENT = {
    kind: BINARY
    for kind in ("image/jpeg", "image/png", "image/webp", "application/pdf", "text/html")
}
"""``text/html``: a petition's written notice (信访), made by the console, never uploaded."""
FILE_HEADERS = {
    "X-Content-Type-Options": {"required": True, "schema": {"const": "nosniff"}},
    "Content-Disposition": {"required": True, "schema": TEXT, "description":
                            "inline (images) or attachment (PDF, a notice's HTML); "
                            "filename* in UTF-8 (RFC 5987)"},
}  # fmt: skip


def notes_files_paths(components: Components) -> dict[str, Any]:
    """内部备注 and 附件: each within the case's reach, 404 outside it."""
    upload = _op("upload a file to a case: JPEG, PNG, WebP or PDF by its content, ≤ 10 MiB", {
        "201": _json("kept", components.ref(AttachmentInfo)), "404": NO_CASE,
        "413": _error("the file is over 10 MiB"),
        "415": _error("not multipart/form-data, or a file that is not a JPEG, PNG, WebP or PDF"),
        "422": _error("not exactly one part named file")}, params=CASE_ID,
        operation_id="upload_attachment")  # fmt: skip
    upload["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"}}}}}}  # fmt: skip
    served = {
        "200": {
            "description": "the bytes, as recognised",
            "content": FILE_CONTENT,
            "headers": FILE_HEADERS,
        },
        "404": _error("no such file within your reach"),
    }
    thumbnail = {"200": {"description": "a JPEG of at most 320 px", "headers": FILE_HEADERS,
                         "content": {"image/jpeg": FILE_CONTENT["image/jpeg"]}},
                 "404": _error("no such image within your reach")}  # fmt: skip
    file_id = [_path("attachment_id")]
    return {
        "/api/v1/cases/{case_id}/notes": {"post": _op("内部备注: an internal note on a case", {
            "201": _json("the note", components.ref(Note)), "404": NO_CASE,
            "422": _error("text missing, or a file not of this case")},
            components.ref(NoteRequest), params=CASE_ID, operation_id="add_note")},
        "/api/v1/cases/{case_id}/attachments": {"post": upload},
        "/api/v1/attachments/{attachment_id}": {"get": _op(
            "a file of a case", served, params=file_id, operation_id="get_attachment")},
        "/api/v1/attachments/{attachment_id}/thumbnail": {"get": _op(
            "an image's thumbnail", thumbnail, params=file_id)},
    }  # fmt: skip


def supervision_paths(components: Components) -> dict[str, Any]:
    refusals = {**REMOTE_ERRORS, "404": NO_CASE}
    return {
        "/api/v1/cases/{case_id}/supervise": {"post": _op("督办: an order on a case", {
            "201": _json("the order", ORDER), "403": _error("not a supervisor"), **refusals},
            components.ref(OrderRequest), params=CASE_ID, tag="supervision")},
        "/api/v1/orders/{order_id}/reply": {"post": _op("answer a 督办 order", {
            "200": _json("the order", ORDER), **REMOTE_ERRORS,
            "404": _error("no such order"), "409": _error("answered already")},
            components.ref(OrderReply), params=[_path("order_id")], tag="supervision")},
        "/api/v1/board": {"get": _op("超时看板: late cases by unit, a page of them", {
            "200": _json("board", BOARD), "422": _error("a cursor that is not one")},
            tag="supervision", params=[_query("after", note="the next cursor")])},
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
        **subscription_paths(),
        "/api/v1/stream": {"get": _op("server-sent events: the types of public events", {
            "200": {"description": "an event per public event: its type, never a case number",
                    "content": {"text/event-stream": {"schema": TEXT}}}},
            params=[_query("ticket", note="a stream ticket (POST /api/v1/stream/ticket)"),
                    {**_query("token", note="the bearer token: 1.0 clients only"),
                     "deprecated": True}],
            tag="supervision")},
    }  # fmt: skip


def subscription_paths() -> dict[str, Any]:
    return {
        "/api/v1/subscriptions": {
            "get": _op("your alert subscriptions", {"200": _json("subscriptions", {
                "type": "array", "items": SUBSCRIPTION})}, tag="supervision"),
            "post": _op("subscribe to alerts", {
                "201": _json("made", SUBSCRIPTION), "403": _error("not a supervisor"),
                **REMOTE_ERRORS, "404": _error("not found"),
                "422": _error("a field is missing or wrong")},
                {"$ref": REF.format(model="NewSubscription")}, tag="supervision")},
        "/api/v1/subscriptions/{subscription_id}": {"delete": _op("unsubscribe", {
            "204": {"description": "gone"},
            **REMOTE_ERRORS, "404": _error("no such subscription of yours")}, tag="supervision",
            params=[_path("subscription_id", {"type": "integer", "minimum": 0,
                                              "maximum": 2**63 - 1})])},
    }  # fmt: skip


def grid_paths(components: Components) -> dict[str, Any]:
    grid_unit = components.ref(GridUnit)
    return {
        "/api/v1/grid/units": {"get": _op("grid units by level and parent", {
            "200": _json("units", {"type": "array", "items": grid_unit})}, tag="grid",
            params=[_query("level", {"enum": LEVELS}), _query("parent"),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 5000})])},
        "/api/v1/grid/map": {"get": _op("unit outlines and the open cases within reach", {
            "200": _json("map", MAP), "422": _error("no such level")}, tag="grid",
            params=[_query("level", {"enum": LEVELS})])},
        **map_paths(components, _op, _json, _error, _path),
    }  # fmt: skip


def admin_paths(components: Components) -> dict[str, Any]:
    me = components.named("Me")
    return {
        "/api/v1/admin/users": {
            "get": _op("users", {"200": _json("users", {"type": "array", "items": me}),
                                 "403": _error("admins only"), "503": UNAVAILABLE},
                       tag="admin"),
            "post": _op("add a user", {
                "201": _json("user", me), "403": _error("admins only"),
                "409": _error("exists"), "422": _error("a field is wrong; its name first"),
                "503": UNAVAILABLE}, components.named("NewUser"), tag="admin")},
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
        **calendar_paths(_op, _json, _error),
    }  # fmt: skip


def operations_paths() -> dict[str, Any]:
    """The web UI, health, metrics and this document: open to anyone."""
    return {
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
        "/asyncapi.json": {"get": _op("the messages: AsyncAPI 3", {"200": _json("AsyncAPI 3", {
            "type": "object"})}, secured=False, tag="operations")},
    }  # fmt: skip


@cache
def document() -> dict[str, Any]:
    components = Components()
    own_schemas(components)
    paths: dict[str, Any] = {
        **who_paths(components), **case_paths(components), **action_paths(components),
        **supervision_paths(components), **grid_paths(components), **admin_paths(components),
        **notes_files_paths(components), **operations_paths(),
        **desk_account_paths(_op, _json, _error, _query), **leave_paths(_op, _json, _error, _path),
        **fairscore_paths(_op, _json, _error, _query, _path),
    }  # fmt: skip
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
        "components": {"schemas": components.schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }  # fmt: skip
