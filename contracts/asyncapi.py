"""The AsyncAPI 3 document of the platform's messages, generated from the contracts: the four
lines on ``civicflow.inbound`` and every public event on ``civicflow.events`` (channel, routing
key, payload schema). Served as ``GET /asyncapi.json`` by intake and the console; an event is
documented here by being in the catalogue, before anything publishes it."""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from contracts.common import SCHEMA_VERSION
from contracts.events import CATALOGUE, PUBLIC_EXCHANGE, EventSpec
from contracts.inbound import INBOUND_EXCHANGE, LINES, InboundLine

VERSION: Final = "3.0.0"
REFS: Final = "#/components/schemas/{model}"


def _exchange(name: str) -> dict[str, Any]:
    return {"amqp": {"is": "routingKey", "bindingVersion": "0.3.0",
                     "exchange": {"name": name, "type": "topic", "durable": True,
                                  "autoDelete": False}}}  # fmt: skip


def _key(text: str) -> str:
    """A component key AsyncAPI accepts (letters, digits, ``.``, ``-``, ``_``)."""
    return text.replace(".", "_")


@cache
def document() -> dict[str, Any]:
    events = [spec for spec in CATALOGUE.values() if spec.public]
    models: list[type[BaseModel]] = [line.model for line in LINES]
    models += [spec.envelope for spec in events]
    names, schemas = models_json_schema([(m, "validation") for m in models], ref_template=REFS)
    refs = {model: names[(model, "validation")]["$ref"] for model in models}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for line in LINES:
        _inbound(line, refs[line.model], channels, operations, messages)
    for spec in events:
        _event(spec, refs[spec.envelope], channels, operations, messages)
    return {
        "asyncapi": VERSION,
        "info": {"title": "civicflow messages", "version": str(SCHEMA_VERSION),
                 "description": "What the four lines hand over on civicflow.inbound, and the "
                 "public events on civicflow.events (JSON, topic exchanges, routing key = type). "
                 "Events are facts in the past tense; a 1.0 form never changes, a newer minor "
                 "version only adds fields."},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas.get("$defs", {})},
    }  # fmt: skip


def _inbound(
    line: InboundLine, ref: str, channels: dict[str, Any], operations: dict[str, Any],
    messages: dict[str, Any],
) -> None:  # fmt: skip
    key = _key(f"inbound.{line.routing_key}")
    messages[key] = {"name": line.routing_key, "title": f"{line.channel} line",
                     "payload": {"$ref": ref}}  # fmt: skip
    channels[key] = {"address": line.routing_key, "bindings": _exchange(INBOUND_EXCHANGE),
                     "messages": {key: {"$ref": f"#/components/messages/{key}"}}}  # fmt: skip
    operations[f"receive_{key}"] = {"action": "receive",
                                    "channel": {"$ref": f"#/channels/{key}"},
                                    "summary": f"intake takes a matter of the {line.channel} line "
                                    f"(also POST {line.path})"}  # fmt: skip


def _event(
    spec: EventSpec[Any], ref: str, channels: dict[str, Any], operations: dict[str, Any],
    messages: dict[str, Any],
) -> None:  # fmt: skip
    key = _key(spec.type)
    summary = (spec.data.__doc__ or spec.type).strip().splitlines()[0]
    messages[key] = {"name": spec.type, "title": spec.type, "summary": summary,
                     "payload": {"$ref": ref}}  # fmt: skip
    channels[key] = {"address": spec.type, "bindings": _exchange(PUBLIC_EXCHANGE),
                     "messages": {key: {"$ref": f"#/components/messages/{key}"}}}  # fmt: skip
    operations[f"publish_{key}"] = {"action": "send", "channel": {"$ref": f"#/channels/{key}"},
                                    "summary": f"{spec.source} publishes {spec.type}"}  # fmt: skip
