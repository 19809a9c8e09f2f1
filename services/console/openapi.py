"""The OpenAPI 3.1 document of the console's staff API, its case schema taken from the contract
the API answers with."""

from __future__ import annotations

from functools import cache
from typing import Any

from contracts.rpc import CasePage, CaseView, OrderReply, OrderRequest

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
ERRORS = {
    "401": "no token, or a forged or expired one",
    "404": "no such case within your reach",
}


def _op(
    summary: str,
    answers: dict[str, Any],
    body: dict[str, Any] | None = None,
    secured: bool = True,
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": answers}
    if secured:
        operation["security"] = BEARER
        operation["responses"] = {"401": _error(ERRORS["401"]), **answers}
    if body is not None:
        content = {"application/json": {"schema": body}}
        operation["requestBody"] = {"required": True, "content": content}
    if params:
        operation["parameters"] = params
    return operation


def _errors() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    if schema is not None:
        answer["content"] = {"application/json": {"schema": schema}}
    return answer


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _errors()}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}}


OBJECT = {"type": "object"}
LIST = {"type": "array", "items": {"type": "object"}}
CASE = {"$ref": "#/components/schemas/CaseView"}


@cache
def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in (CaseView, CasePage, OrderRequest, OrderReply):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    schemas["Errors"] = {
        "type": "object", "required": ["errors"],
        "properties": {"errors": {"type": "array", "items": {
            "type": "object", "required": ["loc", "msg"],
            "properties": {"loc": {"type": "array"}, "msg": {"type": "string"}}}}},
    }  # fmt: skip
    text = {"type": "string"}
    login = {"type": "object", "required": ["username", "password"],
             "properties": {"username": text, "password": text}}  # fmt: skip
    action = {"type": "object", "description": "the action's fields (reason, note, result, …)"}
    case_id = [_path("case_id")]
    return {
        "openapi": "3.1.0",
        "info": {"title": "civicflow console", "version": "1",
                 "description": "The staff API of the centre (综治中心): cases within "
                 "each user's reach, every lifecycle action, 督办, the board, assessment."},
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/api/v1/auth/login": {"post": _op("log in: a bearer token", {
                "200": _json("the token and who you are", OBJECT),
                "401": _error("wrong username or password"),
                "422": _error("username or password missing"),
                "429": _error("too many failed logins; see Retry-After")}, login, secured=False)},
            "/api/v1/me": {"get": _op("who you are", {"200": _json("user", OBJECT)})},
            "/api/v1/cases": {"get": _op("cases within your reach, newest first", {
                "200": _json("a page", {"$ref": "#/components/schemas/CasePage"})},
                params=[_query("status"), _query("channel"), _query("risk"), _query("mine"),
                        _query("page", "integer"), _query("page_size", "integer")])},
            "/api/v1/cases/dispatch": {"post": _op("one click for many", {
                "200": _json("an answer per case", LIST), "403": _error("not an operator"),
                "422": _error("case_ids missing")}, OBJECT)},
            "/api/v1/cases/{case_id}": {"get": _op("a case and its timeline", {
                "200": _json("the case", CASE), "404": _error("no such case within reach")},
                params=case_id)},
            "/api/v1/cases/{case_id}/contact": {"get": _op(
                "the citizen's number, for the unit holding the case (audited)",
                {"200": _json("phone", OBJECT), "404": _error("nothing to show you")},
                params=case_id)},
            "/api/v1/cases/{case_id}/supervise": {"post": _op("督办", {
                "201": _json("the order", OBJECT), "403": _error("not a supervisor"),
                "404": _error("no such case within reach"), "422": _error("bad order")},
                {"$ref": "#/components/schemas/OrderRequest"}, params=case_id)},
            "/api/v1/cases/{case_id}/{action}": {"post": _op("a lifecycle action", {
                "200": _json("the case after it", CASE), "403": _error("not for your role"),
                "404": _error("no such case or action"),
                "409": _error("not now: the case's status and allowed actions"),
                "422": _error("a field is missing or wrong")}, action,
                params=[*case_id, _path("action")])},
            "/api/v1/orders/{order_id}/reply": {"post": _op("answer a 督办 order", {
                "200": _json("the order", OBJECT), "404": _error("no such order"),
                "409": _error("answered already")},
                {"$ref": "#/components/schemas/OrderReply"}, params=[_path("order_id")])},
            "/api/v1/board": {"get": _op("超时看板", {"200": _json("board", OBJECT)})},
            "/api/v1/screen": {"get": _op("中心大屏", {"200": _json("figures", OBJECT)})},
            "/api/v1/assessment": {"get": _op("一单考评", {
                "200": _json("a row per unit", LIST), "403": _error("not for your role"),
                "422": _error("a period like 2026-11")},
                params=[_query("period"), _query("kind")])},
            "/api/v1/grid/units": {"get": _op("grid units", {"200": _json("units", LIST)},
                params=[_query("level"), _query("parent"), _query("limit", "integer")])},
            "/api/v1/grid/map": {"get": _op("unit outlines and open cases", {
                "200": _json("map", OBJECT), "422": _error("no such level")},
                params=[_query("level")])},
            "/api/v1/subscriptions": {
                "get": _op("your alert subscriptions", {"200": _json("list", LIST)}),
                "post": _op("subscribe to alerts", {"201": _json("made", OBJECT),
                            "403": _error("not a supervisor"), "422": _error("bad fields")},
                            OBJECT)},
            "/api/v1/stream": {"get": _op("server-sent events: public event types",
                {"200": {"description": "text/event-stream"}}, params=[_query("token")])},
            "/api/v1/admin/users": {
                "get": _op("users", {"200": _json("users", LIST), "403": _error("admins only")}),
                "post": _op("add a user", {"201": _json("user", OBJECT),
                            "403": _error("admins only"), "409": _error("exists"),
                            "422": _error("bad fields")}, OBJECT)},
            "/api/v1/admin/config": {"get": _op("configuration, read-only", {
                "200": _json("files", OBJECT), "403": _error("admins only")})},
            "/api/v1/admin/sources": {"get": _op("registered sources", {
                "200": _json("sources", LIST), "403": _error("admins only")})},
        },
    }  # fmt: skip
