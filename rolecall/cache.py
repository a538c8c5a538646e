"""Validation results kept between commands, so an unchanged crew is listed without revalidating.

``list``, ``validate``, ``show`` and ``plan`` spend most of their time importing pydantic
and building models (about 0.17 s), not checking. A cache entry holds what they print (a
``CrewOutline`` and the problems), keyed by a hash of everything validation reads: the
crew's files (contents; size and time for files over 256 KB), the project's ``tools/``,
``config/llm.yaml``, the installed crewai_tools, the site-packages folders (a package installed
since may be one a model needs) and rolecall's own code (so an entry is never trusted across
rolecall versions or edits). Environment variables a tool needs are
recorded by name with whether they were set, and checked again on every hit.

Entries live in ``<project>/.rolecall-cache/validation/``; a folder that cannot be written
only means no cache.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .discover import CrewPackage, mtime_ns
from .environment import Environment
from .errors import ConfigError
from .outline import CrewOutline
from .problem import Problem
from .project import Project

if TYPE_CHECKING:
    from .definition import CrewDefinition

FORMAT = 1
SMALL = 256 << 10  # files up to this size are hashed by content


@dataclass(frozen=True)
class Checked:
    """What validating one crew package found, as plain data."""

    outline: CrewOutline | None  # None when the crew has errors
    problems: list[Problem]
    evals: list[Problem] = field(default_factory=list)  # what is wrong in its evals.yaml (the crew still runs)

    @property
    def ok(self) -> bool:
        return self.outline is not None


def checked(project: Project, package: CrewPackage, env: Mapping[str, str] | None = None) -> Checked:
    """The crew's outline and problems, from the cache when nothing it depends on changed."""
    env = Environment.current() if env is None else env
    folder = project.root / ".rolecall-cache" / "validation"
    key = _key(project, package)
    found = _read(folder / f"{package.name}.json", key, env)
    if found is not None:
        return found
    result, consulted = _validate(project, package, env)
    _write(folder / f"{package.name}.json", key, result, consulted)
    return result


def _validate(project: Project, package: CrewPackage, env: Mapping[str, str]) -> tuple[Checked, dict[str, bool]]:
    from .llm.profiles import load_config  # pydantic: only on a miss
    from .validate import validate
    recording = _Recording(env)
    profiles = load_config(project.config_dir, env).profiles
    result = validate(project, package, profiles, recording)
    if result.crew is None:
        return Checked(None, result.problems), recording.consulted
    return Checked(CrewOutline.of(result.crew), result.problems, eval_problems(result.crew, set(profiles))), \
        recording.consulted


def eval_problems(crew: CrewDefinition, profiles: set[str]) -> list[Problem]:
    """What is wrong in the crew's evals.yaml, if it has one: ``validate`` reports it with the
    crew, so a broken case is found before ``eval`` spends a model call on the others."""
    from .evals import evals_file, load_suite
    if not evals_file(crew).is_file():
        return []
    try:
        load_suite(crew, profiles)
    except ConfigError as exc:
        return list(exc.problems)
    return []


# --- the key --------------------------------------------------------------------------------

def _key(project: Project, package: CrewPackage) -> str:
    # installing or removing a package changes its folder on sys.path: validation checks that a
    # model's or embedder's client package is installed, so such an entry must not outlive it
    installed = ",".join(str(mtime_ns(entry)) for entry in sys.path
                         if entry.endswith(("site-packages", "dist-packages")))
    digest = hashlib.sha256(f"format {FORMAT}\n{code_version()}\n{_crewai_tools()}\n{installed}\n".encode())
    for label, root in (("crew", package.path), ("tools", project.tools_dir)):
        for file in _files(root):
            digest.update(f"{label}:{file.relative_to(root)}\n".encode() + file_stamp(file))
    llm_yaml = project.config_dir / "llm.yaml"
    digest.update(b"llm.yaml\n" + (file_stamp(llm_yaml) if llm_yaml.is_file() else b"-"))
    return digest.hexdigest()


def _files(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for folder, dirs, files in os.walk(root):
        # a hidden folder is no part of the crew: `crewai create crew` puts a .git in its folder
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in sorted(files):
            yield Path(folder, name)


def file_stamp(file: Path) -> bytes:
    try:
        info = file.stat()
    except OSError:
        return b"unreadable"
    if info.st_size > SMALL:
        return f"{info.st_size}:{info.st_mtime_ns}".encode()
    return _content(str(file), info.st_size, info.st_mtime_ns)


@cache
def _content(file: str, size: int, mtime_ns: int) -> bytes:
    """A small file's hash, read once per version of it: the project's tools/ is part of every crew's
    key, and `list` asks for all of them."""
    try:
        return hashlib.sha256(Path(file).read_bytes()).digest()
    except OSError:
        return b"unreadable"


@cache
def code_version() -> str:
    """rolecall's own source, by size and modification time: any edit or upgrade starts afresh."""
    from . import __version__
    here = Path(__file__).parent
    parts = [__version__] + [f"{f.relative_to(here)}:{f.stat().st_size}:{f.stat().st_mtime_ns}"
                             for f in sorted(here.rglob("*.py"))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@cache
def _crewai_tools() -> str:
    """The installed crewai_tools, by its package file (importlib.metadata would cost ~35 ms here)."""
    import importlib.util
    try:
        spec = importlib.util.find_spec("crewai_tools")
    except (ImportError, ValueError):
        return "-"
    if spec is None or not spec.origin:
        return "-"
    info = Path(spec.origin).stat()
    return f"{spec.origin}:{info.st_size}:{info.st_mtime_ns}"


# --- entries -------------------------------------------------------------------------------

class _Recording(Mapping[str, str]):
    """The environment, noting which variables validation looked at."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env
        self.consulted: dict[str, bool] = {}

    def __getitem__(self, name: str) -> str:
        self.consulted[name] = name in self.env
        return self.env[name]

    def get(self, name: str, default: Any = None) -> Any:
        self.consulted[name] = bool(self.env.get(name))
        return self.env.get(name, default)

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.consulted[name] = name in self.env
        return name in self.env

    def __iter__(self) -> Iterator[str]:
        return iter(self.env)

    def __len__(self) -> int:
        return len(self.env)


def _read(file: Path, key: str, env: Mapping[str, str]) -> Checked | None:
    entry = read_entry(file, key)
    if entry is None or any(bool(env.get(n)) != was for n, was in entry.get("env", {}).items()):
        return None
    try:
        outline = CrewOutline.from_data(entry["outline"]) if entry["outline"] is not None else None
        problems, evals = problems_from_data(entry["problems"]), problems_from_data(entry["evals"])
    except (KeyError, TypeError):  # an entry from another shape of these classes
        return None
    return Checked(outline, problems, evals)


def _write(file: Path, key: str, result: Checked, consulted: dict[str, bool]) -> None:
    write_entry(file, {"key": key, "env": consulted, "outline": result.outline.to_data() if result.outline else None,
                       "problems": problems_to_data(result.problems), "evals": problems_to_data(result.evals)})


# --- entries, shared with flow_cache.py -------------------------------------------------------

def read_entry(file: Path, key: str) -> dict[str, Any] | None:
    """The entry in ``file`` if it was written for ``key``."""
    try:
        entry = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) and entry.get("key") == key else None


def write_entry(file: Path, entry: dict[str, Any]) -> None:
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        temporary = file.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(entry, default=str), encoding="utf-8")
        os.replace(temporary, file)  # readers see the old entry or the new one, never half of one
    except OSError:
        pass


def problems_to_data(problems: list[Problem]) -> list[dict[str, Any]]:
    return [{"message": p.message, "file": str(p.file) if p.file else None, "line": p.line, "path": p.path,
             "hint": p.hint, "severity": p.severity, "column": p.column} for p in problems]


def problems_from_data(data: list[dict[str, Any]]) -> list[Problem]:
    return [Problem(**{**p, "file": Path(p["file"]) if p["file"] else None}) for p in data]
