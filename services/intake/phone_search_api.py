"""Intake's entrypoint for phone search: the console asks for a citizen's cases by the blind
index of their number (``kernel.phones``); intake, which holds the numbers, answers case ids."""

from __future__ import annotations

from typing import Any, Protocol, cast

from kit.rpc import rpc
from services.intake import queries
from services.intake.unit_of_work import SqlIntakeReads


class Intake(Protocol):
    """What the entrypoint uses of the service it is mixed into."""

    def _reads(self) -> SqlIntakeReads: ...


class PhoneSearchEntrypoints:
    """Mixed into ``IntakeService``."""

    @rpc
    def case_ids_by_phone(self, blind_index: str) -> Any:
        """The case ids of the citizen whose number has this blind index, newest first (at
        most ``queries.CASES_BY_PHONE``)."""
        return queries.case_ids_by_phone(cast(Intake, self)._reads(), blind_index)
