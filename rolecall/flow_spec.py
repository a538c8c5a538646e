"""What a ``crewai.flow/v1`` file may say, read without importing crewai.

crewai's own models (``crewai.flow.flow_definition``) cost a 6 s import and accept
unknown keys on methods and on the flow itself, so ``list``, ``validate`` and ``plan``
check the file against these key sets instead. ``tests/test_flows.py`` compares them
with crewai's models, so they cannot drift apart unnoticed.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

SCHEMA = "crewai.flow/v1"

FLOW_KEYS = ("schema", "name", "description", "state", "config", "persist", "conversational", "methods")
STATE_KEYS = {
    "dict": ("type", "default"),
    "pydantic": ("type", "ref", "json_schema", "default"),
    "json_schema": ("type", "json_schema", "default"),
    "unknown": ("type", "ref", "default"),
}
CONFIG_KEYS = ("tracing", "stream", "memory", "input_provider", "suppress_flow_events", "max_method_calls",
               "defer_trace_finalization", "checkpoint")
PERSIST_KEYS = ("enabled", "verbose", "persistence")
METHOD_KEYS = ("description", "do", "start", "listen", "router", "emit", "human_feedback", "persist")
FEEDBACK_KEYS = ("message", "emit", "llm", "default_outcome", "metadata", "provider", "learn", "learn_source",
                 "learn_strict")
ACTION_KEYS = {
    "code": ("call", "ref", "with"),
    "tool": ("call", "ref", "with"),
    "crew": ("call", "from_declaration", "with", "inputs"),
    "agent": ("call", "with"),
    "expression": ("call", "expr"),
    "script": ("call", "code", "language"),
    "each": ("call", "in", "do"),
}
EACH_STEP_KEYS = ("name", "if", "action")
STEP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# `${state.topic}`, `${outputs.research.raw}`; in CEL (`expr`, `in`, `if`) the bare roots
TEMPLATE = re.compile(r"\$\{([^}]*)\}")
ROOT_REF = re.compile(r"(?<![\w.])(state|outputs)\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s*\.\s*([A-Za-z_]\w*))?")
# what `outputs.m.<field>` may name: a crew step's output (flow_runner.StepOutput), and after a
# human_feedback gate crewai's HumanFeedbackResult, whose `output` is the step's own (a test keeps both true)
CREW_STEP_FIELDS = ("raw", "json_dict", "run_id", "round")
FEEDBACK_FIELDS = ("output", "feedback", "outcome", "timestamp", "method_name", "metadata")


def condition_names(condition: Any) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    """Every method name or router label a ``listen``/``start`` condition waits on, with its key path.

    A condition is a name, or ``{or: [...]}`` / ``{and: [...]}`` of conditions (crewai's shape).
    """
    if isinstance(condition, str):
        yield condition, ()
    elif isinstance(condition, dict):
        for key in ("or", "and"):
            for index, child in enumerate(condition.get(key) or []):
                for name, path in condition_names(child):
                    yield name, (key, index, *path)


def condition_keys(condition: Any) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    """Keys of a condition mapping that are neither ``or`` nor ``and``, with their paths."""
    if not isinstance(condition, dict):
        return
    for key, value in condition.items():
        if key not in ("or", "and"):
            yield str(key), (key,)
        elif isinstance(value, list):
            for index, child in enumerate(value):
                for name, path in condition_keys(child):
                    yield name, (key, index, *path)


Reference = tuple[str, str, str | None, tuple[str | int, ...]]  # root, name, its field (or None), key path


def references(value: Any, *, cel: bool = False) -> Iterator[Reference]:
    """``(root, name, field, key path)`` of every ``state.x`` / ``outputs.m[.field]`` a value refers to.

    Strings are templates (``${...}``) unless ``cel``: then the whole string is CEL.
    """
    if isinstance(value, str):
        parts = [value] if cel else TEMPLATE.findall(value)
        for part in parts:
            for match in ROOT_REF.finditer(_without_strings(part)):
                yield match.group(1), match.group(2), match.group(3), ()
    elif isinstance(value, dict):
        for key, child in value.items():
            for root, name, member, path in references(child, cel=cel):
                yield root, name, member, (key, *path)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            for root, name, member, path in references(child, cel=cel):
                yield root, name, member, (index, *path)


def _without_strings(cel: str) -> str:
    # 'state.x' inside a CEL string literal is text, not a reference
    return re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", "''", cel)
