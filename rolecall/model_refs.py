"""The ``llm:`` values of one crew, each resolved to a model profile.

A value is a profile name from ``config/llm.yaml``, a CrewAI model string
(``openai/gpt-4o``, ``ollama/llama3.2``) or CrewAI's object form
(``{model, provider, base_url, api_key: ${VAR}}``). Strings and objects become
profiles named by what was written, so the run builds them like any other.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

from .llm.profiles import ProfileSpec
from .llm.providers import ModelString, NotAModel, parse, profile
from .packages import installed
from .problem import did_you_mean
from .spec import ModelSpec

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


# the module crewai's client imports -> what pip installs it as, where the two names differ
_DISTRIBUTIONS = {"azure.ai.inference": "azure-ai-inference", "google.genai": "google-genai"}


class ModelProblem(ValueError):
    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint


class Models:
    """Resolves ``llm:`` values and keeps the profiles the model strings need.

    ``check_keys``: a run that overrides every agent's model (``--llm local``) never builds
    these, so a missing key or client package is not a problem then.
    """

    def __init__(self, profiles: set[str], env: Mapping[str, str], *, check_keys: bool = True,
                 bare_is_openai: bool = False):
        self.profiles, self.env, self.check_keys = profiles, env, check_keys
        self.bare_is_openai = bare_is_openai  # crewai reads any bare name as an OpenAI model
        self.specs: dict[str, ProfileSpec] = {}

    def resolve(self, ref: str | ModelSpec) -> str:
        """The profile name for ``ref``; raises ``ModelProblem`` saying what is wrong and how to fix it."""
        if isinstance(ref, str):
            if ref in self.profiles:
                return ref
            try:
                model = parse(ref)
            except NotAModel as bad:
                if self.bare_is_openai and "/" not in ref and ref.strip():
                    return self._keep(ref.strip(), ModelString("openai", ref.strip()),
                                      profile(ModelString("openai", ref.strip())))
                raise ModelProblem(f"unknown model profile '{ref}'" if "/" not in ref else str(bad),
                                   bad.hint or did_you_mean(ref, self.profiles) or
                                   f"name a profile in config/llm.yaml ({', '.join(sorted(self.profiles))}) "
                                   f"or a CrewAI model string such as openai/gpt-4o-mini") from None
            return self._keep(ref.strip(), model, profile(model))
        return self._object(ref)

    def _object(self, ref: ModelSpec) -> str:
        try:
            model = parse(ref.model, ref.provider)
        except NotAModel as bad:
            raise ModelProblem(str(bad), bad.hint) from None
        key_env = None
        if ref.api_key is not None:
            match = _ENV_REF.fullmatch(ref.api_key.strip())
            if match is None:
                raise ModelProblem("an API key is written in the file",
                                   "write api_key: ${NAME} and put NAME=... in .env; keys never belong in a crew")
            key_env = match.group(1)
        settings = ref.model_dump(exclude={"model", "provider", "base_url", "api_key"}, exclude_none=True)
        spec = profile(model, base_url=ref.base_url, api_key_env=key_env, **settings)
        name = str(model) + (f"@{ref.base_url}" if ref.base_url else "")
        if settings or key_env:  # the same model with other settings is another profile
            digest = hashlib.sha256(json.dumps([settings, key_env], sort_keys=True).encode()).hexdigest()[:6]
            name += f"#{digest}"
        return self._keep(name, model, spec)

    def _keep(self, name: str, model: ModelString, spec: ProfileSpec) -> str:
        if self.check_keys:
            self._check_reachable(model, spec)
        self.specs[name] = spec
        return name

    def _check_reachable(self, model: ModelString, spec: ProfileSpec) -> None:
        info = model.info
        package = info.package
        if package and not installed(package):
            wanted = _DISTRIBUTIONS.get(package, package.split(".")[0])
            raise ModelProblem(f"model '{model}' needs the Python package '{wanted}', which is not installed",
                               f"pip install {wanted}, or run with --llm local")
        if model.provider == "openai" and (self.env.get("OPENAI_BASE_URL") or
                                           (spec.base_url and not spec.base_url.startswith("${"))):
            return  # an OpenAI-compatible server may need no key
        key = spec.api_key_env
        if key and not self.env.get(key):
            raise ModelProblem(f"model '{model}' needs the environment variable {key}, which is not set",
                               f"put {key}=... in .env, or run with --llm local")
