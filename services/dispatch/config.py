"""Dispatch's configuration: the catalogue with routing.yml's keywords, the routing rules and
the SLA policy, read once when the service starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kernel.sla import SlaPolicy
from kit.catalogue import load_catalogue
from kit.settings import Settings
from kit.sla import load_sla_policy
from services.dispatch import domain
from services.dispatch.routing_config import RoutingConfigError, RoutingFile, load_routing


@dataclass(frozen=True)
class DispatchConfig:
    table: domain.RoutingTable
    rules: domain.RoutingRules
    sla: SlaPolicy


def read_routing(path: Path, catalogue: domain.RoutingTable) -> RoutingFile:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RoutingConfigError(f"{path}: missing") from None
    return load_routing(text, catalogue.categories, catalogue.departments, path.name)


def load_config(settings: Settings) -> DispatchConfig:
    read = load_catalogue(settings.config_dir)
    catalogue = domain.RoutingTable(read.categories, read.departments)
    routing = read_routing(settings.config_dir / "routing.yml", catalogue)
    return DispatchConfig(
        domain.extra_keywords(routing, catalogue), domain.RoutingRules.from_routing(routing),
        load_sla_policy(settings.config_dir),
    )  # fmt: skip
