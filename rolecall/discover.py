"""Stage 1: find crew packages, in ``crews/`` and in installed distributions.

A distribution ships a crew by declaring an entry point in the ``rolecall.crews``
group whose value is the crew's package: no registration code. Nothing here
imports crewai or the crews themselves.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .problem import Problem, did_you_mean
from .project import Project

ENTRY_POINT_GROUP = "rolecall.crews"


@dataclass(frozen=True)
class CrewPackage:
    """A crew folder found on disk (in crews/, an installed distribution, or a path), not yet read."""

    name: str
    path: Path
    origin: str
    module: str | None = None  # importable package name, for crews shipped as distributions

    @property
    def layout(self) -> str:
        """"yaml" (config/agents.yaml, config/tasks.yaml, crew.yaml) or "json" (CrewAI 1.15's
        crew.jsonc with agents/<name>.jsonc); a folder holding both is read as YAML."""
        yaml = (self.path / "crew.yaml").exists() or (self.path / "config").is_dir()
        return "json" if not yaml and json_crew_file(self.path) is not None else "yaml"

    @property
    def files(self) -> list[Path]:
        """The files that declare the crew (its tools, schemas and data aside)."""
        if self.layout == "yaml":
            return [self.agents_file, self.tasks_file, self.crew_file]
        folder = self.path / "agents"
        agents = sorted(f for f in folder.iterdir() if f.suffix in JSON_SUFFIXES) if folder.is_dir() else []
        return [json_crew_file(self.path) or self.path / "crew.jsonc", *agents]

    @property
    def agents_file(self) -> Path:
        return self.path / "config" / "agents.yaml"

    @property
    def tasks_file(self) -> Path:
        return self.path / "config" / "tasks.yaml"

    @property
    def crew_file(self) -> Path:
        return self.path / "crew.yaml"

    @property
    def shown_origin(self) -> str:
        """Where a person finds it: ``crews/name``, ``distribution x``, or the path."""
        return f"crews/{self.name}" if self.origin == "crews/" else self.origin

    def fingerprint(self) -> str:
        """A hash of every file in the package; resume refuses a crew that changed."""
        import hashlib  # only runs and reports need it; `list` should not pay for it
        digest = hashlib.sha256()
        for file in sorted(self.path.rglob("*")):  # YAML, schemas, tools, their data: all of the package
            inside = file.relative_to(self.path).parts[:-1]  # a hidden folder (.git) is no part of the crew
            if file.is_file() and "__pycache__" not in inside and not any(p.startswith(".") for p in inside):
                digest.update(str(file.relative_to(self.path)).encode() + b"\0" + file.read_bytes())
        return digest.hexdigest()[:16]


JSON_SUFFIXES = (".jsonc", ".json")  # crewai's order of preference


def json_crew_file(folder: Path) -> Path | None:
    """crew.jsonc or crew.json, as crewai looks for them."""
    for suffix in JSON_SUFFIXES:
        if (folder / f"crew{suffix}").is_file():
            return folder / f"crew{suffix}"
    return None


def is_crew_dir(path: Path) -> bool:
    try:
        return path.is_dir() and not path.name.startswith((".", "_")) and (
            (path / "crew.yaml").exists() or (path / "config").is_dir() or json_crew_file(path) is not None)
    except OSError:  # unreadable: validation says so when the crew is named
        return path.is_dir()


def discover(project: Project) -> tuple[dict[str, CrewPackage], list[Problem]]:
    """Every crew by name, and problems such as two crews sharing a name."""
    crews: dict[str, CrewPackage] = {}
    problems: list[Problem] = []
    for path in _folders(project.crews_dir, problems):
        if is_crew_dir(path):
            crews[path.name] = CrewPackage(path.name, path, "crews/")
    for name, value, dist in installed_crews(project):
        ref = _from_entry_point(name, value, dist, problems)
        if ref is None:
            continue
        if name in crews:
            problems.append(Problem(
                f"crew '{name}' from {ref.origin} is hidden by crews/{name}",
                crews[name].path, hint="rename one of them", severity="warning"))
            continue
        crews[name] = ref
    return crews, problems


def installed_crews(project: Project) -> list[tuple[str, str, str]]:
    """(name, package, distribution) of every ``rolecall.crews`` entry point.

    Reading every installed distribution's metadata costs ~45 ms, a quarter of ``list``;
    the answer is kept beside the validation cache until a folder on ``sys.path`` changes
    (installing or removing a distribution changes its folder).
    """
    stamp = [[entry, mtime_ns(entry)] for entry in sys.path]
    file = project.root / ".rolecall-cache" / "entry-points.json"
    try:
        kept = json.loads(file.read_text(encoding="utf-8"))
        if kept["stamp"] == stamp:
            return [tuple(point) for point in kept["points"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    from importlib.metadata import entry_points
    points = [(ep.name, ep.value, getattr(ep.dist, "name", "?")) for ep in entry_points(group=ENTRY_POINT_GROUP)]
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps({"stamp": stamp, "points": points}), encoding="utf-8")
    except OSError:
        pass  # no cache, just slower
    return points


def mtime_ns(entry: str) -> int:
    try:
        return os.stat(entry or ".").st_mtime_ns
    except OSError:
        return 0


def _folders(folder: Path, problems: list[Problem]) -> list[Path]:
    try:
        return sorted(folder.iterdir()) if folder.is_dir() else []
    except OSError as exc:
        problems.append(Problem(f"cannot list crews: {exc.strerror or exc}", folder, hint="check its permissions"))
        return []


def _from_entry_point(name: str, module: str, dist: str, problems: list[Problem]) -> CrewPackage | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        problems.append(Problem(f"entry point '{name} = {module}' in distribution '{dist}' "
                                f"does not name an importable package",
                                hint="its value must be the crew's package, e.g. 'my_crews.support'"))
        return None
    return CrewPackage(name, Path(locations[0]), f"distribution {dist}", module)


def find(project: Project, name: str) -> CrewPackage:
    """The crew called ``name`` (or the crew folder at that path), or an error listing what exists."""
    crews, _ = discover(project)
    if name in crews:
        return crews[name]
    folder = Path(name)
    if ("/" in name or folder.is_absolute()) and is_crew_dir(folder):
        return CrewPackage(folder.resolve().name, folder.resolve(), str(folder))
    hint = did_you_mean(name, crews) or (
        f"known crews: {', '.join(crews)}" if crews else "create one with: python main.py new NAME")
    raise ConfigError(Problem(f"no crew named '{name}'", project.crews_dir, hint=hint))
