"""Run inputs: parse ``--input k=v``, coerce each value to its declared type."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from .errors import InputError
from .problem import Problem, did_you_mean


class InputSpec(Protocol):
    """A declared input: crew.yaml's ``InputSpec``, or its outline in the validation cache."""

    @property
    def type(self) -> str: ...
    @property
    def default(self) -> Any: ...
    @property
    def description(self) -> str: ...

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_pairs(pairs: list[str]) -> tuple[dict[str, str], list[Problem]]:
    """``["topic=solar", ...]`` -> ``{"topic": "solar"}``."""
    values: dict[str, str] = {}
    problems: list[Problem] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            problems.append(Problem(f"--input '{pair}' is not of the form name=value",
                                    hint='for example --input topic="solar storage"'))
            continue
        values[key.strip()] = value
    return values, problems


def coerce(name: str, raw: Any, spec: InputSpec) -> tuple[Any, str | None]:
    """The value as the declared type, or an error message."""
    if spec.type == "string":
        return str(raw), None
    if isinstance(raw, bool) or not isinstance(raw, str):
        if spec.type == "boolean" and isinstance(raw, bool):
            return raw, None
        if spec.type in ("integer", "number") and isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return (int(raw) if spec.type == "integer" and float(raw).is_integer() else raw), None
        raw = str(raw)
    text = raw.strip()
    try:
        if spec.type == "integer":
            return int(text), None
        if spec.type == "number":
            return float(text), None
    except ValueError:
        kind = "a whole number" if spec.type == "integer" else "a number"
        return None, f"input '{name}' must be {kind}, got '{raw}'"
    if text.lower() in _TRUE:
        return True, None
    if text.lower() in _FALSE:
        return False, None
    return None, f"input '{name}' must be true or false, got '{raw}'"


def bind(declared: Mapping[str, InputSpec], given: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Every declared input's value: given (coerced) or default; problems for the rest."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for name in given:
        if name not in declared:
            hint = did_you_mean(name, declared) or f"declared inputs: {', '.join(declared) or 'none'}"
            problems.append(Problem(f"unknown input '{name}'", hint=hint))
    for name, spec in declared.items():
        if name in given:
            value, error = coerce(name, given[name], spec)
            if error:
                problems.append(Problem(error))
            else:
                values[name] = value
        elif spec.default is not None:
            values[name] = spec.default
        else:
            about = f" ({spec.description})" if spec.description else ""
            problems.append(Problem(f"missing required input '{name}'{about}",
                                    hint=f'pass --input {name}=...'))
    return values, problems


def bound(declared: Mapping[str, InputSpec], given: Mapping[str, Any]) -> dict[str, Any]:
    """Like ``bind``, but raises ``InputError`` listing every problem."""
    values, problems = bind(declared, given)
    if problems:
        raise InputError(problems)
    return values
