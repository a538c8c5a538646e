"""Flow validation results kept between commands, as ``cache.py`` keeps crews'.

Validating a flow reads its YAML with line numbers, which imports pydantic: 0.14 s of a warm
``list`` that took 0.17 s. An entry holds the flow's outline and problems, keyed by the flow's
own files, the names of the project's crews (a flow naming a crew that appears later must be
checked again), ``config/llm.yaml`` and rolecall's code. The crews a valid flow runs are
checked on every hit through their own cache entries (which also watch the environment
variables their tools need); an entry whose crews now validate differently, or declare other
inputs, is not used.
Only valid flows are kept: an invalid one is validated again, with everything it reports.
A run validates its flow in full (``api.load_flow``), which also writes its inline crews.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .cache import (
    FORMAT,
    checked,
    code_version,
    file_stamp,
    problems_from_data,
    problems_to_data,
    read_entry,
    write_entry,
)
from .discover import CrewPackage, find
from .errors import ConfigError
from .flow_graph import FlowCheck, FlowOutline
from .flow_package import FlowPackage
from .project import Project


def checked_flow(project: Project, package: FlowPackage, crews: dict[str, CrewPackage]) -> FlowCheck:
    """The flow's outline and problems, from the cache when nothing it depends on changed.

    ``crews``: the project's crews (``discover``), found once by the caller for all its flows."""
    file = project.root / ".rolecall-cache" / "validation" / "flows" / f"{package.name}.json"
    key = _key(project, package, crews)
    found = _read(project, file, key, crews)
    if found is not None:
        return found
    from .flow_validate import validate_flow  # pydantic: only on a miss
    check = validate_flow(project, package)
    if check.outline is not None:
        _write(file, key, check, _crew_verdicts(project, check.outline, crews))
    return check


def _key(project: Project, package: FlowPackage, crews: dict[str, CrewPackage]) -> str:
    digest = hashlib.sha256(f"flow format {FORMAT}\n{code_version()}\n{sorted(crews)}\n".encode())
    files = sorted(p for p in package.folder.rglob("*") if p.is_file()) if package.file.name == "flow.yaml" \
        else [package.file]
    for path in files:
        digest.update(f"{path.relative_to(package.folder)}\n".encode() + file_stamp(path))
    llm_yaml = project.config_dir / "llm.yaml"
    digest.update(b"llm.yaml\n" + (file_stamp(llm_yaml) if llm_yaml.is_file() else b"-"))
    return digest.hexdigest()


def _crew_verdicts(project: Project, outline: FlowOutline, crews: dict[str, CrewPackage]) -> dict[str, str] | None:
    """Each crew the flow runs -> a digest of what validating it says now (its outline and problems);
    None if one cannot be found."""
    verdicts = {}
    for ref in sorted({m.crew_path or m.crew for m in outline.methods.values() if m.crew}):
        try:  # a crew of crews/ by name; an inline crew by the folder it was written to
            package = crews.get(str(ref)) or find(project, str(ref))
        except ConfigError:
            return None
        result = checked(project, package)
        # its outline too: the flow is checked against the crew's declared inputs, not only its validity
        outline_data = result.outline.to_data() if result.outline is not None else None
        data = json.dumps([outline_data, problems_to_data(result.problems)], default=str, sort_keys=True)
        verdicts[str(ref)] = hashlib.sha256(data.encode()).hexdigest()
    return verdicts


def _read(project: Project, file: Path, key: str, crews: dict[str, CrewPackage]) -> FlowCheck | None:
    entry = read_entry(file, key)
    if entry is None:
        return None
    try:
        outline = FlowOutline.from_json(entry["outline"])
        problems = problems_from_data(entry["problems"])
    except (KeyError, TypeError):  # an entry from another shape of these classes
        return None
    if _crew_verdicts(project, outline, crews) != entry.get("crews"):
        return None
    return FlowCheck(outline, problems)


def _write(file: Path, key: str, check: FlowCheck, crews: dict[str, str] | None) -> None:
    if crews is not None and check.outline is not None:
        write_entry(file, {"key": key, "crews": crews, "outline": check.outline.to_json(),
                           "problems": problems_to_data(check.problems)})
