"""``show-run`` of a flow run: the graph with the path taken, each step with its crew run, totals.

Read side: the store only (the flow as it was when the run started is kept in the run's
``flow_outline`` event), never the run machinery.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import format as fmt
from .flow_graph import FlowOutline, describe_step, order, taken_edges, trigger_text
from .flow_result import SUPERSEDED
from .usage import Usage

if TYPE_CHECKING:
    from .store import Row, RunStore


def stored_outline(store: RunStore, run_id: str) -> FlowOutline | None:
    for event in store.events(run_id):
        if event["kind"] == "flow_outline":
            import json
            return FlowOutline.from_json(json.loads(event["detail"]))
    return None


def render_flow_run(store: RunStore, run: Row) -> str:
    run_id = run["id"]
    steps = [s for s in store.steps(run_id) if s["status"] != SUPERSEDED]
    children = {c["id"]: c for c in store.children(run_id)}
    took = fmt.short_seconds(fmt.between(run["started_at"], run["finished_at"]))
    lines = [f"flow run {run_id}  flow {run['crew']}  {run['status']}  ({took}, profile {run['profile']})",
             "inputs: " + ", ".join(f"{k}={v!r}" for k, v in run["inputs"].items())]
    if run["error"]:
        lines.append(f"error: {run['error']}")
    outline = stored_outline(store, run_id)
    if outline is not None:
        lines += ["", "graph (* = ran):"] + _graph(outline, steps)
    lines += ["", "steps:"]
    for s in steps:
        lines += _step(store, s, children)
    total = Usage.of(store.family_model_calls(run_id))
    lines += ["", f"total: {total.requests} model calls, {total.total_tokens} tokens, {fmt.cost(total.cost)} "
                  f"across {len(children)} crew runs"]
    for a in store.approvals(run_id):
        reason = f" - {a['reason']}" if a["reason"] else ""
        lines.append(f"approval {a['task']}: {a['status']}{reason}")
    return "\n".join(lines)


def _graph(outline: FlowOutline, steps: list[Row]) -> list[str]:
    ran = {s["method"] for s in steps}
    taken = taken_edges(outline, steps)
    lines = []
    for name in order(outline):
        method = outline.methods[name]
        mark = "*" if name in ran else " "
        count = sum(1 for s in steps if s["method"] == name)
        times = f" x{count}" if count > 1 else ""
        routes = f" -> {' | '.join(method.labels)}" if method.router else ""
        lines.append(f"  {mark} {name}{times}: {trigger_text(method)}; {describe_step(method)}{routes}")
        untaken = [a for a, b, _ in outline.edges() if b == name and (a, b) not in taken and a in ran]
        if untaken and name not in ran:
            lines[-1] += "  (not taken)"
    return lines


def _step(store: RunStore, step: Row, children: dict[str, Row]) -> list[str]:
    again = f" #{step['round']}" if step["round"] > 1 else ""
    took = fmt.short_seconds(fmt.between(step["started_at"], step["finished_at"]))
    label = f" -> {step['label']}" if step["label"] else ""
    line = f"  {step['seq']}. {step['method']}{again}  [{step['status']}]  {took}{label}"
    child = children.get(step["child_run"] or "")
    out = [line]
    if child is not None:
        used = Usage.of(store.model_calls(child["id"]))
        out.append(f"     crew run {child['id']} ({child['crew']}, {child['status']}): {used.requests} calls, "
                   f"{used.total_tokens} tokens, {fmt.cost(used.cost)}  (python main.py show-run {child['id']})")
    if step["error"]:
        out.append(f"     error: {step['error']}")
    value = step["output"].get("value") if isinstance(step["output"], dict) else None
    text = value.get("raw") if isinstance(value, dict) and "raw" in value else value
    if text not in (None, ""):
        out.append("     " + fmt.clip(str(text), 300).replace("\n", "\n     "))
    return out
