"""Identifier arguments copied from the conversation, not invented.

Measured on AgentDojo's banking suite, the 0.5B model fills an IBAN, a file name or a
password with a plausible invention (``12345678901234567890``, ``/home/user/notes.txt``)
even when the task or a tool result spells out the real one. An argument that names a
thing (``recipient``, ``iban``, ``file_path``, ``id``, ``date``, ``email``, ``password``,
``url``, ...) therefore may only take a value that appears in the task or in a tool's
answer, when any such value appears: its JSON schema becomes an ``enum`` of them, and the
grammar does the rest. Free-text arguments (a subject, a message body) stay free.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from .grammar import ToolSpec

_IDENTIFIER = re.compile(r"(^|_)(iban|recipient|file|filename|path|id|ids|date|email|emails|password|url|"
                         r"channel|user|phone|account|number|code|link)($|_)")
_QUOTED = re.compile(r"'([^'\n]{1,80})'|\"([^\"\n]{1,80})\"")
_TOKEN = re.compile(r"[^\s'\"`(),;<>\[\]{}]+")
_FIELD = re.compile(r"^\s*-?\s*[A-Za-z_][\w ]{0,30}:\s+(.{1,80}?)\s*$", re.M)
# what a value must look like for an argument of this kind; any other identifier takes a short
# value that is none of these (a date, a file name or a percentage is no IBAN and no user)
_SHAPES = {
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}([ T][\d:.]+Z?)?$"),
    "email": re.compile(r"^[^@\s]+@[^@\s]+\.\w+$"),
    "url": re.compile(r"^(https?://|www\.)\S+$"),
    "file": re.compile(r"^[^\s]+\.[A-Za-z][A-Za-z0-9]{0,4}$|/"),  # 12.00 is an amount, not a file
}
_KINDS = {"date": "date", "email": "email", "emails": "email", "url": "url", "link": "url",
          "file": "file", "filename": "file", "path": "file"}
_DECIMAL = re.compile(r"^[-+]?\d+\.\d+$")  # an amount (5.29) is no recipient, user or id
_NUMBER = re.compile(r"(?<![\w.\-/])\d+(?:[.,]\d+)*(?![\w\-/]|\.\w)")  # 12.00, 7; not in an IBAN or a date
MAX_VALUES = 60


def grounded(tools: list[ToolSpec], messages: list[dict[str, Any]]) -> list[ToolSpec]:
    """``tools`` with each identifier argument limited to the values the conversation holds.

    A tool that needs an identifier the conversation does not hold yet (``send_money`` before
    any IBAN was seen), or a number where it holds none (``send_money`` to the friend to refund,
    before the amount they sent was looked up), waits: the step calls another tool (``read_file``
    of the bill named in the task, the transaction history), whose answer may hold it. Only if
    every tool waits does none.
    """
    values, numbers = candidates(messages), holds_number(messages)
    ready = [t for t in tools if t.coworkers or not _missing(t.schema, values, numbers)]
    return [replace(t, schema=_limited(t.schema, values)) if not t.coworkers else t for t in ready or tools]


def _missing(schema: dict[str, Any], values: list[str], numbers: bool) -> list[str]:
    """Required arguments the conversation holds nothing for: an identifier with no value of its
    kind, or a number (an amount, an id) where the task and the tools' answers hold none."""
    props = schema.get("properties") or {}
    out = []
    for name in schema.get("required") or []:
        found = _IDENTIFIER.search(name.lower())
        # a date is often a new one (when to pay), so a missing date holds nothing back
        if found and found.group(2) != "date" and _is_text(props.get(name)) and not _fitting(found.group(2), values):
            out.append(name)
        elif _is_number(props.get(name)) and not numbers:
            out.append(name)
    return out


def _is_number(node: Any) -> bool:
    return isinstance(node, dict) and node.get("type") in ("number", "integer") and "enum" not in node


def holds_number(messages: list[dict[str, Any]]) -> bool:
    """Whether the task or a tool's answer spells out a number (12.00, 7, 1,200), not only digits
    inside an identifier (an IBAN, a file name)."""
    return any(_NUMBER.search(str(m.get("content") or "")) for m in messages if m.get("role") in ("user", "tool"))


def _is_text(node: Any) -> bool:
    return isinstance(node, dict) and node.get("type") == "string" and "enum" not in node


def candidates(messages: list[dict[str, Any]]) -> list[str]:
    """Values the task and the tools' answers spell out: quoted text, tokens holding a digit or
    a separator (IBANs, file names, dates, ids, emails), and the values of ``key: value`` lines."""
    found: list[str] = []
    for message in messages:
        if message.get("role") not in ("user", "tool"):
            continue
        text = str(message.get("content") or "")
        found += [a or b for a, b in _QUOTED.findall(text)]
        found += [v.strip("'\"") for v in _FIELD.findall(text)]
        for token in _TOKEN.findall(text):
            token = token.rstrip(".:!?")
            if len(token) >= 3 and re.search(r"\d|[._@/-]\w", token) and not token.startswith(("http", "www")):
                found.append(token)
            elif token.startswith(("http://", "https://", "www.")):
                found.append(token)
    unique = list(dict.fromkeys(v for v in found if v.strip()))
    return unique[:MAX_VALUES]


def _limited(schema: dict[str, Any], values: list[str]) -> dict[str, Any]:
    props = schema.get("properties")
    if not isinstance(props, dict):
        return schema
    out = {}
    for name, node in props.items():
        found = _IDENTIFIER.search(name.lower())
        fitting = _fitting(found.group(2), values) if found else []
        out[name] = _enum(node, fitting) if fitting else node
    return {**schema, "properties": out}


def _fitting(kind_word: str, values: list[str]) -> list[str]:
    """The values that can be an argument of this kind: a date for a date, a file name for a path."""
    kind = _KINDS.get(kind_word)
    if kind is not None:
        return [v for v in values if _SHAPES[kind].search(v)]
    return [v for v in values if len(v.split()) <= 4 and not v.endswith("%") and not _DECIMAL.match(v)
            and not any(shape.search(v) for k, shape in _SHAPES.items() if k != "url")]


def _enum(node: Any, values: list[str]) -> Any:
    """A string (or string-or-null) node as an enum of ``values``; any other node unchanged."""
    if not isinstance(node, dict):
        return node
    if node.get("type") == "string" and "enum" not in node and "format" not in node:
        return {k: v for k, v in node.items() if k not in ("type", "maxLength", "minLength", "pattern")} | {
            "enum": values}
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            return {**node, key: [_enum(branch, values) for branch in node[key]]}
    return node
