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

from pydantic import BaseModel

from contracts.inbound import LINES, Accepted, Errors, SourceCaseView
from kit.web import RETRY_AFTER_HEADER

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
PHONE_PATTERN = r"^(?:\+86|0086)?(?:1[3-9][0-9]{9}|0[0-9]{9,11})$"
PHONE_NOTE = (
    "A mainland mobile (1[3-9] and 9 digits) or landline (0 and 9 to 11 digits) number; "
    "spaces, dashes, parentheses and full-width digits are tolerated and removed."
)
TEXT_NOTE = (
    "Cleaned before it is measured: NFKC-normalised, control and zero-width characters "
    "removed, trimmed."
)
OCCURRED_NOTE = "ISO 8601 with a zone, from 1900 up to 2200 (UTC)."
CASE_ID = {
    "type": "string",
    "pattern": "^[^/]+$",
    "description": "a case number intake gave, such as CF261121-7K3QX9",
}
OPEN311_ERRORS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
        "additionalProperties": False,
    },
}
OPEN311_SERVICE = {
    "type": "object",
    "required": ["service_code", "service_name", "description", "metadata", "type", "keywords",
                 "group"],
    "properties": {
        "service_code": {"type": "string"}, "service_name": {"type": "string"},
        "description": {"type": "string"}, "metadata": {"type": "boolean"},
        "type": {"enum": ["realtime", "batch", "blackbox"]}, "keywords": {"type": "string"},
        "group": {"type": "string"},
    },
    "additionalProperties": False,
}  # fmt: skip
NULLABLE_TEXT = {"type": ["string", "null"]}
OPEN311_REQUEST = {
    "type": "object",
    "required": ["service_request_id", "status", "requested_datetime", "updated_datetime"],
    "properties": {
        "service_request_id": {"type": "string"}, "status": {"enum": ["open", "closed"]},
        "status_notes": NULLABLE_TEXT, "service_name": NULLABLE_TEXT,
        "service_code": NULLABLE_TEXT, "description": NULLABLE_TEXT,
        "agency_responsible": NULLABLE_TEXT, "service_notice": NULLABLE_TEXT,
        "requested_datetime": {"type": "string", "format": "date-time"},
        "updated_datetime": {"type": "string", "format": "date-time"},
        "expected_datetime": NULLABLE_TEXT, "address": NULLABLE_TEXT,
        "address_id": NULLABLE_TEXT, "zipcode": NULLABLE_TEXT,
        "lat": {"type": ["number", "null"]}, "long": {"type": ["number", "null"]},
        "media_url": NULLABLE_TEXT,
    },
    "additionalProperties": False,
}  # fmt: skip
OPEN311_POSTED = {
    "type": "object",
    "required": ["service_request_id", "service_notice", "account_id"],
    "properties": {
        "service_request_id": {"type": "string"}, "service_notice": {"type": "string"},
        "account_id": {"type": "null"},
    },
    "additionalProperties": False,
}  # fmt: skip
OPEN311_FORM = {
    "type": "object",
    "required": ["api_key", "service_code", "phone", "description"],
    "description": "A location is required: lat and long, or address_string. The caller's "
    "phone and the description are required here, as a 12345 ticket needs them; the names "
    "joined are at most 200 characters.",
    "properties": {
        "api_key": {"type": "string", "description": "the source's Open311 key"},
        "service_code": {"type": "string", "description": "a code of services.json"},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
        "address_string": {"type": "string", "minLength": 1, "maxLength": 500},
        "first_name": {"type": "string", "maxLength": 99},
        "last_name": {"type": "string", "maxLength": 100},
        "phone": {"type": "string", "pattern": PHONE_PATTERN, "description": PHONE_NOTE},
        "description": {"type": "string", "minLength": 1, "maxLength": 4000,
                        "description": TEXT_NOTE},
    },
}  # fmt: skip
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
            media = answer["content"]["application/json"]
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


class Components:
    """The schemas of the document, gathered as the answers name them."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        self.schemas.update(schema.pop("$defs", {}))
        self.schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    def answer(
        self,
        description: str,
        model: type[BaseModel] | None = None,
        schema: dict[str, Any] | None = None,
        media: str = "application/json",
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"description": description}
        if model is not None:
            schema = self.ref(model)
        if schema is not None:
            body["content"] = {media: {"schema": schema}}
        return body


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
        **open311_service_paths(components),
        **open311_request_paths(components, errors["503"]),
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


KEYED: list[dict[str, list[str]]] = [{"open311_key": []}]
MOMENT = {"type": "string", "format": "date-time"}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}  # fmt: skip


def open311_service_paths(components: Components) -> dict[str, Any]:
    """``/open311/v2/services``: the categories offered as services."""
    answer = components.answer
    return {
        "/open311/v2/services.json": {"get": {
            "operationId": "open311_services", "tags": ["open311"],
            "summary": "the services offered: one per category",
            "responses": {"200": answer("services", schema={"type": "array",
                                                             "items": OPEN311_SERVICE})}}},
        "/open311/v2/services/{service_code}.json": {"get": {
            "operationId": "open311_service", "tags": ["open311"],
            "summary": "a service's definition: no extra attributes are asked for",
            "parameters": [{"name": "service_code", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[^/]+$"}}],
            "responses": {
                "200": answer("definition", schema={
                    "type": "object", "required": ["service_code", "attributes"],
                    "properties": {"service_code": {"type": "string"},
                                   "attributes": {"type": "array", "maxItems": 0}},
                    "additionalProperties": False}),
                "404": answer("service_code is not offered", schema=OPEN311_ERRORS)}}},
    }  # fmt: skip


def open311_request_paths(components: Components, unavailable: dict[str, Any]) -> dict[str, Any]:
    """``/open311/v2/requests``: errors are Open311's ``[{"code", "description"}]``."""

    def refused(description: str) -> dict[str, Any]:
        return components.answer(description, schema=OPEN311_ERRORS)

    answer, wrong_key = components.answer, refused("invalid api_key, or a key that may not submit")
    return {
        "/open311/v2/requests.json": {
            "post": {
                "operationId": "open311_post_request", "tags": ["open311"],
                "summary": "file a service request: it enters as a 12345 hotline ticket",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                "description": "the same key again answers the same request",
                                "schema": {"type": "string", "pattern": r"^[\w.:/-]{1,59}$"}}],
                "requestBody": {"required": True, "content": {
                    "application/x-www-form-urlencoded": {"schema": OPEN311_FORM}}},
                "responses": {
                    "200": answer("the request made", schema={"type": "array",
                                                               "items": OPEN311_POSTED}),
                    "400": refused("a field is missing or wrong"),
                    "403": wrong_key, "404": refused("service_code is not offered"),
                    "503": unavailable}},
            "get": {
                "operationId": "open311_requests", "tags": ["open311"],
                "summary": "this source's service requests", "security": KEYED,
                "parameters": [
                    _query("service_request_id", "comma-separated ids"),
                    _query("service_code", "comma-separated codes"),
                    _query("start_date", "ISO 8601 with a zone", MOMENT),
                    _query("end_date", "ISO 8601 with a zone", MOMENT),
                    _query("status", "open, closed, or both comma-separated",
                           {"type": "string", "pattern": "^(open|closed)(,(open|closed))*$"})],
                "responses": {
                    "200": answer("requests", schema={"type": "array",
                                                      "items": OPEN311_REQUEST}),
                    "400": refused("a filter is wrong"), "403": wrong_key,
                    "503": unavailable}}},
        "/open311/v2/requests/{service_request_id}.json": {"get": {
            "operationId": "open311_request", "tags": ["open311"],
            "summary": "one of this source's service requests", "security": KEYED,
            "parameters": [{"name": "service_request_id", "in": "path", "required": True,
                            "schema": CASE_ID}],
            "responses": {
                "200": answer("the request", schema={"type": "array", "items": OPEN311_REQUEST,
                                                     "minItems": 1, "maxItems": 1}),
                "403": wrong_key, "404": refused("no such request of this source"),
                "503": unavailable}}},
    }  # fmt: skip
