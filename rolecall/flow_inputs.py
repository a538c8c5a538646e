"""A flow run's inputs: ``--input k=v`` set the flow's declared state fields, coerced to their types."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import InputError
from .flow_graph import FlowOutline
from .inputs import bind
from .outline import InputOutline
from .problem import Problem, did_you_mean


def flow_values(flow: FlowOutline, given: Mapping[str, Any]) -> dict[str, Any]:
    """The state values a run starts with; ``InputError`` listing every problem."""
    if "*" in flow.state:  # a state model rolecall cannot read: crewai checks the values itself
        return dict(given)
    problems = [Problem(f"flow '{flow.name}' has no state field '{name}'", flow.file, hint=did_you_mean(
        name, flow.state) or f"its state fields: {', '.join(flow.state) or 'none'}") for name in given
        if name not in flow.state]
    # fields with neither a default nor `required` may stay unset, as in crewai
    declared = {name: InputOutline(name, f["type"], f.get("default"), f.get("description", ""))
                for name, f in flow.state.items()
                if name in given or f.get("default") is not None or f.get("required")}
    values, more = bind(declared, {k: v for k, v in given.items() if k in flow.state})
    if problems or more:
        raise InputError(problems + more)
    return values
