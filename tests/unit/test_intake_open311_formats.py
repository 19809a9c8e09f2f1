"""Open311 answers as the GeoReport v2 specification's XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from kernel.config import ConfigError
from services.intake import open311
from services.intake.open311_formats import discovery, errors_body, to_xml


def parsed(kind: str, body: object) -> ET.Element:
    document = to_xml(kind, body)
    assert document.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(document)


def test_services_are_a_list_of_service_elements() -> None:
    service = open311.Service("environment.noise", "噪声扰民", "environment", ("噪音", "施工"))
    root = parsed("services", [service.as_open311()])
    assert root.tag == "services"
    [element] = root
    assert element.tag == "service"
    assert element.findtext("service_code") == "environment.noise"
    assert element.findtext("service_name") == "噪声扰民"
    assert element.findtext("metadata") == "false"
    assert element.findtext("keywords") == "噪音,施工"
    assert element.findtext("group") == "environment"


def test_a_request_keeps_empty_fields_as_empty_elements_and_numbers_as_text() -> None:
    view = {"service_request_id": "CF261121-7K3QX9", "status": "open", "status_notes": None,
            "lat": 36.55, "long": 116.7, "media_url": None}  # fmt: skip
    root = parsed("requests", [view])
    assert root.tag == "service_requests"
    [request] = root
    assert request.tag == "request"
    assert [child.tag for child in request] == list(view)
    assert request.findtext("lat") == "36.55"
    status_notes = request.find("status_notes")
    assert status_notes is not None and status_notes.text is None


def test_text_is_escaped_not_spliced() -> None:
    root = parsed("requests", [{"description": "<b>油烟</b> & 噪声]]>"}])
    assert root.findtext("request/description") == "<b>油烟</b> & 噪声]]>"
    assert b"<b>" not in to_xml("requests", [{"description": "<b>"}])


def test_errors_are_the_specs_error_list() -> None:
    root = parsed("errors", errors_body(404, "service_code 'x' is not offered"))
    assert root.tag == "errors"
    [error] = root
    assert error.tag == "error"
    assert (error.findtext("code"), error.findtext("description")) == (
        "404",
        "service_code 'x' is not offered",
    )


def test_a_definition_a_receipt_and_a_token() -> None:
    definition = parsed("service_definition", {"service_code": "a.b", "attributes": []})
    assert definition.tag == "service_definition"
    assert definition.findtext("service_code") == "a.b"
    attributes = definition.find("attributes")
    assert attributes is not None and len(attributes) == 0
    posted = parsed("posted", [{"service_request_id": "CF1", "service_notice": "已受理",
                                "account_id": None}])  # fmt: skip
    assert posted.tag == "service_requests"
    assert posted.findtext("request/service_request_id") == "CF1"
    token = parsed("tokens", [{"service_request_id": "CF1", "token": "CF1"}])
    assert (token.tag, token.findtext("request/token")) == ("service_requests", "CF1")


def test_discovery_names_the_endpoint_and_its_formats() -> None:
    root = parsed("discovery", discovery("http://intake.example/open311/v2/"))
    assert root.tag == "discovery"
    [endpoint] = root.findall("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint.findtext("url") == "http://intake.example/open311/v2/"
    assert endpoint.findtext("type") == "production"
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]


def test_links_start_at_the_public_url_when_one_is_configured() -> None:
    host = "http://10.0.0.7:8000/"
    assert open311.base_url("", host) == host
    assert open311.base_url("", "http://10.0.0.7:8000") == host
    public = open311.public_url("https://12345.example.gov.cn/gateway")
    assert public == "https://12345.example.gov.cn/gateway/"
    assert open311.base_url(public, host) == public
    assert open311.public_url("") == ""


@pytest.mark.parametrize(
    "wrong", ["12345.example.gov.cn", "ftp://files.example/", "https://", "https://h/?a=1"]
)
def test_a_public_url_that_is_not_an_http_address_is_refused_at_start(wrong: str) -> None:
    with pytest.raises(ConfigError, match="INTAKE_PUBLIC_URL"):
        open311.public_url(wrong)
