"""Stage 4: build real crewai Agent, Task and Crew objects from a validated crew.

This is the first module that imports crewai. Text is filled with the run's
inputs here (``{{``/``}}`` become braces) and crewai gets no inputs at kickoff,
so it never re-interpolates (crewAI#7523).
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crewai import Agent, Process, Task
from pydantic import BaseModel, create_model

from . import retrieval, toolbox
from .definition import AgentDef, CrewDefinition, TaskDef, ToolUse
from .executor import share_state_class
from .llm.factory import LlmPool
from .project import Project
from .repeats import RepeatGate, policy_of
from .spec import InlineSchema, PlanningSpec
from .template import fill
from .tool_guard import constructor_paths, guard
from .workspace import Workspace

share_state_class()

# agents.yaml keys passed to crewai.Agent unchanged when set
AGENT_PASSTHROUGH = ("allow_delegation", "verbose", "cache", "max_iter", "max_rpm", "max_execution_time",
                     "max_retry_limit", "respect_context_window", "reasoning", "max_reasoning_attempts",
                     "inject_date", "date_format", "multimodal", "use_system_prompt", "system_template",
                     "prompt_template", "response_template", "allow_code_execution", "code_execution_mode",
                     "max_tokens", "guardrail", "guardrail_max_retries", "planning", "tool_failure_policy",
                     "use_better_compaction", "mcps", "apps")
TASK_PASSTHROUGH = ("async_execution", "human_input", "create_directory", "markdown", "guardrail",
                    "guardrails", "guardrail_max_retries", "max_retries", "tool_failure_policy",
                    "allow_crewai_trigger_context")
CREW_PASSTHROUGH = ("planning", "max_rpm", "cache", "tool_failure_policy", "stream")


@dataclass
class Assembly:
    crew_kwargs: dict[str, Any]  # everything crewai.Crew needs but the task list, which run.py chooses
    agents: dict[str, Agent]  # by agents.yaml key, manager included
    tasks: dict[str, Task]  # by tasks.yaml key, in order
    manager: Agent | None


def assemble(project: Project, crew: CrewDefinition, values: Mapping[str, Any], llms: LlmPool,
             default_profile: str, *, run_dir: Path | None = None) -> Assembly:
    """crewai objects for one run. ``output_file`` is written by the recorder into the run folder,
    not by crewai, which resolves it against the working directory. Every tool is confined to the
    crew's workspace (its folder, the run folder ``run_dir``, and what crew.yaml lists)."""
    toolbox.mount(project, crew.package)
    make_tool = _ToolMaker(crew, workspace_of(crew, run_dir))
    agents = {key: _agent(a, values, llms, default_profile, make_tool, crew) for key, a in crew.agents.items()}
    for llm in llms.all().values():
        if hasattr(llm, "agent_keys"):  # the scripted model replays scripts by agent key
            llm.agent_keys.update({agent.role.strip(): key for key, agent in agents.items()})
        if hasattr(llm, "tools_optional"):  # the local model's grammar: who may answer before a tool call
            llm.tools_optional.update(agent.role.strip() for key, agent in agents.items()
                                      if crew.agents[key].spec.tools_first is False)
    tasks: dict[str, Task] = {}
    for key, task in crew.tasks.items():
        tasks[key] = _task(crew, task, values, agents, tasks, make_tool)
    manager = agents.get(crew.manager_agent) if crew.manager_agent else None
    kwargs: dict[str, Any] = {
        "agents": [agents[k] for k in crew.workers],
        "process": Process.hierarchical if crew.hierarchical else Process.sequential,
        "verbose": crew.spec.verbose,
        **_crew_settings(crew, llms, run_dir),
    }
    if crew.hierarchical and manager is not None:
        kwargs["manager_agent"] = manager
    elif crew.hierarchical and crew.manager_llm:
        kwargs["manager_llm"] = llms.get(crew.manager_llm)
    kwargs.update(retrieval.equip(project, crew, agents, llms.context.env))  # memory:, knowledge_sources:
    return Assembly(kwargs, agents, tasks, manager)


def _crew_settings(crew: CrewDefinition, llms: LlmPool, run_dir: Path | None) -> dict[str, Any]:
    spec = crew.spec
    kwargs: dict[str, Any] = {k: getattr(spec, k) for k in CREW_PASSTHROUGH if getattr(spec, k) is not None}
    if offline(llms):
        kwargs.pop("max_rpm", None)
    if isinstance(spec.planning_llm, str):
        kwargs["planning_llm"] = llms.get(spec.planning_llm)
    if spec.prompt_file:
        kwargs["prompt_file"] = str(crew.package.path / spec.prompt_file)
    if spec.skills:
        kwargs["skills"] = [crew.package.path / folder for folder in spec.skills]
    if spec.output_log_file and run_dir is not None:  # crewai would write it in the working directory
        name = spec.output_log_file if isinstance(spec.output_log_file, str) else "logs.txt"
        kwargs["output_log_file"] = str(run_dir / name)
    return kwargs

def _agent(agent: AgentDef, values: Mapping[str, Any], llms: LlmPool, default: str, make_tool: _ToolMaker,
           crew: CrewDefinition) -> Agent:
    spec = agent.spec
    kwargs: dict[str, Any] = {
        "role": fill(spec.role, values).strip(),
        "goal": fill(spec.goal, values).strip(),
        "backstory": fill(spec.backstory, values).strip(),
        "tools": [make_tool(use) for use in agent.tools],
        "llm": llms.get(agent.llm or default),
    }
    # crewai's Crew takes only its own LLM class here; it hands the crew's one to agents without one anyway
    function_calling = spec.function_calling_llm or crew.spec.function_calling_llm
    if isinstance(function_calling, str):
        kwargs["function_calling_llm"] = llms.get(function_calling)
    if spec.planning_config is not None:
        kwargs["planning_config"] = _planning(spec.planning_config, llms)
    if spec.skills:
        kwargs["skills"] = [crew.package.path / folder for folder in spec.skills]
    kwargs.update({k: getattr(spec, k) for k in AGENT_PASSTHROUGH if getattr(spec, k) is not None})
    if offline(llms):
        kwargs.pop("max_rpm", None)
        if spec.reasoning and spec.max_reasoning_attempts is None and spec.planning_config is None:
            # crewai refines the plan until the model says it is ready, with no bound: the offline models
            # never say so. Bounded as crewai bounds a bare `planning: true` (one attempt).
            kwargs["max_reasoning_attempts"] = 1
    return Agent(**kwargs)


def offline(llms: LlmPool) -> bool:
    """Every agent runs on the scripted or the in-process model (``--llm scripted``/``local``): a provider's
    rate limit (``max_rpm``) means nothing there, and crewai would sleep out each minute it allows; and
    neither model ever declares a reasoning plan ready."""
    chosen = llms.profiles.get(llms.override) if llms.override else None
    return chosen is not None and chosen.provider in ("scripted", "local")


def _planning(spec: PlanningSpec, llms: LlmPool) -> Any:
    from crewai.agent.planning_config import PlanningConfig
    settings = spec.model_dump(exclude_none=True, exclude={"llm"})
    if isinstance(spec.llm, str):
        settings["llm"] = llms.get(spec.llm)
    return PlanningConfig(**settings)


def _task(crew: CrewDefinition, task: TaskDef, values: Mapping[str, Any], agents: dict[str, Agent],
          earlier: dict[str, Task], make_tool: _ToolMaker) -> Task:
    spec = task.spec
    kwargs: dict[str, Any] = {
        "name": task.key,
        "description": fill(spec.description, values).strip(),
        "expected_output": fill(spec.expected_output, values).strip(),
    }
    if task.agent:
        kwargs["agent"] = agents[task.agent]
    if task.context:
        kwargs["context"] = [earlier[name] for name in task.context]
    if task.tools:
        kwargs["tools"] = [make_tool(use) for use in task.tools]
    if task.output_schema is not None:
        kind = "output_json" if task.output_kind == "json" else "output_pydantic"
        kwargs[kind] = schema_class(crew, task.output_schema)
    if spec.input_files:
        kwargs["input_files"] = {name: str(crew.package.path / file) for name, file in spec.input_files.items()}
    kwargs.update({k: getattr(spec, k) for k in TASK_PASSTHROUGH if getattr(spec, k) is not None})
    return Task(**kwargs)


def workspace_of(crew: CrewDefinition, run_dir: Path | None) -> Workspace:
    spec = crew.spec.workspace
    return Workspace(crew.package.path, run_dir, tuple(spec.read), tuple(spec.write))


class _ToolMaker:
    """Fresh, guarded tool objects for one run's agents and tasks."""

    def __init__(self, crew: CrewDefinition, workspace: Workspace):
        self.crew, self.workspace = crew, workspace
        self.gate = RepeatGate()  # one per run: "the previous call" is the task's, whichever tool made it

    def __call__(self, use: ToolUse) -> Any:
        info = self.crew.toolbox.get(use.name)
        assert info is not None, f"validated tool {use.name} vanished"
        kwargs = use.kwargs
        if info.origin == "crewai_tools":  # they resolve relative paths against the working directory
            kwargs = constructor_paths(info.name, kwargs, self.workspace)
        base_dir = os.path.commonpath([str(p) for p in self.workspace.readable])
        tool = toolbox.build(info, kwargs, crew_dir=self.crew.package.path, base_dir=base_dir)
        return guard(tool, self.workspace, policy_of(tool, use.repeat), self.gate)


def schema_class(crew: CrewDefinition, schema: str | InlineSchema) -> type[BaseModel]:
    if isinstance(schema, str):
        module = importlib.import_module(f"{toolbox.crew_package(crew.package)}.schemas")
        return getattr(module, schema)
    return _inline_model(schema.name, schema.fields)


_SCALARS: dict[str, Any] = {"str": str, "int": int, "float": float, "bool": bool}


def _inline_model(name: str, fields: Mapping[str, Any]) -> type[BaseModel]:
    definitions: dict[str, Any] = {}
    for field, kind in fields.items():
        definitions[field] = (_inline_type(f"{name}_{field}", kind), ...)
    return create_model(name, **definitions)


def _inline_type(name: str, kind: Any) -> Any:
    if isinstance(kind, dict):
        return _inline_model(name.title().replace("_", ""), kind)
    if isinstance(kind, list):
        return list[_inline_type(name, kind[0])]  # type: ignore[misc]
    text = kind.strip()
    optional = text.endswith("?") or text.endswith("| None")
    text = text.removesuffix("| None").removesuffix("?").strip()
    inner = list[_SCALARS[text[5:-1].strip()]] if text.startswith("list[") else _SCALARS[text]  # type: ignore[misc]
    return inner | None if optional else inner
