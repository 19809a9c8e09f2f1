"""The console's downloads (导出): the case list with the list's own filters, and the
assessment, as CSV or XLSX. Mixed into ``ConsoleService``; the rows are ``export``'s, the
files ``kit.tabular``'s.

The first page is fetched before the answer starts, so that a refusal (a bad filter, a service
not answering) is a status with its errors; the rest is fetched as the download goes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, Protocol, cast

from werkzeug.wrappers import Request, Response

from kernel.clock import Clock
from kit import tabular
from kit.catalogue import load_catalogue
from kit.providers import Configured
from kit.settings import Settings
from kit.web import http
from services.console import cases, domain, export
from services.console.edge import answers
from services.console.ports import Dispatch, Supervision


def category_names(settings: Settings) -> dict[str, str]:
    """Each category's Chinese name, by its code."""
    return {code: c.name for code, c in load_catalogue(settings.config_dir).categories.items()}


class Console(Protocol):
    """What the entrypoints use of the service they are mixed into."""

    clock: Clock
    dispatch: Dispatch
    supervision: Supervision
    category_names: dict[str, str]

    def _principal(self, request: Request, token: str | None = None) -> domain.Principal: ...

    def _phone_search(self) -> cases.PhoneSearch: ...


class ExportEntrypoints:
    """Mixed into ``ConsoleService``."""

    category_names: dict[str, str] = Configured(category_names)

    @http("GET", "/api/v1/cases/export")
    def export_cases(self, request: Request) -> Response:
        """The whole filtered list within reach, ``?format=csv|xlsx`` and the list's filters."""
        console = cast(Console, self)
        principal, query = console._principal(request), cases.CaseQuery.of(request.args)
        with answers():
            kind = export.export_format(request.args.get("format"))
            pages = cases.walk_cases(console.dispatch, principal, query, console._phone_search())
            first = next(pages, [])
        found = (case for page in itertools.chain([first], pages) for case in page)
        rows = export.case_rows(found, console.category_names)
        name = export.filename("工单导出", kind, console.clock.now())
        return _download(tabular.chunks(kind, export.CASE_COLUMNS, rows, "工单"), kind, name)

    @http("GET", "/api/v1/assessment/export")
    def export_assessment(self, request: Request) -> Response:
        """一单考评 of ``period`` (and ``kind``), ``?format=csv|xlsx``."""
        console = cast(Console, self)
        principal = console._principal(request)
        period, kind = request.args.get("period", ""), request.args.get("kind") or None
        with answers(console.dispatch, period):
            wanted = export.export_format(request.args.get("format"))
            found: Any = cases.assessment(console.supervision, principal, period, kind)
        rows = export.assessment_rows(found if isinstance(found, list) else [])
        name = export.filename(f"一单考评-{period}", wanted, console.clock.now())
        return _download(
            tabular.chunks(wanted, export.ASSESSMENT_COLUMNS, rows, "考评"), wanted, name
        )


def _download(chunks: Iterator[bytes], kind: tabular.Format, name: str) -> Response:
    headers = {"Content-Disposition": tabular.attachment(name), "Cache-Control": "no-store",
               "X-Content-Type-Options": "nosniff"}  # fmt: skip
    return Response(chunks, content_type=tabular.CONTENT_TYPES[kind], headers=headers)
