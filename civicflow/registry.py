"""Which class is which service, imported only when asked for."""

from __future__ import annotations

import importlib

from kit.settings import SERVICES

SERVICE_CLASSES = {
    "intake": "services.intake.service:IntakeService",
    "grid": "services.grid.service:GridService",
    "dispatch": "services.dispatch.service:DispatchService",
    "supervision": "services.supervision.service:SupervisionService",
    "notify": "services.notify.service:NotifyService",
    "console": "services.console.service:ConsoleService",
}
assert tuple(SERVICE_CLASSES) == SERVICES


def service_class(name: str) -> type:
    module, _, attr = SERVICE_CLASSES[name].partition(":")
    cls: type = getattr(importlib.import_module(module), attr)
    return cls
