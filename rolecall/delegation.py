"""crewai's delegation tools, by name: what the manager calls to hand work to a coworker.

crewai gives a hierarchical crew's manager "Delegate work to coworker" and "Ask
question to coworker"; they match the coworker by role. A model may write either
the display name or crewai's sanitised one, and crewai reports a tool's start under
the name the model wrote but its finish under the sanitised one.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

DELEGATE_TOOL = "Delegate work to coworker"
ASK_TOOL = "Ask question to coworker"

# sanitised tool name -> kind of delegation, as recorded in the run store
KINDS = {"delegate_work_to_coworker": "delegate", "ask_question_to_coworker": "ask"}

# the argument that names the coworker (crewai accepts both spellings)
COWORKER_FIELDS = ("coworker", "co_worker")


def sanitized(name: str, max_length: int = 64) -> str:
    """crewai's ``sanitize_tool_name`` (utilities/string_utils.py), step for step, without importing
    crewai; ``tests/test_scripted.py`` compares the two."""
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
    name = re.sub(r"[\'\"]+", "", name)
    name = re.sub(r"_+", "_", re.sub(r"[^a-zA-Z0-9]+", "_", name)).strip("_")
    if len(name) > max_length:
        suffix = "_" + hashlib.sha256(name.encode()).hexdigest()[:8]
        name = name[: max_length - len(suffix)].rstrip("_") + suffix
    return name


def kind_of(tool_name: str) -> str | None:
    """"delegate" or "ask" for crewai's delegation tools, else None."""
    return KINDS.get(sanitized(tool_name))
