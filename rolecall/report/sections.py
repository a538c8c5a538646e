"""What the table and text sections show (usage, outputs, errors, events), as plain values for the templates."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..format import between
from ..usage import Usage
from .data import Row, RunData
from .graph import ordered

SHORT_DETAIL = 120  # characters: a longer event detail is shown as pretty JSON


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def parse_json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def as_text(value: Any) -> str:
    """An input value as typed: strings bare, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


# --- tokens and cost ---------------------------------------------------------------------------

@dataclass(frozen=True)
class UsageRow:
    key: str
    note: str
    usage: Usage
    css_class: str = ""

    @property
    def cost_value(self) -> str:
        """The exact cost for ``data-value``; empty when unknown."""
        return "" if self.usage.cost is None else f"{self.usage.cost:.10g}"


@dataclass(frozen=True)
class UsageTable:
    table_id: str
    title: str
    first: str  # the heading of the key column
    rows: list[UsageRow]  # one per group, then the total over every call


def usage_tables(data: RunData, agents: list[str]) -> list[UsageTable]:
    """Per agent (agents with calls, in lane order) and per task (every task), each with a total row."""
    calls = data.model_calls
    by_agent = _groups(calls, "agent", ordered(agents, [c["agent"] for c in calls]), data.role)
    by_task = _groups(calls, "task", ordered([t["key"] for t in data.tasks], [c["task"] for c in calls]),
                      lambda task: _task_agents(data, task))
    total = UsageRow("total", "", Usage.of(calls), "total")
    return [UsageTable("usage-by-agent", "Per agent", "agent", [g for g in by_agent if g.usage.requests] + [total]),
            UsageTable("usage-by-task", "Per task", "task", by_task + [total])]


def _groups(calls: list[Row], column: str, keys: list[str], note: Callable[[str], str]) -> list[UsageRow]:
    """A row per key of ``column``, then one for the calls that have none."""
    groups = [UsageRow(key, note(key), Usage.of(c for c in calls if c[column] == key)) for key in keys]
    missing = [c for c in calls if not c[column]]
    return groups + ([UsageRow(f"(no {column})", "", Usage.of(missing))] if missing else [])


def _task_agents(data: RunData, task: str) -> str:
    return ", ".join(ordered([], [c["agent"] for c in data.model_calls if c["task"] == task and c["agent"]]))


# --- task outputs, errors, events ------------------------------------------------------------------

@dataclass(frozen=True)
class TaskOutput:
    task: Row
    took: float | None
    structured: str | None  # pretty JSON of a structured output
    raw: str | None  # the output as text, unless it only repeats the structured one


def task_outputs(data: RunData) -> list[TaskOutput]:
    return [_output(t) for t in data.tasks]


def _output(task: Row) -> TaskOutput:
    took = between(task["started_at"], task["finished_at"])
    if task["structured"] is None:
        return TaskOutput(task, took, None, task["output"] or None)
    same = not task["output"] or parse_json(task["output"]) == task["structured"]
    return TaskOutput(task, took, pretty(task["structured"]), None if same else task["output"])


def errors(data: RunData) -> list[tuple[str, str]]:
    """(where, error text) for the run, each task and each model or tool call that failed."""
    items = [("run", data.run["error"])] if data.run["error"] else []
    items += [(f"task {t['key']}", t["error"]) for t in data.tasks if t["error"]]
    items += [(f"model call ({c['agent'] or '?'}, {c['task'] or '-'}, {c['model']})", c["error"])
              for c in data.model_calls if c["error"]]
    items += [(f"tool {c['tool']} ({c['agent'] or '?'}, {c['task'] or '-'})", c["error"])
              for c in data.tool_calls if c["error"]]
    return items


@dataclass(frozen=True)
class EventRow:
    event: Row
    detail: str
    long: bool  # shown as pretty JSON in a block rather than on one line


def event_rows(data: RunData) -> list[EventRow]:
    return [_event(e) for e in data.events]


def _event(event: Row) -> EventRow:
    value = parse_json(event["detail"])
    line = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(line) <= SHORT_DETAIL:
        return EventRow(event, line, False)
    return EventRow(event, pretty(value), True)
