"""Turn a profile name into a live crewai LLM object (imports crewai when building)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ModelUnavailable
from ..problem import Problem
from .profiles import ProfileSpec, check_fallbacks, expand

if TYPE_CHECKING:
    from ..context import RunContext


class LlmPool:
    """One LLM object per profile for a run; agents on the same profile share it.

    Fallback profiles are built through the pool too, so a profile that is both an agent's
    model and another profile's fallback is one object with one token count.
    """

    def __init__(self, context: RunContext, override: str | None = None,
                 models: Mapping[str, ProfileSpec] | None = None):
        self.context, self.override = context, override
        # profiles for the CrewAI model strings a crew names (``llm: openai/gpt-4o``), by that string
        self.profiles = {**(models or {}), **context.llm_config.profiles}
        self._built: dict[str, Any] = {}
        check_fallbacks(context.llm_config)

    def get(self, name: str) -> Any:
        return self._profile(self.override or name)

    def all(self) -> dict[str, Any]:
        """Every LLM built so far, by profile name, each unwrapped as well as wrapped.

        Callers configure models by type (the scripted model learns agent keys), which must
        reach a model even when it sits inside a resilience wrapper.
        """
        found = dict(self._built)
        for name, llm in self._built.items():
            for link in getattr(llm, "links", [])[:1]:
                found[f"{name}#inner"] = link.llm
        return found

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        """USD for one call from config/prices.yaml; rolecall's own models (they run here) cost nothing
        unless the price list says otherwise (tests price the scripted model to check budgets)."""
        from .base import RolecallLLM
        price = self.context.settings.cost(model, prompt_tokens, completion_tokens)
        if price is None and any(isinstance(llm, RolecallLLM) and llm.model == model for llm in self.all().values()):
            return 0.0
        return price

    def _profile(self, name: str) -> Any:
        if name not in self._built:
            spec = self.profiles[name]
            fallbacks = [(other, self._profile(other)) for other in spec.fallback]
            self._built[name] = build(name, spec, self.context, fallbacks)
        return self._built[name]


def build(name: str, profile: ProfileSpec, context: RunContext,
          fallbacks: list[tuple[str, Any]] | None = None) -> Any:
    """The LLM for ``profile``; wrapped in a ``ResilientLLM`` when it asks for retries,
    a breaker or fallbacks (each fallback given as (profile name, its built LLM))."""
    from .resilience import ResilientLLM
    from .retry import Policy, wants_resilience
    resilient = wants_resilience(profile)
    llm = _plain(name, profile, context, resilient)
    if not resilient:
        return llm
    return ResilientLLM.around(name, llm, Policy.of(profile), fallbacks or [])


def _plain(name: str, profile: ProfileSpec, context: RunContext, resilient: bool) -> Any:
    env, root = context.env, context.project.root
    if profile.provider == "scripted":
        from .scripted import ScriptedLLM
        script = Path(env.script) if env.script else (root / profile.script if profile.script else None)
        llm = ScriptedLLM.from_file(script, delay=env.scripted_delay, native_tools=profile.protocol == "native")
        if profile.n_ctx:
            llm.context_window = profile.n_ctx
        return llm
    if profile.provider == "local":
        from .local import local_llm
        return local_llm(name, profile, root=root, env=env)
    if profile.provider == "crewai":
        return _crewai(name, profile, context, resilient)
    return _openai(name, profile, context, resilient)


_SETTINGS = ("temperature", "top_p", "seed", "max_tokens", "timeout")


def _crewai(name: str, profile: ProfileSpec, context: RunContext, resilient: bool) -> Any:
    """Any CrewAI model string (anthropic/..., ollama/..., groq/...), built by crewai's own router."""
    from crewai import LLM
    env = context.env
    model = expand(profile.model, env) or name
    api_key = env.get(profile.api_key_env) if profile.api_key_env else None
    if profile.api_key_env and not api_key:
        raise ModelUnavailable(Problem(f"model '{model}' needs {profile.api_key_env}",
                                       hint=f"put {profile.api_key_env}=... in .env, or run with --llm local"))
    kwargs: dict[str, Any] = {"model": model, **{f: getattr(profile, f) for f in _SETTINGS
                                                 if getattr(profile, f) is not None}}
    for field, value in (("api_key", api_key), ("base_url", expand(profile.base_url, env)),
                         ("api_version", profile.api_version)):
        if value:
            kwargs[field] = value
    if resilient:
        kwargs["max_retries"] = 0  # rolecall's policy retries, visibly
    try:
        return LLM(**kwargs)
    except ImportError as exc:  # a provider whose client package is not installed
        raise ModelUnavailable(Problem(f"model '{model}' cannot be used here: {exc}".split("\n")[0],
                                       hint="install the provider's package, or run with --llm local")) from exc


def _openai(name: str, profile: ProfileSpec, context: RunContext, resilient: bool = False) -> Any:
    from crewai import LLM
    env = context.env
    key_env = profile.api_key_env or "OPENAI_API_KEY"
    api_key = env.get(key_env)
    base_url = expand(profile.base_url, env)
    if profile.provider == "openai" and not api_key and not base_url:
        raise ModelUnavailable(Problem(f"profile '{name}' needs {key_env}",
                                       hint=f"put {key_env}=... in .env, or run with --llm local"))
    model = expand(profile.model, env) or "gpt-4.1-mini"
    kwargs: dict[str, Any] = {"model": f"openai/{model}", "api_key": api_key or "not-needed"}
    if base_url:
        kwargs["base_url"] = base_url
    for field in _SETTINGS:
        if getattr(profile, field) is not None:
            kwargs[field] = getattr(profile, field)
    if resilient:
        # the SDK would otherwise retry twice on its own, unseen; rolecall's policy does it visibly
        kwargs["max_retries"] = 0
    return LLM(**kwargs)
