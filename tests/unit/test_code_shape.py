"""The shape the code keeps so that a newcomer can change it safely: small modules, short
functions, thin entrypoints, time from the clock, library internals left alone."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bench", "civicflow", "contracts", "kernel", "kit", "services")
MODULE_LINES = 500
FUNCTION_LINES = 60
SERVICE_LINES = 250


def sources() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_no_module_is_over_500_lines() -> None:
    long = {name(p): n for p in sources() if (n := len(p.read_text().splitlines())) > MODULE_LINES}
    assert long == {}


def test_no_function_is_over_60_lines() -> None:
    long = {}
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LINES:
                    long[f"{name(path)}:{node.lineno} {node.name}"] = length
    assert long == {}


@pytest.mark.parametrize(
    "service", sorted(p.parent.name for p in (ROOT / "services").glob("*/service.py"))
)
def test_each_service_module_holds_entrypoints_only(service: str) -> None:
    lines = (ROOT / "services" / service / "service.py").read_text().splitlines()
    assert len(lines) < SERVICE_LINES


def test_services_read_the_time_from_their_clock() -> None:
    """``datetime.now()`` in a service is time no test can hold still."""
    found = [
        f"{name(path)}:{number}"
        for path in sorted((ROOT / "services").rglob("*.py"))
        if "gateways" not in path.parts  # provider signatures are dated by the gateway's clock
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"datetime\.now\(|\butcnow\(\)|time\.time\(\)", line)
    ]
    assert found == []


INTERNALS = re.compile(
    r"transport\.write|\.bytes_sent|ClassManager|manager_of_class|\.__dict__\b|"
    r"struct\.pack|_civicflow_|exec_driver_sql\(f|\._consumers\b|\._providers\b|\._gt\b"
)


def test_nothing_encodes_frames_or_touches_library_internals() -> None:
    """Libraries are used through their documented interfaces; the nameko fixes, which must
    reach into nameko, are in ``kit/nameko_fixes.py`` and are exempt."""
    found = [
        f"{name(path)}:{number}: {line.strip()}"
        for package in ("kit", "kernel", "services", "contracts", "civicflow")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name != "nameko_fixes.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if INTERNALS.search(line)
    ]
    assert found == []
