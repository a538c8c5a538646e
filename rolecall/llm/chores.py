"""Replies by rule to crewai's own bookkeeping prompts, for rolecall's own models.

Memory and knowledge make crewai call the agent's model outside any task step: to extract
memories from a result, to analyse one for saving, to consolidate it, to distil a recall
query, and to rewrite a knowledge search query. Those calls carry no agent or task, so a
script cannot address them; the scripted model answers all of them here (the JSON crewai asks
for, built from the prompt itself), which keeps scripted runs deterministic. The local model
answers the memory prompts here too (``structured_reply``): the 0.5B model does them badly.
The calls still reach crewai's events, so the run records them (with no tokens).
"""
from __future__ import annotations

import json
import re
from typing import Any

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_RESULT = re.compile(r"^Result:\s*(.*)", re.S | re.M)
_QUERY = re.compile(r"^Query:\s*(.*?)\n\s*\n", re.S | re.M)
_ORIGINAL = re.compile(r"The original query is:\s*(.*)", re.S)
MAX_MEMORIES = 5
# crewai's memory tools, which it adds to every agent of a crew with memory
MEMORY_TOOLS = ("Search memory", "Save to memory")
_SCHEMAS = {"You extract discrete, reusable memory statements": "ExtractedMemories",
            "You analyze content to be stored": "MemoryAnalysis",
            "You are comparing new content against existing memories": "ConsolidationPlan",
            "You analyze a query for searching memory": "QueryAnalysis"}


def response_model(messages: list[dict[str, Any]]) -> Any:
    """The pydantic model crewai parses a memory prompt's reply into, or None for any other prompt."""
    system = _content(messages, "system")
    name = next((model for start, model in _SCHEMAS.items() if system.startswith(start)), None)
    if name is None:
        return None
    from crewai.memory import analyze
    return getattr(analyze, name)


def reply(messages: list[dict[str, Any]]) -> str | None:
    """The answer to a crewai bookkeeping prompt, or None when ``messages`` is not one."""
    system = _content(messages, "system")
    user = _content(messages, "user")
    if system.startswith("You extract discrete, reusable memory statements"):
        return json.dumps({"memories": memories(user)})
    if system.startswith("You analyze content to be stored"):
        return json.dumps({"suggested_scope": "/", "categories": [], "importance": 0.5,
                           "extracted_metadata": {"entities": [], "dates": [], "topics": []}})
    if system.startswith("You are comparing new content against existing memories"):
        return json.dumps({"actions": [], "insert_new": True, "insert_reason": "scripted"})
    if system.startswith("You analyze a query for searching memory"):
        found = _QUERY.search(user + "\n\n")
        query = " ".join((found.group(1) if found else user).split())[:300]
        return json.dumps({"keywords": [], "suggested_scopes": [], "complexity": "simple",
                           "recall_queries": [query], "time_filter": None})
    if system.startswith("Your goal is to rewrite the user query"):
        found = _ORIGINAL.search(user)
        return " ".join((found.group(1) if found else user).split()).rstrip(".")
    if "Relevant memory excerpts:" in user:
        return "Nothing is missing."
    return None


def structured_reply(messages: list[dict[str, Any]]) -> Any:
    """``reply`` as the pydantic object crewai parses a memory prompt into, or None for other prompts."""
    model = response_model(messages)
    answer = reply(messages) if model is not None else None
    return model.model_validate_json(answer) if answer is not None else None


def memories(content: str) -> list[str]:
    """The sentences of a task's result ("Result: ..." in crewai's memory prompt), a few at most."""
    found = _RESULT.search(content)
    text = found.group(1) if found else content
    text = text.split("\n\nExtract memory statements")[0]
    text = text.split("Final Answer:", 1)[-1]  # crewai saves the agent's whole last reply, Thought and all
    sentences = [" ".join(s.split()) for s in _SENTENCE.split(text)]
    return [s for s in sentences if len(s) > 3][:MAX_MEMORIES]


def _content(messages: list[dict[str, Any]], role: str) -> str:
    return next((str(m.get("content") or "") for m in messages if m.get("role") == role), "")
