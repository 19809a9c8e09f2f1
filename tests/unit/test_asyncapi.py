"""The AsyncAPI document is generated from the contracts: every public event and every inbound
line has its channel, routing key and payload schema, the leave events of AB岗 among them, and
every schema is valid JSON Schema whose references resolve."""

from __future__ import annotations

import json
import re

from jsonschema import Draft202012Validator

from contracts.asyncapi import document
from contracts.events import PUBLIC_EXCHANGE, PUBLIC_TYPES
from contracts.inbound import INBOUND_EXCHANGE, LINES

DOC = document()


def test_every_public_event_has_its_channel_on_the_public_exchange() -> None:
    addressed = {
        channel["address"]: channel["bindings"]["amqp"]["exchange"]["name"]
        for channel in DOC["channels"].values()
    }
    assert {t: addressed[t] for t in PUBLIC_TYPES} == dict.fromkeys(PUBLIC_TYPES, PUBLIC_EXCHANGE)
    assert {line.routing_key: INBOUND_EXCHANGE for line in LINES}.items() <= addressed.items()
    assert {"staff.leave_recorded", "staff.leave_cancelled"} <= set(addressed)
    assert "case.awaiting_dispatch" not in addressed  # internal: not on civicflow.events


def test_a_message_s_payload_is_its_envelope_with_the_event_s_data() -> None:
    schemas = DOC["components"]["schemas"]
    message = DOC["components"]["messages"]["staff_leave_recorded"]
    envelope = schemas[message["payload"]["$ref"].rsplit("/", 1)[1]]
    assert set(envelope["required"]) >= {"event_id", "type", "occurred_at", "data"}
    data = schemas[envelope["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
    assert set(data["required"]) == {"leave_id", "person", "starts", "ends", "by"}
    assert "reason" not in data["properties"]  # the reason stays in the console


def test_every_reference_resolves_and_every_schema_is_valid() -> None:
    text = json.dumps(DOC)
    for ref in set(re.findall(r'"\$ref": "#/([^"]+)"', text)):
        node = DOC
        for step in ref.split("/"):
            node = node[step]
    for schema in DOC["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    assert DOC["asyncapi"] == "3.0.0"
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", key) for key in DOC["components"]["schemas"])
    for name, operation in DOC["operations"].items():
        assert operation["action"] in ("send", "receive"), name
