"""A validated flow as plain data: its methods, what triggers each, the routes, the crews.

``plan``, ``show-run`` and the report draw from a ``FlowOutline``; nothing here
imports crewai or runs anything.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .flow_spec import TEMPLATE, condition_names
from .problem import Problem


@dataclass(frozen=True)
class MethodOutline:
    name: str
    call: str  # crew | agent | expression | script | code | tool | each
    start: bool = False
    listen: Any = None  # crewai's condition: a name, or {or: [...]} / {and: [...]}
    router: bool = False
    labels: list[str] = field(default_factory=list)  # what a router may emit
    crew: str | None = None  # the rolecall crew a `call: crew` (or `call: agent`) step runs
    crew_path: str | None = None  # where an inline crew or agent step was written as a crew (flow_inline)
    inputs: dict[str, Any] = field(default_factory=dict)  # the crew's inputs, as written (templates)
    feedback: str | None = None  # human_feedback.message: an approval gate after the step
    description: str = ""

    @property
    def waits_on(self) -> list[str]:
        """Names (methods or labels) whose completion triggers this method."""
        return [name for name, _ in condition_names(self.listen)]

    @property
    def waits_for_all(self) -> bool:
        return isinstance(self.listen, dict) and "and" in self.listen


@dataclass(frozen=True)
class FlowOutline:
    name: str  # rolecall's name: the file's (or folder's) name
    title: str  # crewai's `name:`
    file: Path
    description: str
    state: dict[str, dict[str, Any]]  # declared field -> {type, default, description}
    methods: dict[str, MethodOutline]
    fingerprint: str = ""

    @property
    def crews(self) -> list[str]:
        return sorted({m.crew for m in self.methods.values() if m.crew})

    def emitters(self, label: str) -> list[str]:
        return [m.name for m in self.methods.values() if m.router and label in m.labels]

    def edges(self) -> list[tuple[str, str, str]]:
        """(from method, to method, label or '') for every trigger."""
        out: list[tuple[str, str, str]] = []
        for method in self.methods.values():
            for name in method.waits_on:
                if name in self.methods and not self.methods[name].router:
                    out.append((name, method.name, ""))
                for router in self.emitters(name):
                    out.append((router, method.name, name))
                if name in self.methods and self.methods[name].router and name not in self.emitters(name):
                    out.append((name, method.name, ""))  # listening to a router's completion itself
        return out

    def reachable(self) -> set[str]:
        """Methods a run can get to from the start methods (``and`` needs every branch)."""
        seen = {m.name for m in self.methods.values() if m.start}
        changed = True
        while changed:
            changed = False
            for method in self.methods.values():
                if method.name in seen or not method.waits_on:
                    continue
                fired = [self._fires(name, seen) for name in method.waits_on]
                if all(fired) if method.waits_for_all else any(fired):
                    seen.add(method.name)
                    changed = True
        return seen

    def _fires(self, name: str, seen: set[str]) -> bool:
        return name in seen or any(router in seen for router in self.emitters(name))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["file"] = str(self.file)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FlowOutline:
        methods = {k: MethodOutline(**v) for k, v in data["methods"].items()}
        return cls(data["name"], data["title"], Path(data["file"]), data["description"], dict(data["state"]),
                   methods, data.get("fingerprint", ""))


@dataclass(frozen=True)
class FlowCheck:
    """What validating a flow found: its outline, or None when it has errors, and every problem."""

    outline: FlowOutline | None
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return self.outline is not None


def order(flow: FlowOutline) -> list[str]:
    """Methods in the order a run meets them: breadth first from the starts, then the rest as written."""
    queue = [m.name for m in flow.methods.values() if m.start]
    seen: list[str] = []
    edges = flow.edges()
    while queue:
        name = queue.pop(0)
        if name in seen:
            continue
        seen.append(name)
        queue += [to for source, to, _ in edges if source == name and to not in seen]
    return seen + [name for name in flow.methods if name not in seen]


def trigger_text(method: MethodOutline) -> str:
    if method.start and not method.listen:
        return "start"
    joined = (" and " if method.waits_for_all else " or ").join(method.waits_on)
    return ("start, then after " if method.start else "after ") + joined


def describe_step(method: MethodOutline, values: Mapping[str, Any] | None = None) -> str:
    if method.crew_path:
        return "one agent" if method.call == "agent" else "inline crew"
    if method.crew:
        given = ", ".join(f"{k}={_shown(v, values)}" for k, v in method.inputs.items())
        return f"crew {method.crew}" + (f" ({given})" if given else "")
    return {"crew": "inline crew", "agent": "one agent", "expression": "CEL expression", "script": "Python script",
            "code": "Python function", "tool": "tool", "each": "for each item"}.get(method.call, method.call)


def _shown(value: Any, values: Mapping[str, Any] | None) -> str:
    """A crew input as the run would pass it: ``${state.x}`` filled in, other templates as written."""
    text = str(value)
    whole = TEMPLATE.fullmatch(text.strip())
    if whole and whole.group(1).strip().startswith("state.") and values is not None:
        name = whole.group(1).strip().removeprefix("state.")
        if name in values:  # a whole-string template keeps the value's type, as in crewai
            return _short(repr(values[name]))
    return _short(text)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def plan(flow: FlowOutline, values: Mapping[str, Any]) -> str:
    """What a run of the flow would do, with the state's values filled in; no model is called."""
    state = {**{k: v.get("default") for k, v in flow.state.items() if k != "*"}, **values}
    lines = [f"flow {flow.name} ({flow.title}): {flow.description}".rstrip(": "),
             "state: " + (", ".join(f"{k}={v!r}" for k, v in state.items()) or "(none)"), "", "methods:"]
    for name in order(flow):
        method = flow.methods[name]
        role = " router -> " + " | ".join(method.labels) if method.router else ""
        gate = "  [approval gate]" if method.feedback else ""
        lines.append(f"  {name}: {trigger_text(method)}; {describe_step(method, state)}{role}{gate}")
    parallel = parallel_groups(flow)
    if parallel:
        lines += ["", "in parallel: " + "; ".join(" + ".join(group) for group in parallel)]
    loops = [f"{a} -> {b} ({label})" if label else f"{a} -> {b}" for a, b, label in back_edges(flow)]
    if loops:
        lines.append("loops back: " + "; ".join(loops))
    if flow.crews:
        lines.append("crews: " + ", ".join(flow.crews))
    return "\n".join(lines)


def parallel_groups(flow: FlowOutline) -> list[list[str]]:
    """Methods that the same method (or label) triggers together: crewai runs them at once."""
    groups: dict[str, list[str]] = {}
    for method in flow.methods.values():
        if method.waits_for_all:
            continue
        for name in method.waits_on:
            groups.setdefault(name, []).append(method.name)
    return [names for names in groups.values() if len(names) > 1]


def back_edges(flow: FlowOutline) -> list[tuple[str, str, str]]:
    """Edges that go back to a method met earlier: the flow's loops."""
    place = {name: index for index, name in enumerate(order(flow))}
    return [(a, b, label) for a, b, label in flow.edges() if place[b] <= place[a]]


def taken_edges(flow: FlowOutline, steps: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """(from, to) edges a run actually went along, from its steps in order."""
    done: set[str] = set()
    taken: set[tuple[str, str]] = set()
    emitted: set[str] = set()
    for step in steps:
        method = flow.methods.get(step["method"])
        if method is None:
            continue
        for source, to, label in flow.edges():
            if to == method.name and source in done and (not label or label in emitted):
                taken.add((source, to))
        done.add(method.name)
        if method.router and step.get("label"):
            emitted.add(step["label"])
    return taken


def columns(flow: FlowOutline) -> dict[str, tuple[int, int]]:
    """(column, row) of each method for drawing: a column per step away from the starts, loops aside."""
    back = {(a, b) for a, b, _ in back_edges(flow)}
    forward = [(a, b) for a, b, _ in flow.edges() if (a, b) not in back]
    depth = {name: 0 for name in flow.methods}
    for _ in flow.methods:  # longest path over forward edges; the graph is small
        for a, b in forward:
            depth[b] = max(depth[b], depth[a] + 1)
    place: dict[str, tuple[int, int]] = {}
    rows: dict[int, int] = {}
    for name in order(flow):
        column = depth[name]
        place[name] = (column, rows.get(column, 0))
        rows[column] = rows.get(column, 0) + 1
    return place
