"""Turn a profile name into a live crewai LLM object (imports crewai)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..problem import Problem, RolecallError
from ..project import Project
from .profiles import LlmConfig, ProfileSpec, expand


class LlmPool:
    """One LLM object per profile for a run; agents on the same profile share it."""

    def __init__(self, project: Project, config: LlmConfig, override: str | None = None):
        self.project, self.config, self.override = project, config, override
        self._built: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        name = self.override or name
        if name not in self._built:
            self._built[name] = build(name, self.config.profiles[name], self.project)
        return self._built[name]

    def all(self) -> dict[str, Any]:
        return dict(self._built)


def build(name: str, profile: ProfileSpec, project: Project) -> Any:
    if profile.provider == "scripted":
        from .scripted import ScriptedLLM
        script = Path(project.root, profile.script) if profile.script else None
        env_script = os.environ.get("ROLECALL_SCRIPT")
        return ScriptedLLM.from_file(Path(env_script) if env_script else script)
    if profile.provider == "local":
        from .local import local_llm
        return local_llm(name, profile)
    return _openai(name, profile)


def _openai(name: str, profile: ProfileSpec) -> Any:
    from crewai import LLM
    key_env = profile.api_key_env or "OPENAI_API_KEY"
    api_key = os.environ.get(key_env)
    base_url = expand(profile.base_url)
    if profile.provider == "openai" and not api_key and not base_url:
        raise RolecallError(Problem(f"profile '{name}' needs {key_env}",
                                    hint=f"put {key_env}=... in .env, or run with --llm local"))
    model = expand(profile.model) or "gpt-4.1-mini"
    kwargs: dict[str, Any] = {"model": f"openai/{model}", "api_key": api_key or "not-needed"}
    if base_url:
        kwargs["base_url"] = base_url
    for field in ("temperature", "max_tokens", "timeout"):
        if getattr(profile, field) is not None:
            kwargs[field] = getattr(profile, field)
    return LLM(**kwargs)
