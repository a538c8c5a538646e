"""``main.py doctor``: which model a run would use and why, and whether it can work here.

Reads settings and probes, never runs a crew and never imports crewai, so it
answers in about two seconds even with every provider offline. API keys are
used to probe but never printed.
"""
from __future__ import annotations

import importlib.metadata as metadata
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .environment import Environment
from .llm.cpu import cores
from .llm.embedding_model import DEFAULT_EMBEDDING_MODEL
from .llm.embedding_model import status as embedding_status
from .llm.models import MODELS
from .llm.profiles import LlmConfig, ProfileSpec, choose, expand, load_config
from .llm.weights import lookup, models_dir
from .project import Project

PROBE_TIMEOUT = 2.0
OPENAI_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Probe:
    profile: str
    url: str
    verdict: str  # for people: "reachable (HTTP 200, 41 ms)", "unreachable (...)"
    ready: bool = False  # answered GET /models with 2xx


@dataclass(frozen=True)
class LlamaCpp:
    """Whether llama-cpp-python can run a local model here, and a line saying so."""

    loads: bool  # installed and its compiled library loads on this CPU
    summary: str


def doctor(project: Project, requested: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """A readable report; raises ``RolecallError`` only for a broken config/llm.yaml or unknown profile."""
    env = Environment.current() if env is None else env
    config = load_config(project.config_dir)
    name, reason = choose(config, requested, env)
    chosen = config.profiles[name]
    probes = _probe_all(config, env)
    llama = _llama_cpp()
    lines = [f"model profile: {name} ({reason})", f"  {_describe(chosen, env)}",
             f"  ready: {_ready(name, chosen, project.root, env, probes, llama)}"]
    if not requested:
        lines.append("  pick another with --llm NAME or ROLECALL_LLM; agents can name one with `llm:` in crew.yaml")
    lines += ["", "local models:"] + _local_models(config, project.root, env)
    lines += ["", f"embedding model (memory, knowledge; embedder: in crew.yaml overrides): {DEFAULT_EMBEDDING_MODEL}",
              f"  {embedding_status(env=env)}"]
    lines += ["", "llama-cpp-python (runs local models in-process):", f"  {llama.summary}"]
    lines += ["", "OpenAI-compatible providers:"]
    lines += [f"  {p.profile}: {p.url} -> {p.verdict}" for p in probes] or ["  none configured"]
    return "\n".join(lines)


def _describe(profile: ProfileSpec, env: Mapping[str, str]) -> str:
    if profile.provider == "local":
        threads = (f"{profile.threads} threads" if profile.threads
                   else f"up to {cores()} threads (fewer while other processes hold cores)")
        return (f"provider local, model {expand(profile.model, env) or '(file)'}, {threads}, "
                f"context {profile.n_ctx or 8192} tokens")
    if profile.provider == "scripted":
        return "provider scripted (canned replies, no model)"
    key = profile.api_key_env or "OPENAI_API_KEY"
    has_key = f"{key} {'set' if env.get(key) else 'not set'}"
    if profile.provider == "openai_compatible" and not profile.api_key_env and not env.get(key):
        has_key = "no API key"
    base = expand(profile.base_url, env) or (OPENAI_URL if profile.provider == "openai" else "(no base_url)")
    return f"provider {profile.provider}, model {expand(profile.model, env) or '-'}, {base}, {has_key}"


def _ready(name: str, profile: ProfileSpec, root: Path, env: Mapping[str, str], probes: list[Probe],
           llama: LlamaCpp) -> str:
    if profile.provider == "scripted":
        return "yes"
    if profile.provider == "local":
        if not llama.loads:
            return "no: llama-cpp-python is missing or broken (see below)"
        found = lookup(expand(profile.model, env), expand(profile.file, env), root=root, env=env)
        if found.path is not None:
            return _runs_here(found.path, env)
        if found.origin.fetched_on_first_use:
            return f"yes, once the model file is fetched ({found.source}; see below)"
        return f"no: {found.missing}"
    key = profile.api_key_env or "OPENAI_API_KEY"
    if profile.provider == "openai" and not env.get(key) and not expand(profile.base_url, env):
        return f"no: {key} is not set (put {key}=... in .env, or use --llm local)"
    probe = next((p for p in probes if p.profile == name), None)
    if probe is None:
        return "no: not probed"
    return "yes" if probe.ready else f"no: {probe.verdict}"


def _runs_here(model: Path, env: Mapping[str, str]) -> str:
    from .errors import ModelUnavailable
    from .llm.build_check import require_working_build
    try:
        require_working_build(model, models_dir(env))
    except ModelUnavailable as exc:
        problem = exc.problems[0]
        return f"no: {problem.message}; {problem.hint}"
    return "yes"


def _local_models(config: LlmConfig, root: Path, env: Mapping[str, str]) -> list[str]:
    lines = []
    for name, profile in config.profiles.items():
        if profile.provider != "local":
            continue
        model = expand(profile.model, env)
        found = lookup(model, expand(profile.file, env), root=root, env=env)
        label = f"  {name} ({model or 'file'}):"
        if found.path is not None:
            size = found.path.stat().st_size / 1e6
            lines.append(f"{label} {found.path} ({size:.0f} MB, from {found.source})")
        elif found.origin.fetched_on_first_use:
            lines.append(f"{label} not in the cache yet; {found.missing}")
        else:
            lines.append(f"{label} MISSING: {found.missing}")
    if not lines:
        lines.append("  no local profiles configured")
    lines.append(f"  model cache: {models_dir(env)} (ROLECALL_CACHE moves it; ROLECALL_LOCAL_MODEL=/path/x.gguf "
                 f"overrides the file; pinned: {', '.join(MODELS)})")
    return lines


def _llama_cpp() -> LlamaCpp:
    try:
        version = metadata.version("llama_cpp_python")
    except metadata.PackageNotFoundError:
        return LlamaCpp(False, "not installed: local profiles cannot run (make install, or "
                               "pip install llama-cpp-python==0.3.36; it compiles for ~10 minutes once)")
    try:
        import llama_cpp  # loads the compiled library: proves the build works on this CPU
    except (ImportError, OSError) as exc:
        return LlamaCpp(False, f"{version} is installed but does not load ({exc}); reinstall it: "
                               "pip install --force-reinstall llama-cpp-python==0.3.36")
    features = llama_cpp.llama_print_system_info().decode(errors="replace")
    # "CPU : SSE3 = 1 | AVX2 = 1 | ..." -> the instruction sets llama.cpp was built to use
    simd = [flag.split("=")[0].split(":")[-1].strip() for flag in features.split("|") if flag.strip().endswith("= 1")]
    return LlamaCpp(True, f"{version}, loads fine ({', '.join(simd[:6]) or 'no SIMD'}); {cores()} cores")


def _probe_all(config: LlmConfig, env: Mapping[str, str]) -> list[Probe]:
    targets: list[tuple[str, str, str | None]] = []
    for name, profile in config.profiles.items():
        if profile.provider not in ("openai", "openai_compatible"):
            continue
        base = expand(profile.base_url, env) or (OPENAI_URL if profile.provider == "openai" else None)
        if base is None:
            targets.append((name, "(no base_url)", None))
            continue
        targets.append((name, base.rstrip("/"), env.get(profile.api_key_env or "OPENAI_API_KEY")))
    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:  # all at once: ~2 s, not 2 s each
        return list(pool.map(lambda t: _probe(t[0], t[1], t[2]), targets))


def _probe(profile: str, base: str, key: str | None) -> Probe:
    if not base.startswith(("http://", "https://")):
        return Probe(profile, base, "not probed: set base_url in config/llm.yaml")
    request = urllib.request.Request(f"{base}/models", headers={"User-Agent": "rolecall-doctor"})
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        return Probe(profile, base, f"unreachable ({getattr(exc, 'reason', exc)})")
    took = f"{(time.perf_counter() - started) * 1000:.0f} ms"
    if status in (401, 403):
        return Probe(profile, base, f"reachable, but the API key was {'refused' if key else 'missing'} "
                                    f"(HTTP {status}, {took})")
    if 200 <= status < 300:
        return Probe(profile, base, f"reachable (HTTP {status}, {took})", ready=True)
    return Probe(profile, base, f"answers, but GET /models gave HTTP {status} ({took})")

