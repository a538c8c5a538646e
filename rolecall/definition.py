"""A validated crew: the three YAML files merged into one definition.

Three words for three things: a ``CrewPackage`` is a folder ``discover`` found;
a ``CrewDefinition`` is what ``validate`` made of its files (this module); a crewai
``Crew`` exists only while ``run`` executes it. ``plan`` renders a definition and
``assemble`` turns it into crewai objects. Nothing here imports crewai.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .discover import CrewPackage
from .llm.profiles import ProfileSpec
from .problem import Problem
from .repeats import KEY as REPEAT_KEY
from .spec import AgentSpec, CrewSpec, InlineSchema, InputSpec, TaskSpec, ToolRef
from .toolbox import Toolbox


@dataclass(frozen=True)
class ToolUse:
    """A tool bound to an agent or task: its registry name and constructor arguments."""

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    repeat: Any = None  # "allow" | "refuse" from the binding's reserved ``repeat`` key (repeats.py)

    @classmethod
    def parse(cls, ref: ToolRef) -> ToolUse:
        if isinstance(ref, str):
            return cls(ref)
        ((name, kwargs),) = ref.items()
        kwargs = dict(kwargs or {})
        return cls(name, kwargs, kwargs.pop(REPEAT_KEY, None))


@dataclass
class AgentDef:
    key: str
    spec: AgentSpec
    tools: list[ToolUse]
    llm: str | None  # model profile; None means the run's default


@dataclass
class TaskDef:
    key: str
    spec: TaskSpec
    agent: str | None
    context: list[str]
    tools: list[ToolUse]
    output_file: str | None
    output_schema: str | InlineSchema | None
    output_kind: str = "pydantic"  # or "json", when tasks.yaml says output_json


@dataclass
class CrewDefinition:
    package: CrewPackage
    spec: CrewSpec
    agents: dict[str, AgentDef]
    tasks: dict[str, TaskDef]
    toolbox: Toolbox
    warnings: list[Problem] = field(default_factory=list)
    # profiles for the CrewAI model strings the crew names (``llm: openai/gpt-4o``), by that string
    models: dict[str, ProfileSpec] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.package.name

    @property
    def hierarchical(self) -> bool:
        return self.spec.process == "hierarchical"

    @property
    def manager_agent(self) -> str | None:
        return self.spec.manager.agent if self.spec.manager else None

    @property
    def manager_llm(self) -> str | None:
        """The profile of CrewAI's built-in manager (validation made every model a profile name)."""
        llm = self.spec.manager.llm if self.spec.manager else None
        return llm if isinstance(llm, str) else None

    @property
    def workers(self) -> list[str]:
        return [key for key in self.agents if key != self.manager_agent]

    @property
    def inputs(self) -> dict[str, InputSpec]:
        return self.spec.inputs

    def delegates_for(self, task: TaskDef) -> list[str]:
        """Agents a hierarchical manager may hand ``task`` to (crewai limits it to a bound agent)."""
        return [task.agent] if task.agent else self.workers
