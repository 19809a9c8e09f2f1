"""What the grid service is asked to do: commands, each handled by one function of
``handlers``."""

from __future__ import annotations

from dataclasses import dataclass

from services.grid.domain import Bundle
from services.grid.geo import DEFAULT_TOLERANCE_M


@dataclass(frozen=True)
class ImportTerritory:
    """Store the parts of the territory an import brings (``civicflow grid import``, the demo
    county): all of them, or on the first problem none. ``tolerance_m`` is how far a unit may
    stray outside its parent's outline and still be inside it."""

    bundle: Bundle
    tolerance_m: float = DEFAULT_TOLERANCE_M
