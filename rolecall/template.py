"""Placeholders in YAML text: ``{name}`` is an input, ``{{`` and ``}}`` are literal braces.

CrewAI fills ``{name}`` itself at kickoff and chokes on a literal brace
(crewAI#7523). rolecall fills the text before CrewAI sees it, with Python
``str.format`` rules, so JSON examples in a task can be written with ``{{ }}``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# names as CrewAI reads them (crewai/utilities/string_utils.py): a hyphen is allowed
_NAME = r"[A-Za-z_][A-Za-z0-9_\-]*"
_TOKEN = re.compile(r"\{\{|\}\}|\{(" + _NAME + r")\}|\{|\}")
_CREWAI_TOKEN = re.compile(r"\{(" + _NAME + r")\}|\{|\}")


@dataclass(frozen=True)
class BraceError:
    offset: int
    message: str


def placeholders(text: str) -> tuple[list[str], list[BraceError]]:
    """Names used as ``{name}`` in ``text``, and every brace that is not a placeholder."""
    names: list[str] = []
    bad: list[BraceError] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if match.group(1):
            names.append(match.group(1))
        elif token in ("{", "}"):
            snippet = text[match.start():match.start() + 20].split("\n")[0]
            bad.append(BraceError(match.start(),
                                  f"'{token}' is not a placeholder (near '{snippet}')"))
    return names, bad


def fill(text: str, values: Mapping[str, Any]) -> str:
    """Replace each ``{name}`` with its value and ``{{``/``}}`` with a brace."""
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if match.group(1):
            return str(values[match.group(1)])
        return token[0] if token in ("{{", "}}") else token
    return _TOKEN.sub(replace, text)


def from_crewai(text: str) -> str:
    """CrewAI's reading of ``text`` written in rolecall's syntax: CrewAI fills each ``{name}``
    and leaves every other brace alone (JSON examples), so those become ``{{`` and ``}}``."""
    return _CREWAI_TOKEN.sub(lambda m: m.group(0) if m.group(1) else m.group(0) * 2, text)
