"""Configuration files watched for a change while a service runs.

A file is installed by replacing it (``os.replace`` of a complete new file, as
``kit.sla.install_holidays`` does, or a Kubernetes ConfigMap's symlink swap), so its inode,
size or modification time change together with its content. One ``stat`` per file and worker
is all it costs: no thread, no timer, no sleeping.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

Signature = tuple[tuple[int, int, int] | None, ...]


class FileWatch:
    """Whether any of ``names`` in ``directory`` changed (appeared, went, was replaced) since
    the last look."""

    def __init__(self, directory: Path, names: Sequence[str]) -> None:
        self._paths = tuple(directory / name for name in names)
        self._seen = self._signature()

    def _signature(self) -> Signature:
        return tuple(_stat(path) for path in self._paths)

    def changed(self) -> bool:
        now = self._signature()
        if now == self._seen:
            return False
        self._seen = now
        return True


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return (status.st_ino, status.st_size, status.st_mtime_ns)
