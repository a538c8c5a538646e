"""A validated crew as plain data: what ``list``, ``show`` and ``plan`` print, nothing more.

Built from a ``CrewDefinition`` once, and stored as JSON by the validation cache, so an
unchanged crew is shown without reading YAML or importing pydantic.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .definition import CrewDefinition, ToolUse


@dataclass(frozen=True)
class InputOutline:
    name: str
    type: str = "string"
    default: Any = None
    description: str = ""


@dataclass(frozen=True)
class AgentOutline:
    key: str
    role: str
    goal: str
    backstory: str
    tools: str  # as shown: "KnowledgeSearchTool(directory=knowledge), peek" or "none"
    llm: str | None = None


@dataclass(frozen=True)
class TaskOutline:
    key: str
    description: str
    expected_output: str
    agent: str | None = None
    context: list[str] = field(default_factory=list)
    tools: str = ""
    output_file: str | None = None
    output_schema: str = ""  # as shown: "Report" or "Report (inline: title, points)"
    async_execution: bool = False
    delegates: list[str] = field(default_factory=list)  # whom a hierarchical manager may hand it to


@dataclass(frozen=True)
class CrewOutline:
    name: str
    origin: str
    description: str
    process: str
    manager_agent: str | None
    manager_llm: str | None
    inputs: list[InputOutline]
    agents: list[AgentOutline]
    tasks: list[TaskOutline]

    @property
    def hierarchical(self) -> bool:
        return self.process == "hierarchical"

    @classmethod
    def of(cls, crew: CrewDefinition) -> CrewOutline:
        spec = crew.spec
        inputs = [InputOutline(name, i.type, i.default, i.description) for name, i in crew.inputs.items()]
        agents = [AgentOutline(key, a.spec.role, a.spec.goal, a.spec.backstory, tools_shown(a.tools), a.llm)
                  for key, a in crew.agents.items()]
        tasks = [TaskOutline(key, t.spec.description, t.spec.expected_output, t.agent, list(t.context),
                             tools_shown(t.tools) if t.tools else "", t.output_file, _schema_shown(t.output_schema),
                             bool(t.spec.async_execution), crew.delegates_for(t)) for key, t in crew.tasks.items()]
        return cls(crew.name, crew.package.shown_origin, spec.description, spec.process,
                   crew.manager_agent, crew.manager_llm if crew.hierarchical else None, inputs, agents, tasks)

    def to_data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> CrewOutline:
        return cls(**{**data, "inputs": [InputOutline(**i) for i in data["inputs"]],
                      "agents": [AgentOutline(**a) for a in data["agents"]],
                      "tasks": [TaskOutline(**t) for t in data["tasks"]]})


def tools_shown(uses: list[ToolUse]) -> str:
    return ", ".join(u.name + (f"({', '.join(f'{k}={v}' for k, v in u.kwargs.items())})" if u.kwargs else "")
                     for u in uses) or "none"


def _schema_shown(schema: Any) -> str:
    if schema is None:
        return ""
    return schema if isinstance(schema, str) else f"{schema.name} (inline: {', '.join(schema.fields)})"
