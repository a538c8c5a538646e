"""The bridge between AgentDojo's suites and the crewai tools of the crews ``agentdojo_bench`` writes.

Each suite's functions become crewai tools (generated ``tools.py``, one class per function,
so rolecall's registry reads them like any crew's tools). A tool runs its function through
AgentDojo's own ``FunctionsRuntime`` on the environment of the task being run, and every
call that reaches a function is appended to ``TRACE``: what the tools really received.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel

VERSION = "v1.2.2"


@dataclass
class Current:
    suite: Any = None
    env: Any = None
    trace: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    prompt: str = ""
    outputs: list[str] = field(default_factory=list)  # what each call returned
    grounded: list[bool] = field(default_factory=list)  # per call that ran: its values were all seen before


CURRENT = Current()


@cache
def suites() -> dict[str, Any]:
    from agentdojo.task_suite.load_suites import get_suites
    return dict(get_suites(VERSION))


def function(suite: str, name: str) -> Any:
    return next(f for f in suites()[suite].tools if f.name == name)


def schema(suite: str, name: str) -> type[BaseModel]:
    return function(suite, name).parameters  # type: ignore[no-any-return]


def description(suite: str, name: str) -> str:
    return str(function(suite, name).description).strip()


def call(name: str, arguments: dict[str, Any]) -> str:
    """Run one suite function on the current environment; an error is raised, so crewai records it."""
    from agentdojo.agent_pipeline.tool_execution import tool_result_to_str
    from agentdojo.functions_runtime import FunctionsRuntime
    CURRENT.trace.append((name, dict(arguments)))
    result, error = FunctionsRuntime(CURRENT.suite.tools).run_function(CURRENT.env, name, arguments)
    if error:
        raise RuntimeError(error)
    CURRENT.grounded.append(grounded(arguments, [CURRENT.prompt, *CURRENT.outputs]))
    text = tool_result_to_str(result)
    CURRENT.outputs.append(text)
    return text


def grounded(arguments: dict[str, Any], texts: list[str]) -> bool:
    """Every string or number argument appears in the request or an earlier tool answer (not invented)."""
    seen = "\n".join(texts)
    return all(_appears(v, seen) for v in arguments.values() if v not in (None, "", True, False))


def _appears(value: Any, seen: str) -> bool:
    if isinstance(value, int | float):
        return any(form in seen for form in {str(value), f"{value:.2f}", f"{value:g}"})
    return str(value) in seen


def tools_py(suite: str) -> str:
    """The source of a crew's ``tools.py`` holding every function of ``suite`` as a crewai tool."""
    lines = ["from typing import ClassVar", "",
             "from crewai.tools import BaseTool", "from pydantic import BaseModel", "",
             "import agentdojo_runtime as bridge", "", "",
             "class AgentDojoTool(BaseTool):",
             '    """One AgentDojo function; the subclass names it."""', "",
             '    name: str = "agentdojo"',
             '    description: str = "An AgentDojo function"',
             "    virtual_paths: ClassVar[bool] = True  # file names in the suite's own environment", "",
             "    def _run(self, **arguments: object) -> str:",
             "        return bridge.call(self.name, dict(arguments))", ""]
    for f in suites()[suite].tools:
        lines += ["", f"class {f.name}(AgentDojoTool):",
                  f"    name: str = {f.name!r}",
                  f"    description: str = bridge.description({suite!r}, {f.name!r})",
                  f"    args_schema: type[BaseModel] = bridge.schema({suite!r}, {f.name!r})", ""]
    return "\n".join(lines)
