"""Stage 1: find crew packages, in ``crews/`` and in installed distributions.

A distribution ships a crew by declaring an entry point in the ``rolecall.crews``
group whose value is the crew's package: no registration code. Nothing here
imports crewai or the crews themselves.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from .problem import Problem, RolecallError, did_you_mean
from .project import Project

ENTRY_POINT_GROUP = "rolecall.crews"


@dataclass(frozen=True)
class CrewRef:
    """A crew package found on disk, not yet read."""

    name: str
    path: Path
    origin: str
    module: str | None = None  # importable package name, for crews shipped as distributions

    @property
    def agents_file(self) -> Path:
        return self.path / "config" / "agents.yaml"

    @property
    def tasks_file(self) -> Path:
        return self.path / "config" / "tasks.yaml"

    @property
    def crew_file(self) -> Path:
        return self.path / "crew.yaml"


def is_crew_dir(path: Path) -> bool:
    return path.is_dir() and not path.name.startswith((".", "_")) and (
        (path / "crew.yaml").exists() or (path / "config").is_dir())


def discover(project: Project) -> tuple[dict[str, CrewRef], list[Problem]]:
    """Every crew by name, and problems such as two crews sharing a name."""
    crews: dict[str, CrewRef] = {}
    problems: list[Problem] = []
    if project.crews_dir.is_dir():
        for path in sorted(project.crews_dir.iterdir()):
            if is_crew_dir(path):
                crews[path.name] = CrewRef(path.name, path, "crews/")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        ref = _from_entry_point(ep.name, ep.value, getattr(ep.dist, "name", "?"), problems)
        if ref is None:
            continue
        if ep.name in crews:
            problems.append(Problem(
                f"crew '{ep.name}' from {ref.origin} is hidden by crews/{ep.name}",
                crews[ep.name].path, hint="rename one of them", severity="warning"))
            continue
        crews[ep.name] = ref
    return crews, problems


def _from_entry_point(name: str, module: str, dist: str, problems: list[Problem]) -> CrewRef | None:
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
    return CrewRef(name, Path(locations[0]), f"distribution {dist}", module)


def find(project: Project, name: str) -> CrewRef:
    """The crew called ``name``, or an error listing what exists."""
    crews, _ = discover(project)
    if name in crews:
        return crews[name]
    hint = did_you_mean(name, crews) or (
        f"known crews: {', '.join(crews)}" if crews else "create one with: python main.py new NAME")
    raise RolecallError(Problem(f"no crew named '{name}'", hint=hint))
