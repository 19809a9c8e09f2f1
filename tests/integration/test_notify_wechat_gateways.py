"""The WeCom robot and WeChat template-message adapters against local fakes of the two APIs
(tests/support/fake_wechat.py) that check each request as the providers do. No broker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from services.notify.gateways.base import GatewayError, Message
from services.notify.gateways.wechat_template import (
    WeChatTemplateConfig,
    WeChatTemplateGateway,
    parse_job_finish,
    verify_server_signature,
)
from services.notify.gateways.wecom_robot import (
    TEXT_LIMIT_BYTES,
    WeComRobotConfig,
    WeComRobotGateway,
    truncate_utf8,
)
from tests.support.fake_wechat import FakeWeChat, FakeWeComRobot, Outcome, serve

ROBOT_KEY = "693a91f6-7a0c-4bc4-97a0-0ec2sifa5aaa"
APPID = "wx5f1b2c3d4e5f6a7b"
SECRET = "0123456789abcdef0123456789abcdef"
OPENID = "oia2TjuEGTNoeX76QEjQNrcURxG8"
GONE = "oia2TjuEGTNoeX76QEjQNrcGONE0"
TEMPLATE_ID = "tmplXYZ-case-overdue"
TEMPLATES = {"case_overdue": (TEMPLATE_ID, {"thing1": "summary", "time2": "deadline"})}


def session() -> requests.Session:
    # No proxy from the environment between the adapter and the fake on 127.0.0.1.
    http = requests.Session()
    http.trust_env = False
    return http


def robot_message(text: str, address: str = ROBOT_KEY, **params: str) -> Message:
    return Message(address=address, text=text, template="case_overdue", params=params)


def overdue(openid: str = OPENID, summary: str = "城关镇噪音扰民", **params: str) -> Message:
    values = {"summary": summary, "deadline": "2026年11月21日 18:00", **params}
    return Message(address=openid, text="", template="case_overdue", params=values)


@pytest.fixture
def robot() -> FakeWeComRobot:
    return FakeWeComRobot(keys={ROBOT_KEY})


@pytest.fixture
def robot_url(robot: FakeWeComRobot) -> Iterator[str]:
    with serve(robot) as base_url:
        yield base_url


def robot_gateway(base_url: str, **config: Any) -> WeComRobotGateway:
    return WeComRobotGateway(WeComRobotConfig(base_url=base_url, **config), session())


@pytest.fixture
def wechat() -> FakeWeChat:
    return FakeWeChat(
        APPID,
        SECRET,
        templates={TEMPLATE_ID: ("thing1", "time2")},
        followers={OPENID, "oFollower2"},
        unsubscribed={GONE},
    )


@pytest.fixture
def wechat_url(wechat: FakeWeChat) -> Iterator[str]:
    with serve(wechat) as base_url:
        yield base_url


def wechat_gateway(
    base_url: str, secret: str = SECRET, timeout: float = 5.0
) -> WeChatTemplateGateway:
    config = WeChatTemplateConfig(
        appid=APPID, secret=secret, templates=TEMPLATES, base_url=base_url, timeout=timeout
    )
    return WeChatTemplateGateway(config, session())


# WeCom group robot


def test_robot_posts_the_text_to_the_group_of_its_key(
    robot: FakeWeComRobot, robot_url: str
) -> None:
    text = "【督办】CF261121-AAAAAA 噪音扰民 已超期,请于 18:00 前处置"
    gateway = robot_gateway(robot_url, mentioned_mobiles=("13800001111",))

    message_id = gateway.send(robot_message(text, mentioned_mobile_list="13900002222, "))

    assert len(message_id) == 32  # ours: the robot API answers no id
    [posted] = robot.accepted
    assert posted.key == ROBOT_KEY
    assert posted.msgtype == "text"
    assert posted.content == text
    assert posted.mentioned_mobile_list == ["13800001111", "13900002222"]
    assert gateway.send(robot_message(text)) != message_id


def test_robot_takes_a_whole_webhook_url_as_address(robot: FakeWeComRobot, robot_url: str) -> None:
    gateway = robot_gateway("https://qyapi.invalid")  # the URL's own host is used

    gateway.send(robot_message("你好", address=f"{robot_url}/cgi-bin/webhook/send?key={ROBOT_KEY}"))

    assert [m.content for m in robot.accepted] == ["你好"]


def test_robot_markdown_when_configured(robot: FakeWeComRobot, robot_url: str) -> None:
    robot_gateway(robot_url, msgtype="markdown").send(robot_message("**超期** 1 件"))

    [posted] = robot.accepted
    assert posted.msgtype == "markdown"
    assert posted.body == {"msgtype": "markdown", "markdown": {"content": "**超期** 1 件"}}


def test_robot_cuts_long_content_to_2048_bytes_on_a_character_boundary(
    robot: FakeWeComRobot, robot_url: str
) -> None:
    text = "a" + "格" * 1000  # 3001 bytes; a byte cut at 2045 would split a character

    robot_gateway(robot_url).send(robot_message(text))

    [posted] = robot.accepted
    encoded = posted.content.encode("utf-8")
    assert len(encoded) <= TEXT_LIMIT_BYTES
    assert len(encoded) == 1 + 681 * 3 + 3  # 681 whole characters, then "…"
    assert posted.content.endswith("…")
    assert text.startswith(posted.content[:-1])


def test_truncate_utf8_leaves_what_fits() -> None:
    assert truncate_utf8("网格员", 9) == "网格员"
    assert truncate_utf8("网格员", 8) == "网…"


def test_robot_rate_limit_is_transient(robot: FakeWeComRobot, robot_url: str) -> None:
    gateway = robot_gateway(robot_url)
    robot.per_minute = 2
    gateway.send(robot_message("一"))
    gateway.send(robot_message("二"))

    with pytest.raises(GatewayError) as refused:
        gateway.send(robot_message("三"))

    assert (refused.value.transient, refused.value.code) == (True, "45009")
    assert len(robot.accepted) == 2


def test_robot_scripted_45009_then_ok(robot: FakeWeComRobot, robot_url: str) -> None:
    gateway = robot_gateway(robot_url)
    robot.script(Outcome.error(45009))

    with pytest.raises(GatewayError) as refused:
        gateway.send(robot_message("一"))
    gateway.send(robot_message("一"))

    assert (refused.value.transient, refused.value.code) == (True, "45009")
    assert [m.content for m in robot.accepted] == ["一"]


def test_robot_unknown_key_is_permanent(robot: FakeWeComRobot, robot_url: str) -> None:
    with pytest.raises(GatewayError) as refused:
        robot_gateway(robot_url).send(robot_message("你好", address="not-a-known-key"))

    assert (refused.value.transient, refused.value.code) == (False, "93000")
    assert robot.accepted == []


def test_robot_empty_text_is_refused_without_asking(robot: FakeWeComRobot, robot_url: str) -> None:
    with pytest.raises(GatewayError) as refused:
        robot_gateway(robot_url).send(robot_message(""))

    assert (refused.value.transient, refused.value.code) == (False, "44004")
    assert robot.requests == []


@pytest.mark.parametrize("status", [500, 502])
def test_robot_http_5xx_is_transient(robot: FakeWeComRobot, robot_url: str, status: int) -> None:
    robot.script(Outcome.http(status))

    with pytest.raises(GatewayError) as refused:
        robot_gateway(robot_url).send(robot_message("你好"))

    assert (refused.value.transient, refused.value.code) == (True, f"http.{status}")


def test_robot_timeout_is_transient_and_hides_the_key(
    robot: FakeWeComRobot, robot_url: str
) -> None:
    robot.script(Outcome.slow(1.0))

    with pytest.raises(GatewayError) as refused:
        robot_gateway(robot_url, timeout=0.2).send(robot_message("你好"))

    assert (refused.value.transient, refused.value.code) == (True, "timeout")
    assert ROBOT_KEY not in str(refused.value)


# WeChat official-account template messages


def test_wechat_fetches_one_token_for_several_sends(wechat: FakeWeChat, wechat_url: str) -> None:
    gateway = wechat_gateway(wechat_url)

    ids = [
        gateway.send(overdue(url="https://civicflow.example/cases/CF261121-AAAAAA")),
        gateway.send(overdue(openid="oFollower2")),
        gateway.send(overdue()),
    ]

    assert wechat.tokens_issued == 1
    assert ids == [str(m.msgid) for m in wechat.accepted] == ["200228332", "200228333", "200228334"]
    first = wechat.accepted[0]
    assert (first.touser, first.template_id) == (OPENID, TEMPLATE_ID)
    assert first.values == {"thing1": "城关镇噪音扰民", "time2": "2026年11月21日 18:00"}
    assert first.url == "https://civicflow.example/cases/CF261121-AAAAAA"
    assert wechat.accepted[1].url is None
    assert len({m.token for m in wechat.accepted}) == 1


def test_wechat_refreshes_an_expired_token_once_and_sends_again(
    wechat: FakeWeChat, wechat_url: str
) -> None:
    gateway = wechat_gateway(wechat_url)
    gateway.send(overdue())
    wechat.expire_tokens()

    msgid = gateway.send(overdue())

    assert wechat.tokens_issued == 2  # exactly one re-fetch
    assert wechat.send_requests == 3  # the first, the refused one (42001), the retried one
    assert msgid == str(wechat.accepted[-1].msgid)
    assert wechat.accepted[-1].token in wechat.valid_tokens


def test_wechat_token_refused_again_after_refresh_is_transient(
    wechat: FakeWeChat, wechat_url: str
) -> None:
    wechat.script(Outcome.error(40001), Outcome.error(40001))

    with pytest.raises(GatewayError) as refused:
        wechat_gateway(wechat_url).send(overdue())

    assert (refused.value.transient, refused.value.code) == (True, "40001")
    assert (wechat.tokens_issued, wechat.send_requests) == (2, 2)


def test_wechat_token_kept_until_its_margin_before_expiry(
    wechat: FakeWeChat, wechat_url: str
) -> None:
    now = [1000.0]
    config = WeChatTemplateConfig(
        appid=APPID, secret=SECRET, templates=TEMPLATES, base_url=wechat_url
    )
    gateway = WeChatTemplateGateway(config, session(), clock=lambda: now[0])
    gateway.send(overdue())

    now[0] += 7200 - 300 - 1
    gateway.send(overdue())
    assert wechat.tokens_issued == 1
    now[0] += 1
    gateway.send(overdue())
    assert wechat.tokens_issued == 2


def test_wechat_concurrent_sends_fetch_one_token(wechat: FakeWeChat, wechat_url: str) -> None:
    gateway = wechat_gateway(wechat_url)
    wechat.script_token(Outcome.slow(0.2))  # the others arrive while the fetch is under way
    failures: list[BaseException] = []

    def send() -> None:
        try:
            gateway.send(overdue())
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    senders = [threading.Thread(target=send) for _ in range(5)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=10)

    assert failures == []
    assert (wechat.tokens_issued, len(wechat.accepted)) == (1, 5)


def test_wechat_wrong_secret_is_permanent(wechat: FakeWeChat, wechat_url: str) -> None:
    with pytest.raises(GatewayError) as refused:
        wechat_gateway(wechat_url, secret="f" * 32).send(overdue())

    assert (refused.value.transient, refused.value.code) == (False, "40125")
    assert "f" * 32 not in str(refused.value)
    assert (wechat.tokens_issued, wechat.send_requests) == (0, 0)


def test_wechat_unsubscribed_follower_is_permanent(wechat: FakeWeChat, wechat_url: str) -> None:
    with pytest.raises(GatewayError) as refused:
        wechat_gateway(wechat_url).send(overdue(openid=GONE))

    assert (refused.value.transient, refused.value.code) == (False, "43004")


def test_wechat_unknown_openid_is_permanent(wechat: FakeWeChat, wechat_url: str) -> None:
    with pytest.raises(GatewayError) as refused:
        wechat_gateway(wechat_url).send(overdue(openid="oNobodyAtAll"))

    assert (refused.value.transient, refused.value.code) == (False, "40003")


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        (Outcome.error(45009), "45009"),
        (Outcome.error(-1), "-1"),
        (Outcome.error(45047), "45047"),
        (Outcome.http(500), "http.500"),
    ],
)
def test_wechat_throttling_and_5xx_are_transient(
    wechat: FakeWeChat, wechat_url: str, outcome: Outcome, code: str
) -> None:
    gateway = wechat_gateway(wechat_url)
    wechat.script(outcome)

    with pytest.raises(GatewayError) as refused:
        gateway.send(overdue())
    gateway.send(overdue())  # then it goes

    assert (refused.value.transient, refused.value.code) == (True, code)
    assert len(wechat.accepted) == 1


def test_wechat_token_endpoint_5xx_is_transient(wechat: FakeWeChat, wechat_url: str) -> None:
    wechat.script_token(Outcome.http(503))

    with pytest.raises(GatewayError) as refused:
        wechat_gateway(wechat_url).send(overdue())

    assert (refused.value.transient, refused.value.code) == (True, "http.503")


def test_wechat_timeout_is_transient(wechat: FakeWeChat, wechat_url: str) -> None:
    gateway = wechat_gateway(wechat_url, timeout=0.2)
    gateway.send(overdue())
    wechat.script(Outcome.slow(1.0))

    with pytest.raises(GatewayError) as refused:
        gateway.send(overdue())

    assert (refused.value.transient, refused.value.code) == (True, "timeout")


def test_wechat_unmapped_template_is_permanent_without_asking(
    wechat: FakeWeChat, wechat_url: str
) -> None:
    message = Message(address=OPENID, text="", template="case_closed", params={})

    with pytest.raises(GatewayError) as refused:
        wechat_gateway(wechat_url).send(message)

    assert (refused.value.transient, refused.value.code) == (False, "template.unmapped")
    assert wechat.requests == []


def test_wechat_missing_param_is_permanent(wechat: FakeWeChat, wechat_url: str) -> None:
    message = Message(address=OPENID, text="", template="case_overdue", params={"summary": "x"})

    with pytest.raises(GatewayError) as refused:
        wechat_gateway(wechat_url).send(message)

    assert (refused.value.transient, refused.value.code) == (False, "template.param_missing")


def test_wechat_thing_value_cut_to_20_characters(wechat: FakeWeChat, wechat_url: str) -> None:
    summary = "城关镇幸福路12号楼下烧烤店夜间噪音扰民持续三个月未解决"

    wechat_gateway(wechat_url).send(overdue(summary=summary))

    value = wechat.accepted[0].values["thing1"]
    assert len(value) == 20
    assert value == summary[:19] + "…"


def test_fake_wechat_refuses_a_thing_over_20_characters(
    wechat: FakeWeChat, wechat_url: str
) -> None:
    http = session()
    token = http.get(
        f"{wechat_url}/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
        timeout=5,
    ).json()["access_token"]
    data = {"thing1": {"value": "一" * 21}, "time2": {"value": "2026年11月21日 18:00"}}

    answer = http.post(
        f"{wechat_url}/cgi-bin/message/template/send",
        params={"access_token": token},
        json={"touser": OPENID, "template_id": TEMPLATE_ID, "data": data},
        timeout=5,
    ).json()

    assert answer["errcode"] == 47003
    assert answer["errmsg"].startswith("argument invalid! data.thing1.value invalid")


# Pushes from WeChat to our server


def test_server_signature_hand_computed() -> None:
    # sorted: "1714538355" < "1743502518" < "civicflow-push";
    # printf '17145383551743502518civicflow-push' | sha1sum
    signature = "ccc9255ecfe91049708fdc510618e22c45e1bbf7"

    assert verify_server_signature("civicflow-push", "1714538355", "1743502518", signature)
    assert verify_server_signature("civicflow-push", "1714538355", "1743502518", signature.upper())
    assert not verify_server_signature("civicflow-push", "1714538356", "1743502518", signature)
    assert not verify_server_signature("another-token", "1714538355", "1743502518", signature)
    assert not verify_server_signature("civicflow-push", "1714538355", "1743502518", "")


def job_finish(status: str, msgid: str = "200163836") -> bytes:
    return f"""<xml>
<ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>
<FromUserName><![CDATA[oia2TjuEGTNoeX76QEjQNrcURxG8]]></FromUserName>
<CreateTime>1395658920</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>
<MsgID>{msgid}</MsgID>
<Status><![CDATA[{status}]]></Status>
</xml>""".encode()


def test_job_finish_success_is_delivered() -> None:
    receipt = parse_job_finish(job_finish("success"))

    assert receipt.provider_message_id == "200163836"
    assert receipt.delivered is True
    assert receipt.code == "success"
    # 1395658920 = 16153 days (to 2014-03-24) + 39720 s (11:02), 19:02 in Beijing
    assert receipt.at == datetime(2014, 3, 24, 11, 2, tzinfo=UTC)


@pytest.mark.parametrize("status", ["failed:user block", "failed: system failed"])
def test_job_finish_failures_are_not_delivered(status: str) -> None:
    receipt = parse_job_finish(job_finish(status, msgid="200163840"))

    assert (receipt.provider_message_id, receipt.delivered, receipt.code) == (
        "200163840",
        False,
        status,
    )


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xml [
<!ENTITY a "aaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<xml><MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event>
<MsgID>1</MsgID><Status>&d;</Status></xml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event>
<MsgID>1</MsgID><Status>&secret;</Status></xml>"""


@pytest.mark.parametrize(
    "xml",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        b"<xml><MsgType>event</MsgType>",
        b"<xml><MsgType>event</MsgType><Status>&undefined;</Status></xml>",
        b"not xml at all",
        job_finish("success").replace(b"TEMPLATESENDJOBFINISH", b"subscribe"),
        job_finish("success").replace(b"<MsgID>200163836</MsgID>", b""),
    ],
    ids=[
        "entity-expansion",
        "external-entity",
        "truncated",
        "undefined-entity",
        "text",
        "other-event",
        "no-msgid",
    ],
)
def test_job_finish_refuses_bad_or_malicious_xml(xml: bytes) -> None:
    with pytest.raises(ValueError):
        parse_job_finish(xml)
