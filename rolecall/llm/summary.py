"""Answering crewai's request to summarise a conversation that outgrew the context window.

crewai (``llms/context_window.py``) replaces the whole conversation with the model's
summary, so a placeholder there loses the task and every tool result. A model without
judgement of its own (the scripted one) answers with an extract instead: the task, each
tool result and the last request, verbatim up to ``KEEP_CHARS`` each.
"""
from __future__ import annotations

import re
from typing import Any

# crewai's words (translations/en.json, slices.summarize_instruction)
_REQUEST = "create a structured summary that preserves all information needed to continue the task"
_CONVERSATION = re.compile(r"<conversation>\n?(.*?)\n?</conversation>", re.S)
_BLOCK = re.compile(r"^\[(USER|ASSISTANT|TOOL_RESULT \(([^)]*)\))\]: ?", re.M)
KEEP_CHARS = 1_000


def is_summary_request(messages: list[dict[str, Any]]) -> bool:
    last = str(messages[-1].get("content") or "") if messages else ""
    return _REQUEST in last and "<conversation>" in last


def summary_of(messages: list[dict[str, Any]]) -> str:
    """A ``<summary>`` that keeps the task, every tool result (in order) and the last request."""
    found = _CONVERSATION.search(str(messages[-1].get("content") or ""))
    blocks = _blocks(found.group(1) if found else "")
    users = [text for kind, _, text in blocks if kind == "USER"]
    results = [f"- {tool}: {_cut(text)}" for kind, tool, text in blocks if kind == "TOOL"]
    calls = [text for kind, _, text in blocks if kind == "ASSISTANT" and text]
    parts = ["1. **Task Overview**: " + (_cut(users[0]) if users else "(no task text)"),
             f"2. **Current State**: {len(results)} tool result(s) so far; last step: "
             + (_cut(calls[-1], 200) if calls else "none"),
             "3. **Important Discoveries**:\n" + ("\n".join(results) or "- none yet"),
             "4. **Next Steps**: continue the task from the last request below.",
             "5. **Context to Preserve**: " + (_cut(users[-1]) if len(users) > 1 else "see the task above")]
    return "<summary>\n" + "\n".join(parts) + "\n</summary>"


def _blocks(conversation: str) -> list[tuple[str, str, str]]:
    """(USER|ASSISTANT|TOOL, tool name, text) in order, as crewai rendered the conversation."""
    marks = list(_BLOCK.finditer(conversation))
    out = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(conversation)
        kind = "TOOL" if mark.group(1).startswith("TOOL_RESULT") else mark.group(1)
        out.append((kind, mark.group(2) or "", conversation[mark.end():end].strip()))
    return out


def _cut(text: str, limit: int = KEEP_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + " ..."
