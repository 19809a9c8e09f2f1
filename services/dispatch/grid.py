"""What dispatch asks of the grid service: where cases are, who is on duty for a category at a
level, who supervises a unit.

``Grid`` is what the handlers are given. ``GridOverRpc`` asks the grid service and keeps the
duty lists a while; ``tests/support/fake_dispatch.py`` has a grid in memory. Every method
raises ``RpcUnavailable`` when grid does not answer in time; the handlers decide what a case
does without the answer.
"""

from __future__ import annotations

from typing import Any, Protocol

from contracts.rpc import DepartmentDuty, Location, StaffMember
from kit.cache import KeptAnswers
from kit.rpc import RpcUnavailable

__all__ = ["DutyQuestion", "Grid", "GridOverRpc", "RpcUnavailable"]

DutyQuestion = tuple[str, str, str | None]
"""category, level, unit"""


class Grid(Protocol):
    def locate_all(self, places: list[dict[str, Any]]) -> list[Location]:
        """Where each place is, in the order asked (``grid.locate`` for many at once)."""
        ...

    def departments_for(self, category: str, level: str, unit: str | None) -> list[DepartmentDuty]:
        """The duty list: who handles the category at the level (in the unit), leads first."""
        ...

    def staff(self, unit: str, role: str) -> list[StaffMember]: ...


class GridOverRpc:
    """The grid service over RPC. Duty lists are kept in ``duties`` until grid says its duties
    changed (the service clears them), and the time it allows at most."""

    def __init__(self, rpc: Any, duties: KeptAnswers[DutyQuestion, list[DepartmentDuty]]) -> None:
        self.rpc = rpc
        self.duties = duties

    def locate_all(self, places: list[dict[str, Any]]) -> list[Location]:
        return [Location.model_validate(answer) for answer in self.rpc.locate_all(places)]

    def departments_for(self, category: str, level: str, unit: str | None) -> list[DepartmentDuty]:
        def ask() -> list[DepartmentDuty]:
            answer = self.rpc.departments_for(category, level, unit)
            return [DepartmentDuty.model_validate(duty) for duty in answer]

        return self.duties.get((category, level, unit), ask)

    def staff(self, unit: str, role: str) -> list[StaffMember]:
        return [StaffMember.model_validate(person) for person in self.rpc.staff(unit, role)]
