"""The crews and flows a server offers and their typed inputs, read once at start-up.

The outline (``rolecall.outline``) is what ``main.py list`` shows; building it never imports
crewai, so the web process stays light. A crew or flow with errors is not served: it is listed
in ``broken`` with its problems, and a kickoff of it is refused before anything is recorded.
A flow is served at ``/crews/{name}/...`` as CrewAI's hosted API serves a flow: its inputs are
its declared state fields.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..cache import checked
from ..discover import CrewPackage, discover
from ..errors import ConfigError, InputError
from ..flow_cache import checked_flow
from ..flow_graph import FlowOutline
from ..flow_inputs import flow_values
from ..flow_package import discover_flows
from ..inputs import bind
from ..outline import CrewOutline, InputOutline
from ..problem import Problem, did_you_mean
from ..project import Project

MAX_INPUT_CHARS = 20_000  # one input value; a prompt longer than this is not a crew input but a document


@dataclass(frozen=True)
class ServedFlow:
    """A flow as the server offers it: its state fields as inputs, like a crew's."""

    outline: FlowOutline
    process: str = "flow"

    @property
    def name(self) -> str:
        return self.outline.name

    @property
    def description(self) -> str:
        return self.outline.description

    @property
    def inputs(self) -> list[InputOutline]:
        return [InputOutline(name, f["type"], f.get("default"), f.get("description", ""))
                for name, f in self.outline.state.items() if name != "*"]


@dataclass(frozen=True)
class Catalog:
    crews: dict[str, CrewOutline]
    broken: dict[str, list[Problem]] = field(default_factory=dict)
    only: str | None = None  # the one crew named on the command line, served at the root paths too
    flows: dict[str, ServedFlow] = field(default_factory=dict)

    @classmethod
    def load(cls, project: Project, only: str | None = None) -> Catalog:
        packages, _ = discover(project)
        if only is not None and only not in packages:
            hint = did_you_mean(only, packages) or f"known crews: {', '.join(packages) or 'none'}"
            raise ConfigError(Problem(f"no crew named '{only}'", project.crews_dir, hint=hint))
        crews: dict[str, CrewOutline] = {}
        broken: dict[str, list[Problem]] = {}
        for name, package in packages.items():
            if only is not None and name != only:
                continue
            result = checked(project, package)
            if result.outline is None:
                broken[name] = result.problems
            else:
                crews[name] = result.outline
        if only is not None and only in broken:
            raise ConfigError(broken[only])
        return cls(crews, broken, only, {} if only else _flows(project, packages, broken))

    def is_flow(self, name: str) -> bool:
        return name in self.flows and name not in self.crews  # a crew's name wins, as on the command line

    def crew(self, name: str) -> CrewOutline | ServedFlow:
        """The crew (or flow) called ``name``; ``ConfigError`` (unknown, or invalid) names what to do instead."""
        if name in self.crews:
            return self.crews[name]
        if name in self.flows:
            return self.flows[name]
        if name in self.broken:
            raise CrewInvalid([Problem(f"crew '{name}' does not validate; it is not served",
                                       hint=f"run `python main.py validate {name}`"), *self.broken[name]])
        raise CrewUnknown(Problem(f"no crew named '{name}'",
                                  hint=did_you_mean(name, self.crews) or f"served crews: {', '.join(self.crews)}"))

    def bind(self, name: str, given: Any) -> dict[str, Any]:
        """The inputs of a kickoff of ``name``, coerced to their declared types; ``InputError`` lists every problem."""
        crew = self.crew(name)
        if not isinstance(given, dict):
            raise InputError(Problem("'inputs' must be an object of input names to values",
                                     hint='for example {"inputs": {"topic": "tides"}}'))
        too_long = [k for k, v in given.items() if isinstance(v, str) and len(v) > MAX_INPUT_CHARS]
        if too_long:
            raise InputError([Problem(f"input '{k}' is longer than {MAX_INPUT_CHARS} characters") for k in too_long])
        if isinstance(crew, ServedFlow):
            return flow_values(crew.outline, given)
        values, problems = bind({i.name: i for i in crew.inputs}, given)
        if problems:
            raise InputError(problems)
        return values

    def missing(self, name: str, given: dict[str, Any]) -> list[str]:
        """Required inputs (no default) the kickoff did not give; a flow's state fields are required
        only where its json_schema says so, as crewai has them."""
        crew = self.crew(name)
        if isinstance(crew, ServedFlow):
            return [n for n, f in crew.outline.state.items()
                    if f.get("required") and f.get("default") is None and n not in given]
        return [i.name for i in crew.inputs if i.default is None and i.name not in given]


def _flows(project: Project, crews: dict[str, CrewPackage], broken: dict[str, list[Problem]]) -> dict[str, ServedFlow]:
    flows, _ = discover_flows(project)
    served: dict[str, ServedFlow] = {}
    for name, package in flows.items():
        check = checked_flow(project, package, crews)
        if check.outline is None:
            broken[name] = check.problems
        else:
            served[name] = ServedFlow(check.outline)
    return served


class CrewUnknown(ConfigError):
    """No crew of that name is served."""


class CrewInvalid(ConfigError):
    """The crew exists but does not validate."""


def describe(crew: CrewOutline | ServedFlow) -> dict[str, Any]:
    """A crew (or flow) as ``GET /crews`` lists it."""
    found = {"name": crew.name, "process": crew.process, "description": crew.description,
             "inputs": [input_schema(i) for i in crew.inputs]}
    if isinstance(crew, ServedFlow):
        return {**found, "methods": list(crew.outline.methods), "crews": crew.outline.crews}
    return {**found, "tasks": [t.key for t in crew.tasks], "agents": [a.key for a in crew.agents]}


def input_schema(spec: Any) -> dict[str, Any]:
    return {"name": spec.name, "type": spec.type, "default": spec.default, "description": spec.description,
            "required": spec.default is None}
