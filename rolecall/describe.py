"""Human-readable views of a validated crew: ``show`` (as written) and ``plan`` (filled in).

Both read a ``CrewOutline`` (plain data, what the validation cache keeps), so an unchanged
crew is described without reading its YAML again.
"""
from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .outline import CrewOutline
from .template import fill

if TYPE_CHECKING:
    from .definition import CrewDefinition


def _block(text: str, indent: str = "      ") -> str:
    return textwrap.indent(text.strip(), indent)


def _outline(crew: CrewOutline | CrewDefinition) -> CrewOutline:
    return crew if isinstance(crew, CrewOutline) else CrewOutline.of(crew)


def show(crew: CrewOutline | CrewDefinition) -> str:
    c = _outline(crew)
    lines = [f"{c.name}  ({c.origin})"]
    if c.description:
        lines.append(f"  {c.description}")
    lines.append(f"process: {c.process}")
    if c.hierarchical and (c.manager_agent or c.manager_llm):
        who = f"agent {c.manager_agent}" if c.manager_agent else f"CrewAI's manager on llm {c.manager_llm}"
        lines.append(f"manager: {who}")
    lines.append("inputs:" if c.inputs else "inputs: none")
    for inp in c.inputs:
        default = f", default {inp.default!r}" if inp.default is not None else ", required"
        lines.append(f"  {inp.name} ({inp.type}{default}){': ' + inp.description if inp.description else ''}")
    lines.append("agents:")
    for agent in c.agents:
        tag = " [manager]" if agent.key == c.manager_agent else ""
        lines.append(f"  {agent.key}{tag}: {agent.role.strip()}")
        lines.append(f"    tools: {agent.tools}" + (f"; llm: {agent.llm}" if agent.llm else ""))
    lines.append("tasks (in order):")
    for i, task in enumerate(c.tasks, 1):
        bits = [f"agent: {task.agent or '(manager decides)'}"]
        if task.context:
            bits.append(f"context: {', '.join(task.context)}")
        if task.tools:
            bits.append(f"tools: {task.tools}")
        if task.output_file:
            bits.append(f"output_file: {task.output_file}")
        if task.output_schema:
            bits.append(f"output: {task.output_schema}")
        if task.async_execution:
            bits.append("async")
        lines.append(f"  {i}. {task.key}  ({'; '.join(bits)})")
    return "\n".join(lines)


def plan(crew: CrewOutline | CrewDefinition, values: Mapping[str, Any]) -> str:
    """What a run would do with these inputs; calls no model and imports no crewai."""
    c = _outline(crew)
    lines = [f"plan for {c.name} ({c.process})",
             "inputs: " + (", ".join(f"{k}={v!r}" for k, v in values.items()) or "none"), "", "agents:"]
    for agent in c.agents:
        tag = " [manager]" if agent.key == c.manager_agent else ""
        lines += [f"  {agent.key}{tag}",
                  f"    role: {fill(agent.role, values).strip()}",
                  f"    goal:\n{_block(fill(agent.goal, values))}",
                  f"    backstory:\n{_block(fill(agent.backstory, values))}",
                  f"    tools: {agent.tools}",
                  f"    llm: {agent.llm or '(run default)'}"]
    if c.hierarchical and c.manager_llm:
        lines.append(f"  (manager) CrewAI's built-in manager on llm {c.manager_llm}")
    lines += ["", "execution order:"]
    for i, task in enumerate(c.tasks, 1):
        who = f"manager delegates to: {', '.join(task.delegates)}" if c.hierarchical else f"agent: {task.agent}"
        lines.append(f"  {i}. {task.key}  ({who}{', async' if task.async_execution else ''})")
        lines.append(f"    description:\n{_block(fill(task.description, values))}")
        lines.append(f"    expected output:\n{_block(fill(task.expected_output, values))}")
        if task.context:
            lines.append(f"    reads: {', '.join(task.context)}")
        if task.tools:
            lines.append(f"    task tools: {task.tools}")
        if task.output_file:
            lines.append(f"    writes: {fill(task.output_file, values)}")
        if task.output_schema:
            lines.append(f"    output schema: {task.output_schema}")
    return "\n".join(lines)
