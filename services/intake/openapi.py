"""The OpenAPI 3.1 document of intake's HTTP API, generated from the contracts so it cannot
drift from what the service validates and answers."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from contracts.inbound import LINES, Accepted, Errors, SourceCaseView

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


@cache
def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    def answer(description: str, model: type[BaseModel] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"description": description}
        if model is not None:
            body["content"] = {"application/json": {"schema": ref(model)}}
        return body

    errors = {code: answer(text, Errors) for code, text in ERRORS.items()}
    paths: dict[str, Any] = {}
    for line in LINES:
        paths[line.path] = {
            "post": {
                "operationId": f"submit_{line.channel}",
                "summary": f"Hand over a matter on the {line.channel} line",
                "security": SIGNED,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref(line.model)}},
                },
                "responses": {
                    "202": answer("received as a new case", Accepted),
                    "200": answer("already received: the same case", Accepted),
                    **errors,
                },
            }
        }
    paths["/api/v1/cases/{case_id}"] = {
        "get": {
            "operationId": "get_case",
            "summary": "A source's own case: status, assignee, deadlines, timeline",
            "description": "Signed like a submission, over an empty body.",
            "security": SIGNED,
            "parameters": [
                {"name": "case_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": answer("the case", SourceCaseView),
                "401": errors["401"],
                "404": answer("no such case of this source", Errors),
            },
        }
    }
    paths["/healthz"] = {"get": {"operationId": "healthz", "responses": {"200": answer("ok")}}}
    paths["/metrics"] = {
        "get": {"operationId": "metrics", "responses": {"200": answer("Prometheus text format")}}
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "civicflow intake",
            "version": "1.0.0",
            "description": "Where the four lines (12345 hotline, grid, public opinion, "
            "petition) hand their matters over. Open311 GeoReport v2 is served under "
            "/open311/v2/ as its own specification describes.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "source": {"type": "apiKey", "in": "header", "name": "X-Source"},
                "timestamp": {"type": "apiKey", "in": "header", "name": "X-Timestamp"},
                "signature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Signature",
                    "description": 'sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>',
                },
            },
        },
    }
