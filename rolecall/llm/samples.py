"""Deterministic sample instances of a pydantic model, valid under every constraint it states.

The scripted model answers structured tasks with one. It works from the model's JSON
Schema, which is where pydantic writes every constraint a field can carry (lengths,
ranges, multiples, patterns, enums, literals, nested models, item counts, formats), so a
sample passes the schema's own validation instead of tripping a ``max_length``.
"""
from __future__ import annotations

import math
import re
from re import _parser as sre  # type: ignore[attr-defined]  # the stdlib's own regex parser
from typing import Any

from pydantic import BaseModel

_FORMATS = {"date": "2026-01-05", "date-time": "2026-01-05T09:00:00", "time": "09:00:00",
            "email": "person@example.com", "uri": "https://example.com/",
            "uuid": "00000000-0000-4000-8000-000000000001",
            "ipv4": "192.0.2.1", "duration": "P1D"}


def sample(model: type[BaseModel], role: str) -> BaseModel:
    """An instance of ``model`` whose text fields read ``<field> by <role>`` where they can."""
    schema = model.model_json_schema()
    return model.model_validate(_Sampler(schema, role).value(schema, "value"))


class _Sampler:
    def __init__(self, root: dict[str, Any], role: str):
        self.root, self.role = root, role

    def value(self, node: Any, name: str, depth: int = 0) -> Any:
        if not isinstance(node, dict) or depth > 20:
            return None
        if "$ref" in node:
            return self.value(self._resolve(node["$ref"]), name, depth + 1)
        if "const" in node:
            return node["const"]
        if node.get("enum"):
            return node["enum"][0]
        if "default" in node and node.get("type") is None and not any(k in node for k in ("anyOf", "oneOf", "allOf")):
            return node["default"]
        for key in ("anyOf", "oneOf"):
            if key in node:  # the first branch that is not null: Optional[X] samples an X
                branches = [b for b in node[key] if b.get("type") != "null"] or node[key]
                return self.value(branches[0], name, depth + 1)
        if node.get("allOf"):
            return self.value(node["allOf"][0], name, depth + 1)
        kind = node.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object" or "properties" in node:
            return {key: self.value(sub, key, depth + 1) for key, sub in (node.get("properties") or {}).items()}
        if kind == "array":
            return self._array(node, name, depth)
        if kind == "string":
            return self._string(node, name)
        if kind in ("integer", "number"):
            return _number(node, kind == "integer")
        if kind == "boolean":
            return True
        return None

    def _array(self, node: dict[str, Any], name: str, depth: int) -> list[Any]:
        if node.get("prefixItems"):  # a tuple
            return [self.value(item, name, depth + 1) for item in node["prefixItems"]]
        count = max(1, int(node.get("minItems") or 0))
        if node.get("maxItems") is not None:
            count = min(count, int(node["maxItems"]))
        item = node.get("items") or {"type": "string"}
        values = [self.value(item, name, depth + 1) for _ in range(count)]
        if node.get("uniqueItems") and count > 1 and isinstance(values[0], str):
            values = [f"{v} {i + 1}" for i, v in enumerate(values)]
        return values

    def _string(self, node: dict[str, Any], name: str) -> str:
        if node.get("format") in _FORMATS:
            return _FORMATS[node["format"]]
        text = regex_sample(node["pattern"]) if node.get("pattern") else f"{name} by {self.role}"
        low, high = int(node.get("minLength") or 0), node.get("maxLength")
        if high is not None:
            text = text[: int(high)]
        if len(text) < low:
            text += "x" * (low - len(text))
        return text

    def _resolve(self, ref: str) -> Any:
        node: Any = self.root
        for part in ref.removeprefix("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node


def _number(node: dict[str, Any], integer: bool) -> int | float:
    low = node.get("minimum", node.get("exclusiveMinimum"))
    high = node.get("maximum", node.get("exclusiveMaximum"))
    step = 1e-3 if not integer else 1
    value: float = 1
    if low is not None and (value < low or (value == low and "exclusiveMinimum" in node)):
        value = low + (step if "exclusiveMinimum" in node else 0)
    if high is not None and (value > high or (value == high and "exclusiveMaximum" in node)):
        value = high - (step if "exclusiveMaximum" in node else 0)
    multiple = node.get("multipleOf")
    if multiple:
        value = math.ceil(value / multiple) * multiple
    return int(math.ceil(value)) if integer else float(value)


def regex_sample(pattern: str) -> str:
    """The shortest plain string ``pattern`` matches (a fair sample for crew schemas); '' if unsure."""
    try:
        text = _emit(sre.parse(pattern))
    except (re.error, ValueError, TypeError, RecursionError):
        return ""
    return text if re.fullmatch(pattern, text) or re.search(pattern, text) else ""


def _emit(parsed: Any) -> str:
    out = []
    for op, arg in parsed:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("a" if chr(arg) != "a" else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_from_set(arg))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _, sub = arg
            out.append(_emit(sub) * low)
        elif name in ("SUBPATTERN", "ATOMIC_GROUP"):
            out.append(_emit(arg[-1]))
        elif name == "BRANCH":
            out.append(_emit(arg[1][0]))
        elif name == "CATEGORY":
            out.append(_category(str(arg)))
        # AT (anchors), ASSERT, GROUPREF: add nothing
    return "".join(out)


def _from_set(items: Any) -> str:
    negated = any(str(op) == "NEGATE" for op, _ in items)
    if negated:
        banned = {chr(a) for op, a in items if str(op) == "LITERAL"}
        return next(c for c in "aZ0 -" if c not in banned)
    for op, arg in items:
        if str(op) == "LITERAL":
            return chr(arg)
        if str(op) == "RANGE":
            return chr(arg[0])
        if str(op) == "CATEGORY":
            return _category(str(arg))
    return "a"


def _category(name: str) -> str:
    return {"CATEGORY_DIGIT": "0", "CATEGORY_NOT_DIGIT": "a", "CATEGORY_SPACE": " ", "CATEGORY_NOT_SPACE": "a",
            "CATEGORY_WORD": "a", "CATEGORY_NOT_WORD": "-"}.get(name, "a")
