"""crewai's text protocol (Thought/Action/Action Input/Final Answer), written so it cannot be misread.

crewai's parser (``agents/parser.py``) takes any step that contains ``Final Answer:`` as the
answer, and finds the action with a regex that stops at the first ``Action...:``; its
executor also cuts the reply at the stop word ``\\nObservation:``. A tool argument holding
any of these would end the step early or become the answer. JSON lets a string spell a
colon ``\\u003a`` and a newline ``\\n``, so the arguments are written with every colon
inside a string escaped: the parser sees no keyword, and ``json.loads`` (crewai's own
reading of the input) gives back the exact text.
"""
from __future__ import annotations

import json
import re
from typing import Any

_STEP = re.compile(r"\A(Thought:[^\n]*\n)?Action:[ \t]*([^\n]+?)[ \t]*\nAction Input:[ \t]*(\{.*\})\s*\Z", re.S)


def safe_json(value: Any) -> str:
    """``value`` as JSON with no colon and no newline inside any string (keys included)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace(":", "\\u003a")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{safe_json(str(k))}: {safe_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(safe_json(v) for v in value) + "]"
    return json.dumps(value)


def action_step(tool: str, arguments: dict[str, Any], thought: str | None = None) -> str:
    return (f"Thought: {thought or f'I should use {tool}'}\nAction: {tool}\n"
            f"Action Input: {safe_json(arguments)}")


def made_safe(text: str) -> str:
    """A generated Action step with its input rewritten by ``safe_json``; any other text unchanged."""
    found = _STEP.match(text)
    if not found:
        return text
    try:
        arguments = json.loads(found.group(3))
    except ValueError:
        return text
    if not isinstance(arguments, dict):
        return text
    thought = (found.group(1) or "").removeprefix("Thought:").strip() or None
    return action_step(found.group(2), arguments, thought)
