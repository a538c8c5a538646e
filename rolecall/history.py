"""``runs`` and ``show-run``: the run store, read back for people."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from .project import Project
from .run import open_store


def _duration(row: dict[str, Any]) -> str:
    if not row.get("finished_at"):
        return "-"
    seconds = (datetime.fromisoformat(row["finished_at"]) - datetime.fromisoformat(row["started_at"])).total_seconds()
    return f"{seconds:.1f}s"


def _cost(value: float | None) -> str:
    return "?" if value is None else f"${value:.4f}"


def render_runs(project: Project, crew: str | None, limit: int) -> str:
    rows = list(open_store(project).runs(crew, limit))
    if not rows:
        return "no runs yet" + (f" of crew '{crew}'" if crew else "")
    table = [("RUN", "CREW", "STATUS", "STARTED", "TIME", "CALLS", "TOKENS", "COST")]
    for r in rows:
        table.append((r["id"], r["crew"], r["status"], r["started_at"][:19].replace("T", " "), _duration(r),
                      str(r["calls"]), str(r["tokens"]), _cost(r["cost"]) if r["calls"] else "$0.0000"))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table)


def render_run(project: Project, run_id: str) -> str:
    store = open_store(project)
    run = store.run(run_id)
    assert run is not None
    calls = store.rows("model_calls", run_id)
    lines = [f"run {run['id']}  crew {run['crew']}  {run['status']}  ({_duration(run)}, profile {run['profile']})",
             "inputs: " + ", ".join(f"{k}={v!r}" for k, v in run["inputs"].items())]
    if run["error"]:
        lines.append(f"error: {run['error']}")
    lines += ["", "tasks:"]
    for t in store.tasks(run_id):
        mine = [c for c in calls if c["task"] == t["key"]]
        tokens = sum(c["prompt_tokens"] + c["completion_tokens"] for c in mine)
        lines.append(f"  {t['position'] + 1}. {t['key']}  [{t['status']}]  by {t['agent'] or '-'}  "
                     f"{len(mine)} calls, {tokens} tokens, {_cost(_sum_cost(mine))}")
        if t["error"]:
            lines.append(f"     error: {t['error']}")
        if t["output"]:
            lines.append("     " + t["output"].strip().replace("\n", "\n     ")[:1200])
    delegations = store.rows("delegations", run_id)
    if delegations:
        lines += ["", "delegations:"]
        lines += [f"  {d['task']}: {d['manager']} -> {d['coworker']} ({d['kind']}): {d['request'][:100]}"
                  for d in delegations]
    tools = store.rows("tool_calls", run_id)
    if tools:
        lines += ["", "tool calls:"]
        lines += [f"  {c['task']}: {c['agent']} {c['tool']}({c['arguments']})"
                  + (f" -> {c['result_chars']} chars" if c["result_chars"] is not None else "")
                  + (f" ERROR {c['error']}" if c["error"] else "") for c in tools]
    lines += ["", "model calls by agent:"]
    for agent in sorted({c["agent"] or "?" for c in calls}):
        mine = [c for c in calls if (c["agent"] or "?") == agent]
        lines.append(f"  {agent:24} {len(mine):3} calls  {sum(c['prompt_tokens'] for c in mine):7} in  "
                     f"{sum(c['completion_tokens'] for c in mine):7} out  {_cost(_sum_cost(mine))}")
    errors = [c for c in calls if c["error"]]
    lines += [f"  model error ({c['agent']}, {c['task']}): {c['error']}" for c in errors]
    for event in store.rows("events", run_id):
        lines.append(f"  event {event['kind']}: {event['detail']}")
    for a in store.rows("approvals", run_id):
        lines.append(f"approval {a['task']} ({a['mode']}): {a['status']}" + (f" - {a['reason']}" if a["reason"] else ""))
    return "\n".join(lines)


def _sum_cost(calls: list[dict[str, Any]]) -> float | None:
    costs = [c["cost"] for c in calls]
    return None if any(c is None for c in costs) else sum(costs)
