"""The Open311 GeoReport v2 part of intake's OpenAPI document: every resource under its
``.json`` and its ``.xml`` path, errors as the spec's error list in the asked format."""

from __future__ import annotations

import copy
from typing import Any

from services.intake.openapi_common import (
    CASE_ID,
    PHONE_NOTE,
    PHONE_PATTERN,
    TEXT_NOTE,
    Components,
)

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
OPEN311_MULTIPART = {
    **OPEN311_FORM,
    "properties": {
        **OPEN311_FORM["properties"],  # type: ignore[dict-item]
        "media": {"type": "string", "format": "binary",
                  "description": "a photo: JPEG, PNG or WebP by its content, at most 10 MiB"},
    },
}  # fmt: skip
OPEN311_DISCOVERY = {
    "type": "object",
    "required": ["changeset", "contact", "key_service", "endpoints"],
    "properties": {
        "changeset": {"type": "string"}, "contact": {"type": "string"},
        "key_service": {"type": "string"},
        "endpoints": {"type": "array", "items": {
            "type": "object",
            "required": ["specification", "url", "changeset", "type", "formats"],
            "properties": {
                "specification": {"type": "string"}, "url": {"type": "string"},
                "changeset": {"type": "string"}, "type": {"enum": ["production", "test"]},
                "formats": {"type": "array", "items": {"type": "string"}}}}},
    },
}  # fmt: skip
OPEN311_TOKEN = {
    "type": "object",
    "required": ["service_request_id", "token"],
    "properties": {"service_request_id": {"type": "string"}, "token": {"type": "string"}},
    "additionalProperties": False,
}
XML = {"text/xml": {"schema": {"type": "string", "description": "the spec's XML form"}}}
JURISDICTION = {
    "name": "jurisdiction_id", "in": "query", "required": False,
    "description": "accepted and ignored: intake serves one county",
    "schema": {"type": "string"},
}  # fmt: skip
KEYED: list[dict[str, list[str]]] = [{"open311_key": []}]
MOMENT = {"type": "string", "format": "date-time"}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}  # fmt: skip


def _service_paths(components: Components) -> dict[str, Any]:
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


def _request_paths(components: Components, unavailable: dict[str, Any]) -> dict[str, Any]:
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


def _discovery_paths(components: Components) -> dict[str, Any]:
    answer = components.answer
    return {
        "/open311/v2/discovery.json": {"get": {
            "operationId": "open311_discovery", "tags": ["open311"],
            "summary": "where and how this Open311 endpoint is reached",
            "responses": {"200": answer("discovery", schema=OPEN311_DISCOVERY)}}},
        "/open311/v2/tokens/{token}.json": {"get": {
            "operationId": "open311_token", "tags": ["open311"],
            "summary": "a token's service request: the token is the service_request_id "
                       "our POST answers", "security": KEYED,
            "parameters": [{"name": "token", "in": "path", "required": True,
                            "schema": CASE_ID}],
            "responses": {
                "200": answer("the request's id", schema={
                    "type": "array", "items": OPEN311_TOKEN, "minItems": 1, "maxItems": 1}),
                "403": answer("invalid api_key", schema=OPEN311_ERRORS),
                "404": answer("no such request of this source", schema=OPEN311_ERRORS)}}},
        "/open311/v2/media/{name}": {"get": {
            "operationId": "open311_media", "tags": ["open311"],
            "summary": "a request's photo, where its media_url points",
            "parameters": [{"name": "name", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[^/]+$"}}],
            "responses": {"200": {"description": "the photo", "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in ("image/jpeg", "image/png", "image/webp")}}}}},
    }  # fmt: skip


def _as_xml(operation: dict[str, Any]) -> dict[str, Any]:
    """The ``.xml`` twin of a ``.json`` operation: the same, answering the spec's XML."""
    twin = copy.deepcopy(operation)
    twin["operationId"] += "_xml"
    for answer in twin["responses"].values():
        if "application/json" in answer.get("content", {}) and "headers" not in answer:
            answer["content"] = copy.deepcopy(XML)
    return twin


def open311_paths(components: Components, unavailable: dict[str, Any]) -> dict[str, Any]:
    """Every Open311 resource, by ``.json`` and ``.xml``; ``jurisdiction_id`` on each."""
    paths: dict[str, Any] = {
        **_discovery_paths(components),
        **_service_paths(components),
        **_request_paths(components, unavailable),
    }
    post = paths["/open311/v2/requests.json"]["post"]
    post["requestBody"]["content"]["multipart/form-data"] = {"schema": OPEN311_MULTIPART}
    refused = components.answer
    post["responses"]["413"] = refused("media over 10 MiB", schema=OPEN311_ERRORS)
    post["responses"]["415"] = refused("media not a JPEG, PNG or WebP photo",
                                       schema=OPEN311_ERRORS)  # fmt: skip
    for body in post["requestBody"]["content"].values():
        body["schema"] = {
            **body["schema"],
            "properties": {**body["schema"]["properties"], "jurisdiction_id": {"type": "string"}},
        }
    answered: dict[str, Any] = {}
    for template, item in paths.items():
        for method, operation in item.items():
            if method == "get" and operation["operationId"] != "open311_media":
                operation.setdefault("parameters", []).append(JURISDICTION)
        answered[template] = item
        if template.endswith(".json"):
            twin = template.removesuffix(".json") + ".xml"
            answered[twin] = {method: _as_xml(op) for method, op in item.items()}
    return answered
