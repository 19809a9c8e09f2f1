"""Open311 answers in the format the client asks for by the resource's extension: JSON, or the
GeoReport v2 specification's XML (``<services><service>…``, ``<service_requests><request>…``,
``<discovery>…``, ``<errors><error>…``). Pure: built with ``xml.etree.ElementTree``, never by
hand, so every value is escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any, Final, Literal

Format = Literal["json", "xml"]
FORMATS: Final[tuple[Format, ...]] = ("json", "xml")
XML_MEDIA_TYPE: Final = "text/xml; charset=utf-8"

ITEM_OF: Final = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}
"""The element a list's items are written as, by the list's own element (the spec's names)."""

ROOT_OF: Final = {
    "services": "services",
    "service_definition": "service_definition",
    "requests": "service_requests",
    "tokens": "service_requests",
    "posted": "service_requests",
    "discovery": "discovery",
    "errors": "errors",
}
"""The root element of each kind of answer."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):  # before int: a bool is one
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for name, child in value.items():
            _fill(ET.SubElement(element, name), child)
    elif isinstance(value, list | tuple):
        item = ITEM_OF.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, item), child)
    else:
        element.text = _text(value)


def to_xml(kind: str, body: Any) -> bytes:
    """``body`` (the JSON form of an answer of ``kind``) as the spec's XML document."""
    root = ET.Element(ROOT_OF[kind])
    _fill(root, body)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def errors_body(code: int, description: str) -> list[dict[str, Any]]:
    """The spec's error list: ``[{"code", "description"}]``."""
    return [{"code": code, "description": description}]


SPECIFICATION: Final = "http://wiki.open311.org/GeoReport_v2"
CHANGESET: Final = "2026-12-07T00:00:00+08:00"
"""When the endpoint last changed in a way a client would notice (the spec's ``changeset``)."""


def discovery(base_url: str) -> dict[str, Any]:
    """``discovery``: the one production endpoint, in both formats."""
    return {
        "changeset": CHANGESET,
        "contact": "县社会治理中心 12345 热线",
        "key_service": "api_key per source, issued by the centre (sources.yml)",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
