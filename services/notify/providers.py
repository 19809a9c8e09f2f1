"""Where messages leave the platform. ``file`` writes JSON lines under ``var/`` for dev."""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol


class ProviderError(Exception):
    """The provider refused or failed; ``transient`` says whether trying again may help."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class SmsProvider(Protocol):
    name: str

    def send_sms(self, phone: str, text: str, reference: str) -> str:
        """Send; return the provider's message id."""
        ...


class FileProvider:
    """Appends each message as one JSON line: the dev stand-in for a real SMS gateway."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send_sms(self, phone: str, text: str, reference: str) -> str:
        message_id = uuid.uuid4().hex
        line = json.dumps(
            {
                "message_id": message_id,
                "reference": reference,
                "to": phone,
                "text": text,
                "at": datetime.now(UTC).isoformat(),
            },
            ensure_ascii=False,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
        return message_id
