"""What notify reads once at start: notify.yml and the gateways it chooses, the departments'
duty phones and duty roster (duty.yml: 值班表, AB岗), the vault, and the callbacks' tokens."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kernel.duty import EMPTY, DutyRoster
from kit.catalogue import load_departments
from kit.pii import load_vault
from kit.settings import Settings, secret
from services.notify import domain
from services.notify.providers import build_gateways
from services.notify.rules import NotifyRules
from services.notify.sending import ProviderConcurrency, Sending

DEV_CALLBACK_TOKEN = "dev-notify-callback"


@dataclass(frozen=True)
class NotifyConfig:
    sending: Sending
    departments: domain.ContactDirectory
    callback_token: str
    """Aliyun's and Tencent's callbacks are not signed: their URL carries this token."""
    wechat_token: str
    centre_robot: str
    roster: DutyRoster = EMPTY
    """值班表 and AB岗: who is told a unit's alerts when its holder is away, or round the clock."""


def load_config(settings: Settings) -> NotifyConfig:
    rules = NotifyRules.from_file(settings.config_dir / "notify.yml")
    gateways = build_gateways(rules, settings.data_dir, clock=settings.clock)
    return NotifyConfig(
        Sending(rules, load_vault(settings), gateways, ProviderConcurrency(rules.max_in_flight)),
        domain.ContactDirectory.of(load_departments(settings.config_dir)),
        secret(settings, "CIVICFLOW_NOTIFY_CALLBACK_TOKEN", DEV_CALLBACK_TOKEN),
        secret(settings, "CIVICFLOW_WECHAT_TOKEN", "dev-wechat-token"),
        secret(settings, "CIVICFLOW_WECOM_CENTRE_KEY", "dev-centre-robot"),
        read_roster(settings.config_dir),
    )


def read_roster(config_dir: Path) -> DutyRoster:
    """duty.yml; nobody stands in for anyone when the file is absent. A wrong one (a 24/7 unit
    with a gap, shifts that overlap) refuses notify's start, naming the line and the field."""
    path = config_dir / "duty.yml"
    if not path.exists():
        return EMPTY
    return DutyRoster.from_text(path.read_text(encoding="utf-8"), name=path.name)
