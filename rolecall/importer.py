"""``main.py import PATH``: an existing CrewAI project becomes a rolecall crew package.

Two layouts are understood. The classic one (``src/<pkg>/crew.py`` with ``@CrewBase`` and
``config/*.yaml``) keeps its YAML byte for byte and gets a ``crew.yaml`` holding what crew.py
wires up in Python (read statically by ``rolecall.crewpy`` and ``rolecall.recover``, never
run), a ``tools.py`` with the project's own tools and a ``schemas.py`` with its output models.
The JSON one (``crew.jsonc`` + ``agents/*.jsonc``, what ``crewai create crew`` writes in 1.15)
is copied as it is. The crew is written into a hidden folder and renamed into place, so a
failure leaves nothing half-written and an existing crew is replaced only with ``force``.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .crewpy import CrewClass, CrewModule, read_crew_py
from .discover import CrewPackage, find
from .errors import ConfigError
from .excerpt import Excerpt
from .kickoff import declared_inputs, kickoff_inputs
from .llm.profiles import load_config
from .problem import Problem, did_you_mean, only_errors
from .project import Project
from .recover import Recovered, Recovery, ToolAt
from .toolbox import toolbox_for
from .validate import validate

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SKIP_DIRS = {".venv", "venv", "node_modules", "site-packages", ".git", "__pycache__", "tests", "build", "dist"}
_JSON_CREW = ("crew.jsonc", "crew.json")
_JSON_PARTS = ("agents", "tasks", "tools", "knowledge", "skills")


@dataclass
class ImportReport:
    """What ``import`` did: the crew it wrote, what it could not recover, and what validation found."""

    crew: str
    folder: Path
    source: Path
    written: list[str] = field(default_factory=list)  # files, relative to ``folder``
    notes: list[Problem] = field(default_factory=list)  # located in the source project
    problems: list[Problem] = field(default_factory=list)  # the new crew's validation

    @property
    def ok(self) -> bool:
        return not only_errors(self.problems)

    def render(self, root: Path | None = None) -> str:
        shown = self.folder.relative_to(root) if root and self.folder.is_relative_to(root) else self.folder
        lines = [f"imported {self.source} as {shown}/", f"  wrote: {', '.join(self.written)}"]
        if self.notes:
            lines.append(f"not recovered or changed ({len(self.notes)}), in {self.source}:")
            lines += [f"  {note.render(self.source)}".replace("warning: ", "") for note in self.notes]
        lines.append(f"{self.crew}: {'ok' if self.ok else 'INVALID'}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Layout:
    """Where a CrewAI project keeps its crew."""

    root: Path  # the project folder
    crew_py: Path | None  # None for a JSON crew
    package: str  # the default crew name
    crew_class: str | None = None  # PATH/crew.py:Class picks one of several crew classes

    @property
    def crew_dir(self) -> Path:
        return self.crew_py.parent if self.crew_py else self.root


def import_project(project: Project, path: Path, *, name: str | None = None, force: bool = False) -> ImportReport:
    layout = find_layout(path)
    crew = crew_name(name, layout)
    target = project.crews_dir / crew
    if target.exists() and not force:
        raise ConfigError(Problem(f"crews/{crew} already exists; nothing was written", target,
                                  hint="choose another name with --name, or pass --force to replace it"))
    report = ImportReport(crew, target, layout.root)
    files, recovered = _json_files(layout) if layout.crew_py is None else _classic_files(layout)
    try:
        staging = _stage(project, crew, files)
    except OSError as exc:
        raise ConfigError(Problem(f"cannot write crews/{crew}: {exc.strerror or exc}; nothing was written",
                                  project.crews_dir)) from None
    try:
        if recovered is not None:
            staged = CrewPackage(crew, staging, "crews/")
            _drop_unknown_tools(project, staged, recovered)
            (staging / "crew.yaml").write_text(crew_yaml(recovered, layout), encoding="utf-8")
            files["crew.yaml"] = b""
        _commit(staging, target)
    except OSError as exc:
        raise ConfigError(Problem(f"cannot write crews/{crew}: {exc.strerror or exc}; nothing was changed",
                                  target)) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report.written = sorted(files, key=_file_order)
    if recovered is not None:  # the same note reached twice (two names from one import) is shown once
        report.notes = sorted(dict.fromkeys(recovered.notes), key=lambda n: (str(n.file or ""), n.line or 0))
    report.problems = _validate(project, crew)
    return report


# --- finding the project --------------------------------------------------------

def find_layout(path: Path) -> Layout:
    head, colon, tail = str(path).rpartition(":")
    if colon and tail.isidentifier() and head.endswith(".py"):  # crew.py:ScreeningCrew
        picked = find_layout(Path(head))
        return Layout(picked.root, picked.crew_py, _snake(tail), tail)
    path = path.expanduser().resolve()
    if not path.exists():
        raise ConfigError(Problem(f"no such file or folder: {path}", hint="give the folder of a CrewAI project"))
    if path.is_file():
        if path.suffix != ".py":
            raise ConfigError(Problem(f"{path.name} is not a crew.py", path, hint="give the project folder"))
        return Layout(_project_root(path), path, path.parent.name)
    for json_name in _JSON_CREW:
        if (path / json_name).is_file():
            return Layout(path, None, path.name)
    found = _crew_files(path)
    if not found:
        raise ConfigError(Problem(f"no crew.py and no crew.jsonc in {path}", path,
                                  hint="give the folder of a CrewAI project (src/<package>/crew.py or crew.jsonc)"))
    shallowest = [f for f in found if len(f.parts) == len(found[0].parts)]
    if len(shallowest) > 1:
        raise ConfigError(Problem(f"{len(shallowest)} crew files in {path}: "
                                  f"{', '.join(str(f.relative_to(path)) for f in shallowest)}", path,
                                  hint="give the path of the one to import"))
    # src/<pkg> given: the project (its knowledge/, its pyproject.toml) is further up
    root = path if (path / "pyproject.toml").is_file() else _project_root(found[0])
    return Layout(root if path.is_relative_to(root) else path, found[0], found[0].parent.name)


def _crew_files(root: Path) -> list[Path]:
    """The project's crew.py files, shallowest first; else any file with a @CrewBase class (a flow's
    crews are written as crews/<name>/<name>.py)."""
    python = _python_files(root)
    crew_base = [f for f in python if _mentions(f, "CrewBase")]
    # a crew.py with a @CrewBase class, else any file with one, else a crew.py (to say what it lacks)
    found = [f for f in crew_base if f.name == "crew.py"] or crew_base or [f for f in python if f.name == "crew.py"]
    return sorted(found, key=lambda f: (len(f.parts), str(f)))


def _python_files(root: Path, depth: int = 6) -> list[Path]:
    """Python files of the project, not of its virtualenv, tests or build output (those are pruned, not read)."""
    found = []
    for folder, dirs, files in os.walk(root):
        level = len(Path(folder).relative_to(root).parts)
        dirs[:] = [] if level >= depth else sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        found += [Path(folder) / f for f in files if f.endswith(".py")]
    return found


def _mentions(file: Path, word: str) -> bool:
    try:
        return f"@{word}" in file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _project_root(crew_py: Path) -> Path:
    for folder in crew_py.parents:
        if (folder / "pyproject.toml").is_file():
            return folder
    return crew_py.parent


def crew_name(name: str | None, layout: Layout) -> str:
    chosen = name or layout.package.lower().replace("-", "_")
    if chosen in ("src", "") and layout.root.name:
        chosen = layout.root.name.lower().replace("-", "_")
    if not _NAME.match(chosen):
        raise ConfigError(Problem(f"'{chosen}' is not a crew name (lowercase letters, digits and _, starting with "
                                  f"a letter)", hint="choose one with --name"))
    return chosen


# --- the classic layout ---------------------------------------------------------

def _classic_files(layout: Layout) -> tuple[dict[str, bytes], Recovered]:
    assert layout.crew_py is not None
    module, others = _chosen_classes(read_crew_py(layout.crew_py), layout)
    first = module.classes[0]
    config = {which: layout.crew_dir / first.config_path(f"{which}_config") for which in ("agents", "tasks")}
    data = {which: _yaml_mapping(file, module) for which, file in config.items()}
    roots = _roots(layout)
    recovered = Recovery(module, data["agents"], data["tasks"], roots, layout.root).run()
    recovered.notes += others
    mains = [folder / "main.py" for folder in layout.crew_py.parents if folder.is_relative_to(layout.root)]
    kickoff, source, notes = kickoff_inputs([*mains, layout.crew_py])
    outputs = [t["output_file"] for t in recovered.tasks.values() if isinstance(t.get("output_file"), str)]
    recovered.crew["inputs"], more = declared_inputs(data, outputs, kickoff, source, layout.crew_py)
    recovered.notes += notes + more
    files = {f"config/{which}.yaml": file.read_bytes() for which, file in config.items()}  # unchanged
    for which, file in config.items():
        if file.name != f"{which}.yaml":
            recovered.notes.append(Problem(f"{file.name} is copied unchanged as the crew's config/{which}.yaml",
                                           module.file, first.line, severity="warning"))
    crews_yaml = {layout.crew_dir / c.config_path(f"{w}_config") for c in read_crew_py(layout.crew_py).classes
                  for w in ("agents", "tasks")}
    for extra in sorted(config["agents"].parent.iterdir()):  # data main.py reads, say; not other crews' YAML
        if extra.is_file() and extra not in crews_yaml and not extra.name.startswith("."):
            files[f"config/{extra.name}"] = extra.read_bytes()
    files |= _copied_sources(recovered, roots, layout.root)
    files |= _knowledge(recovered, layout)
    return files, recovered


def _chosen_classes(module: CrewModule, layout: Layout) -> tuple[CrewModule, list[Problem]]:
    """The crew classes to import: the one asked for (else the first) and those sharing its YAML files;
    each other class is its own crew, imported with PATH:Class."""
    by_name = {c.name: c for c in module.classes}
    if layout.crew_class is not None and layout.crew_class not in by_name:
        raise ConfigError(Problem(f"no crew class '{layout.crew_class}' in {module.file.name}", module.file,
                                  hint=did_you_mean(layout.crew_class, by_name) or
                                  f"crew classes: {', '.join(by_name)}"))
    chosen = by_name[layout.crew_class] if layout.crew_class else module.classes[0]
    key = _config_key(chosen)
    kept = [c for c in module.classes if _config_key(c) == key]
    notes = [Problem(f"crew class {c.name} reads {' and '.join(_config_key(c))}, not {' and '.join(key)}: "
                     f"it is a crew of its own and was not imported",
                     module.file, c.line, hint=f"python main.py import {module.file}:{c.name}", severity="warning")
             for c in module.classes if c not in kept]
    return replace(module, classes=kept), notes


def _config_key(cls: CrewClass) -> tuple[str, str]:
    return cls.config_path("agents_config"), cls.config_path("tasks_config")


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _yaml_mapping(file: Path, module: CrewModule) -> dict[str, Any]:
    if not file.is_file():
        raise ConfigError(Problem(f"{file.name} not found at {file}", module.file, module.classes[0].line,
                                  hint="crew.py's agents_config / tasks_config must name the YAML files"))
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise ConfigError(Problem(f"YAML syntax error: {exc.problem}", file, mark.line + 1 if mark else None)
                          ) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(Problem(f"cannot read {file.name}: {exc}", file)) from None
    if not isinstance(data, dict):
        raise ConfigError(Problem(f"{file.name} must be a mapping of names to settings", file, 1))
    return data


def _roots(layout: Layout) -> list[Path]:
    """Where crew.py's absolute imports are found: next to it, then each folder up to the project
    (``src/`` holds the package a flow's ``crews/x/x.py`` imports from), nearest first."""
    up = [folder for folder in layout.crew_dir.parents if folder.is_relative_to(layout.root)]
    return list(dict.fromkeys([layout.crew_dir, *up, layout.root / "src", layout.root]))


def _copied_sources(recovered: Recovered, roots: list[Path], project: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for file, wanted, doc in (("tools.py", recovered.tools, "The project's own tools, copied by `main.py import`."),
                              ("schemas.py", recovered.schemas, "Output models, copied by `main.py import`.")):
        excerpt = Excerpt(roots, project)
        for item in dict.fromkeys(wanted):
            excerpt.add(item)
        recovered.notes += excerpt.notes
        if not excerpt.empty():
            files[file] = excerpt.text(doc).encode()
    return files


def _knowledge(recovered: Recovered, layout: Layout) -> dict[str, bytes]:
    """Knowledge files crew.py names (CrewAI looks them up in the project's knowledge/), copied and bound."""
    files: dict[str, bytes] = {}
    for owner, name, line in recovered.knowledge:
        source = layout.root / "knowledge" / name
        if not source.is_file():
            recovered.notes.append(Problem(f"knowledge file '{name}' is not in the project's knowledge/ folder; "
                                           f"left out", layout.crew_py, line, severity="warning",
                                           hint="add it to the crew's knowledge/ and list it in knowledge_sources"))
            continue
        files[f"knowledge/{name}"] = source.read_bytes()
        target = recovered.crew if owner is None else recovered.agents.setdefault(owner, {})
        target.setdefault("knowledge_sources", []).append(name)
    return files


def _drop_unknown_tools(project: Project, staged: CrewPackage, recovered: Recovered) -> None:
    """A tool binding the registry cannot resolve is left out with a note at its crew.py line."""
    box = toolbox_for(project, staged)
    for bindings in (recovered.agents, recovered.tasks):
        for binding in bindings.values():
            kept = []
            for tool in binding.get("tools", []):
                if box.get(tool.name) is None:
                    message, hint = box.explain(tool.name)
                    recovered.notes.append(Problem(f"{message}; left out", tool.file, tool.line, hint=hint,
                                                   severity="warning"))
                else:
                    kept.append(tool)
            if kept:
                binding["tools"] = kept
            else:
                binding.pop("tools", None)


def crew_yaml(recovered: Recovered, layout: Layout) -> str:
    crew = dict(recovered.crew)
    # the YAML is copied unchanged, so it is read as CrewAI reads it (JSON braces, keys CrewAI drops)
    data: dict[str, Any] = {"description": _description(layout), "dialect": "crewai"}
    for key in ("process", "manager", "inputs"):
        if key in crew:
            data[key] = crew.pop(key)
    data["agents"] = {k: v for k, v in _plain(recovered.agents).items() if v}
    data["tasks"] = {k: v for k, v in _plain(recovered.tasks).items() if v}
    data |= crew
    data = {k: v for k, v in data.items() if v not in ({}, None)}
    origin = layout.crew_py.relative_to(layout.root.parent) if layout.crew_py else layout.root.name
    header = (f"# Written by `python main.py import` from {origin}:\n"
              f"# what its crew class binds in Python, read without running it.\n")
    return header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _description(layout: Layout) -> str:
    return f"Imported from the CrewAI project {layout.root.name}"


def _plain(value: Any) -> Any:
    if isinstance(value, ToolAt):
        return value.ref
    if isinstance(value, (list, tuple, set, frozenset)):  # YAML has lists only
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _Dumper(yaml.SafeDumper):
    """Multi-line text (a long default input) as a readable block, not one escaped line."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


# --- the JSON layout ------------------------------------------------------------

def _json_files(layout: Layout) -> tuple[dict[str, bytes], None]:
    files: dict[str, bytes] = {}
    for name in _JSON_CREW:
        if (layout.root / name).is_file():
            files[name] = (layout.root / name).read_bytes()
    for part in _JSON_PARTS:
        folder = layout.root / part
        for file in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if file.is_file() and "__pycache__" not in file.parts:
                files[str(file.relative_to(layout.root))] = file.read_bytes()  # unchanged
    return files, None


# --- writing ------------------------------------------------------------------

def _stage(project: Project, crew: str, files: dict[str, bytes]) -> Path:
    """Every file written into a hidden folder next to where the crew goes (discovery skips it)."""
    project.crews_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".import-{crew}-", dir=project.crews_dir))
    try:
        for relative, content in files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _commit(staging: Path, target: Path) -> None:
    """Rename the staged crew into place; an existing crew is moved aside first and removed last."""
    old = staging.with_name(staging.name + "-old")
    if target.exists():
        target.rename(old)
    try:
        staging.rename(target)
    except OSError:
        if old.exists():
            old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _validate(project: Project, crew: str) -> list[Problem]:
    try:
        package = find(project, crew)
        return validate(project, package, load_config(project.config_dir).profiles).problems
    except ConfigError as exc:
        return exc.problems


def _file_order(name: str) -> tuple[int, str]:
    return (0 if name.startswith("config/") else 1 if "/" not in name else 2, name)
