"""notify.yml's provider choice and the credentials from the environment: the right adapter
per channel, and a start refused when a credential is missing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kernel.clock import ManualClock
from kit.settings import ConfigError
from services.notify.gateways.aliyun_sms import AliyunSmsGateway
from services.notify.gateways.base import Message
from services.notify.gateways.tencent_sms import TencentSmsGateway
from services.notify.gateways.wechat_template import WeChatTemplateGateway
from services.notify.gateways.wecom_robot import WeComRobotGateway
from services.notify.providers import FileGateway, build_gateways
from services.notify.rules import NotifyRules
from tests.unit.conftest import CONFIG_DIR

TEXT = (CONFIG_DIR / "notify.yml").read_text(encoding="utf-8")


def rules(sms: str, wechat: str = "file", wecom: str = "file") -> NotifyRules:
    chosen = TEXT.replace("  sms: file", f"  sms: {sms}").replace(
        "  wechat: file", f"  wechat: {wechat}"
    )
    return NotifyRules.from_text(chosen.replace("  wecom: file", f"  wecom: {wecom}"))


def test_the_dev_default_writes_files_per_channel(tmp_path: Path) -> None:
    gateways = build_gateways(rules("file"), tmp_path, {})
    assert {channel: type(g) for channel, g in gateways.items()} == dict.fromkeys(
        ("sms", "wechat", "wecom"), FileGateway
    )
    assert gateways["wechat"].path == tmp_path / "notify" / "wechat.jsonl"  # type: ignore[attr-defined]


def test_real_adapters_take_their_credentials_from_the_environment(tmp_path: Path) -> None:
    env = {
        "CIVICFLOW_ALIYUN_ACCESS_KEY_ID": "id", "CIVICFLOW_ALIYUN_ACCESS_KEY_SECRET": "s",
        "CIVICFLOW_ALIYUN_SIGN_NAME": "综治中心",
        "CIVICFLOW_ALIYUN_TEMPLATES": json.dumps({"case_dispatched": "SMS_1"}),
        "CIVICFLOW_WECHAT_APPID": "wx1", "CIVICFLOW_WECHAT_SECRET": "s",
        "CIVICFLOW_WECHAT_TEMPLATES": json.dumps({"subscribed_alert": ["t1", {"thing1": "alert"}]}),
    }  # fmt: skip
    gateways = build_gateways(rules("aliyun", "wechat", "wecom"), tmp_path, env)
    assert isinstance(gateways["sms"], AliyunSmsGateway)
    assert isinstance(gateways["wechat"], WeChatTemplateGateway)
    assert isinstance(gateways["wecom"], WeComRobotGateway)
    tencent = {
        "CIVICFLOW_TENCENT_SECRET_ID": "id", "CIVICFLOW_TENCENT_SECRET_KEY": "k",
        "CIVICFLOW_TENCENT_SDK_APP_ID": "1400", "CIVICFLOW_TENCENT_SIGN_NAME": "综治中心",
        "CIVICFLOW_TENCENT_TEMPLATES": json.dumps({"case_dispatched": ["2261350", ["case_no"]]}),
    }  # fmt: skip
    assert isinstance(build_gateways(rules("tencent"), tmp_path, tencent)["sms"], TencentSmsGateway)


def test_a_missing_credential_refuses_the_start_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CIVICFLOW_ALIYUN_ACCESS_KEY_ID"):
        build_gateways(rules("aliyun"), tmp_path, {})
    with pytest.raises(ConfigError, match="CIVICFLOW_ALIYUN_TEMPLATES: not JSON"):
        build_gateways(rules("aliyun"), tmp_path, {
            "CIVICFLOW_ALIYUN_ACCESS_KEY_ID": "id", "CIVICFLOW_ALIYUN_ACCESS_KEY_SECRET": "s",
            "CIVICFLOW_ALIYUN_SIGN_NAME": "x", "CIVICFLOW_ALIYUN_TEMPLATES": "{nope",
        })  # fmt: skip


def test_the_file_gateway_dates_its_lines_by_the_service_s_clock(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 12, 7, 23, 0, tzinfo=UTC))
    gateway = build_gateways(rules("file"), tmp_path, {}, clock)["sms"]
    message_id = gateway.send(Message(address="13900000000", text="您好", template="t"))
    [line] = (tmp_path / "notify" / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    written = json.loads(line)
    assert (written["message_id"], written["at"]) == (message_id, "2026-12-07T23:00:00+00:00")
