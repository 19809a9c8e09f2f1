from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import SERVICES
from tests.support.harness import Processes, running_processes


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Processes]:
    with running_processes(tmp_path, SERVICES) as running:
        yield running
