"""The embedded local model (llama-cpp-python, in-process)."""
from __future__ import annotations

from typing import Any

from ..problem import Problem, RolecallError
from .profiles import ProfileSpec


def local_llm(name: str, profile: ProfileSpec) -> Any:
    raise RolecallError(Problem(
        f"profile '{name}': the embedded local model is not available yet",
        hint="run with --llm scripted, or set OPENAI_API_KEY in .env to use OpenAI"))
