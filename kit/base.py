"""What every service answers besides its own work: ``/healthz`` and ``/metrics``."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from kit.metrics import exposition
from kit.providers import Database
from kit.web import http, json_response


class ServiceBase:
    name: str
    db: Database

    @http("GET", "/healthz")
    def healthz(self, request: Request) -> Response:
        checks = self.db.health()
        healthy = checks["database"] == "ok"
        body: dict[str, Any] = {"status": "ok" if healthy else "degraded", "service": self.name}
        body["checks"] = checks
        return json_response(body, 200 if healthy else 503)

    @http("GET", "/metrics")
    def metrics(self, request: Request) -> Response:
        payload, content_type = exposition()
        return Response(payload, content_type=content_type)
