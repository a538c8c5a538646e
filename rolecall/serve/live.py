"""What changed in a run since the last look, read from the run store.

The workers write every task, model call, tool call, delegation and approval as it
happens; the web process only reads. A ``RunWatch`` remembers what it has reported and
returns the rest as ``Change``s: the server-sent event stream and the webhooks are both
built on it, so they agree with the store (and with each other) by construction.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..status import RunStatus
from ..store import Row, RunStore

_QUIET_EVENTS = ("webhook_delivered", "webhook_failed")  # the watcher's own records, not the run's


@dataclass(frozen=True)
class Change:
    kind: str  # run | task | flow_step | model_call | tool_call | delegation | approval | usage | event
    data: dict[str, Any]


@dataclass
class RunWatch:
    store: RunStore
    run_id: str
    status: str | None = None
    # key -> (status, agent, end): a task redone between two looks (rejected, run again, waiting again)
    # ends at another time, so it is news even when its status reads the same
    tasks: dict[Any, tuple[Any, ...]] = field(default_factory=dict)
    approvals: dict[Any, tuple[Any, ...]] = field(default_factory=dict)  # (task, mode) -> (status,)
    steps: dict[Any, tuple[Any, ...]] = field(default_factory=dict)  # a flow step's seq -> status, child, label
    last: dict[str, int] = field(default_factory=dict)  # table -> last id reported
    tokens: int = 0
    calls: int = 0
    family: bool = False
    cost: float = 0.0

    @property
    def finished(self) -> bool:
        return self.status is not None and RunStatus(self.status).finished

    def changes(self) -> list[Change]:
        run = self.store.run(self.run_id)
        if run is None:
            return []
        self.family = run["kind"] == "flow"  # a flow's usage is that of the crew runs it started
        found = [*self._tasks(), *self._steps(), *self._calls(), *self._approvals()]
        if run["status"] != self.status:  # last: a finished run's tasks are reported before its end
            self.status = run["status"]
            found.append(Change("run", {"run_id": run["id"], "crew": run["crew"], "status": run["status"],
                                        "error": run["error"], "output": run["output"]}))
        return found

    def _tasks(self) -> list[Change]:
        rows = _fresh(self.tasks, self.store.tasks(self.run_id), lambda r: r["key"], ("status", "agent", "finished_at"))
        return [Change("task", {"task": row["key"], "status": row["status"], "agent": row["agent"],
                                "output": row["output"] if row["status"] != "running" else None,
                                "finished_at": row["finished_at"]}) for row in rows]

    def _steps(self) -> list[Change]:
        rows = _fresh(self.steps, self.store.steps(self.run_id), lambda r: r["seq"], ("status", "child_run", "label"))
        return [Change("flow_step", {"seq": row["seq"], "method": row["method"], "round": row["round"],
                                     "status": row["status"], "label": row["label"], "child_run": row["child_run"],
                                     "error": row["error"]}) for row in rows]

    def _calls(self) -> list[Change]:
        found = []
        for row in self._new("model_calls", family=self.family):
            tokens = row["prompt_tokens"] + row["completion_tokens"]
            self.calls += 1
            self.tokens += tokens
            self.cost += row["cost"] or 0.0
            found.append(Change("model_call", {"id": row["id"], "task": row["task"], "agent": row["agent"],
                                               "model": row["model"],
                                               "tokens": tokens, "cost": row["cost"], "error": row["error"]}))
        if found:
            found.append(Change("usage", {"tokens": self.tokens, "cost": round(self.cost, 6),
                                          "calls": self.calls}))
        for row in self._new("tool_calls"):
            found.append(Change("tool_call", {"id": row["id"], "task": row["task"], "agent": row["agent"],
                                              "tool": row["tool"]}))
        for row in self._new("delegations"):
            found.append(Change("delegation", {"task": row["task"], "manager": row["manager"],
                                               "coworker": row["coworker"], "kind": row["kind"],
                                               "request": row["request"]}))
        for row in self._new("events"):
            if row["kind"] not in _QUIET_EVENTS:
                found.append(Change("event", {"kind": row["kind"], "detail": row["detail"]}))
        return found

    def _approvals(self) -> list[Change]:
        rows = _fresh(self.approvals, self.store.approvals(self.run_id), lambda r: (r["task"], r["mode"]), ("status",))
        return [Change("approval", {"task": row["task"], "mode": row["mode"], "status": row["status"],
                                    "content": row["content"], "reason": row["reason"]}) for row in rows]

    def _new(self, table: str, *, family: bool = False) -> list[dict[str, Any]]:
        rows = self.store.since(table, self.run_id, self.last.get(table, 0), family=family)
        if rows:
            self.last[table] = rows[-1]["id"]
        return rows


def _fresh(seen: dict[Any, tuple[Any, ...]], rows: list[Row], key: Callable[[Row], Any],
           fields: tuple[str, ...]) -> list[Row]:
    """The rows whose ``fields`` differ from what was last reported for their key; ``seen`` is updated."""
    fresh = []
    for row in rows:
        now = tuple(row[f] for f in fields)
        if seen.get(key(row)) != now:
            seen[key(row)] = now
            fresh.append(row)
    return fresh
