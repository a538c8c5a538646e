"""What each eval check kind asks of a finished run: ``RunResult`` -> ``CheckOutcome``.

A check reads only the run's result (and, for a schema or a tool's own name, the crew's
definition); a rubric asks a judge model, handed in as a function. A run that failed is
checked like any other: what it left behind passes or fails on its own terms.
"""
from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .definition import CrewDefinition
from .evals import (
    CheckBase,
    Contains,
    DelegatedTo,
    DoneBy,
    Matches,
    MaxCost,
    MaxTokens,
    Rubric,
    SchemaFields,
    ToolCalled,
)
from .judge import Verdict
from .result import RunResult
from .status import TaskStatus
from .usage import Usage

Judge = Callable[[Rubric, str], Verdict]
_SHOWN = 160  # characters of an output quoted in a failure's detail
_FENCE = re.compile(r"\A\s*```(?:json)?\s*(.*?)\s*```\s*\Z", re.S)


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    detail: str  # what was found, in words: why it passed or failed
    verdict: Verdict | None = None  # a rubric's judgement: reason, judge profile, tokens


def evaluate_check(check: CheckBase, result: RunResult, crew: CrewDefinition, judge: Judge) -> CheckOutcome:
    if isinstance(check, Rubric):
        return rubric(check, result, judge)
    return _CHECKS[type(check)](check, result, crew)


# --- the output ---------------------------------------------------------------------

def target(check: CheckBase, result: RunResult) -> tuple[str | None, str]:
    """The text a check reads and how to name it: the final output, or the named task's."""
    if check.task is None:
        return result.output, "the final output"
    return result.task(check.task).output, f"task '{check.task}' output"


def _missing(where: str, result: RunResult) -> CheckOutcome:
    why = f" (run {result.status}: {result.error})" if result.error else f" (run {result.status})"
    return CheckOutcome(False, f"there is no {where.removeprefix('the ')}{why}")


def contains(check: Contains, result: RunResult, crew: CrewDefinition) -> CheckOutcome:
    text, where = target(check, result)
    if text is None:
        return _missing(where, result)
    if check.contains.lower() in text.lower():  # case aside: "Refund" and "refund" are the same word here
        return CheckOutcome(True, f"{check.contains!r} is in {where}")
    return CheckOutcome(False, f"{check.contains!r} is not in {where}: {_clip(text)}")


def matches(check: Matches, result: RunResult, crew: CrewDefinition) -> CheckOutcome:
    text, where = target(check, result)
    if text is None:
        return _missing(where, result)
    found = re.search(check.matches, text)
    if found:
        return CheckOutcome(True, f"{where} matches at {found.group(0)[:60]!r}")
    return CheckOutcome(False, f"{where} does not match /{check.matches}/: {_clip(text)}")


def schema(check: SchemaFields, result: RunResult, crew: CrewDefinition) -> CheckOutcome:
    from .assemble import schema_class  # the run already imported crewai and the crew's schemas
    key = check.task or list(crew.tasks)[-1]
    record = result.task(key)
    declared = crew.tasks[key].output_schema
    assert declared is not None  # load_suite refuses a schema check on a task without one
    model = schema_class(crew, declared)
    data = record.structured if record.structured is not None else _json(record.output)
    if data is None:
        return CheckOutcome(False, f"task '{key}' output is not JSON: {_clip(record.output or '(none)')}")
    try:
        parsed = model.model_validate(data).model_dump()
    except ValueError as exc:
        first = str(exc).splitlines()[1:3]
        return CheckOutcome(False, f"task '{key}' output does not parse as {model.__name__}: {' '.join(first)}")
    found = [_field_problem(model.__name__, parsed, name, value) for name, value in check.fields.items()]
    wrong = [w for w in found if w is not None]
    if wrong:
        return CheckOutcome(False, f"task '{key}' output parses as {model.__name__}, but " + "; ".join(wrong))
    given = f" with {', '.join(check.fields)} as expected" if check.fields else ""
    return CheckOutcome(True, f"task '{key}' output parses as {model.__name__}{given}")



def _field_problem(schema_name: str, parsed: Any, name: str, expected: Any) -> str | None:
    """Why field ``name`` (a dotted path: ``partners.0.name``) is not ``expected``, or None when it is."""
    value = parsed
    for part in name.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return f"{schema_name} output has no field '{name}'"
    return None if value == expected else f"{name} is {value!r}, expected {expected!r}"


def _json(text: str | None) -> Any:
    if not text:
        return None
    fenced = _FENCE.match(text)
    try:
        return json.loads(fenced.group(1) if fenced else text)
    except ValueError:
        return None


# --- what happened ------------------------------------------------------------------

def tool(check: ToolCalled, result: RunResult, crew: CrewDefinition) -> CheckOutcome:
    names = called_names(crew, check.tool)
    calls = [c for c in result.tool_calls if c.tool in names and (check.task is None or c.task == check.task)]
    where = f" in task '{check.task}'" if check.task else ""
    if not calls:
        seen = sorted({c.tool for c in result.tool_calls}) or ["none"]
        return CheckOutcome(False, f"'{check.tool}' was not called{where}; tools called: {', '.join(seen)}")
    ran = [c for c in calls if not c.error]
    if not ran:
        return CheckOutcome(False, f"'{check.tool}' was called {len(calls)}x{where}, never without an error: "
                                   f"{calls[0].error}")
    agents = ", ".join(sorted({str(c.agent) for c in ran}))
    return CheckOutcome(True, f"'{check.tool}' ran {len(ran)}x{where} (by {agents})")


def called_names(crew: CrewDefinition, name: str) -> set[str]:
    """The names the run records for the tool a check names: crew.yaml's registry name becomes the
    tool's own ``name`` (KnowledgeSearchTool -> search_knowledge), or the one its binding gave it."""
    found = {name}
    for use in [u for a in crew.agents.values() for u in a.tools] + [u for t in crew.tasks.values() for u in t.tools]:
        given = use.kwargs.get("name")
        own = _own_name(crew, use.name)
        if name in (use.name, given, own):
            found |= {str(given)} if given else {own}
    return found


def _own_name(crew: CrewDefinition, registry_name: str) -> str:
    info = crew.toolbox.get(registry_name)
    if info is None:
        return registry_name
    if info.tool_name:
        return info.tool_name
    try:  # the run imported the tool already; reading its declared name costs nothing more
        target = getattr(importlib.import_module(info.module), info.name)
    except (ImportError, AttributeError):
        return registry_name
    if info.kind == "function":
        return str(getattr(target, "name", registry_name))
    declared = getattr(target, "model_fields", {}).get("name")
    return str(declared.default) if declared is not None and isinstance(declared.default, str) else registry_name


def delegated_to(check: DelegatedTo, result: RunResult, crew: CrewDefinition) -> CheckOutcome:
    handed = [d for d in result.delegations if d.kind == "delegate" and (check.task is None or d.task == check.task)]
    where = f"task '{check.task}'" if check.task else "a task"
    if any(d.coworker == check.delegated_to for d in handed):
        return CheckOutcome(True, f"{where} was delegated to {check.delegated_to}")
    seen = ", ".join(f"{d.task} -> {d.coworker}" for d in handed) or "no delegation"
    return CheckOutcome(False, f"{where} was not delegated to {check.delegated_to}; delegations: {seen}")


def done_by(check: DoneBy, result: RunResult, crew: CrewDefinition) -> CheckOutcome:
    key = check.task or list(crew.tasks)[-1]
    record = result.task(key)
    if record.status != TaskStatus.COMPLETED:
        return CheckOutcome(False, f"task '{key}' did not complete ({record.status})")
    if record.agent == check.done_by:
        return CheckOutcome(True, f"task '{key}' was done by {check.done_by}")
    return CheckOutcome(False, f"task '{key}' was done by {record.agent or 'an unknown agent'}, not {check.done_by}")


def _usage(check: CheckBase, result: RunResult) -> tuple[Usage, str]:
    if check.task is None:
        return result.usage, "the run"
    return Usage.of(c for c in result.model_calls if c.task == check.task), f"task '{check.task}'"


def max_tokens(check: MaxTokens, result: RunResult, crew: CrewDefinition) -> CheckOutcome:
    used, who = _usage(check, result)
    within = used.total_tokens <= check.max_tokens
    return CheckOutcome(within, f"{who} used {used.total_tokens:,} tokens "
                                f"({'within' if within else 'over'} the cap of {check.max_tokens:,})")


def max_cost(check: MaxCost, result: RunResult, crew: CrewDefinition) -> CheckOutcome:
    used, who = _usage(check, result)
    if used.cost is None:  # an unknown price is not zero: the cap cannot be shown to hold
        return CheckOutcome(False, f"{who}'s cost is unknown: {used.unpriced} call(s) have no price in "
                                   f"config/prices.yaml")
    within = used.cost <= check.max_cost
    return CheckOutcome(within, f"{who} cost ${used.cost:.4f} ({'within' if within else 'over'} the cap of "
                                f"${check.max_cost:.4f})")


def rubric(check: Rubric, result: RunResult, judge: Judge) -> CheckOutcome:
    text, where = target(check, result)
    if text is None:
        return _missing(where, result)
    verdict = judge(check, text)
    return CheckOutcome(verdict.passed, f"{verdict.profile} judged {where}: {verdict.reason}", verdict)


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat[:_SHOWN] + ("..." if len(flat) > _SHOWN else ""))


_CHECKS: dict[type, Callable[[Any, RunResult, CrewDefinition], CheckOutcome]] = {
    Contains: contains, Matches: matches, SchemaFields: schema, ToolCalled: tool, DelegatedTo: delegated_to,
    DoneBy: done_by, MaxTokens: max_tokens, MaxCost: max_cost,
}
