"""``sources.yml`` as a pydantic model: the submitters (来源) registered with intake, the lines
each may submit on, and their secrets and keys. Intake registers them; the console's
administration shows them. Both read the file here, so a wrong one is refused the same way,
naming the file, the line and the field.

Pure: the caller reads the file and hands its text in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from contracts.common import Channel
from kernel.config import ConfigError, dotted_path, load_model

SOURCES_FILE = "sources.yml"


class SourcesConfigError(ConfigError):
    """sources.yml is wrong; the message names the file, the line and the field, or the
    source."""


def _no_lines(value: object) -> object:
    """``channels:`` written with nothing after it: no line."""
    return [] if value is None else value


def _no_sources(value: object) -> object:
    """``sources:`` written with nothing after it: no source."""
    return {} if value is None else value


class SourceEntry(BaseModel):
    """A source of ``sources.yml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    secret: str = ""
    api_key: str = ""
    channels: Annotated[list[Channel], BeforeValidator(_no_lines)] = []
    """The lines it may submit on; none: nowhere."""
    callback_url: str | None = None


class SourcesFile(BaseModel):
    """``sources.yml``: the sources by their ids."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: Annotated[dict[str, SourceEntry], BeforeValidator(_no_sources)] = {}

    @classmethod
    def from_text(cls, text: str, name: str = SOURCES_FILE) -> SourcesFile:
        """The file; a fault names the file, the line and the field."""
        return load_model(text, name, cls, SourcesConfigError)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> SourcesFile:
        """The file parsed already (no lines to name): the same checks."""
        try:
            return cls.model_validate(document)
        except ValidationError as exc:
            faults = [
                f"{SOURCES_FILE}: "
                f"{dotted_path([s for s in e['loc'] if isinstance(s, str | int)])}: {e['msg']}"
                for e in exc.errors(include_url=False)
            ]
            raise SourcesConfigError("\n".join(faults)) from None
