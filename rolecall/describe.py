"""Human-readable views of a validated crew: ``show`` (as written) and ``plan`` (filled in)."""
from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

from .definition import CrewDefinition, ToolUse
from .spec import InlineSchema
from .template import fill


def _tools(uses: list[ToolUse]) -> str:
    return ", ".join(u.name + (f"({', '.join(f'{k}={v}' for k, v in u.kwargs.items())})" if u.kwargs else "")
                     for u in uses) or "none"


def _schema(schema: str | InlineSchema | None) -> str:
    if schema is None:
        return ""
    return schema if isinstance(schema, str) else f"{schema.name} (inline: {', '.join(schema.fields)})"


def _block(text: str, indent: str = "      ") -> str:
    return textwrap.indent(text.strip(), indent)


def show(crew: CrewDefinition) -> str:
    spec = crew.spec
    lines = [f"{crew.name}  ({crew.package.shown_origin})"]
    if spec.description:
        lines.append(f"  {spec.description}")
    lines.append(f"process: {spec.process}")
    if crew.hierarchical and spec.manager:
        who = f"agent {spec.manager.agent}" if spec.manager.agent else f"CrewAI's manager on llm {spec.manager.llm}"
        lines.append(f"manager: {who}")
    lines.append("inputs:" if crew.inputs else "inputs: none")
    for name, inp in crew.inputs.items():
        default = f", default {inp.default!r}" if inp.default is not None else ", required"
        lines.append(f"  {name} ({inp.type}{default}){': ' + inp.description if inp.description else ''}")
    lines.append("agents:")
    for key, agent in crew.agents.items():
        tag = " [manager]" if key == crew.manager_agent else ""
        lines.append(f"  {key}{tag}: {agent.spec.role.strip()}")
        lines.append(f"    tools: {_tools(agent.tools)}" + (f"; llm: {agent.llm}" if agent.llm else ""))
    lines.append("tasks (in order):")
    for i, task in enumerate(crew.tasks.values(), 1):
        bits = [f"agent: {task.agent or '(manager decides)'}"]
        if task.context:
            bits.append(f"context: {', '.join(task.context)}")
        if task.tools:
            bits.append(f"tools: {_tools(task.tools)}")
        if task.output_file:
            bits.append(f"output_file: {task.output_file}")
        if task.output_schema:
            bits.append(f"output: {_schema(task.output_schema)}")
        if task.spec.async_execution:
            bits.append("async")
        lines.append(f"  {i}. {task.key}  ({'; '.join(bits)})")
    return "\n".join(lines)


def plan(crew: CrewDefinition, values: Mapping[str, Any]) -> str:
    """What a run would do with these inputs; calls no model and imports no crewai."""
    lines = [f"plan for {crew.name} ({crew.spec.process})",
             "inputs: " + (", ".join(f"{k}={v!r}" for k, v in values.items()) or "none"), "", "agents:"]
    for key, agent in crew.agents.items():
        tag = " [manager]" if key == crew.manager_agent else ""
        lines += [f"  {key}{tag}",
                  f"    role: {fill(agent.spec.role, values).strip()}",
                  f"    goal:\n{_block(fill(agent.spec.goal, values))}",
                  f"    backstory:\n{_block(fill(agent.spec.backstory, values))}",
                  f"    tools: {_tools(agent.tools)}",
                  f"    llm: {agent.llm or '(run default)'}"]
    if crew.hierarchical and crew.spec.manager and crew.spec.manager.llm:
        lines.append(f"  (manager) CrewAI's built-in manager on llm {crew.spec.manager.llm}")
    lines += ["", "execution order:"]
    for i, task in enumerate(crew.tasks.values(), 1):
        if crew.hierarchical:
            who = f"manager delegates to: {', '.join(crew.delegates_for(task))}"
        else:
            who = f"agent: {task.agent}"
        lines.append(f"  {i}. {task.key}  ({who}{', async' if task.spec.async_execution else ''})")
        lines.append(f"    description:\n{_block(fill(task.spec.description, values))}")
        lines.append(f"    expected output:\n{_block(fill(task.spec.expected_output, values))}")
        if task.context:
            lines.append(f"    reads: {', '.join(task.context)}")
        if task.tools:
            lines.append(f"    task tools: {_tools(task.tools)}")
        if task.output_file:
            lines.append(f"    writes: {fill(task.output_file, values)}")
        if task.output_schema:
            lines.append(f"    output schema: {_schema(task.output_schema)}")
    return "\n".join(lines)
