"""Where messages leave the platform: the gateway chosen for each channel in notify.yml.

``file`` writes JSON lines under ``var/notify/`` (the dev default); the real adapters take their
credentials from the environment, never from a file in the repository:

* Aliyun SMS: ``CIVICFLOW_ALIYUN_ACCESS_KEY_ID``, ``…_ACCESS_KEY_SECRET``, ``…_SIGN_NAME``,
  ``…_TEMPLATES`` (JSON: our template name → TemplateCode), ``…_BASE_URL`` (optional);
* Tencent SMS: ``CIVICFLOW_TENCENT_SECRET_ID``, ``…_SECRET_KEY``, ``…_SDK_APP_ID``,
  ``…_SIGN_NAME``, ``…_TEMPLATES`` (JSON: name → [TemplateId, [variable, …]]), ``…_BASE_URL``;
* WeChat official account: ``CIVICFLOW_WECHAT_APPID``, ``…_SECRET``, ``…_TEMPLATES`` (JSON:
  name → [template_id, {data key: variable}]), ``…_BASE_URL``;
* WeCom group robot: ``CIVICFLOW_WECOM_BASE_URL`` (optional).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kernel.clock import Clock, SystemClock
from kit.green import off_the_hub
from kit.settings import ConfigError
from services.notify.gateways import aliyun_sms, tencent_sms, wechat_template, wecom_robot
from services.notify.gateways.aliyun_sms import AliyunSmsConfig, AliyunSmsGateway
from services.notify.gateways.base import Gateway, GatewayChannel, Message
from services.notify.gateways.tencent_sms import TencentSmsConfig, TencentSmsGateway
from services.notify.gateways.wechat_template import WeChatTemplateConfig, WeChatTemplateGateway
from services.notify.gateways.wecom_robot import WeComRobotConfig, WeComRobotGateway
from services.notify.rules import ChannelName, NotifyRules


class FileGateway:
    """Appends each message as one JSON line: the dev stand-in for a real gateway."""

    name = "file"

    def __init__(self, path: Path, channel: GatewayChannel, clock: Clock | None = None) -> None:
        self.path = path
        self.channel = channel
        self.clock = clock or SystemClock()
        self._lock = threading.Lock()

    def send(self, message: Message) -> str:
        message_id = uuid.uuid4().hex
        line = json.dumps(
            {
                "message_id": message_id, "reference": message.reference, "to": message.address,
                "text": message.text, "template": message.template, "params": message.params,
                "at": self.clock.now().isoformat(),
            },
            ensure_ascii=False,
        )  # fmt: skip
        with self._lock:
            off_the_hub(self._append, line)
        return message_id

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())


def build_gateways(
    rules: NotifyRules,
    data_dir: Path,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> dict[ChannelName, Gateway]:
    """The gateway of each channel. ``clock`` dates what the file gateway writes; the real
    providers sign their requests with the machine's time, which they check."""
    env = os.environ if environ is None else environ
    return {
        channel: _gateway(channel, provider, data_dir, env, clock)
        for channel, provider in rules.providers.items()
    }


def _gateway(
    channel: ChannelName,
    provider: str,
    data_dir: Path,
    env: Mapping[str, str],
    clock: Clock | None = None,
) -> Gateway:
    if provider == "file":
        return FileGateway(data_dir / "notify" / f"{channel}.jsonl", channel, clock)
    if provider == "aliyun":
        return AliyunSmsGateway(
            AliyunSmsConfig(
                access_key_id=_need(env, "CIVICFLOW_ALIYUN_ACCESS_KEY_ID"),
                access_key_secret=_need(env, "CIVICFLOW_ALIYUN_ACCESS_KEY_SECRET"),
                sign_name=_need(env, "CIVICFLOW_ALIYUN_SIGN_NAME"),
                templates=_json(env, "CIVICFLOW_ALIYUN_TEMPLATES"),
                base_url=env.get("CIVICFLOW_ALIYUN_BASE_URL") or aliyun_sms.DEFAULT_BASE_URL,
            )
        )
    if provider == "tencent":
        templates = _json(env, "CIVICFLOW_TENCENT_TEMPLATES")
        return TencentSmsGateway(
            TencentSmsConfig(
                secret_id=_need(env, "CIVICFLOW_TENCENT_SECRET_ID"),
                secret_key=_need(env, "CIVICFLOW_TENCENT_SECRET_KEY"),
                sdk_app_id=_need(env, "CIVICFLOW_TENCENT_SDK_APP_ID"),
                sign_name=_need(env, "CIVICFLOW_TENCENT_SIGN_NAME"),
                templates={name: (str(t[0]), tuple(t[1])) for name, t in templates.items()},
                base_url=env.get("CIVICFLOW_TENCENT_BASE_URL") or tencent_sms.DEFAULT_BASE_URL,
            )
        )
    if provider == "wechat":
        templates = _json(env, "CIVICFLOW_WECHAT_TEMPLATES")
        return WeChatTemplateGateway(
            WeChatTemplateConfig(
                appid=_need(env, "CIVICFLOW_WECHAT_APPID"),
                secret=_need(env, "CIVICFLOW_WECHAT_SECRET"),
                templates={name: (str(t[0]), dict(t[1])) for name, t in templates.items()},
                base_url=env.get("CIVICFLOW_WECHAT_BASE_URL") or wechat_template.DEFAULT_BASE_URL,
            )
        )
    base = env.get("CIVICFLOW_WECOM_BASE_URL") or wecom_robot.DEFAULT_BASE_URL
    return WeComRobotGateway(WeComRobotConfig(base_url=base))


def _need(env: Mapping[str, str], key: str) -> str:
    value = env.get(key)
    if not value:
        raise ConfigError(f"notify.yml chooses a provider that needs {key}; it is not set")
    return value


def _json(env: Mapping[str, str], key: str) -> dict[str, Any]:
    try:
        value = json.loads(_need(env, key))
    except ValueError as bad:
        raise ConfigError(f"{key}: not JSON: {bad}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: must be a JSON object of template names")
    return value
