"""Pydantic's validation errors as one short message per problem: key, value, what is allowed.

Read from the models' own fields and constraints so that the message and the check never disagree.
The whole text is capped: thousands of bad entries must not become a megabyte of log.
"""

from __future__ import annotations

import difflib
import json
import types
from typing import Any, Iterable, Literal, Union, get_args, get_origin

from pydantic import BaseModel

MAX_PROBLEMS = 10  # reported in full; the rest are counted
MAX_VALUE_CHARS = 60

_BOUND_WORDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_RANGE_KINDS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal",
                          "finite_number"})
_TYPE_NAMES = {str: "a string", bool: "a boolean", int: "an integer", float: "a number with a fraction",
               list: "a list", tuple: "a list", dict: "an object", type(None): "null"}


def show(value: Any) -> str:
    """The value as the user wrote it in JSON (null, true, "x"), shortened when long."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > MAX_VALUE_CHARS:
        text = f"{text[:MAX_VALUE_CHARS]}... ({len(text):,} characters)"
    return text


def describe_errors(root: type[BaseModel], section: str, errors: Iterable[dict]) -> str:
    """'; '-joined problems, the first ``MAX_PROBLEMS`` in full and the rest as a count."""
    errors = list(errors)
    lines = [_describe(root, section, error) for error in errors[:MAX_PROBLEMS]]
    if len(errors) > MAX_PROBLEMS:
        lines.append(f"and {len(errors) - MAX_PROBLEMS:,} more problems")
    return "; ".join(lines)


def _describe(root: type[BaseModel], section: str, error: dict) -> str:
    location = tuple(error["loc"])
    key, kind, value = _dotted(section, location), error["type"], error.get("input")
    if kind == "extra_forbidden":
        known = list(_model_at(root, location[:-1]).model_fields)
        guess = difflib.get_close_matches(str(location[-1]), known, n=1)
        hint = f" Did you mean '{guess[0]}'?" if guess else ""
        return f"{key}: unknown key.{hint} Allowed keys: {', '.join(known)}"
    if kind == "value_error":  # a rule across keys; the message names them and their values
        return f"{key}: {error['msg'].removeprefix('Value error, ')}"
    annotation, constraints = _field(root, location)
    if kind == "missing":
        return f"{key}: required key is missing; allowed: {_allowed(annotation, constraints)}"
    if kind in _RANGE_KINDS:
        return f"{key} = {show(value)}: allowed: {_bounds(constraints)}"
    if kind == "literal_error":  # the right type, not one of the names
        return f"{key} = {show(value)}: allowed: {_allowed(annotation, constraints)}"
    got = _TYPE_NAMES.get(type(value), type(value).__name__)
    return f"{key} = {show(value)}: allowed: {_allowed(annotation, constraints)}, not {got}"


def _dotted(section: str, location: tuple) -> str:
    text = section
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the annotation without ``| None``, whether null is allowed)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        return (args[0] if len(args) == 1 else annotation), len(args) < len(get_args(annotation))
    return annotation, False


def _model_at(root: type[BaseModel], path: tuple) -> type[BaseModel]:
    """The model that owns the mapping at ``path`` (list indexes step into the item type)."""
    model: Any = root
    for part in path:
        annotation = model if isinstance(part, int) else _unwrap(model.model_fields[part].annotation)[0]
        if get_origin(annotation) is tuple:
            annotation = get_args(annotation)[0]
        model = annotation
    return model


def _field(root: type[BaseModel], location: tuple) -> tuple[Any, list]:
    """(annotation, constraint objects) of the field or list item at ``location``."""
    if isinstance(location[-1], int):
        return _model_at(root, location), []
    field = _model_at(root, location[:-1]).model_fields[str(location[-1])]
    return field.annotation, list(field.metadata)


def _bounds(constraints: list) -> str:
    parts = [f"{word} {getattr(c, attr):g}" for c in constraints
             for attr, word in _BOUND_WORDS.items() if getattr(c, attr, None) is not None]
    return " and ".join(parts) or "a finite number"


def _allowed(annotation: Any, constraints: list) -> str:
    """'a number > 0 and < 1', 'true or false', 'an object with keys a, b, or null (off)' ..."""
    inner, nullable = _unwrap(annotation)
    bounds = _bounds(constraints) if constraints else ""
    if inner is bool:
        text = "true or false"
    elif inner is int:
        text = f"an integer {bounds}".rstrip()
    elif inner is float:
        text = f"a number {bounds}".rstrip()
    elif get_origin(inner) is tuple:
        item = get_args(inner)[0]
        text = f"a list of objects with keys {', '.join(item.model_fields)}"
    elif isinstance(inner, type) and issubclass(inner, BaseModel):
        text = f"an object with keys {', '.join(inner.model_fields)}"
    elif get_origin(inner) is Literal:
        text = "one of " + ", ".join(json.dumps(choice) for choice in get_args(inner))
    else:
        text = str(inner)
    if nullable:
        text += ", or null (off)" if isinstance(inner, type) and issubclass(inner, BaseModel) else ", or null"
    return text
