"""Configuration files read so that a refusal names the file, the line and the field at fault.

A service refuses to start on a wrong configuration file, and says where: ``sla.yml line 12:
overrides[1].when.risk: 'purple' is not red, yellow or blue``.

Every configuration error is a ``ConfigError``. A file is described by a pydantic model and read
with ``load_model``, which turns pydantic's error locations into the line each field is written
on. Older builders raise ``Fault`` with the path of the field (keys and list indexes); ``load``
turns it into the caller's error type with the line the field is written on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

PathStep = str | int
"""A step into the document: a mapping key, or an index into a list."""

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A configuration file or setting is missing or wrong; the message names the file, the
    line and the field. The base of every configuration error of the platform."""


class Fault(Exception):
    """A field at fault, by path."""

    def __init__(self, path: Sequence[PathStep], detail: str) -> None:
        super().__init__(detail)
        self.path = tuple(path)
        self.detail = detail

    def describe(self) -> str:
        dotted = dotted_path(self.path)
        return f"{dotted}: {self.detail}" if dotted else self.detail


def dotted_path(path: Sequence[PathStep]) -> str:
    """``("overrides", 1, "when", "risk")`` -> ``overrides[1].when.risk``."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def either(values: Sequence[str]) -> str:
    """``a, b or c``: the choices a message offers."""
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


def refuse_unknown(
    mapping: Mapping[Any, Any], path: Sequence[PathStep], known: Sequence[str]
) -> None:
    for key in mapping:
        if key not in known:
            # a misspelt field would otherwise be ignored and its default applied
            raise Fault((*path, str(key)), f"unknown field (expected {either(known)})")


def load(
    text: str, name: str, build: Callable[[object], T], error: Callable[[str], Exception]
) -> T:
    """Parse ``text`` and ``build`` from it; any fault raised as ``error`` naming its line."""
    root, document = compose(text, name, error)
    duplicate = first_duplicate(root, ())
    if duplicate is not None:
        path, line = duplicate
        raise error(f"{name} line {line}: {dotted_path(path)}: given twice")
    try:
        return build(document)
    except Fault as fault:
        raise error(f"{name} line {line_of(root, fault.path)}: {fault.describe()}") from None


class _DatesAsTextLoader(yaml.SafeLoader):
    """YAML's own dates (2027-02-30 raises a bare ValueError with no line) left as text, so the
    model validates them and an impossible date is named with its line and field."""


def _date_as_text(loader: yaml.SafeLoader, node: Node) -> str:
    value: str = loader.construct_scalar(node)  # type: ignore[arg-type]
    return value


_DatesAsTextLoader.add_constructor("tag:yaml.org,2002:timestamp", _date_as_text)


def compose(
    text: str, name: str, error: Callable[[str], Exception], dates_as_text: bool = False
) -> tuple[Node | None, object]:
    """The node tree (for line numbers) and the document built from it, in one parse."""
    loader = _DatesAsTextLoader(text) if dates_as_text else yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        document = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise error(f"{name}{where}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise error(f"{name}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return root, document


def line_of(root: Node | None, path: Sequence[PathStep]) -> int:
    """The 1-based line of the field at ``path``; when it is missing, the line of its nearest
    parent that exists (where it should have been given)."""
    if root is None:
        return 1
    node: Node = root
    line = node.start_mark.line + 1
    for step in path:
        if isinstance(node, MappingNode) and not isinstance(step, int):
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.value == step:
                    # the key's line: where the field's name is written, even for a nested block
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def first_duplicate(
    node: Node | None, path: tuple[PathStep, ...]
) -> tuple[tuple[PathStep, ...], int] | None:
    """A key given twice in one mapping: YAML keeps the last silently, hiding the first."""
    if isinstance(node, MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value != "<<":
                if key.value in seen:
                    return (*path, key.value), key.start_mark.line + 1
                seen.add(key.value)
                found = first_duplicate(value, (*path, key.value))
                if found is not None:
                    return found
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            found = first_duplicate(item, (*path, index))
            if found is not None:
                return found
    return None


def load_model(
    text: str,
    name: str,
    model: type[M],
    error: Callable[[str], Exception] = ConfigError,
    *,
    dates_as_text: bool = False,
) -> M:
    """Parse ``text`` (the file ``name``) and validate it as ``model``. Every field at fault is
    named with its line, one per line of the error's message. ``dates_as_text`` hands dates to
    the model as text, for a model that validates its own."""
    root, document = compose(text, name, error, dates_as_text)
    duplicate = first_duplicate(root, ())
    if duplicate is not None:
        path, line = duplicate
        raise error(f"{name} line {line}: {dotted_path(path)}: given twice")
    try:
        return model.model_validate({} if document is None else document)
    except ValidationError as exc:
        raise error(describe_validation(exc, name, root)) from None
    except Fault as fault:
        raise error(f"{name} line {line_of(root, fault.path)}: {fault.describe()}") from None


def describe_validation(exc: ValidationError, name: str, root: Node | None) -> str:
    """Each of pydantic's errors as ``name line N: field.path: message``."""
    lines = []
    for problem in exc.errors(include_url=False):
        path = tuple(step for step in problem["loc"] if isinstance(step, str | int))
        path = _without_union_tags(path, root)
        where = dotted_path(path)
        lines.append(
            f"{name} line {line_of(root, path)}: {where + ': ' if where else ''}{problem['msg']}"
        )
    return "\n".join(lines)


def _without_union_tags(path: tuple[PathStep, ...], root: Node | None) -> tuple[PathStep, ...]:
    """pydantic puts a union member's tag (``function-after[...]``, a model's name) into an
    error's location; the file knows nothing of them, so steps that are not in the document
    are left out."""
    kept: list[PathStep] = []
    node = root
    for step in path:
        child = _child(node, step)
        if child is None and node is not None and isinstance(step, str) and "[" in step:
            continue
        kept.append(step)
        node = child
    return tuple(kept)


def _child(node: Node | None, step: PathStep) -> Node | None:
    if isinstance(node, MappingNode) and isinstance(step, str):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == step:
                found: Node = value
                return found
    if isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
        child: Node = node.value[step]
        return child
    return None
