"""The Aliyun and Tencent Cloud SMS adapters against local fakes that verify every request as
the providers do, the signing functions against the providers' published worked examples,
and the callback parsers against real-looking bodies."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from services.notify.gateways import aliyun_sms, tencent_sms
from services.notify.gateways.aliyun_sms import (
    AliyunSmsConfig,
    AliyunSmsGateway,
    aliyun_signature,
    canonical_query,
    percent_encode,
    string_to_sign,
)
from services.notify.gateways.base import Gateway, GatewayError, Message
from services.notify.gateways.tencent_sms import (
    TencentSmsConfig,
    TencentSmsGateway,
    tc3_authorization,
    tc3_canonical_request,
    tc3_signature,
    tc3_string_to_sign,
)
from tests.support.fake_sms import (
    PASS,
    FakeAliyunSms,
    FakeTencentSms,
    Scripted,
    aliyun_error,
    aliyun_expected_signature,
    aliyun_throttled,
    http_error,
    slow,
    tencent_error,
    tencent_expected_signature,
    tencent_throttled,
)

BEIJING = ZoneInfo("Asia/Shanghai")
PHONE = "13800138000"
SIGN = "县综治中心"


_OPEN: list[AliyunSmsGateway | TencentSmsGateway] = []


@pytest.fixture(autouse=True)
def _close_gateways() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def refused(gateway: Gateway, message: Message) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        gateway.send(message)
    return caught.value


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- Aliyun: signing against the documented example -----------------------------------------

# The worked example of Aliyun's SMS "签名机制" page: AccessKeyId testId, secret testSecret.
ALIYUN_DOC_PARAMS = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}


def test_aliyun_canonical_query_matches_the_documented_example() -> None:
    assert canonical_query(ALIYUN_DOC_PARAMS) == (
        "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001"
        "&RegionId=cn-hangzhou&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B"
        "%E8%AF%95%E4%B8%93%E7%94%A8&SignatureMethod=HMAC-SHA1"
        "&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0"
        "&TemplateCode=SMS_71390007&TemplateParam=%7B%22customer%22%3A%22test%22%7D"
        "&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25"
    )


def test_aliyun_signature_matches_the_documented_example() -> None:
    assert aliyun_signature(ALIYUN_DOC_PARAMS, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    # the signature itself is never part of what is signed
    with_signature = {**ALIYUN_DOC_PARAMS, "Signature": "anything"}
    assert aliyun_signature(with_signature, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_aliyun_string_to_sign_matches_the_documented_globe_example() -> None:
    # Aliyun's international "signature method" page, SendMessageToGlobe: its masked number
    # shows ``*`` going to %2A and then %252A. (Its two printed signatures disagree with
    # each other, so only the string to sign is pinned here.)
    params = {
        "AccessKeyId": "testid",
        "Action": "SendMessageToGlobe",
        "Format": "XML",
        "From": "Alicloud",
        "Message": "Hello",
        "RegionId": "ap-southeast-1",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "57acef20-c1d8-11eb-8c08-db81fda24dcc",
        "SignatureVersion": "1.0",
        "Timestamp": "2021-05-31T06:20:49Z",
        "To": "861245567****",
        "Version": "2018-05-01",
    }
    assert string_to_sign(params) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DSendMessageToGlobe%26Format%3DXML%26From%3D"
        "Alicloud%26Message%3DHello%26RegionId%3Dap-southeast-1%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D57acef20-c1d8-11eb-8c08-db81fda24dcc%26SignatureVersion%3D1.0"
        "%26Timestamp%3D2021-05-31T06%253A20%253A49Z%26To%3D861245567%252A%252A%252A%252A"
        "%26Version%3D2018-05-01"
    )


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [(" ", "%20"), ("*", "%2A"), ("~", "~"), ("+", "%2B"), ("/", "%2F"), ("中", "%E4%B8%AD")],
)
def test_aliyun_percent_encoding_rules(raw: str, encoded: str) -> None:
    assert percent_encode(raw) == encoded


def test_the_aliyun_fake_verifies_with_its_own_code_the_documented_example() -> None:
    _, signature = aliyun_expected_signature(ALIYUN_DOC_PARAMS, "testSecret")
    assert signature == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


# --- Aliyun: the adapter against the fake ----------------------------------------------------


@pytest.fixture
def aliyun_fake() -> Iterator[FakeAliyunSms]:
    with FakeAliyunSms(templates={"SMS_465790123": ("case_no", "deadline")}) as fake:
        yield fake


def aliyun_gateway(fake: FakeAliyunSms, **overrides: object) -> AliyunSmsGateway:
    clock = overrides.pop("clock", None)
    settings: dict[str, object] = {
        "access_key_id": fake.access_key_id,
        "access_key_secret": fake.access_key_secret,
        "sign_name": SIGN,
        "templates": {"case_assigned": "SMS_465790123", "retired": "SMS_000000000"},
        "base_url": fake.base_url,
        **overrides,
    }
    config = AliyunSmsConfig(**settings)  # type: ignore[arg-type]
    gateway = AliyunSmsGateway(config, clock=clock)  # type: ignore[arg-type]
    _OPEN.append(gateway)
    return gateway


def case_message(**overrides: object) -> Message:
    fields: dict[str, object] = {
        "address": PHONE,
        "text": "您有新的案件 QX-2025-0042，请于 6月3日 18:00 前响应。",
        "template": "case_assigned",
        "params": {"case_no": "QX-2025-0042", "deadline": "6月3日 18:00"},
        "reference": "dlv-7f3c2a",
        **overrides,
    }
    return Message(**fields)  # type: ignore[arg-type]


def test_aliyun_send_carries_every_field_and_returns_the_biz_id(
    aliyun_fake: FakeAliyunSms,
) -> None:
    gateway: Gateway = aliyun_gateway(aliyun_fake)
    assert (gateway.name, gateway.channel) == ("aliyun", "sms")

    biz_id = gateway.send(case_message())

    [request] = aliyun_fake.received
    assert request.answer is not None
    assert biz_id == request.answer["BizId"]
    params = request.params
    assert params["Action"] == "SendSms"
    assert params["PhoneNumbers"] == PHONE
    assert params["SignName"] == SIGN
    assert params["TemplateCode"] == "SMS_465790123"
    assert json.loads(params["TemplateParam"]) == {
        "case_no": "QX-2025-0042",
        "deadline": "6月3日 18:00",
    }
    assert params["OutId"] == "dlv-7f3c2a"
    assert params["Format"] == "JSON"
    assert params["Version"] == "2017-05-25"
    assert params["RegionId"] == "cn-hangzhou"
    assert params["SignatureMethod"] == "HMAC-SHA1"
    assert params["SignatureVersion"] == "1.0"
    stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=1)
    # the space and the Chinese text went over the wire as %20 and UTF-8, never as "+"
    assert "+" not in request.raw_query
    assert "6%E6%9C%883%E6%97%A5%2018%3A00" in request.raw_query


def test_aliyun_accepts_numbers_written_with_the_country_code(aliyun_fake: FakeAliyunSms) -> None:
    aliyun_gateway(aliyun_fake).send(case_message(address="+86 138-0013-8000"))

    assert aliyun_fake.received[0].params["PhoneNumbers"] == PHONE


def test_aliyun_nonces_are_fresh_and_a_replayed_request_is_refused(
    aliyun_fake: FakeAliyunSms,
) -> None:
    gateway = aliyun_gateway(aliyun_fake)
    gateway.send(case_message())
    gateway.send(case_message())
    first, second = aliyun_fake.received
    assert first.params["SignatureNonce"] != second.params["SignatureNonce"]

    replay = requests.get(f"{aliyun_fake.base_url}?{first.raw_query}", timeout=5)

    assert replay.status_code == 400
    assert replay.json()["Code"] == "SignatureNonceUsed"
    assert len(aliyun_fake.received) == 2


def test_aliyun_wrong_secret_is_permanent_and_keeps_the_number_out_of_the_error(
    aliyun_fake: FakeAliyunSms,
) -> None:
    gateway = aliyun_gateway(aliyun_fake, access_key_secret="not-the-secret")

    error = refused(gateway, case_message())

    assert (error.transient, error.code) == (False, "SignatureDoesNotMatch")
    # Aliyun echoes its string to sign, number and AccessKeyId included
    assert PHONE not in str(error)
    assert aliyun_fake.access_key_id not in str(error)
    assert aliyun_fake.received == []


def test_aliyun_unknown_access_key_is_permanent(aliyun_fake: FakeAliyunSms) -> None:
    error = refused(aliyun_gateway(aliyun_fake, access_key_id="LTAIunknown"), case_message())

    assert (error.transient, error.code) == (False, "InvalidAccessKeyId.NotFound")


def test_aliyun_stale_timestamp_is_refused(aliyun_fake: FakeAliyunSms) -> None:
    def late() -> datetime:
        return datetime.now(UTC) - timedelta(minutes=16)

    error = refused(aliyun_gateway(aliyun_fake, clock=late), case_message())

    assert (error.transient, error.code) == (False, "InvalidTimeStamp.Expired")


def test_aliyun_throttling_then_500_then_success(aliyun_fake: FakeAliyunSms) -> None:
    aliyun_fake.enqueue(aliyun_throttled(), http_error(500), PASS)
    gateway = aliyun_gateway(aliyun_fake)

    throttled = refused(gateway, case_message())
    broken = refused(gateway, case_message())
    biz_id = gateway.send(case_message())

    assert (throttled.transient, throttled.code) == (True, "isv.BUSINESS_LIMIT_CONTROL")
    assert (broken.transient, broken.code) == (True, "http.500")
    assert biz_id.endswith("^0")
    assert [request.status for request in aliyun_fake.received] == [200, 500, 200]


@pytest.mark.parametrize(
    ("scripted", "code"),
    [
        (aliyun_error("Throttling.User", "Request was denied due to user flow control.", 400),
         "Throttling.User"),
        (aliyun_error("ServiceUnavailable", "The request has failed due to a temporary "
                      "failure of the server.", 503), "ServiceUnavailable"),
        (aliyun_error("InternalError", "The request processing has failed due to some unknown "
                      "error.", 500), "InternalError"),
        (http_error(502, "Bad Gateway"), "http.502"),
    ],
)  # fmt: skip
def test_aliyun_busy_answers_are_transient(
    aliyun_fake: FakeAliyunSms, scripted: Scripted, code: str
) -> None:
    aliyun_fake.enqueue(scripted)

    error = refused(aliyun_gateway(aliyun_fake), case_message())

    assert (error.transient, error.code) == (True, code)


def test_aliyun_timeout_is_transient(aliyun_fake: FakeAliyunSms) -> None:
    aliyun_fake.enqueue(slow(1.5))
    gateway = aliyun_gateway(aliyun_fake, read_timeout=0.3)

    error = refused(gateway, case_message())

    assert (error.transient, error.code) == (True, "timeout")


def test_aliyun_unreachable_endpoint_is_transient() -> None:
    config = AliyunSmsConfig(
        access_key_id="LTAI5tTestKeyId",
        access_key_secret="secret",
        sign_name=SIGN,
        templates={"case_assigned": "SMS_465790123"},
        base_url=f"http://127.0.0.1:{closed_port()}/",
        connect_timeout=1.0,
    )

    error = refused(AliyunSmsGateway(config), case_message())

    assert (error.transient, error.code) == (True, "connection")


def test_aliyun_invalid_number_is_permanent(aliyun_fake: FakeAliyunSms) -> None:
    error = refused(aliyun_gateway(aliyun_fake), case_message(address="1380013800"))

    assert (error.transient, error.code) == (False, "isv.MOBILE_NUMBER_ILLEGAL")


def test_aliyun_template_unknown_to_aliyun_is_permanent(aliyun_fake: FakeAliyunSms) -> None:
    error = refused(aliyun_gateway(aliyun_fake), case_message(template="retired"))

    assert (error.transient, error.code) == (False, "isv.SMS_TEMPLATE_ILLEGAL")


def test_aliyun_missing_template_variable_is_permanent(aliyun_fake: FakeAliyunSms) -> None:
    error = refused(aliyun_gateway(aliyun_fake), case_message(params={"case_no": "QX-1"}))

    assert (error.transient, error.code) == (False, "isv.TEMPLATE_MISSING_PARAMETERS")


def test_aliyun_unapproved_sign_name_is_permanent(aliyun_fake: FakeAliyunSms) -> None:
    error = refused(aliyun_gateway(aliyun_fake, sign_name="某公司"), case_message())

    assert (error.transient, error.code) == (False, "isv.SMS_SIGNATURE_ILLEGAL")


def test_aliyun_unmapped_template_fails_before_any_request(aliyun_fake: FakeAliyunSms) -> None:
    error = refused(aliyun_gateway(aliyun_fake), case_message(template="no_such_template"))

    assert (error.transient, error.code) == (False, "template.unmapped")
    assert aliyun_fake.received == []


def test_aliyun_logs_only_masked_numbers(
    aliyun_fake: FakeAliyunSms, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="services.notify.gateways")
    aliyun_fake.enqueue(aliyun_throttled())
    gateway = aliyun_gateway(aliyun_fake)

    refused(gateway, case_message())
    gateway.send(case_message())

    assert "138****8000" in caplog.text
    assert PHONE not in caplog.text


# --- Aliyun: callbacks ----------------------------------------------------------------------


def test_aliyun_sms_report_becomes_receipts() -> None:
    body = json.dumps(
        [
            {
                "phone_number": "13800138000",
                "send_time": "2025-06-03 09:15:02",
                "report_time": "2025-06-03 09:15:08",
                "success": True,
                "err_code": "DELIVERED",
                "err_msg": "用户接收成功",
                "sms_size": "1",
                "biz_id": "900619746936498440^0",
                "out_id": "dlv-7f3c2a",
            },
            {
                "phone_number": "13912345678",
                "send_time": "2025-06-03 09:15:02",
                "report_time": "2025-06-03 09:16:40",
                "success": False,
                "err_code": "MK:0001",
                "err_msg": "用户关机",
                "sms_size": "2",
                "biz_id": "900619746936498441^0",
                "out_id": "",
            },
        ],
        ensure_ascii=False,
    ).encode()

    delivered, failed = aliyun_sms.parse_reports(body)

    assert delivered.provider_message_id == "900619746936498440^0"
    assert delivered.delivered is True
    assert delivered.code == "DELIVERED"
    assert delivered.phone == "13800138000"
    assert delivered.reference == "dlv-7f3c2a"
    assert delivered.at == datetime(2025, 6, 3, 9, 15, 8, tzinfo=BEIJING)
    assert delivered.at.astimezone(UTC) == datetime(2025, 6, 3, 1, 15, 8, tzinfo=UTC)
    assert (failed.delivered, failed.code, failed.reference) == (False, "MK:0001", None)
    assert aliyun_sms.parse_reports(b"[]") == []


def test_aliyun_sms_up_becomes_replies() -> None:
    body = json.dumps(
        [
            {
                "phone_number": "13800138000",
                "send_time": "2025-06-03 10:02:11",
                "content": "已收到，马上到现场",
                "sign_name": SIGN,
                "dest_code": "1234",
                "sequence_id": 1234567890,
            },
            # newer pushes leave sign_name out and give sequence_id as a string
            {
                "phone_number": "13912345678",
                "content": "TD",
                "send_time": "2025-06-03 10:05:00",
                "dest_code": "1234",
                "sequence_id": "1234567891",
            },
        ],
        ensure_ascii=False,
    ).encode()

    first, second = aliyun_sms.parse_replies(body)

    assert first.phone == "13800138000"
    assert first.text == "已收到，马上到现场"
    assert first.at == datetime(2025, 6, 3, 10, 2, 11, tzinfo=BEIJING)
    assert (first.sign_name, first.extend) == (SIGN, "1234")
    assert (second.text, second.sign_name) == ("TD", None)


def test_aliyun_callback_answer_is_what_aliyun_expects() -> None:
    answer = json.loads(aliyun_sms.CALLBACK_ANSWER)
    assert answer["code"] == 0
    assert isinstance(answer["msg"], str)


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"", "not JSON"),
        (b"phone_number=138", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"phone_number": "13800138000"}', "expected a JSON array"),
        (b"[1]", "item 0 is not an object"),
        (b'[{"phone_number": "13800138000", "success": true, "report_time": '
         b'"2025-06-03 09:15:08", "err_code": "DELIVERED"}]', "missing 'biz_id'"),
        (b'[{"phone_number": "13800138000", "success": "yes", "report_time": '
         b'"2025-06-03 09:15:08", "biz_id": "1^0"}]', "'success' must be true or false"),
        (b'[{"phone_number": "13800138000", "success": true, "report_time": '
         b'"03/06/2025 09:15", "biz_id": "1^0"}]', "not a YYYY-MM-DD hh:mm:ss time"),
    ],
)  # fmt: skip
def test_aliyun_bad_report_bodies_raise_value_error(body: bytes, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        aliyun_sms.parse_reports(body)


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"null", "expected a JSON array"),
        (b'[{"phone_number": "13800138000", "send_time": "2025-06-03 10:02:11"}]',
         "missing 'content'"),
        (b'[{"content": "hi", "send_time": "2025-06-03 10:02:11"}]', "missing 'phone_number'"),
        (b'[{"phone_number": "13800138000", "content": "hi"}]', "missing 'send_time'"),
    ],
)  # fmt: skip
def test_aliyun_bad_reply_bodies_raise_value_error(body: bytes, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        aliyun_sms.parse_replies(body)


# --- Tencent: signing against the documented example ----------------------------------------

# Tencent's "签名方法 v3" worked example: CVM DescribeInstances in ap-guangzhou at 1551113065.
TENCENT_DOC_PAYLOAD = (
    b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
)


def test_tc3_steps_match_the_documented_example() -> None:
    canonical = tc3_canonical_request(host="cvm.tencentcloudapi.com", payload=TENCENT_DOC_PAYLOAD)
    assert canonical == (
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n"
        "\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    to_sign = tc3_string_to_sign(timestamp=1551113065, service="cvm", canonical_request=canonical)
    assert to_sign == (
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    assert tc3_signature(
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        timestamp=1551113065,
        service="cvm",
        string_to_sign=to_sign,
    ) == ("72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")


def test_tc3_authorization_matches_the_documented_example() -> None:
    # the earlier edition of the same page, with its keys masked by seven asterisks
    authorization = tc3_authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3*******",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        timestamp=1551113065,
        payload=TENCENT_DOC_PAYLOAD,
    )

    assert authorization == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, "
        "Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    )


def test_tc3_date_is_the_utc_date_not_beijing() -> None:
    # 1551113065 is 2019-02-26 00:44:25 in Beijing, still the 25th in UTC
    authorization = tc3_authorization(
        secret_id="AKIDx",
        secret_key="sk",
        service="sms",
        host="sms.tencentcloudapi.com",
        timestamp=1551113065,
        payload=b"{}",
    )
    assert "/2019-02-25/sms/tc3_request," in authorization


def test_the_tencent_fake_verifies_with_its_own_code_the_documented_example() -> None:
    assert tencent_expected_signature(
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        date="2019-02-25",
        service="cvm",
        timestamp="1551113065",
        signed_headers=["content-type", "host"],
        headers={
            "content-type": "application/json; charset=utf-8",
            "host": "cvm.tencentcloudapi.com",
        },
        body=TENCENT_DOC_PAYLOAD,
    ) == ("72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")


# --- Tencent: the adapter against the fake ---------------------------------------------------


@pytest.fixture
def tencent_fake() -> Iterator[FakeTencentSms]:
    with FakeTencentSms(templates={"2261350": 2}) as fake:
        yield fake


def tencent_gateway(fake: FakeTencentSms, **overrides: object) -> TencentSmsGateway:
    clock = overrides.pop("clock", None)
    settings: dict[str, object] = {
        "secret_id": fake.secret_id,
        "secret_key": fake.secret_key,
        "sdk_app_id": fake.sdk_app_id,
        "sign_name": SIGN,
        "templates": {
            "case_assigned": ("2261350", ("case_no", "deadline")),
            "retired": ("1000001", ("case_no",)),
        },
        "base_url": fake.base_url,
        **overrides,
    }
    config = TencentSmsConfig(**settings)  # type: ignore[arg-type]
    gateway = TencentSmsGateway(config, clock=clock)  # type: ignore[arg-type]
    _OPEN.append(gateway)
    return gateway


def test_tencent_send_carries_every_field_and_returns_the_serial_no(
    tencent_fake: FakeTencentSms,
) -> None:
    gateway: Gateway = tencent_gateway(tencent_fake)
    assert (gateway.name, gateway.channel) == ("tencent", "sms")

    serial_no = gateway.send(case_message())

    [request] = tencent_fake.received
    assert request.answer is not None
    assert serial_no == request.answer["Response"]["SendStatusSet"][0]["SerialNo"]
    assert serial_no.startswith("2640:")
    assert request.payload == {
        "PhoneNumberSet": ["+8613800138000"],
        "SmsSdkAppId": tencent_fake.sdk_app_id,
        "SignName": SIGN,
        "TemplateId": "2261350",
        # in the template's order, not the dict's
        "TemplateParamSet": ["QX-2025-0042", "6月3日 18:00"],
        "SessionContext": "dlv-7f3c2a",
    }
    headers = request.headers
    assert headers["x-tc-action"] == "SendSms"
    assert headers["x-tc-version"] == "2021-01-11"
    assert headers["x-tc-region"] == "ap-guangzhou"
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert abs(int(headers["x-tc-timestamp"]) - datetime.now(UTC).timestamp()) < 60
    assert headers["authorization"].startswith(
        f"TC3-HMAC-SHA256 Credential={tencent_fake.secret_id}/"
    )
    scope_and_headers = "/sms/tc3_request, SignedHeaders=content-type;host, Signature="
    assert scope_and_headers in headers["authorization"]


def test_tencent_template_values_follow_the_configured_order(
    tencent_fake: FakeTencentSms,
) -> None:
    reordered = {"deadline": "6月3日 18:00", "case_no": "QX-2025-0042"}
    tencent_gateway(tencent_fake).send(case_message(params=reordered))

    assert tencent_fake.received[0].payload["TemplateParamSet"] == ["QX-2025-0042", "6月3日 18:00"]


def test_tencent_wrong_secret_is_permanent(tencent_fake: FakeTencentSms) -> None:
    error = refused(tencent_gateway(tencent_fake, secret_key="not-the-key"), case_message())

    assert (error.transient, error.code) == (False, "AuthFailure.SignatureFailure")
    assert tencent_fake.received == []


def test_tencent_unknown_secret_id_is_permanent(tencent_fake: FakeTencentSms) -> None:
    error = refused(tencent_gateway(tencent_fake, secret_id="AKIDunknown"), case_message())

    assert (error.transient, error.code) == (False, "AuthFailure.SecretIdNotFound")


def test_tencent_stale_timestamp_is_refused(tencent_fake: FakeTencentSms) -> None:
    def late() -> datetime:
        return datetime.now(UTC) - timedelta(minutes=6)

    error = refused(tencent_gateway(tencent_fake, clock=late), case_message())

    assert (error.transient, error.code) == (False, "AuthFailure.SignatureExpire")


def test_tencent_throttling_then_500_then_success(tencent_fake: FakeTencentSms) -> None:
    tencent_fake.enqueue(
        tencent_error("RequestLimitExceeded", "Your current request times exceeds limit."),
        tencent_throttled(),
        http_error(500),
        PASS,
    )
    gateway = tencent_gateway(tencent_fake)

    limited = refused(gateway, case_message())
    throttled = refused(gateway, case_message())
    broken = refused(gateway, case_message())
    serial_no = gateway.send(case_message())

    assert (limited.transient, limited.code) == (True, "RequestLimitExceeded")
    assert (throttled.transient, throttled.code) == (
        True,
        "LimitExceeded.PhoneNumberThirtySecondLimit",
    )
    assert (broken.transient, broken.code) == (True, "http.500")
    assert serial_no.startswith("2640:")


@pytest.mark.parametrize(
    ("code", "transient"),
    [
        ("LimitExceeded.PhoneNumberDailyLimit", True),
        ("LimitExceeded.DeliveryFrequencyLimit", True),
        ("RequestLimitExceeded.IPLimitExceeded", True),
        ("InternalError.Timeout", True),
        ("InternalError.OtherError", True),
        ("InternalError", True),
        ("InternalError.SigVerificationFail", False),
        ("LimitExceeded.PhoneNumberCountLimit", False),
        ("InvalidParameterValue.IncorrectPhoneNumber", False),
        ("FailedOperation.TemplateIncorrectOrUnapproved", False),
        ("FailedOperation.SignatureIncorrectOrUnapproved", False),
        ("FailedOperation.PhoneNumberInBlacklist", False),
        ("AuthFailure.SignatureFailure", False),
        ("UnauthorizedOperation.SmsSdkAppIdVerifyFail", False),
    ],
)
def test_tencent_error_classification(code: str, transient: bool) -> None:
    assert tencent_sms.is_transient(code) is transient


def test_tencent_timeout_is_transient(tencent_fake: FakeTencentSms) -> None:
    tencent_fake.enqueue(slow(1.5))
    gateway = tencent_gateway(tencent_fake, read_timeout=0.3)

    error = refused(gateway, case_message())

    assert (error.transient, error.code) == (True, "timeout")


def test_tencent_unreachable_endpoint_is_transient() -> None:
    config = TencentSmsConfig(
        secret_id="AKIDx",
        secret_key="sk",
        sdk_app_id="1400006666",
        sign_name=SIGN,
        templates={"case_assigned": ("2261350", ("case_no", "deadline"))},
        base_url=f"http://127.0.0.1:{closed_port()}/",
        connect_timeout=1.0,
    )

    error = refused(TencentSmsGateway(config), case_message())

    assert (error.transient, error.code) == (True, "connection")


def test_tencent_invalid_number_is_permanent(tencent_fake: FakeTencentSms) -> None:
    error = refused(tencent_gateway(tencent_fake), case_message(address="1380013800"))

    assert (error.transient, error.code) == (False, "InvalidParameterValue.IncorrectPhoneNumber")


def test_tencent_unapproved_template_is_permanent(tencent_fake: FakeTencentSms) -> None:
    error = refused(tencent_gateway(tencent_fake), case_message(template="retired"))

    assert (error.transient, error.code) == (False, "FailedOperation.TemplateIncorrectOrUnapproved")


def test_tencent_unapproved_sign_name_is_permanent(tencent_fake: FakeTencentSms) -> None:
    error = refused(tencent_gateway(tencent_fake, sign_name="某公司"), case_message())

    assert (error.transient, error.code) == (
        False,
        "FailedOperation.SignatureIncorrectOrUnapproved",
    )


def test_tencent_unmapped_template_or_missing_value_fails_before_any_request(
    tencent_fake: FakeTencentSms,
) -> None:
    gateway = tencent_gateway(tencent_fake)

    unmapped = refused(gateway, case_message(template="no_such_template"))
    missing = refused(gateway, case_message(params={"case_no": "QX-1"}))

    assert (unmapped.transient, unmapped.code) == (False, "template.unmapped")
    assert (missing.transient, missing.code) == (False, "template.params_missing")
    assert tencent_fake.received == []


def test_tencent_logs_only_masked_numbers(
    tencent_fake: FakeTencentSms, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="services.notify.gateways")
    tencent_fake.enqueue(tencent_throttled())
    gateway = tencent_gateway(tencent_fake)

    refused(gateway, case_message())
    gateway.send(case_message())

    assert "138****8000" in caplog.text
    assert PHONE not in caplog.text


# --- Tencent: callbacks ---------------------------------------------------------------------


def test_tencent_status_report_becomes_receipts() -> None:
    body = json.dumps(
        [
            {
                "user_receive_time": "2025-06-03 09:15:08",
                "nationcode": "86",
                "mobile": "13800138000",
                "report_status": "SUCCESS",
                "errmsg": "DELIVRD",
                "description": "用户短信送达成功",
                "sid": "2640:262727967816586500757778766",
            },
            {
                "user_receive_time": "2025-06-03 09:17:30",
                "nationcode": "86",
                "mobile": "13912345678",
                "report_status": "FAIL",
                "errmsg": "MK:0005",
                "description": "用户短信接收失败",
                "sid": "2640:262727967816586500757778767",
            },
        ],
        ensure_ascii=False,
    ).encode()

    delivered, failed = tencent_sms.parse_reports(body)

    assert delivered.provider_message_id == "2640:262727967816586500757778766"
    assert (delivered.delivered, delivered.code, delivered.phone) == (True, "DELIVRD", PHONE)
    assert delivered.at == datetime(2025, 6, 3, 9, 15, 8, tzinfo=BEIJING)
    assert delivered.reference is None
    assert (failed.delivered, failed.code) == (False, "MK:0005")


def test_tencent_reply_becomes_an_inbound_sms() -> None:
    body = json.dumps(
        {
            "extend": "",
            "mobile": "13800138000",
            "nationcode": "86",
            "sign": SIGN,
            "text": "已收到，马上到现场",
            "time": 1748916131,
        },
        ensure_ascii=False,
    ).encode()

    [reply] = tencent_sms.parse_replies(body)

    assert reply.phone == PHONE
    assert reply.text == "已收到，马上到现场"
    assert reply.sign_name == SIGN
    assert reply.extend is None
    assert reply.at == datetime(2025, 6, 3, 10, 2, 11, tzinfo=BEIJING)
    assert reply.at.utcoffset() == timedelta(hours=8)


def test_tencent_replies_may_come_as_an_array() -> None:
    body = b'[{"extend": "12", "mobile": "91234567", "nationcode": "852", "sign": "x", '
    body += b'"text": "ok", "time": 1748916131}]'

    [reply] = tencent_sms.parse_replies(body)

    assert (reply.phone, reply.extend) == ("+85291234567", "12")


def test_tencent_callback_answer_is_what_tencent_expects() -> None:
    assert json.loads(tencent_sms.CALLBACK_ANSWER) == {"result": 0, "errmsg": "OK"}


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"<xml/>", "not JSON"),
        (b'{"sid": "1"}', "expected a JSON array"),
        (b'[{"mobile": "13800138000", "report_status": "SUCCESS", "errmsg": "DELIVRD"}]',
         "missing 'sid'"),
        (b'[{"mobile": "13800138000", "report_status": "DELIVERED", "sid": "1"}]',
         "neither SUCCESS nor FAIL"),
        (b'[{"mobile": "13800138000", "report_status": "SUCCESS", "sid": "1", '
         b'"user_receive_time": "yesterday"}]', "user_receive_time"),
    ],
)  # fmt: skip
def test_tencent_bad_report_bodies_raise_value_error(body: bytes, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        tencent_sms.parse_reports(body)


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"", "not JSON"),
        (b'"text"', "expected a JSON object or array"),
        (b'{"mobile": "13800138000", "nationcode": "86", "time": 1748916131}', "missing 'text'"),
        (b'{"mobile": "13800138000", "text": "ok", "time": "noon"}', "not unix seconds"),
        (b'{"mobile": "13800138000", "text": "ok", "time": 1.5}', "must be unix seconds"),
        (b'{"nationcode": "86", "text": "ok", "time": 1748916131}', "missing 'mobile'"),
    ],
)
def test_tencent_bad_reply_bodies_raise_value_error(body: bytes, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        tencent_sms.parse_replies(body)
