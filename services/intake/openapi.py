"""The OpenAPI 3.1 document of intake's HTTP API, generated from the contracts so it cannot
drift from what the service validates and answers.

Request bodies are the contracts' own JSON schemas; what pydantic validates in code rather
than in the schema (a phone number's form, text cleaned of control characters before its
length is checked, a time that must exist in UTC) is added here or said in a description,
so that a client, or a fuzzer, that keeps to the document gets its matter accepted."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from functools import cache
from typing import Any

from contracts.inbound import LINES, Accepted, Errors, SourceCaseView
from kit.web import RETRY_AFTER_HEADER
from services.intake.open311_openapi import open311_paths
from services.intake.openapi_common import (
    CASE_ID,
    PHONE_NOTE,
    PHONE_PATTERN,
    TEXT_NOTE,
    Components,
)

SIGNED: list[dict[str, list[str]]] = [{"source": [], "timestamp": [], "signature": []}]
ERRORS = {
    "400": "not JSON",
    "401": "unknown source, bad signature or stale timestamp",
    "403": "the source may not submit on this line",
    "413": "body over 256 KiB",
    "415": "not application/json",
    "422": "schema errors, every field listed",
    "503": "temporarily unable to store; retry",
}
OCCURRED_NOTE = "ISO 8601 with a zone, from 1900 up to 2200 (UTC)."
HEALTH = {
    "type": "object",
    "required": ["status", "service", "checks"],
    "properties": {
        "status": {"enum": ["ok", "degraded"]},
        "service": {"type": "string"},
        "checks": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


UNROUTED = "; also a URL that no route matches (a slash or a line break within a segment)"


def unrouted(paths: dict[str, Any], not_found: dict[str, Any]) -> None:
    """Where a path has parameters, its 404 may also come from the routing, before any
    handler is reached: in the kit's error shape, even under Open311's own."""
    routed = not_found["content"]["application/json"]
    for template, item in paths.items():
        if "{" not in template:
            continue
        for operation in item.values():
            answer = operation["responses"].setdefault("404", copy.deepcopy(not_found))
            answer["description"] += UNROUTED
            media = answer["content"].setdefault("application/json", copy.deepcopy(routed))
            if media["schema"] != routed["schema"]:
                media["schema"] = {"anyOf": [media["schema"], routed["schema"]]}


def _subschemas(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        yield schema
        for value in schema.values():
            yield from _subschemas(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _subschemas(item)


def _strings(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The string branches of a property (``str``, or ``str | None`` as ``anyOf``)."""
    for branch in [schema, *schema.get("anyOf", [])]:
        if branch.get("type") == "string":
            yield branch


def precise(schemas: dict[str, Any]) -> None:
    """Say in the schemas what the contracts check in code: phones, cleaned text, times."""
    for schema in _subschemas(schemas):
        for name, prop in (schema.get("properties") or {}).items():
            for text in _strings(prop):
                if name == "phone":
                    text.update(pattern=PHONE_PATTERN, description=PHONE_NOTE)
                elif text.get("format") == "date-time":
                    text["description"] = OCCURRED_NOTE
                elif "minLength" in text and "pattern" not in text:
                    text.update(pattern=r"\S", description=TEXT_NOTE)


STATUS_LINK = {
    "get_case": {
        "operationId": "get_case",
        "parameters": {"case_id": "$response.body#/case_id"},
        "description": "the case as the source sees it afterwards",
    }
}
SECURITY_SCHEMES = {
    "source": {"type": "apiKey", "in": "header", "name": "X-Source"},
    "timestamp": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Timestamp",
        "description": "unix seconds, at most 300 s from intake's clock",
    },
    "signature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Signature",
        "description": 'sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>',
    },
    "open311_key": {"type": "apiKey", "in": "query", "name": "api_key"},
}
INFO = {
    "title": "civicflow intake",
    "version": "1.0.0",
    "description": "Where the four lines (12345 hotline, grid, public opinion, "
    "petition) hand their matters over; and Open311 GeoReport v2 under /open311/v2/, "
    "its answers and errors shaped as that specification says.",
}
TAGS = [
    {"name": "lines", "description": "the four lines, signed per source"},
    {"name": "open311", "description": "Open311 GeoReport v2, keyed per source"},
    {"name": "operations", "description": "health, metrics, this document"},
]


def line_paths(components: Components, errors: dict[str, Any]) -> dict[str, Any]:
    """A submission per line, and a source's own case afterwards."""
    paths: dict[str, Any] = {}
    for line in LINES:
        accepted = components.answer("received as a new case", Accepted)
        again = components.answer("already received: the same case", Accepted)
        paths[line.path] = {
            "post": {
                "operationId": f"submit_{line.channel}",
                "summary": f"Hand over a matter on the {line.channel} line",
                "tags": ["lines"],
                "security": SIGNED,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": components.ref(line.model)}},
                },
                "responses": {
                    "202": {**accepted, "links": STATUS_LINK},
                    "200": {**again, "links": STATUS_LINK},
                    **errors,
                },
            }
        }
    paths["/api/v1/cases/{case_id}"] = {
        "get": {
            "operationId": "get_case",
            "summary": "A source's own case: status, assignee, deadlines, timeline",
            "description": "Signed like a submission, over an empty body.",
            "tags": ["lines"],
            "security": SIGNED,
            "parameters": [{"name": "case_id", "in": "path", "required": True, "schema": CASE_ID}],
            "responses": {
                "200": components.answer("the case", SourceCaseView),
                "401": errors["401"],
                "404": components.answer("no such case of this source", Errors),
                "503": errors["503"],
            },
        }
    }
    return paths


def operations_paths(components: Components) -> dict[str, Any]:
    """Health, metrics and this document."""
    answer = components.answer
    return {
        "/healthz": {"get": {
            "operationId": "healthz", "tags": ["operations"],
            "responses": {
                "200": answer("ok", schema=HEALTH),
                "503": answer("degraded: the database does not answer", schema=HEALTH)}}},
        "/metrics": {"get": {
            "operationId": "metrics", "tags": ["operations"],
            "responses": {"200": answer("Prometheus text", schema={"type": "string"},
                                        media="text/plain")}}},
        "/openapi.json": {"get": {
            "operationId": "openapi", "tags": ["operations"],
            "responses": {"200": answer("this document", schema={"type": "object"})}}},
        "/asyncapi.json": {"get": {
            "operationId": "asyncapi", "tags": ["operations"],
            "responses": {"200": answer("the AsyncAPI 3 document of the messages",
                                        schema={"type": "object"})}}},
    }  # fmt: skip


@cache
def document() -> dict[str, Any]:
    components = Components()
    errors = {code: components.answer(text, Errors) for code, text in ERRORS.items()}
    errors["503"]["headers"] = RETRY_AFTER_HEADER
    paths: dict[str, Any] = {
        **line_paths(components, errors),
        **open311_paths(components, errors["503"]),
        **operations_paths(components),
    }
    precise(components.schemas)
    unrouted(paths, components.answer("not found", Errors))
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "tags": TAGS,
        "paths": paths,
        "components": {"schemas": components.schemas, "securitySchemes": SECURITY_SCHEMES},
    }
