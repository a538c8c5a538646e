"""CrewAI model strings (``openai/gpt-4o``, ``ollama/llama3.2``, ``gpt-4o-mini``) as model profiles.

CrewAI's own form for ``llm:`` is a model string, or in JSON crews an object
``{model, provider, base_url}``. rolecall turns each into a ``ProfileSpec`` so it
runs through the same retries, fallback, breaker and recording as a named profile.
Read without crewai: validation resolves them before any model exists.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .profiles import ProfileSpec


@dataclass(frozen=True)
class Provider:
    """How crewai reaches one provider: the key it needs and the package it imports."""

    key_env: str | None = None  # environment variable holding the API key; None: no key
    package: str | None = None  # the Python package crewai's client for it imports
    native: bool = True  # False: crewai routes it through LiteLLM


PROVIDERS: dict[str, Provider] = {
    "openai": Provider("OPENAI_API_KEY", "openai"),
    "anthropic": Provider("ANTHROPIC_API_KEY", "anthropic"),
    "claude": Provider("ANTHROPIC_API_KEY", "anthropic"),
    "gemini": Provider("GEMINI_API_KEY", "google.genai"),
    "google": Provider("GEMINI_API_KEY", "google.genai"),
    "azure": Provider("AZURE_API_KEY", "azure.ai.inference"),
    "azure_openai": Provider("AZURE_API_KEY", "azure.ai.inference"),
    "bedrock": Provider("AWS_ACCESS_KEY_ID", "boto3"),
    "aws": Provider("AWS_ACCESS_KEY_ID", "boto3"),
    "snowflake": Provider("SNOWFLAKE_API_KEY", "openai"),
    "openrouter": Provider("OPENROUTER_API_KEY", "openai"),
    "deepseek": Provider("DEEPSEEK_API_KEY", "openai"),
    "cerebras": Provider("CEREBRAS_API_KEY", "openai"),
    "dashscope": Provider("DASHSCOPE_API_KEY", "openai"),
    "deepinfra": Provider("DEEPINFRA_API_KEY", "openai"),
    "ollama": Provider(None, "openai"),
    "ollama_chat": Provider(None, "openai"),
    "hosted_vllm": Provider(None, "openai"),
    # the rest of CrewAI's documented providers go through LiteLLM
    "groq": Provider("GROQ_API_KEY", "litellm", native=False),
    "mistral": Provider("MISTRAL_API_KEY", "litellm", native=False),
    "cohere": Provider("COHERE_API_KEY", "litellm", native=False),
    "together_ai": Provider("TOGETHERAI_API_KEY", "litellm", native=False),
    "fireworks_ai": Provider("FIREWORKS_API_KEY", "litellm", native=False),
    "xai": Provider("XAI_API_KEY", "litellm", native=False),
    "perplexity": Provider("PERPLEXITYAI_API_KEY", "litellm", native=False),
    "huggingface": Provider("HF_TOKEN", "litellm", native=False),
    "nvidia_nim": Provider("NVIDIA_NIM_API_KEY", "litellm", native=False),
    "sambanova": Provider("SAMBANOVA_API_KEY", "litellm", native=False),
    "watsonx": Provider("WATSONX_APIKEY", "litellm", native=False),
    "vertex_ai": Provider(None, "litellm", native=False),
    "lm_studio": Provider(None, "litellm", native=False),
}

# bare model names crewai recognises without a provider prefix
_BARE = (("openai", re.compile(r"(gpt-|o1|o3|o4|chatgpt-)")), ("anthropic", re.compile(r"claude-")),
         ("gemini", re.compile(r"(gemini-|gemma-|learnlm-)")))


class NotAModel(ValueError):
    """The text is no model string rolecall knows; ``hint`` says what would be."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class ModelString:
    provider: str
    model: str  # the name without the provider prefix

    @property
    def info(self) -> Provider:
        return PROVIDERS[self.provider]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


def parse(text: str, provider: str | None = None) -> ModelString:
    """``openai/gpt-4o`` or ``gpt-4o`` (or ``model`` with an explicit ``provider``) -> ModelString."""
    text = text.strip()
    prefix, slash, rest = text.partition("/")
    if provider is not None:
        name = provider.strip().lower()
        if name not in PROVIDERS:
            raise NotAModel(f"unknown model provider '{provider}'", _providers_hint(name))
        return ModelString(name, rest if slash and prefix.lower() == name else text)
    if slash and rest:
        if prefix.lower() not in PROVIDERS:
            raise NotAModel(f"unknown model provider '{prefix}' in model string '{text}'", _providers_hint(prefix))
        return ModelString(prefix.lower(), rest)
    for name, pattern in _BARE:
        if pattern.match(text.lower()):
            return ModelString(name, text)
    raise NotAModel(f"'{text}' is neither a model profile nor a model string")


def profile(model: ModelString, *, base_url: str | None = None, api_key_env: str | None = None,
            **settings: object) -> ProfileSpec:
    """The profile a model string runs as. OpenAI models use rolecall's OpenAI client, with
    ``OPENAI_BASE_URL`` honoured as for the built-in profile; the rest go through ``crewai.LLM``."""
    given = {k: v for k, v in settings.items() if v is not None}
    if model.provider == "openai":
        return ProfileSpec(provider="openai", model=model.model, base_url=base_url or "${OPENAI_BASE_URL:-}",
                           api_key_env=api_key_env or "OPENAI_API_KEY", retries=2, **given)
    return ProfileSpec(provider="crewai", model=str(model), base_url=base_url,
                       api_key_env=api_key_env or model.info.key_env, retries=2, **given)


def _providers_hint(near: str) -> str:
    from ..problem import did_you_mean
    return did_you_mean(near.lower(), PROVIDERS) or f"providers: {', '.join(sorted(PROVIDERS))}"
