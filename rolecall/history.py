"""``runs`` and ``show-run``: the run store, read back for people. Never runs anything."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import format as fmt
from .repeats import outcome
from .status import RunStatus
from .usage import Usage

if TYPE_CHECKING:
    from .store import Row, RunStore


@dataclass(frozen=True)
class RunSummary:
    """One line of history: a run, how it ended and what it used."""

    id: str
    crew: str
    status: RunStatus
    profile: str
    inputs: dict[str, Any]
    started_at: str
    finished_at: str | None
    error: str | None
    usage: Usage

    @property
    def seconds(self) -> float | None:
        return fmt.between(self.started_at, self.finished_at)

    @classmethod
    def of(cls, row: Row) -> RunSummary:
        cost = None if row["unpriced"] else float(row["cost"] or 0.0)
        usage = Usage(row["calls"], row["prompt_tokens"], row["completion_tokens"], cost, row["unpriced"])
        return cls(row["id"], row["crew"], RunStatus(row["status"]), row["profile"], row["inputs"],
                   row["started_at"], row["finished_at"], row["error"], usage)


def summaries(store: RunStore, crew: str | None = None, limit: int = 20, *,
              batch: str | None = None) -> list[RunSummary]:
    """The newest runs first, of one crew or of all, of one batch or of any."""
    return [RunSummary.of(row) for row in store.runs(crew, limit, batch=batch)]


def render_runs(runs: list[RunSummary], crew: str | None = None) -> str:
    if not runs:
        return "no runs yet" + (f" of crew '{crew}'" if crew else "")
    table = [("RUN", "CREW", "STATUS", "STARTED", "TIME", "CALLS", "TOKENS", "COST")]
    for r in runs:
        table.append((r.id, r.crew, r.status, r.started_at[:19].replace("T", " "), fmt.short_seconds(r.seconds),
                      str(r.usage.requests), str(r.usage.total_tokens), fmt.cost(r.usage.cost)))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in table)


def render_run(store: RunStore, run_id: str) -> str:
    run = store.run(run_id)
    assert run is not None, "callers look the run up first"
    if run.get("kind") == "flow":
        from .flow_history import render_flow_run
        return render_flow_run(store, run)
    calls = store.model_calls(run_id)
    took = fmt.short_seconds(fmt.between(run["started_at"], run["finished_at"]))
    lines = [f"run {run['id']}  crew {run['crew']}  {run['status']}  ({took}, profile {run['profile']})",
             "inputs: " + ", ".join(f"{k}={v!r}" for k, v in run["inputs"].items())]
    if run.get("parent_run"):
        lines.append(f"a step of flow run {run['parent_run']}")
    if run["error"]:
        lines.append(f"error: {run['error']}")
    lines += ["", "tasks:"]
    for t in store.tasks(run_id):
        used = Usage.of(c for c in calls if c["task"] == t["key"])
        carried = "  (carried over)" if t["carried_over"] else ""
        lines.append(f"  {t['position'] + 1}. {t['key']}  [{t['status']}]  by {t['agent'] or '-'}  "
                     f"{used.requests} calls, {used.total_tokens} tokens, {fmt.cost(used.cost)}{carried}")
        if t["error"]:
            lines.append(f"     error: {t['error']}")
        if t["output"]:
            lines.append("     " + t["output"].strip().replace("\n", "\n     ")[:1200])
    delegations = store.delegations(run_id)
    if delegations:
        lines += ["", "delegations:"]
        lines += [f"  {d['task']}: {d['manager']} -> {d['coworker']} ({d['kind']}): {d['request'][:100]}"
                  for d in delegations]
    tools = store.tool_calls(run_id)
    if tools:
        lines += ["", "tool calls:"]
        lines += [f"  {c['task']}: {c['agent']} {c['tool']}({c['arguments']}) {outcome(c['error'])}"
                  + (f" -> {c['result_chars']} chars" if c["result_chars"] is not None else "")
                  + (f": {c['error'].removeprefix('refused: ')}" if c["error"] else "") for c in tools]
    lines += ["", "model calls by agent:"]
    for agent in sorted({c["agent"] or "?" for c in calls}):
        used = Usage.of(c for c in calls if (c["agent"] or "?") == agent)
        lines.append(f"  {agent:24} {used.requests:3} calls  {used.prompt_tokens:7} in  "
                     f"{used.completion_tokens:7} out  {fmt.cost(used.cost)}")
    lines += [f"  model error ({c['agent']}, {c['task']}): {c['error']}" for c in calls if c["error"]]
    for event in store.events(run_id):
        lines.append(f"  event {event['kind']}: {event['detail']}")
    for a in store.approvals(run_id):
        reason = f" - {a['reason']}" if a["reason"] else ""
        lines.append(f"approval {a['task']} ({a['mode']}): {a['status']}{reason}")
    return "\n".join(lines)
