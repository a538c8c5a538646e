"""The report of a flow run: the flow graph with the path taken, each step linked to its crew
run's own report, and usage added up across the flow. Read from the store only."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..flow_graph import FlowOutline, columns, describe_step, taken_edges
from ..flow_history import stored_outline
from ..flow_result import SUPERSEDED
from ..redact import Redactor
from ..store import Row, RunStore
from ..usage import Usage
from .page import _redacted, _stdlib_quotes, assets, environment

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 190, 54, 70, 26, 20


@dataclass(frozen=True)
class Node:
    name: str
    x: float
    y: float
    subtitle: str
    css_class: str
    title: str


@dataclass(frozen=True)
class Edge:
    d: str
    css_class: str
    label: str
    label_x: float
    label_y: float


@dataclass(frozen=True)
class FlowGraph:
    nodes: list[Node]
    edges: list[Edge]
    width: float
    height: float


def flow_graph(outline: FlowOutline, steps: list[Row]) -> FlowGraph:
    place = columns(outline)
    ran = {s["method"]: sum(1 for t in steps if t["method"] == s["method"]) for s in steps}
    spot = {name: (PAD + c * (NODE_W + GAP_X), PAD + r * (NODE_H + GAP_Y)) for name, (c, r) in place.items()}
    nodes = []
    for name, (x, y) in spot.items():
        method = outline.methods[name]
        times = f" ×{ran[name]}" if ran.get(name, 0) > 1 else ""
        css = "node " + ("ran" if name in ran else "not-run") + (" router" if method.router else "")
        nodes.append(Node(name + times, x, y, describe_step(method), css, method.description or name))
    taken = taken_edges(outline, steps)
    edges = [_edge(spot[a], spot[b], label, (a, b) in taken) for a, b, label in outline.edges()]
    width = max((x for x, _ in spot.values()), default=0) + NODE_W + PAD
    height = max((y for _, y in spot.values()), default=0) + NODE_H + PAD + 40
    return FlowGraph(nodes, edges, width, height)


def _edge(source: tuple[float, float], target: tuple[float, float], label: str, taken: bool) -> Edge:
    (sx, sy), (tx, ty) = source, target
    css = "edge " + ("taken" if taken else "not-taken")
    if tx > sx:  # forward: right side to left side
        x1, y1, x2, y2 = sx + NODE_W, sy + NODE_H / 2, tx, ty + NODE_H / 2
        mid = (x1 + x2) / 2
        d = f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        return Edge(d, css, label, x2 - 34, y2 - 6)  # the label by its target: routes fan out
    # a loop back: under the nodes, from the bottom of the source to the bottom of the target
    x1, y1, x2, y2 = sx + NODE_W / 2, sy + NODE_H, tx + NODE_W / 2, ty + NODE_H
    low = max(y1, y2) + 36
    d = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{low:.1f} {x2:.1f},{low:.1f} {x2:.1f},{y2:.1f}"
    return Edge(d, css + " loop", label, (x1 + x2) / 2, low - 4)


@dataclass(frozen=True)
class StepRow:
    seq: int
    method: str
    round: int
    status: str
    started_at: str
    finished_at: str | None
    label: str | None
    output: str
    error: str | None
    child: Row | None
    child_usage: Usage | None
    child_report: str | None


def step_rows(store: RunStore, steps: list[Row], children: dict[str, Row]) -> list[StepRow]:
    rows = []
    for s in steps:
        child = children.get(s["child_run"] or "")
        value = s["output"].get("value") if isinstance(s["output"], dict) else None
        text = value.get("raw") if isinstance(value, dict) and "raw" in value else value
        rows.append(StepRow(s["seq"], s["method"], s["round"], s["status"], s["started_at"], s["finished_at"],
                            s["label"], "" if text is None else str(text), s["error"], child,
                            Usage.of(store.model_calls(child["id"])) if child else None,
                            f"../{child['id']}/report.html" if child else None))
    return rows


def render_flow_page(store: RunStore, run: Row, redactor: Redactor, written_at: datetime | None = None) -> str:
    steps = [s for s in store.steps(run["id"]) if s["status"] != SUPERSEDED]
    children = {c["id"]: c for c in store.children(run["id"])}
    outline = stored_outline(store, run["id"])
    page = environment().get_template("flow.html.j2").render(
        run=run, inputs=[(k, str(v)) for k, v in run["inputs"].items()],
        usage=Usage.of(store.family_model_calls(run["id"])), graph=flow_graph(outline, steps) if outline else None,
        steps=step_rows(store, steps, children), approvals=store.approvals(run["id"]), assets=assets(),
        node_w=NODE_W, node_h=NODE_H, written_at=(written_at or datetime.now(UTC)).isoformat())
    return _redacted(_stdlib_quotes(page), redactor)


def write_flow_report(store: RunStore, run: Row, out: Path | None, child_report: Any) -> Path:
    """The flow's page, and each crew run's own report beside it so the links work."""
    for child in store.children(run["id"]):
        child_report(child["id"])
    path = out or Path(run["run_dir"]) / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_flow_page(store, run, store.redact), encoding="utf-8")
    return path
