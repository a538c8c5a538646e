"""Inline crews (``call: crew`` with ``with:``) and single agents (``call: agent``) of a flow, as
rolecall crews, so that every model call of a flow is inside a recorded, validated rolecall run.

An inline crew is crewai's ``CrewDefinition``: the same document as a JSON crew's ``crew.jsonc``
with its agents written inline, which rolecall reads already (``json_crew.py``). It is written
to ``.rolecall-cache/flows/<flow>/<flow>.<method>/crew.jsonc`` and validated and run from there; its
problems are reported at the flow file's line. A ``call: agent`` step becomes a crew of that one
agent with one task whose description is the step's ``input``.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from .discover import CrewPackage
from .flow_package import FlowPackage
from .load import YamlDoc, dotted
from .problem import Problem
from .project import Project

AGENT_INPUT = "input"  # the placeholder an agent step's rendered `input:` fills
AGENT_KEYS_DROPPED = ("input", "response_format", "type")  # crewai's agent-action keys, not agent settings


def inline_folder(project: Project, flow: FlowPackage, method: str) -> Path:
    # the folder's name is the crew's name in the run store: the flow's and the method's
    return project.root / ".rolecall-cache" / "flows" / flow.name / f"{flow.name}.{method}"


def crew_document(crew: dict[str, Any], method: str) -> dict[str, Any]:
    return {"name": method, **crew}


def agent_document(agent: dict[str, Any], method: str) -> dict[str, Any]:
    """A one-agent crew doing what ``call: agent`` asks: answer the step's input."""
    body = {k: v for k, v in agent.items() if k not in AGENT_KEYS_DROPPED}
    return {"name": method, "agents": {f"{method}_agent": body},
            "tasks": [{"name": f"{method}_task", "description": "{" + AGENT_INPUT + "}",
                       "expected_output": "A direct answer to the request above.", "agent": f"{method}_agent"}],
            "inputs": {AGENT_INPUT: ""}}


def materialize(project: Project, flow: FlowPackage, method: str, document: dict[str, Any]) -> CrewPackage:
    """The document as a JSON crew folder (rewritten only when it changed: the validation cache keys on it)."""
    folder = inline_folder(project, flow, method)
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
    file = folder / "crew.jsonc"
    if not file.is_file() or file.read_text(encoding="utf-8") != text:
        folder.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
    return CrewPackage(folder.name, folder, str(folder))


def relocated(problems: list[Problem], package: CrewPackage, doc: YamlDoc,
              at: tuple[str | int, ...]) -> list[Problem]:
    """Problems found in the generated crew, moved to the flow file where the crew is written."""
    out = []
    for problem in problems:
        if problem.file is not None and problem.file.is_relative_to(package.path):
            inner = _key_path(problem.path)
            where = dotted((*at, *inner)) if (*at, *inner) in doc.lines else \
                dotted(at) + (f" ({problem.path})" if problem.path else "")
            problem = replace(problem, file=doc.file, line=doc.line((*at, *inner)), column=None, path=where)
        out.append(problem)
    return out


def _key_path(text: str) -> tuple[str | int, ...]:
    """``agents.writer.gaol`` or ``tasks[0].agent`` as a key path."""
    parts: list[str | int] = []
    for piece in re.findall(r"[^.\[\]]+|\[\d+\]", text):
        parts.append(int(piece[1:-1]) if piece.startswith("[") else piece)
    return tuple(parts)
