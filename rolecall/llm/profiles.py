"""Named model profiles from ``config/llm.yaml``, and which one a run uses.

Read without crewai: ``validate`` checks profile names and ``doctor`` explains
the choice before any model exists.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, StrictStr

from ..environment import Environment
from ..errors import ConfigError
from ..load import YamlDoc, load_yaml, parse_model
from ..problem import Problem, did_you_mean
from ..spec import Strict

# crewai: any CrewAI model string in `model` (anthropic/..., ollama/...), built by crewai.LLM
Provider = Literal["openai", "openai_compatible", "local", "scripted", "crewai"]


class ProfileSpec(Strict):
    provider: Provider
    model: StrictStr | None = Field(None, description="Model name; ${VAR:-default} reads the environment.")
    base_url: StrictStr | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1")
    api_key_env: StrictStr | None = Field(None, description="Environment variable holding the API key.")
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    max_tokens: int | None = Field(None, ge=1)
    timeout: float | None = Field(None, gt=0, description="Seconds per model call.")
    api_version: StrictStr | None = Field(None, description="crewai: the provider's API version (Azure).")
    script: StrictStr | None = Field(None, description="scripted: a YAML script of replies, relative to the project.")
    # local (llama-cpp-python in-process)
    file: StrictStr | None = Field(None, description="local: a GGUF file to use instead of the pinned model.")
    n_ctx: int | None = Field(None, ge=512, description="local: context window in tokens; scripted: the "
                              "window it reports (default: unlimited), to test crewai's summarising.")
    protocol: Literal["native", "text"] = Field(
        "native", description="local, scripted: how tool calls reach crewai: native function calls, or crewai's "
                              "text protocol (Thought/Action/Action Input).")
    threads: int | None = Field(None, ge=1, description="local: CPU threads (default: all cores).")
    # resilience
    retries: int = Field(0, ge=0, description="Retries per call on timeouts, 429, 5xx and connection errors.")
    backoff: float = Field(0.5, ge=0, description="First retry delay in seconds; doubles each retry, with jitter.")
    backoff_max: float = Field(8.0, ge=0, description="Longest delay between retries.")
    fallback: list[StrictStr] = Field(default_factory=list,
                                      description="Profiles to try, in order, when this one fails.")
    breaker_threshold: int = Field(0, ge=0, description="Consecutive failures that open the circuit breaker (0: off).")
    breaker_cooldown: float = Field(30.0, ge=0, description="Seconds the breaker stays open before trying again.")


class LlmConfig(Strict):
    default: StrictStr = Field("auto", description="A profile name, or auto: openai with a key, else local.")
    profiles: dict[StrictStr, ProfileSpec] = Field(default_factory=dict)


class LlmFile(Strict):
    """config/llm.yaml as written."""

    default: StrictStr = Field("auto", description="A profile name, or auto: openai with a key, else local.")
    # each entry is checked as a ProfileSpec once merged over the built-in profile of its name
    profiles: dict[StrictStr, dict[StrictStr, Any]] = Field(default_factory=dict)


BUILTIN = LlmConfig(profiles={
    "openai": ProfileSpec(provider="openai", model="${OPENAI_MODEL:-gpt-4.1-mini}",
                          base_url="${OPENAI_BASE_URL:-}", api_key_env="OPENAI_API_KEY"),
    "local": ProfileSpec(provider="local", model="qwen2.5-coder-0.5b-instruct"),
    "local-quality": ProfileSpec(provider="local", model="qwen2.5-coder-1.5b-instruct"),
    "scripted": ProfileSpec(provider="scripted"),
})


def load_config(config_dir: Path, env: Mapping[str, str] | None = None) -> LlmConfig:
    """Built-in profiles, each overridden field by field and extended by ``config/llm.yaml``."""
    file = config_dir / "llm.yaml"
    if not file.exists():
        return BUILTIN
    problems: list[Problem] = []
    doc = load_yaml(file, problems)
    parsed = parse_model(doc, (), LlmFile, problems) if doc is not None else None
    if doc is None or parsed is None:
        raise ConfigError(problems)
    profiles = {**BUILTIN.profiles}
    for name, fields in parsed.profiles.items():
        profile = _merged(doc, name, fields, problems)
        if profile is not None:
            profiles[name] = profile
    if problems:
        raise ConfigError(problems)
    if parsed.default != "auto" and parsed.default not in profiles:
        raise ConfigError(doc.problem(("default",), f"unknown model profile '{parsed.default}'",
                                      did_you_mean(parsed.default, profiles)))
    config = LlmConfig.model_construct(default=parsed.default, profiles=profiles)  # parts already validated
    check_fallbacks(config, doc)
    return config


def _merged(doc: YamlDoc, name: str, fields: dict[str, Any], problems: list[Problem]) -> ProfileSpec | None:
    """The entry over the built-in profile of that name: only the fields it sets change."""
    builtin = BUILTIN.profiles.get(name)
    if builtin is not None and fields.get("provider", builtin.provider) == builtin.provider:
        fields = {**builtin.model_dump(exclude_unset=True), **fields}
    elif "provider" not in fields:
        problems.append(doc.problem(("profiles", name), f"profile '{name}' needs a provider",
                                    "add provider: openai, openai_compatible, crewai, local or scripted"))
        return None
    merged = YamlDoc(doc.file, {"profiles": {name: fields}}, doc.lines)  # same keys, same lines
    return parse_model(merged, ("profiles", name), ProfileSpec, problems)


def choose(config: LlmConfig, requested: str | None, env: Mapping[str, str]) -> tuple[str, str]:
    """The profile a run uses and why, as (name, reason)."""
    if requested:
        if requested not in config.profiles:
            raise ConfigError(Problem(f"unknown model profile '{requested}'",
                                        hint=did_you_mean(requested, config.profiles) or
                                        f"profiles: {', '.join(config.profiles)}"))
        return requested, "--llm"
    if env.get("ROLECALL_LLM"):
        return choose(config, env["ROLECALL_LLM"], {})[0], "ROLECALL_LLM"
    if config.default != "auto":
        return config.default, "config/llm.yaml default"
    if env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"):
        return "openai", "OPENAI_API_KEY is set" if env.get("OPENAI_API_KEY") else "OPENAI_BASE_URL is set"
    return "local", "no OPENAI_API_KEY, so the embedded local model"


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand(value: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """``${VAR:-default}`` -> the variable's value, or the default."""
    if value is None:
        return None
    env = Environment.current() if env is None else env
    return _VAR.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value) or None


def check_fallbacks(config: LlmConfig, doc: YamlDoc | None = None) -> None:
    """Every ``fallback`` names a known profile and no chain leads back to where it started.

    With the parsed ``config/llm.yaml`` at hand, each problem names its file and line.
    """
    def problem(name: str, message: str, hint: str, at: tuple[str | int, ...] = ()) -> Problem:
        if doc is not None and name in (doc.data.get("profiles") or {}):
            return doc.problem(("profiles", name, "fallback", *at), message, hint)
        return Problem(message, hint=hint)

    problems: list[Problem] = []
    for name, spec in config.profiles.items():
        for i, other in enumerate(spec.fallback):
            if other not in config.profiles:
                problems.append(problem(name, f"profile '{name}': fallback '{other}' is not a model profile",
                                        did_you_mean(other, config.profiles) or
                                        f"profiles: {', '.join(config.profiles)}", (i,)))
    if problems:
        raise ConfigError(problems)

    done: set[str] = set()  # profiles whose chains are known to end

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            cycle = " -> ".join([*path[path.index(name):], name])
            raise ConfigError(problem(path[-1], f"model profiles fall back in a circle: {cycle}",
                                      "a fallback chain must end; remove one of these fallback entries "
                                      "in config/llm.yaml"))
        if name not in done:
            for other in config.profiles[name].fallback:
                visit(other, (*path, name))
            done.add(name)

    for name in config.profiles:
        visit(name, ())
