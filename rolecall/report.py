"""``report RUN_ID``: one self-contained HTML file per run, read back from the run store.

The page shows the crew as a graph (agents, tasks, who did what, context edges
and the delegations that happened), a timeline with one lane per agent, token
and cost tables, and every task output, error, approval and model event.

It loads nothing from the network: CSS, SVG and a few lines of script are
inline, and a Content-Security-Policy forbids any other request. All text is
escaped, and secret values from the environment or ``.env`` are redacted from
the finished page as a last step (the store is already redacted when written).
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from .definition import CrewDef
from .problem import Problem, RolecallError
from .project import Project
from .redact import Redactor
from .run import crew_hash, open_store
from .template import fill

Row = dict[str, Any]
DOT = " \u00b7 "


def write_report(project: Project, run_id: str, out: Path | None = None) -> Path:
    """Write the report of ``run_id`` (default ``<run_dir>/report.html``) and return its path."""
    data = load_run(project, run_id)
    page = render_page(data)
    path = out or Path(data.run.get("run_dir") or project.runs_dir / data.run["id"]) / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


# --- the data ---------------------------------------------------------------------------

@dataclass
class RunData:
    """Everything the store knows about one run, plus the crew definition when it still validates."""

    run: Row
    tasks: list[Row]
    model_calls: list[Row]
    tool_calls: list[Row]
    delegations: list[Row]
    approvals: list[Row]
    events: list[Row]
    crew: CrewDef | None
    crew_note: str  # why the graph is, or is not, drawn from the crew definition
    redactor: Redactor

    def role(self, agent: str) -> str:
        """The agent's role as the run saw it (filled), else from the definition."""
        for task in self.tasks:
            if task["agent"] == agent and task["role"]:
                return str(task["role"]).strip()
        if self.crew and agent in self.crew.agents:
            try:
                return fill(self.crew.agents[agent].spec.role, self.run["inputs"]).strip()
            except (KeyError, ValueError, IndexError):
                return self.crew.agents[agent].spec.role.strip()
        return ""


def load_run(project: Project, run_id: str) -> RunData:
    store = open_store(project)
    try:
        run = store.run(run_id)
        if run is None:
            raise RolecallError(Problem(f"no run '{run_id}' in {store.path}", hint="see python main.py runs"))
        key = run["id"]
        rows = {table: store.rows(table, key)
                for table in ("model_calls", "tool_calls", "delegations", "approvals", "events")}
        tasks = store.tasks(key)
    finally:
        store.close()
    crew, note = _crew_definition(project, run)
    return RunData(run, tasks, rows["model_calls"], rows["tool_calls"], rows["delegations"], rows["approvals"],
                   rows["events"], crew, note, Redactor.from_environment(env_file=project.env_file))


def _crew_definition(project: Project, run: Row) -> tuple[CrewDef | None, str]:
    from .discover import find
    from .validate import check
    try:
        crew, _ = check(project, find(project, run["crew"]))
    except RolecallError as exc:  # the report still works from the store alone
        first = exc.problems[0].message if exc.problems else str(exc)
        return None, (f"crew '{run['crew']}' does not validate now ({first}); "
                      "the graph shows what the run store recorded")
    if crew_hash(crew) != run["crew_hash"]:
        return crew, "the crew's files changed since this run; the graph shows the current definition"
    return crew, ""


# --- small helpers ----------------------------------------------------------------------------

def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def when(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms" if seconds >= 0.001 else f"{seconds * 1000:.2f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def fmt_cost(cost: float | None) -> str:
    return "?" if cost is None else f"${cost:.4f}"


def sum_cost(calls: Iterable[Row]) -> float | None:
    """Total cost, or None when any call has no price (unknown is not zero)."""
    costs = [c["cost"] for c in calls]
    return None if any(c is None for c in costs) else float(sum(costs))


def between(start: str | None, end: str | None) -> float | None:
    a, b = when(start), when(end)
    return (b - a).total_seconds() if a and b else None


def clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:max(chars - 1, 1)] + "\u2026"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def parse_json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def svg_text(x: float, y: float, text: str, cls: str, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">{esc(text)}</text>'


# --- the crew graph ---------------------------------------------------------------------------

NODE_W, NODE_H, ROW_GAP = 270, 50, 78
TASK_X, AGENT_X, MANAGER_X, TOP = 80, 420, 840, 24


@dataclass
class Node:
    key: str
    kind: str  # "task" | "agent"
    title: str
    subtitle: str
    classes: list[str] = field(default_factory=list)
    x: float = 0
    y: float = 0

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.key}"


@dataclass
class Edge:
    source: str  # node id
    target: str
    kind: str  # "did" | "context" | "delegation"
    label: str = ""
    tooltip: str = ""
    planned: bool = False  # a task -> agent binding from the definition; the task did not run


@dataclass
class Graph:
    tasks: list[Node]
    agents: list[Node]  # workers and other agents
    managers: list[Node]
    edges: list[Edge]

    @property
    def nodes(self) -> list[Node]:
        return self.tasks + self.agents + self.managers

    @property
    def rows(self) -> int:
        return max(len(self.tasks), len(self.agents), len(self.managers), 1)


def build_graph(data: RunData) -> Graph:
    task_keys = _ordered(list(data.crew.tasks) if data.crew else [], [t["key"] for t in data.tasks])
    managers = _ordered([data.crew.manager_agent] if data.crew and data.crew.manager_agent else [],
                        [d["manager"] for d in data.delegations if _is_manager(data, d["manager"])])
    agents = _ordered(list(data.crew.agents) if data.crew else [],
                      [t["agent"] for t in data.tasks if t["agent"]]
                      + [c["agent"] for c in data.model_calls if c["agent"]]
                      + [d["coworker"] for d in data.delegations] + [d["manager"] for d in data.delegations])
    agents = sorted((a for a in agents if a not in managers), key=lambda a: _first_task(data, a, task_keys))
    graph = Graph([_task_node(data, key) for key in task_keys], [_agent_node(data, key) for key in agents],
                  [_agent_node(data, key, manager=True) for key in managers], [])
    graph.edges = _did_edges(data, task_keys) + _context_edges(data, task_keys) + _delegation_edges(data)
    _layout(graph)
    return graph


def _first_task(data: RunData, agent: str, task_keys: list[str]) -> int:
    """Position of the first task an agent did (or is bound to): workers line up with their tasks."""
    done = [t["key"] for t in data.tasks if t["agent"] == agent]
    bound = [k for k, t in data.crew.tasks.items() if t.agent == agent] if data.crew else []
    return min((task_keys.index(k) for k in done + bound if k in task_keys), default=len(task_keys))


def _ordered(first: list[str], more: Iterable[str]) -> list[str]:
    seen = list(dict.fromkeys(first))
    for key in more:
        if key and key not in seen:
            seen.append(key)
    return seen


def _is_manager(data: RunData, agent: str) -> bool:
    """The crew's manager (its own agent or crewai's built-in one), or, without a definition,
    a delegating agent that did no task of its own."""
    if data.crew:
        return agent == data.crew.manager_agent or (data.crew.hierarchical and agent not in data.crew.agents)
    return not any(t["agent"] == agent for t in data.tasks)


def _task_node(data: RunData, key: str) -> Node:
    row = next((t for t in data.tasks if t["key"] == key), None)
    status = row["status"] if row else "not run"
    took = between(row["started_at"], row["finished_at"]) if row else None
    subtitle = status + (f" \u00b7 {fmt_seconds(took)}" if took is not None else "")
    return Node(key, "task", key, subtitle, ["node", "task", f"status-{status.replace(' ', '-')}"])


def _agent_node(data: RunData, key: str, manager: bool = False) -> Node:
    role = data.role(key) or key
    tools = [t.name for t in data.crew.agents[key].tools] if data.crew and key in data.crew.agents else []
    formal = bool(manager and data.crew and data.crew.hierarchical)
    subtitle = ("manager \u00b7 " if formal else "delegates \u00b7 " if manager else "") + key
    subtitle += f" \u00b7 tools: {', '.join(tools)}" if tools else ""
    return Node(key, "agent", role, subtitle, ["node", "agent"] + (["manager"] if manager else []))


def _did_edges(data: RunData, task_keys: list[str]) -> list[Edge]:
    edges = []
    for key in task_keys:
        row = next((t for t in data.tasks if t["key"] == key), None)
        agent = row["agent"] if row else None
        planned = False
        if not agent and data.crew and key in data.crew.tasks:
            agent, planned = data.crew.tasks[key].agent, True
        if agent:
            verb = "will be done by" if planned else "done by"
            edges.append(Edge(f"task-{key}", f"agent-{agent}", "did", tooltip=f"{key} {verb} {agent}",
                              planned=planned))
    return edges


def _context_edges(data: RunData, task_keys: list[str]) -> list[Edge]:
    if not data.crew:
        return []
    return [Edge(f"task-{source}", f"task-{key}", "context", tooltip=f"{source} is context for {key}")
            for key in task_keys if key in data.crew.tasks
            for source in data.crew.tasks[key].context if source in task_keys]


def _delegation_edges(data: RunData) -> list[Edge]:
    edges = []
    for d in data.delegations:
        label = (d["task"] or "?") + ("" if d["kind"] == "delegate" else f" ({d['kind']})")
        tooltip = f"{d['manager']} -> {d['coworker']} ({d['kind']}, task {d['task']}): {d['request'] or ''}"
        edges.append(Edge(f"agent-{d['manager']}", f"agent-{d['coworker']}", "delegation", label,
                          clip(tooltip, 400)))
    return edges


def _layout(graph: Graph) -> None:
    def column(nodes: list[Node], x: float) -> None:
        offset = TOP + (graph.rows - len(nodes)) * ROW_GAP / 2
        for i, node in enumerate(nodes):
            node.x, node.y = x, offset + i * ROW_GAP

    column(graph.tasks, TASK_X)
    column(graph.agents, AGENT_X)
    column(graph.managers, MANAGER_X)


def render_graph(graph: Graph, note: str) -> str:
    nodes = {n.id: n for n in graph.nodes}
    width = (MANAGER_X if graph.managers else AGENT_X) + NODE_W + 20
    height = TOP * 2 + (graph.rows - 1) * ROW_GAP + NODE_H
    pair_count: dict[tuple[str, str], int] = {}
    edges = []
    for edge in graph.edges:
        if edge.source in nodes and edge.target in nodes:
            nth = pair_count.get((edge.source, edge.target), 0)
            pair_count[(edge.source, edge.target)] = nth + 1
            edges.append(_edge_svg(edge, nodes[edge.source], nodes[edge.target], nth))
    body = "\n".join([_markers()] + edges + [_node_svg(n) for n in graph.nodes])
    legend = ('<ul class="legend"><li><span class="swatch did"></span>task done by agent</li>'
              '<li><span class="swatch context"></span>context (output feeds a later task)</li>'
              '<li><span class="swatch delegation"></span>delegation that happened (label: task)</li></ul>')
    caption = f'<p class="note">{esc(note)}</p>' if note else ""
    return (f'<section id="graph"><h2>Crew</h2>{caption}'
            f'<div class="scroll"><svg id="crew-graph" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="crew graph">{body}</svg></div>{legend}</section>')


def _markers() -> str:
    def marker(kind: str) -> str:
        return (f'<marker id="arrow-{kind}" class="arrow {kind}" viewBox="0 0 10 10" refX="9" refY="5" '
                f'markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>')
    return "<defs>" + "".join(marker(k) for k in ("did", "context", "delegation")) + "</defs>"


def _edge_svg(edge: Edge, a: Node, b: Node, nth: int) -> str:
    if a.kind == b.kind == "task":  # context: an arc on the left of the task column
        rows = round(abs(b.y - a.y) / ROW_GAP)  # longer links bulge further, up to the margin
        path, mid = _arc(a.x, a.y, b.y, -min(24 + 12 * (rows - 1), 90))
    elif a.x == b.x:  # agent to agent in one column: an arc on the right
        path, mid = _arc(a.x + NODE_W, a.y, b.y, 40 + 24 * nth)
    else:
        path, mid = _across(a, b, nth, spread=edge.kind == "delegation")
    classes = f"edge {edge.kind}" + (" planned" if edge.planned else "")
    label = (f'<text x="{mid[0]:.1f}" y="{mid[1]:.1f}" class="edge-label" text-anchor="middle">'
             f'{esc(edge.label)}</text>') if edge.label else ""
    return (f'<g class="{classes}" data-source="{esc(edge.source)}" data-target="{esc(edge.target)}">'
            f'<title>{esc(edge.tooltip)}</title><path d="{path}" marker-end="url(#arrow-{edge.kind})"/>'
            f'{label}</g>')


def _arc(x: float, top_a: float, top_b: float, bulge: float) -> tuple[str, tuple[float, float]]:
    """A curve leaving and re-entering one side (x) of a column, bulging sideways by ``bulge``.

    It leaves a little above the middle of a node and arrives a little below, so links in and out stay apart.
    """
    y1, y2, bx = top_a + NODE_H / 2 - 6, top_b + NODE_H / 2 + 6, x + bulge
    path = f"M{x:.1f},{y1:.1f} C{bx:.1f},{y1:.1f} {bx:.1f},{y2:.1f} {x:.1f},{y2:.1f}"
    return path, (x + bulge * 0.75, (y1 + y2) / 2)


def _across(a: Node, b: Node, nth: int, spread: bool) -> tuple[str, tuple[float, float]]:
    """A curve from a's side facing b to b's side facing a; delegations fan out and stay apart."""
    ax, bx = (a.x + NODE_W, b.x) if a.x < b.x else (a.x, b.x + NODE_W)
    ay, by = a.y + NODE_H / 2, b.y + NODE_H / 2
    if spread:
        ay += max(-16.0, min(16.0, (by - ay) * 0.3)) + nth * 8
        by += nth * 8
    dx = (bx - ax) / 2
    path = f"M{ax:.1f},{ay:.1f} C{ax + dx:.1f},{ay:.1f} {bx - dx:.1f},{by:.1f} {bx:.1f},{by:.1f}"
    return path, ((ax + bx) / 2, (ay + by) / 2 - 5 + (nth * 14 if spread else 0))


def _node_svg(node: Node) -> str:
    chars = int((NODE_W - 24) / 7.5)  # about 7.5 px a character at 13 px
    return (f'<g class="{" ".join(node.classes)}" id="{esc(node.id)}" data-key="{esc(node.key)}">'
            f'<title>{esc(node.title)}\n{esc(node.subtitle)}</title>'
            f'<rect x="{node.x:.1f}" y="{node.y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="9"/>'
            + svg_text(node.x + 12, node.y + 21, clip(node.title, chars), "node-title")
            + svg_text(node.x + 12, node.y + 39, clip(node.subtitle, chars + 4), "node-sub") + "</g>")


# --- the timeline ----------------------------------------------------------------------------

LANE_H, LABEL_W, PLOT_W, AXIS_H, GAP_W = 52, 200, 900, 42, 40


@dataclass
class Mark:
    lane: str  # agent key; "" for run-wide events
    kind: str  # "task" | "managed" | "model" | "tool" | "delegation" | "event"
    start: datetime
    end: datetime
    label: str
    tooltip: str
    error: bool = False
    target: str | None = None  # a delegation's coworker lane


class TimeScale:
    """Time -> x, with long idle gaps (approval waits, resumes) cut out of the axis."""

    def __init__(self, marks: list[Mark], origin: datetime, x0: float, width: float):
        self.origin = origin
        self.segments = self._segments(sorted((self.seconds(m.start), self.seconds(m.end)) for m in marks))
        active = sum(e - s for s, e in self.segments)
        self.px = (width - GAP_W * (len(self.segments) - 1)) / active
        self.starts: list[float] = []
        x = x0
        for s, e in self.segments:
            self.starts.append(x)
            x += (e - s) * self.px + GAP_W

    def seconds(self, moment: datetime) -> float:
        return (moment - self.origin).total_seconds()

    @staticmethod
    def _segments(spans: list[tuple[float, float]]) -> list[list[float]]:
        """Busy stretches of the run: spans closer than the gap limit are joined, the rest are cut apart."""
        active = sum(max(e - s, 0) for s, e in spans)
        limit = max(5.0, 0.1 * active)
        segments: list[list[float]] = []
        for start, end in spans:
            if segments and start - segments[-1][1] <= limit:
                segments[-1][1] = max(segments[-1][1], end)
            else:
                segments.append([start, max(start, end)])
        for segment in segments:  # a lone instant still needs some width
            segment[1] = max(segment[1], segment[0] + 1e-3)
        return segments or [[0.0, 1.0]]

    def x(self, moment: datetime | float) -> float:
        t = moment if isinstance(moment, float) else self.seconds(moment)
        for (s, e), start in zip(self.segments, self.starts):
            if t <= e:
                return start + (max(t, s) - s) * self.px
        s, e = self.segments[-1]
        return self.starts[-1] + (e - s) * self.px

    def gaps(self) -> list[tuple[float, float]]:
        """(x where the break is drawn, seconds left out) for each cut."""
        return [(self.starts[i] - GAP_W, self.segments[i][0] - self.segments[i - 1][1])
                for i in range(1, len(self.segments))]

    def ticks(self) -> list[tuple[float, str]]:
        step = _nice_step(sum(e - s for s, e in self.segments) / 8)
        places = max(0, -math.floor(math.log10(step))) if step < 1 else 0
        ticks = []
        for s, e in self.segments:
            k = math.ceil(s / step - 1e-9)
            while k * step <= e + 1e-9:
                ticks.append((self.x(float(k * step)), f"{k * step:.{places}f}"))
                k += 1
        return ticks


def _nice_step(raw: float) -> float:
    raw = max(raw, 1e-4)
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def timeline_marks(data: RunData, managers: list[str]) -> list[Mark]:
    """Every task span, model call, tool call, delegation and event of the run."""
    return (_task_marks(data, managers) + _model_marks(data) + _tool_marks(data) + _delegation_marks(data)
            + _event_marks(data))


def _task_marks(data: RunData, managers: list[str]) -> list[Mark]:
    """A span per task in its agent's lane, and a "managed" span in the lane of a manager that oversaw it."""
    marks = []
    for t in data.tasks:
        start, end = when(t["started_at"]), when(t["finished_at"])
        if start is None:
            continue
        took = fmt_seconds(between(t["started_at"], t["finished_at"]))
        marks.append(Mark(t["agent"] or "?", "task", start, end or start, t["key"],
                          f"task {t['key']} ({t['status']}) by {t['agent'] or '?'}: {took}", bool(t["error"])))
        marks += [Mark(m, "managed", start, end or start, t["key"], f"{m} manages {t['key']}: {took}")
                  for m in managers if m != t["agent"] and _manages(data, m, t["key"])]
    return marks


def _model_marks(data: RunData) -> list[Mark]:
    marks = []
    for c in data.model_calls:
        end = when(c["at"])  # recorded when the call finished
        latency = (c["latency_ms"] or 0) / 1000
        tip = (f"model call {c['model']} for {c['task'] or '-'}: {c['prompt_tokens']} + {c['completion_tokens']} "
               f"tokens, {fmt_seconds(latency)}, {fmt_cost(c['cost'])}"
               + (f", error: {c['error']}" if c["error"] else ""))
        if end:
            marks.append(Mark(c["agent"] or "?", "model", end - timedelta(seconds=latency), end, "", clip(tip, 400),
                              bool(c["error"])))
    return marks


def _tool_marks(data: RunData) -> list[Mark]:
    marks = []
    for c in data.tool_calls:
        start, end = when(c["at"]), when(c["finished_at"])
        outcome = f"error: {c['error']}" if c["error"] else f"{c['result_chars']} chars back"
        if start:
            marks.append(Mark(c["agent"] or "?", "tool", start, end or start, c["tool"],
                              clip(f"tool {c['tool']} for {c['task'] or '-'}, {outcome}", 400), bool(c["error"])))
    return marks


def _delegation_marks(data: RunData) -> list[Mark]:
    return [Mark(d["manager"], "delegation", at, at, "", f"{d['manager']} -> {d['coworker']} ({d['kind']}) for "
                 f"{d['task']}", target=d["coworker"]) for d in data.delegations if (at := when(d["at"]))]


def _event_marks(data: RunData) -> list[Mark]:
    return [Mark("", "event", at, at, e["kind"], f"{e['kind']}: {clip(str(e['detail'] or ''), 300)}",
                 "fail" in e["kind"] or "gave_up" in e["kind"]) for e in data.events if (at := when(e["at"]))]


def _manages(data: RunData, agent: str, task: str) -> bool:
    """The crew's manager oversees every task; another agent only the tasks it delegated from."""
    if data.crew and data.crew.hierarchical and _is_manager(data, agent):
        return True
    return any(d["manager"] == agent and d["task"] == task for d in data.delegations)


def render_timeline(data: RunData, lanes: list[str], managers: list[str]) -> str:
    marks = timeline_marks(data, managers)
    origin = min((m.start for m in marks), default=None)
    lanes = _ordered(lanes, [m.lane for m in marks if m.lane])
    top, width = 10, LABEL_W + PLOT_W
    height = top + max(len(lanes), 1) * LANE_H + AXIS_H
    lane_y = {lane: top + i * LANE_H for i, lane in enumerate(lanes)}
    parts = [TIMELINE_ARROW]
    parts += [_lane_svg(lane, data.role(lane), lane_y[lane], width, i) for i, lane in enumerate(lanes)]
    if origin is None:
        parts.append(svg_text(LABEL_W + PLOT_W / 2, top + LANE_H / 2, "no recorded activity", "empty", "middle"))
    else:
        scale = TimeScale(marks, origin, LABEL_W + 10, PLOT_W - 30)
        parts.append(_axis_svg(scale, top + len(lanes) * LANE_H, top))  # grid lines under the marks
        parts += [_mark_svg(m, scale, lane_y) for m in sorted(marks, key=lambda m: m.kind not in ("task", "managed"))
                  if m.kind == "event" or m.lane in lane_y]
    return (f'<section id="timeline-section"><h2>Timeline</h2>'
            f'<p class="note">{esc(_timeline_caption(data, origin))}</p>'
            f'<div class="scroll"><svg id="timeline" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="timeline">{"".join(parts)}</svg></div>{TIMELINE_LEGEND}'
            '</section>')


TIMELINE_ARROW = ('<defs><marker id="tl-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
                  'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>')
TIMELINE_LEGEND = (
    '<ul class="legend"><li><span class="swatch span-task"></span>task (in its agent\'s lane)</li>'
    '<li><span class="swatch span-managed"></span>task a manager oversaw</li>'
    '<li><span class="swatch mark-model"></span>model call</li><li><span class="swatch mark-tool"></span>tool call</li>'
    '<li><span class="swatch mark-delegation"></span>delegation</li>'
    '<li><span class="swatch mark-error"></span>error</li>'
    '<li><span class="swatch mark-event"></span>model or run event</li></ul>')


def _timeline_caption(data: RunData, origin: datetime | None) -> str:
    if origin is None:
        return "Nothing was recorded for this run."
    started = when(data.run["started_at"]) or origin
    setup = (origin - started).total_seconds()
    return (f"Seconds since the first recorded activity at {origin:%H:%M:%S} UTC "
            f"({fmt_seconds(max(setup, 0))} after the run started). Hover a mark for details.")


def _lane_svg(lane: str, role: str, y: float, width: float, index: int) -> str:
    return (f'<g class="lane{" odd" if index % 2 else ""}" data-agent="{esc(lane)}">'
            f'<rect class="lane-bg" x="0" y="{y}" width="{width}" height="{LANE_H}"/>'
            + svg_text(12, y + 23, clip(lane, 26), "lane-title")
            + svg_text(12, y + 39, clip(role if role != lane else "", 30), "lane-sub") + "</g>")


def _mark_svg(mark: Mark, scale: TimeScale, lane_y: dict[str, float]) -> str:
    x1, x2 = scale.x(mark.start), scale.x(mark.end)
    tip = f"<title>{esc(mark.tooltip)}</title>"
    err = " error" if mark.error else ""
    if mark.kind == "event":  # run-wide: a line across every lane
        top, bottom = min(lane_y.values(), default=0), max(lane_y.values(), default=0) + LANE_H
        return f'<g class="mark event{err}">{tip}<line x1="{x1:.1f}" y1="{top}" x2="{x1:.1f}" y2="{bottom}"/></g>'
    y = lane_y[mark.lane]
    if mark.kind in ("task", "managed"):
        return _span_svg(mark, x1, max(x2 - x1, 3), y, tip, err)
    if mark.kind == "delegation":
        link = ""
        if mark.target in lane_y:  # a dotted arrow down (or up) to the coworker's lane
            link = (f'<line class="link" x1="{x1:.1f}" y1="{y + LANE_H / 2:.1f}" x2="{x1:.1f}" '
                    f'y2="{lane_y[mark.target] + LANE_H / 2:.1f}" marker-end="url(#tl-arrow)"/>')
        return f'<g class="mark delegation">{tip}{link}<path d="M{x1:.1f},{y + 16} l6,10 l-6,10 l-6,-10 z"/></g>'
    w = max(x2 - x1, 3)  # model calls above, tool calls below a span's label
    top = y + 8 if mark.kind == "model" else y + 36
    return (f'<g class="mark {mark.kind}{err}">{tip}<rect x="{x1 - (1.5 if w == 3 else 0):.1f}" y="{top}" '
            f'width="{w:.1f}" height="8" rx="1.5"/></g>')


def _span_svg(mark: Mark, x: float, w: float, y: float, tip: str, err: str) -> str:
    label = ""
    if w > len(mark.label) * 6.6 + 12:
        if mark.kind == "managed":  # the manager's own marks crowd the start of its span
            label = svg_text(x + w - 6, y + 30, mark.label, "span-label", "end")
        else:
            label = svg_text(x + 6, y + 30, mark.label, "span-label")
    return (f'<g class="span {mark.kind}{err}" data-task="{esc(mark.label)}">{tip}<rect x="{x:.1f}" '
            f'y="{y + 5}" width="{w:.1f}" height="{LANE_H - 10}" rx="5"/>{label}</g>')


def _axis_svg(scale: TimeScale, y: float, top: float) -> str:
    parts = [f'<g class="axis"><line x1="{LABEL_W}" y1="{y}" x2="{LABEL_W + PLOT_W - 10}" y2="{y}"/>']
    for x, label in scale.ticks():
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{y}"/>'
                     f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 5}"/>'
                     + svg_text(x, y + 18, label, "tick", "middle"))
    for x, seconds in scale.gaps():
        parts.append(f'<g class="gap"><title>{esc(fmt_seconds(seconds))} without activity, cut out</title>'
                     f'<rect x="{x + 8:.1f}" y="{top}" width="{GAP_W - 16}" height="{y - top:.1f}"/>'
                     + svg_text(x + GAP_W / 2, y + 32, f"+{fmt_seconds(seconds)}", "tick", "middle") + "</g>")
    parts.append(svg_text(LABEL_W - 8, y + 18, "seconds", "tick axis-unit", "end") + "</g>")
    return "".join(parts)


# --- tokens and cost --------------------------------------------------------------------------

def usage_table(table_id: str, title: str, first: str, groups: list[tuple[str, str, list[Row]]],
                all_calls: list[Row]) -> str:
    """Calls, prompt/completion/total tokens and cost per group, and a total row over every call."""
    head = "".join(f"<th{' class=num' if i > 1 else ''}>{h}</th>" for i, h in enumerate(
        [first, "", "calls", "prompt", "completion", "total", "cost"]))
    body = [_usage_row("", key, note, calls) for key, note, calls in groups]
    body.append(_usage_row("total", "total", "", all_calls))
    return (f'<div class="usage"><h3>{esc(title)}</h3><table id="{table_id}" class="usage-table">'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _usage_row(cls: str, key: str, note: str, calls: list[Row]) -> str:
    prompt = sum(c["prompt_tokens"] for c in calls)
    completion = sum(c["completion_tokens"] for c in calls)
    cost = sum_cost(calls)
    unpriced = sum(1 for c in calls if c["cost"] is None)
    cost_tip = f' title="{unpriced} call(s) have no price in the prices file"' if unpriced else ""
    cost_cell = (f'<td class="num" data-col="cost" data-value="{"" if cost is None else f"{cost:.10g}"}"{cost_tip}>'
                 f"{fmt_cost(cost)}</td>")
    return (f'<tr class="{cls}" data-key="{esc(key)}"><th scope="row">{esc(key)}</th><td class="muted">{esc(note)}</td>'
            + _num("calls", len(calls)) + _num("prompt", prompt) + _num("completion", completion)
            + _num("total", prompt + completion) + cost_cell + "</tr>")


def _num(column: str, value: int) -> str:
    return f'<td class="num" data-col="{column}" data-value="{value}">{value:,}</td>'


def render_usage(data: RunData, agents: list[str]) -> str:
    calls = data.model_calls
    by_agent = _groups(calls, "agent", _ordered(agents, [c["agent"] for c in calls]), data.role)
    by_task = _groups(calls, "task", _ordered([t["key"] for t in data.tasks], [c["task"] for c in calls]),
                      lambda task: _task_agents(data, task))
    return ('<section id="usage"><h2>Tokens and cost</h2>'
            + usage_table("usage-by-agent", "Per agent", "agent", [g for g in by_agent if g[2]], calls)
            + usage_table("usage-by-task", "Per task", "task", by_task, calls) + "</section>")


def _groups(calls: list[Row], column: str, keys: list[str],
            note: Callable[[str], str]) -> list[tuple[str, str, list[Row]]]:
    """(key, note, calls) per key of ``column``, then the calls that have none."""
    groups = [(key, note(key), [c for c in calls if c[column] == key]) for key in keys]
    missing = [c for c in calls if not c[column]]
    return groups + ([(f"(no {column})", "", missing)] if missing else [])


def _task_agents(data: RunData, task: str) -> str:
    return ", ".join(_ordered([], [c["agent"] for c in data.model_calls if c["task"] == task and c["agent"]]))


# --- header, outputs, errors, approvals, events ---------------------------------------------------

def render_header(data: RunData) -> str:
    run, calls = data.run, data.model_calls
    tokens = sum(c["prompt_tokens"] + c["completion_tokens"] for c in calls)
    duration = between(run["started_at"], run["finished_at"])
    inputs = "".join(f"<li><code>{esc(k)}</code> = {esc(v if isinstance(v, str) else json.dumps(v))}</li>"
                     for k, v in run["inputs"].items()) or "<li class=muted>none</li>"
    facts = [("run", f"<code>{esc(run['id'])}</code>"), ("status", _badge(run["status"])),
             ("profile", esc(run["profile"])), ("started", esc(_utc(run["started_at"]))),
             ("duration", esc(fmt_seconds(duration) if duration is not None else "unfinished")),
             ("tokens", f'<span id="total-tokens" data-value="{tokens}">{tokens:,}</span> in {len(calls)} '
                        "model calls"),
             ("cost", f'<span id="total-cost">{fmt_cost(sum_cost(calls))}</span>'
                      + (f" (cap {fmt_cost(run['max_cost'])})" if run["max_cost"] is not None else ""))]
    if run["resumed_from"]:
        facts.append(("resumed from", f"<code>{esc(run['resumed_from'])}</code>"))
    dl = "".join(f"<div{' class=wide' if k == 'run' else ''}><dt>{k}</dt><dd>{v}</dd></div>" for k, v in facts)
    error = f'<pre class="run-error">{esc(run["error"])}</pre>' if run["error"] else ""
    return (f'<header id="summary"><p class="eyebrow">rolecall run report</p><h1>{esc(run["crew"])}</h1>'
            f'<dl class="facts">{dl}</dl><div class="inputs"><h3>inputs</h3><ul>{inputs}</ul></div>{error}</header>')


def _badge(status: str | None) -> str:
    status = status or "unknown"
    return f'<span class="badge status-{esc(status)}">{esc(status.replace("_", " "))}</span>'


def _utc(stamp: str | None) -> str:
    moment = when(stamp)
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC" if moment else "-"


def render_outputs(data: RunData) -> str:
    if not data.tasks:
        return '<section id="outputs"><h2>Task outputs</h2><p class="muted">No task started.</p></section>'
    return '<section id="outputs"><h2>Task outputs</h2>' + "".join(_output(t) for t in data.tasks) + "</section>"


def _output(task: Row) -> str:
    took = between(task["started_at"], task["finished_at"])
    meta = [f"by <b>{esc(task['agent'] or '?')}</b>" + (f" ({esc(task['role'])})" if task["role"] else "")]
    meta += [esc(fmt_seconds(took))] if took is not None else []
    meta += ["carried over from an earlier attempt"] if task["carried_over"] else []
    error = f'<p class="task-error">{esc(task["error"])}</p>' if task["error"] else ""
    if task["structured"] is not None:
        body = f'<pre class="output structured">{esc(pretty(task["structured"]))}</pre>'
        if task["output"] and parse_json(task["output"]) != task["structured"]:
            body += f'<details><summary>raw output</summary><pre class="output">{esc(task["output"])}</pre></details>'
    elif task["output"]:
        body = f'<pre class="output">{esc(task["output"])}</pre>'
    else:
        body = '<p class="muted">no output</p>'
    return (f'<article class="task-output" id="output-{esc(task["key"])}"><h3>{task["position"] + 1}. '
            f'{esc(task["key"])} {_badge(task["status"])}</h3><p class="meta">{DOT.join(meta)}</p>'
            f'{error}{body}</article>')


def render_errors(data: RunData) -> str:
    items = [("run", data.run["error"])] if data.run["error"] else []
    items += [(f"task {t['key']}", t["error"]) for t in data.tasks if t["error"]]
    items += [(f"model call ({c['agent'] or '?'}, {c['task'] or '-'}, {c['model']})", c["error"])
              for c in data.model_calls if c["error"]]
    items += [(f"tool {c['tool']} ({c['agent'] or '?'}, {c['task'] or '-'})", c["error"])
              for c in data.tool_calls if c["error"]]
    if not items:
        return ""
    rows = "".join(f"<li><b>{esc(where)}</b><pre>{esc(text)}</pre></li>" for where, text in items)
    return f'<section id="errors"><h2>Errors</h2><ul class="errors">{rows}</ul></section>'


def _table(section_id: str, title: str, headers: list[str], rows: list[list[str]],
           row_classes: list[str] | None = None) -> str:
    """A section holding one table; ``rows`` are cells of ready HTML (escaped by the caller)."""
    if not rows:
        return ""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    classes = row_classes or [""] * len(rows)
    body = "".join(f'<tr class="{cls}">' + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                   for row, cls in zip(rows, classes))
    return (f'<section id="{section_id}"><h2>{esc(title)}</h2><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></section>")


def render_delegations(data: RunData) -> str:
    rows = [[esc(d["task"]), f'{esc(d["manager"])} \u2192 {esc(d["coworker"])}', esc(d["kind"]), esc(_utc(d["at"])),
             esc(d["request"])] for d in data.delegations]
    return _table("delegations", "Delegations", ["task", "who", "kind", "at", "request"], rows)


def render_tool_calls(data: RunData) -> str:
    rows = [[esc(c["task"]), esc(c["agent"]), esc(c["tool"]), f'<code>{esc(clip(c["arguments"] or "", 600))}</code>',
             esc(c["result_chars"] if c["result_chars"] is not None else "-"),
             esc(fmt_seconds(between(c["at"], c["finished_at"]))), esc(c["error"] or "")] for c in data.tool_calls]
    return _table("tool-calls", "Tool calls", ["task", "agent", "tool", "arguments", "result chars", "took", "error"],
                  rows, ["error" if c["error"] else "" for c in data.tool_calls])


def render_approvals(data: RunData) -> str:
    rows = [[esc(a["task"]), esc(a["mode"]), _badge(a["status"]), esc(_utc(a["requested_at"])),
             esc(_utc(a["decided_at"])), esc(a["reason"] or "") + _reviewed(a["content"])] for a in data.approvals]
    return _table("approvals", "Approvals", ["task", "gate", "status", "requested", "decided", "reason"], rows)


def _reviewed(content: str | None) -> str:
    return f"<details><summary>what was reviewed</summary><pre>{esc(content)}</pre></details>" if content else ""


def render_events(data: RunData) -> str:
    rows = [[f'<code>{esc(e["kind"])}</code>', esc(_utc(e["at"])), _detail(parse_json(e["detail"]))]
            for e in data.events]
    return _table("model-events", "Model events (retries, fallbacks) and run events", ["kind", "at", "detail"], rows)


def _detail(value: Any) -> str:
    """Short details on one line, long ones as pretty JSON."""
    line = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return f"<code>{esc(line)}</code>" if len(line) <= 120 else f"<pre>{esc(pretty(value))}</pre>"


# --- the page ------------------------------------------------------------------------------------

# Sets data-* attributes on <html> saying what the browser laid out, so a headless browser test can read them.
SCRIPT = """(function () {
  var root = document.documentElement;
  function size(id) {
    var box = document.getElementById(id).getBoundingClientRect();
    return Math.round(box.width) + "x" + Math.round(box.height);
  }
  root.setAttribute("data-graph-size", size("crew-graph"));
  root.setAttribute("data-timeline-size", size("timeline"));
  root.setAttribute("data-graph-nodes", document.querySelectorAll("#crew-graph .node").length);
  root.setAttribute("data-timeline-lanes", document.querySelectorAll("#timeline .lane").length);
})();"""

CSS = """
:root { --ink:#1f2933; --muted:#6b7785; --line:#d9dee4; --bg:#f5f7f9; --card:#fff; --accent:#2563eb;
  --agent:#e8f0fe; --agent-line:#2563eb; --manager:#f3e8ff; --manager-line:#7c3aed; --task:#fff;
  --did:#64748b; --context:#059669; --delegation:#ea580c; --model:#2563eb; --tool:#0d9488; --error:#dc2626; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
section, header { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 18px 22px; margin-bottom: 18px; }
h1 { margin: 0 0 12px; font-size: 26px; }
h2 { margin: 0 0 10px; font-size: 18px; }
h3 { margin: 14px 0 6px; font-size: 15px; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size: 12.5px; }
pre { white-space: pre-wrap; word-break: break-word; background: #f8fafc; border: 1px solid var(--line);
  border-radius: 6px; padding: 10px 12px; margin: 6px 0; max-height: 480px; overflow: auto; }
.eyebrow { margin: 0; color: var(--muted); text-transform: uppercase; letter-spacing: .08em; font-size: 12px; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 10px 24px; margin: 0; }
.facts dt { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .05em; }
.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.facts .wide { grid-column: span 2; }
.inputs ul { margin: 0; padding-left: 18px; }
.note, .muted { color: var(--muted); }
.note { margin: 0 0 10px; }
.run-error { color: var(--error); background: #fef2f2; border-color: #fecaca; margin-top: 12px; }
.task-error { color: var(--error); font-weight: 600; white-space: pre-wrap; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600;
  background: #e5e7eb; color: #374151; vertical-align: middle; }
.badge.status-completed, .badge.status-approved { background: #dcfce7; color: #166534; }
.badge.status-failed, .badge.status-rejected, .badge.status-interrupted { background: #fee2e2; color: #991b1b; }
.badge.status-running, .badge.status-awaiting_approval, .badge.status-pending, .badge.status-stopped {
  background: #fef3c7; color: #92400e; }
.scroll { overflow-x: auto; }
#crew-graph, #timeline { display: block; max-width: 100%; height: auto; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
.node rect { stroke-width: 1.5; }
.node.task rect { fill: var(--task); stroke: #94a3b8; }
.node.task.status-completed rect { stroke: #16a34a; }
.node.task.status-failed rect, .node.task.status-interrupted rect { stroke: var(--error); fill: #fef2f2; }
.node.task.status-not-run rect { stroke-dasharray: 4 3; }
.node.agent rect { fill: var(--agent); stroke: var(--agent-line); }
.node.agent.manager rect { fill: var(--manager); stroke: var(--manager-line); stroke-width: 2; }
.node-title { font-size: 13px; font-weight: 600; fill: var(--ink); }
.node-sub { font-size: 11.5px; fill: var(--muted); }
.edge path { fill: none; stroke-width: 1.6; }
.edge.did path { stroke: var(--did); }
.edge.did.planned path { stroke-dasharray: 3 4; }
.edge.context path { stroke: var(--context); stroke-dasharray: 6 4; }
.edge.delegation path { stroke: var(--delegation); stroke-width: 2.4; }
.edge-label { font-size: 11px; fill: var(--delegation); font-weight: 600; paint-order: stroke;
  stroke: #fff; stroke-width: 4px; }
.arrow.did path { fill: var(--did); } .arrow.context path { fill: var(--context); }
.arrow.delegation path { fill: var(--delegation); }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 6px 22px; padding: 0; margin: 10px 0 0;
  color: var(--muted); font-size: 12.5px; }
.swatch { display: inline-block; width: 26px; height: 0; vertical-align: middle; margin-right: 6px;
  border-top: 2px solid; }
.swatch.did { border-color: var(--did); } .swatch.context { border-top: 2px dashed var(--context); }
.swatch.delegation { border-top: 3px solid var(--delegation); }
.swatch.span-task { height: 12px; border: 1px solid #16a34a; background: #dcfce7; border-radius: 3px; }
.swatch.span-managed { height: 12px; border: 1px dashed var(--manager-line); background: #faf5ff; border-radius: 3px; }
.swatch.mark-model { width: 12px; height: 12px; border: 0; background: var(--model); }
.swatch.mark-tool { width: 12px; height: 12px; border: 0; background: var(--tool); }
.swatch.mark-delegation { width: 10px; height: 10px; border: 0; background: var(--delegation);
  transform: rotate(45deg); }
.swatch.mark-event { border-top: 2px dotted #a855f7; }
.swatch.mark-error { width: 12px; height: 12px; border: 0; background: var(--error); }
.lane-bg { fill: #fff; } .lane.odd .lane-bg { fill: #f8fafc; }
.lane-title { font-size: 13px; font-weight: 600; fill: var(--ink); }
.lane-sub { font-size: 11px; fill: var(--muted); }
.span.task rect { fill: #dcfce7; stroke: #16a34a; }
.span.task.error rect { fill: #fee2e2; stroke: var(--error); }
.span-label { font-size: 11.5px; fill: #14532d; font-weight: 600; }
.span.managed rect { fill: #faf5ff; stroke: var(--manager-line); stroke-dasharray: 4 3; }
.span.managed .span-label { fill: #6b21a8; font-weight: 500; }
.mark.model rect { fill: var(--model); } .mark.tool rect { fill: var(--tool); }
.mark.error rect { fill: var(--error); }
.mark.delegation path { fill: var(--delegation); }
.mark.delegation .link { stroke: var(--delegation); stroke-dasharray: 3 3; stroke-width: 1.3; }
#tl-arrow path { fill: var(--delegation); }
.mark.event line { stroke: #a855f7; stroke-width: 1.5; stroke-dasharray: 2 3; }
.mark.event.error line { stroke: var(--error); }
.axis line { stroke: #94a3b8; } .axis .grid { stroke: #e2e8f0; }
.tick { font-size: 11px; fill: var(--muted); }
.gap rect { fill: #f1f5f9; stroke: #cbd5e1; stroke-dasharray: 4 3; }
.empty { fill: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td:last-child { max-width: 520px; overflow-wrap: anywhere; }
#delegations td:nth-child(2), #delegations td:nth-child(4) { white-space: nowrap; }
tr.total th, tr.total td { font-weight: 700; border-top: 2px solid var(--ink); border-bottom: 0; }
tr.error td { color: var(--error); }
.usage h3 { margin-top: 4px; } .usage + .usage { margin-top: 18px; }
.usage-table td.muted { width: 40%; }
.task-output { border-top: 1px solid var(--line); padding-top: 6px; margin-top: 10px; }
.task-output:first-of-type { border-top: 0; margin-top: 0; }
.task-output h3 { margin-bottom: 0; } .meta { margin: 2px 0 6px; color: var(--muted); }
.errors { padding-left: 18px; } .errors pre { color: var(--error); }
details summary { cursor: pointer; color: var(--accent); margin-top: 4px; }
footer { color: var(--muted); font-size: 12px; text-align: center; }
"""


def render_page(data: RunData) -> str:
    graph = build_graph(data)
    lanes = [n.key for n in graph.managers + graph.agents]
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    policy = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; img-src data:"
    managers = [n.key for n in graph.managers]
    sections = [render_header(data), render_graph(graph, data.crew_note), render_timeline(data, lanes, managers),
                render_usage(data, lanes), render_outputs(data), render_errors(data), render_delegations(data),
                render_tool_calls(data), render_approvals(data), render_events(data)]
    title = f"{data.run['crew']} \u00b7 run {data.run['id']}"
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body><main>\n"
            + "\n".join(s for s in sections if s)
            + f'\n<footer>written by rolecall report at {esc(_utc(datetime.now(timezone.utc).isoformat()))}</footer>'
            f"</main><script>{SCRIPT}</script></body></html>\n")
    return _redacted(page, data.redactor)


def _redacted(page: str, redactor: Redactor) -> str:
    """Secret values, raw or as escaped in the page, become ``[redacted:NAME]``."""
    secrets = {**{esc(s): n for s, n in redactor.secrets.items()}, **redactor.secrets}
    return Redactor(secrets).text(page)
