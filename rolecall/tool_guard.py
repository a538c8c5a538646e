"""What stands between an agent and a tool: its paths checked, its output bounded.

Every tool rolecall binds runs through a guard. A path argument goes through the crew's
``Workspace`` (refusals come back as crewai's ``ToolFailure``, which the agent reads and
the run record keeps as the call's error, ``refused: ...``); a relative path is turned
into the real one, so a tool never resolves it against the process's working directory.
An answer longer than ``MAX_OUTPUT_CHARS`` is cut: measured here, a tool returning 10 MB
made crewai summarise its context 865 times in one task. A call repeating the previous one
runs or is refused by its repeat policy (``repeats.py``); crewai's tool cache is bypassed,
since a call it answers from memory is reported as run although the tool never ran.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from .repeats import Repeat, RepeatGate, refusal
from .workspace import PathRefused, Workspace, path_args

MAX_OUTPUT_CHARS = 16_000  # about 4,000 tokens: half the local model's context


def constructor_paths(tool_class: str, kwargs: dict[str, Any], workspace: Workspace) -> dict[str, Any]:
    """``kwargs`` with each path argument made real and checked (raises ``PathRefused``)."""
    out = dict(kwargs)
    for name, mode in path_args(tool_class, kwargs).items():
        if isinstance(out[name], str):
            out[name] = str(workspace.resolve(out[name], mode))
    return out


def guard(tool: Any, workspace: Workspace, repeat: Repeat = "refuse", gate: RepeatGate | None = None) -> Any:
    """The same tool object, its ``_run`` checked and bounded (crewai calls ``_run`` through ``run``
    and through the structured tool it makes from it)."""
    inner = tool.func if callable(getattr(tool, "func", None)) else tool._run
    names = _argument_names(tool) | set(getattr(type(tool), "model_fields", {}))
    # a tool whose path-named arguments name no file on this machine (a virtual drive, a
    # remote store) says so with ``virtual_paths = True``; they then reach it as written
    paths = {} if getattr(type(tool), "virtual_paths", False) is True else path_args(type(tool).__name__, names)
    gate = gate or RepeatGate()

    def run(*args: Any, **kwargs: Any) -> Any:
        if not gate.admit(tool.name, kwargs, repeat):
            return refusal(tool.name)
        try:
            kwargs = _checked(type(tool).__name__, kwargs, paths, workspace)
        except PathRefused as refused:
            from crewai.tools.tool_failure import ToolFailure
            return ToolFailure(message=f"refused: {refused}", code="path_refused", retryable=False)
        return _bounded(inner(*args, **kwargs))

    if callable(getattr(tool, "func", None)):
        # a @tool function: crewai's Tool.run (what native tool calls use) calls func itself,
        # not _run, so the guard sits on func, which every way of calling the tool goes through
        object.__setattr__(tool, "func", run)
    else:
        object.__setattr__(tool, "_run", run)  # an instance attribute wins over the class's method
    object.__setattr__(tool, "cache_function", _never_cache)
    return tool


def _never_cache(arguments: Any, result: Any) -> bool:
    return False


def _argument_names(tool: Any) -> set[str]:
    """What the model may pass: the tool's argument schema (a @tool function's ``_run`` takes **kwargs)."""
    schema = getattr(tool, "args_schema", None)
    fields = getattr(schema, "model_fields", None)
    if fields:
        return set(fields)
    return set(inspect.signature(getattr(tool, "func", tool._run)).parameters)


def _checked(tool_class: str, kwargs: dict[str, Any], paths: dict[str, str], workspace: Workspace) -> dict[str, Any]:
    out = dict(kwargs)
    if tool_class == "FileWriterTool":  # it joins directory and filename itself: check what it would write
        target = workspace.resolve(Path(str(out.get("directory") or ".")) / str(out.get("filename") or ""), "write")
        out["directory"], out["filename"] = str(target.parent), target.name
        return out
    for name, mode in paths.items():
        value = out.get(name)
        if isinstance(value, str) and value and not value.startswith(("http://", "https://")):
            out[name] = str(workspace.resolve(value, mode))
    return out


def _bounded(result: Any) -> Any:
    if isinstance(result, str) and len(result) > MAX_OUTPUT_CHARS:
        return (result[:MAX_OUTPUT_CHARS] + f"\n[output cut by rolecall: {len(result):,} characters, "
                f"the first {MAX_OUTPUT_CHARS:,} shown]")
    return result
