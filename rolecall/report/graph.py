"""The crew as a graph: tasks, agents and managers in three columns, and the edges between them.

Everything here is geometry (positions, path ``d`` strings, clipped text); the
``graph.html.j2`` template turns it into SVG.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..format import between, clip, seconds
from .data import RunData

NODE_W, NODE_H, ROW_GAP = 270, 50, 78
TASK_X, AGENT_X, MANAGER_X, TOP = 80, 420, 840, 24
MARGIN, ARROW, LABEL_CHAR_W = 12, 7, 6.6  # px: around the picture, an arrowhead, a label character at 11 px
TITLE_CHARS = int((NODE_W - 24) / 7.5)  # about 7.5 px a character at 13 px
DOT = " \u00b7 "


@dataclass
class Node:
    key: str
    kind: str  # "task" | "agent"
    title: str
    subtitle: str
    classes: list[str] = field(default_factory=list)
    x: float = 0
    y: float = 0
    width: int = NODE_W
    height: int = NODE_H

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.key}"

    @property
    def css_class(self) -> str:
        return " ".join(self.classes)

    @property
    def title_line(self) -> str:
        return clip(self.title, TITLE_CHARS)

    @property
    def subtitle_line(self) -> str:
        return clip(self.subtitle, TITLE_CHARS + 4)  # the subtitle's font is smaller

    @property
    def text_x(self) -> float:
        return self.x + 12

    @property
    def title_y(self) -> float:
        return self.y + 21

    @property
    def subtitle_y(self) -> float:
        return self.y + 39


@dataclass
class Edge:
    source: str  # node id
    target: str
    kind: str  # "did" | "context" | "delegation"
    label: str = ""
    tooltip: str = ""
    planned: bool = False  # a task -> agent binding from the definition; the task did not run
    d: str = ""  # the SVG path, set by the layout
    label_x: float = 0
    label_y: float = 0
    right: float = 0  # how far the drawn curve and its label reach, for the picture's size
    bottom: float = 0

    @property
    def css_class(self) -> str:
        return f"edge {self.kind}" + (" planned" if self.planned else "")


@dataclass
class Graph:
    tasks: list[Node]
    agents: list[Node]  # workers and other agents
    managers: list[Node]
    edges: list[Edge]  # after the layout: only those between drawn nodes, each with its path

    @property
    def nodes(self) -> list[Node]:
        return self.tasks + self.agents + self.managers

    @property
    def rows(self) -> int:
        return max(len(self.tasks), len(self.agents), len(self.managers), 1)

    @property
    def width(self) -> int:
        # arcs between agents of one column bulge to the right of it: the picture must hold them
        columns = (MANAGER_X if self.managers else AGENT_X) + NODE_W + 20
        return math.ceil(max([columns, *(e.right + MARGIN for e in self.edges)]))

    @property
    def height(self) -> int:
        rows = TOP * 2 + (self.rows - 1) * ROW_GAP + NODE_H
        return math.ceil(max([rows, *(e.bottom + MARGIN for e in self.edges)]))

    @property
    def lanes(self) -> list[str]:
        """Agent keys, managers first: the timeline's and the usage table's order."""
        return [n.key for n in self.managers + self.agents]


def build_graph(data: RunData) -> Graph:
    task_keys = ordered(list(data.crew.tasks) if data.crew else [], [t["key"] for t in data.tasks])
    managers = ordered([data.crew.manager_agent] if data.crew and data.crew.manager_agent else [],
                       [d["manager"] for d in data.delegations if is_manager(data, d["manager"])])
    agents = ordered(list(data.crew.agents) if data.crew else [],
                     [t["agent"] for t in data.tasks if t["agent"]]
                     + [c["agent"] for c in data.model_calls if c["agent"]]
                     + [d["coworker"] for d in data.delegations] + [d["manager"] for d in data.delegations])
    agents = sorted((a for a in agents if a not in managers), key=lambda a: _first_task(data, a, task_keys))
    graph = Graph([_task_node(data, key) for key in task_keys], [_agent_node(data, key) for key in agents],
                  [_agent_node(data, key, manager=True) for key in managers],
                  _did_edges(data, task_keys) + _context_edges(data, task_keys) + _delegation_edges(data))
    _layout(graph)
    _route(graph)
    return graph


def ordered(first: list[str], more: Iterable[str | None]) -> list[str]:
    """``first``, then each new non-empty key of ``more``, in order and without repeats."""
    seen = list(dict.fromkeys(first))
    for key in more:
        if key and key not in seen:
            seen.append(key)
    return seen


def is_manager(data: RunData, agent: str) -> bool:
    """The crew's manager (its own agent or crewai's built-in one), or, without a definition,
    a delegating agent that did no task of its own."""
    if data.crew:
        return agent == data.crew.manager_agent or (data.crew.hierarchical and agent not in data.crew.agents)
    return not any(t["agent"] == agent for t in data.tasks)


def _first_task(data: RunData, agent: str, task_keys: list[str]) -> int:
    """Position of the first task an agent did (or is bound to): workers line up with their tasks."""
    done = [t["key"] for t in data.tasks if t["agent"] == agent]
    bound = [k for k, t in data.crew.tasks.items() if t.agent == agent] if data.crew else []
    return min((task_keys.index(k) for k in done + bound if k in task_keys), default=len(task_keys))


def _task_node(data: RunData, key: str) -> Node:
    row = data.task(key)
    status = row["status"] if row else "not run"
    took = between(row["started_at"], row["finished_at"]) if row else None
    subtitle = status + (DOT + seconds(took) if took is not None else "")
    return Node(key, "task", key, subtitle, ["node", "task", f"status-{status.replace(' ', '-')}"])


def _agent_node(data: RunData, key: str, manager: bool = False) -> Node:
    role = data.role(key) or key
    tools = [t.name for t in data.crew.agents[key].tools] if data.crew and key in data.crew.agents else []
    formal = bool(manager and data.crew and data.crew.hierarchical)
    subtitle = ("manager" + DOT if formal else "delegates" + DOT if manager else "") + key
    subtitle += f"{DOT}tools: {', '.join(tools)}" if tools else ""
    return Node(key, "agent", role, subtitle, ["node", "agent"] + (["manager"] if manager else []))


def _did_edges(data: RunData, task_keys: list[str]) -> list[Edge]:
    edges = []
    for key in task_keys:
        row = data.task(key)
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


# --- geometry ----------------------------------------------------------------------------------

def _layout(graph: Graph) -> None:
    """Three columns (tasks, agents, managers), each centred on the tallest."""
    def column(nodes: list[Node], x: float) -> None:
        offset = TOP + (graph.rows - len(nodes)) * ROW_GAP / 2
        for i, node in enumerate(nodes):
            node.x, node.y = x, offset + i * ROW_GAP

    column(graph.tasks, TASK_X)
    column(graph.agents, AGENT_X)
    column(graph.managers, MANAGER_X)


def _route(graph: Graph) -> None:
    """A path for every edge between drawn nodes; repeated pairs (two delegations) fan out."""
    nodes = {n.id: n for n in graph.nodes}
    pair_count: dict[tuple[str, str], int] = {}
    drawn = []
    for edge in graph.edges:
        if edge.source in nodes and edge.target in nodes:
            nth = pair_count.get((edge.source, edge.target), 0)
            pair_count[(edge.source, edge.target)] = nth + 1
            edge.d, (edge.label_x, edge.label_y), points = _path(edge, nodes[edge.source], nodes[edge.target], nth)
            half_label = len(edge.label) * LABEL_CHAR_W / 2
            edge.right = max([*_curve_xs(points), edge.label_x + half_label if edge.label else 0.0])
            edge.bottom = max(_curve_ys(points)) + ARROW
            drawn.append(edge)
    graph.edges = drawn


Point = tuple[float, float]
Route = tuple[str, Point, list[Point]]  # the SVG path, where its label goes, the curve's control points


def _sample(points: list[Point], steps: int = 24) -> list[Point]:
    """Points on the cubic Bezier curve ``points`` (start, two controls, end)."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points
    out = []
    for i in range(steps + 1):
        t = i / steps
        a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3
        out.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return out


def _curve_xs(points: list[Point]) -> list[float]:
    return [x + ARROW for x, _ in _sample(points)]


def _curve_ys(points: list[Point]) -> list[float]:
    return [y for _, y in _sample(points)]


def _path(edge: Edge, a: Node, b: Node, nth: int) -> Route:
    """The edge's path, where its label goes, and the curve's control points."""
    if a.kind == b.kind == "task":  # context: an arc on the left of the task column
        rows = round(abs(b.y - a.y) / ROW_GAP)  # longer links bulge further, up to the margin
        return _arc(a.x, a.y, b.y, -min(24 + 12 * (rows - 1), 90))
    if a.x == b.x:  # agent to agent in one column: an arc on the right
        return _arc(a.x + NODE_W, a.y, b.y, 40 + 24 * nth)
    return _across(a, b, nth, spread=edge.kind == "delegation")


def _arc(x: float, top_a: float, top_b: float, bulge: float) -> Route:
    """A curve leaving and re-entering one side (x) of a column, bulging sideways by ``bulge``.

    It leaves a little above the middle of a node and arrives a little below, so links in and out stay apart.
    """
    y1, y2, bx = top_a + NODE_H / 2 - 6, top_b + NODE_H / 2 + 6, x + bulge
    path = f"M{x:.1f},{y1:.1f} C{bx:.1f},{y1:.1f} {bx:.1f},{y2:.1f} {x:.1f},{y2:.1f}"
    return path, (x + bulge * 0.75, (y1 + y2) / 2), [(x, y1), (bx, y1), (bx, y2), (x, y2)]


def _across(a: Node, b: Node, nth: int, spread: bool) -> Route:
    """A curve from a's side facing b to b's side facing a; delegations fan out and stay apart."""
    ax, bx = (a.x + NODE_W, b.x) if a.x < b.x else (a.x, b.x + NODE_W)
    ay, by = a.y + NODE_H / 2, b.y + NODE_H / 2
    if spread:
        ay += max(-16.0, min(16.0, (by - ay) * 0.3)) + nth * 8
        by += nth * 8
    dx = (bx - ax) / 2
    path = f"M{ax:.1f},{ay:.1f} C{ax + dx:.1f},{ay:.1f} {bx - dx:.1f},{by:.1f} {bx:.1f},{by:.1f}"
    label = ((ax + bx) / 2, (ay + by) / 2 - 5 + (nth * 14 if spread else 0))
    return path, label, [(ax, ay), (ax + dx, ay), (bx - dx, by), (bx, by)]
