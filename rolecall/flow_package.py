"""Find flows: ``flows/<name>.yaml`` or ``flows/<name>/flow.yaml``, CrewAI's ``crewai.flow/v1`` files.

A ``FlowPackage`` is a flow file that was found, not yet read; ``flow_validate`` makes a
``FlowOutline`` of it. Nothing here imports crewai.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .problem import Problem
from .project import Project

SUFFIXES = (".yaml", ".yml", ".json")
FOLDER_FILES = tuple(f"flow{suffix}" for suffix in SUFFIXES)


@dataclass(frozen=True)
class FlowPackage:
    name: str
    file: Path

    @property
    def folder(self) -> Path:
        """Where the flow's relative paths (``from_declaration``) start, as in crewai."""
        return self.file.parent

    def fingerprint(self) -> str:
        """A hash of the flow file; resume refuses a flow that changed."""
        return hashlib.sha256(self.file.read_bytes()).hexdigest()[:16]


def discover_flows(project: Project) -> tuple[dict[str, FlowPackage], list[Problem]]:
    """Every flow by name, and problems such as two files claiming one name."""
    flows: dict[str, FlowPackage] = {}
    problems: list[Problem] = []
    folder = project.flows_dir
    try:
        entries = sorted(folder.iterdir()) if folder.is_dir() else []
    except OSError as exc:
        return {}, [Problem(f"cannot list flows: {exc.strerror or exc}", folder, hint="check its permissions")]
    for entry in entries:
        found = _flow_at(entry)
        if found is None:
            continue
        if found.name in flows:
            problems.append(Problem(f"flow '{found.name}' is defined twice", found.file,
                                    hint=f"also in {flows[found.name].file.name}; rename one"))
            continue
        flows[found.name] = found
    return flows, problems


def _flow_at(entry: Path) -> FlowPackage | None:
    if entry.name.startswith((".", "_")):
        return None
    if entry.is_file() and entry.suffix in SUFFIXES:
        return FlowPackage(entry.stem, entry)
    if entry.is_dir():
        for name in FOLDER_FILES:
            if (entry / name).is_file():
                return FlowPackage(entry.name, entry / name)
    return None


def find_flow(project: Project, name: str) -> FlowPackage | None:
    """The flow called ``name`` (or the flow file at that path); None when there is none."""
    flows, _ = discover_flows(project)
    if name in flows:
        return flows[name]
    path = Path(name)
    if path.suffix in SUFFIXES and path.is_file():
        return FlowPackage(path.stem if path.stem != "flow" else path.resolve().parent.name, path.resolve())
    if path.is_dir() and ("/" in name or path.is_absolute()):
        return _flow_at(path.resolve())
    return None
