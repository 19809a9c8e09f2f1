"""The other services as the console's handlers call them, listing only what they call.

In the service these are the RPC clients (``kit.providers.RpcClient``); in the handlers' unit
tests, ``tests/support/fake_console.py`` stands in for them. Answers are the JSON-shaped
documents the services' RPC returns.
"""

from __future__ import annotations

from typing import Any, Protocol


class Dispatch(Protocol):
    """Cases and their lifecycle (派单、办理、反馈、办结…)."""

    def get_case(self, case_id: str) -> dict[str, Any] | None: ...

    def list_cases(
        self,
        scope: list[str] | None,
        filters: dict[str, Any],
        page: int,
        page_size: int,
        after: str | None = None,
    ) -> dict[str, Any]:
        """``{"items": [case…], "next", …}`` of the cases of the units in ``scope`` (None:
        all), ``filters`` as ``contracts.listing.CaseListFilters`` dumps them, ``case_ids``
        among them (phone search: only those)."""
        ...

    def act(
        self, case_id: str, action: dict[str, Any], actor: dict[str, Any], key: str | None
    ) -> dict[str, Any]:
        """Carry out a lifecycle action (``contracts.actions``) as ``actor``; the case after."""
        ...

    def dispatch_many(
        self, case_ids: list[str], actor: dict[str, Any], key: str | None
    ) -> list[dict[str, Any]]:
        """一键派单 of many: each case takes its suggestion; an answer per case."""
        ...

    def export_cases(
        self,
        scope: list[str] | None,
        filters: dict[str, Any],
        after: str | None = None,
        page_size: int = 1000,
    ) -> dict[str, Any]:
        """``{"items": [case…], "next"}`` (``contracts.rpc.ExportPage``): the cases of the
        list's ``scope`` and ``filters`` as an export's rows, newest first, after the cursor
        ``after``; no count."""
        ...

    def open_cases(
        self,
        scope: list[str] | None,
        unit: str | None = None,
        located: bool = False,
        limit: int = 5000,
    ) -> dict[str, Any]:
        """``{"items": [{case_id, lat, lon, risk, status, category, overdue, received_at}],
        "capped"}`` (``contracts.mapping.OpenCases``): the open cases in ``scope``, within
        ``unit``'s reach when given, newest first; ``located``: only those with a place."""
        ...


class Supervision(Protocol):
    """督办 orders, the overdue board, 一单考评 and alert subscriptions."""

    def issue_order(self, case_id: str, order: Any, issued_by: str) -> dict[str, Any]: ...

    def reply_to_order(self, order_id: str, reply: Any, user: str) -> dict[str, Any]: ...

    def board(self, scope: list[str] | None, after: str | None = None) -> dict[str, Any]:
        """超时看板: the cards' counts, a page of late cases and the ``next`` cursor."""
        ...

    def assessment(self, period: str, kind: str | None) -> dict[str, Any]: ...

    def people(self, period: str) -> list[dict[str, Any]]:
        """Per person (承办人, 网格员): steps taken in the period, on time or late."""
        ...

    def accountability(self, period: str) -> list[dict[str, Any]]:
        """问责记录 opened in the period, the newest first."""
        ...

    def open_accountability(self, order_id: str, record: Any, by: str) -> dict[str, Any]: ...

    def subscriptions(self, subscriber: str) -> list[dict[str, Any]]: ...

    def subscribe(self, wanted: dict[str, Any]) -> dict[str, Any]: ...

    def unsubscribe(self, subscription_id: int, subscriber: str) -> None: ...

    def revisits(self, page: int, page_size: int) -> dict[str, Any]:
        """待回访: ``{"items": [{case_id, due_at, warned, overdue…}], "total", …}``."""
        ...


class Grid(Protocol):
    """The territory: its units and their outlines."""

    def units(self, level: str | None, parent: str | None, limit: int) -> list[dict[str, Any]]: ...

    def shapes(self, level: str) -> list[dict[str, Any]]: ...

    def outlines(self) -> dict[str, Any]:
        """Every unit's outline, one GeoJSON FeatureCollection (``contracts.mapping``)."""
        ...

    def chain(self, code: str) -> list[dict[str, Any]]:
        """The unit and its ancestors, nearest first; [] for an unknown code."""
        ...

    def staff(self, code: str, role: str | None = None) -> list[dict[str, Any]]:
        """The people of a unit, phones masked."""
        ...


class Intake(Protocol):
    """What came in: here, the citizen's sealed number behind a case."""

    def reporter_contact(self, case_id: str) -> dict[str, Any] | None:
        """``{"phone_sealed": …}``, or None when there is no number."""
        ...

    def case_ids_by_phone(self, blind_index: str) -> list[str]:
        """The cases of the citizen whose number has this blind index, newest first."""
        ...

    def register_at_desk(
        self, registration: dict[str, Any], received_by: str, key: str | None
    ) -> dict[str, Any]:
        """登记: ``{"case_id", "duplicate", "received_at"}`` of a desk registration."""
        ...
