"""What intake reads from its configuration files once, when it starts: the sources, the risk
rules, the repeat policy, the phone vault, the key of the numbers' blind index and the
categories Open311 offers."""

from __future__ import annotations

import os
from dataclasses import dataclass

from kit.catalogue import load_catalogue
from kit.pii import PhoneVault, load_phone_index_key, load_vault
from kit.settings import Settings
from services.intake import domain, open311
from services.intake.repeats import RepeatPolicy
from services.intake.risk import RiskRules


@dataclass(frozen=True)
class IntakeConfig:
    sources: domain.SourceRegistry
    risk: RiskRules
    repeats: RepeatPolicy
    vault: PhoneVault
    services: dict[str, open311.Service]
    phone_index_key: str = ""
    """The key of the numbers' blind index (phone search); none: no index is stored."""
    public_url: str = ""
    """Where intake is reached from outside (``INTAKE_PUBLIC_URL``); empty: each request's
    Host (``open311.public_url``)."""


def load_config(settings: Settings) -> IntakeConfig:
    return IntakeConfig(
        sources=domain.SourceRegistry.from_file(
            settings.config_dir / "sources.yml", os.environ, production=not settings.is_dev
        ),
        risk=RiskRules.from_file(settings.config_dir / "risk.yml"),
        repeats=RepeatPolicy.from_file(settings.config_dir / "intake.yml"),
        vault=load_vault(settings),
        services=open311.catalogue(load_catalogue(settings.config_dir).categories),
        phone_index_key=load_phone_index_key(settings),
        public_url=open311.public_url(os.environ.get("INTAKE_PUBLIC_URL", "")),
    )
