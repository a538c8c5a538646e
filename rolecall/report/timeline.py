"""The timeline: one lane per agent, task spans, model and tool calls, delegations and events over time.

Long idle stretches (an approval wait, the hours before a resume) are cut out of
the axis and drawn as a gap. Everything here is geometry; ``timeline.html.j2``
turns it into SVG.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from .. import repeats
from ..format import between, clip, cost, seconds, when
from .data import RunData
from .graph import is_manager, ordered

LANE_H, LABEL_W, PLOT_W, AXIS_H, GAP_W = 52, 200, 900, 42, 40
TOP = 10  # above the first lane
WIDTH = LABEL_W + PLOT_W


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
        for (s, e), start in zip(self.segments, self.starts, strict=True):
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


# --- marks from the run store ---------------------------------------------------------------------

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
        took = seconds(between(t["started_at"], t["finished_at"]))
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
               f"tokens, {seconds(latency)}, {cost(c['cost'])}"
               + (f", error: {c['error']}" if c["error"] else ""))
        if end:
            marks.append(Mark(c["agent"] or "?", "model", end - timedelta(seconds=latency), end, "", clip(tip, 400),
                              bool(c["error"])))
    return marks


def _tool_marks(data: RunData) -> list[Mark]:
    marks = []
    for c in data.tool_calls:
        start, end = when(c["at"]), when(c["finished_at"])
        outcome = f"{repeats.outcome(c['error'])}: {c['error']}" if c["error"] else f"{c['result_chars']} chars back"
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
    if data.crew and data.crew.hierarchical and is_manager(data, agent):
        return True
    return any(d["manager"] == agent and d["task"] == task for d in data.delegations)


# --- what is drawn ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lane:
    key: str
    role: str
    y: int
    odd: bool
    width: int = WIDTH
    height: int = LANE_H

    @property
    def title(self) -> str:
        return clip(self.key, 26)

    @property
    def subtitle(self) -> str:
        return clip(self.role if self.role != self.key else "", 30)

    @property
    def title_y(self) -> int:
        return self.y + 23

    @property
    def subtitle_y(self) -> int:
        return self.y + 39


@dataclass(frozen=True)
class Shape:
    """One mark as drawn; ``shape`` picks its macro in the template."""

    shape: ClassVar[str]
    mark: Mark

    @property
    def css_class(self) -> str:
        return f"{self.mark.kind}" + (" error" if self.mark.error else "")


@dataclass(frozen=True)
class EventLine(Shape):
    """A run-wide event: a line across every lane."""

    shape: ClassVar[str] = "event"
    x: float
    top: int
    bottom: int


@dataclass(frozen=True)
class Span(Shape):
    """A task in its agent's lane (or a manager's), labelled when the label fits."""

    shape: ClassVar[str] = "span"
    x: float
    y: int
    width: float
    height: int
    label: str
    label_x: float
    label_y: int
    anchor: str


@dataclass(frozen=True)
class Handoff(Shape):
    """A delegation: a diamond in the manager's lane, and a dotted arrow to the coworker's lane."""

    shape: ClassVar[str] = "handoff"
    d: str
    x: float
    link_from: float | None = None
    link_to: float | None = None


@dataclass(frozen=True)
class Bar(Shape):
    """A model call (above a span's label) or a tool call (below it)."""

    shape: ClassVar[str] = "bar"
    x: float
    y: int
    width: float


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Gap:
    x: float  # where the break is drawn
    seconds: float  # how long the run was idle there
    top: int
    bottom: int

    @property
    def rect_x(self) -> float:
        return self.x + 8

    @property
    def rect_width(self) -> int:
        return GAP_W - 16

    @property
    def rect_height(self) -> float:
        return self.bottom - self.top

    @property
    def label_x(self) -> float:
        return self.x + GAP_W / 2


@dataclass(frozen=True)
class Axis:
    y: int
    top: int
    ticks: list[Tick]
    gaps: list[Gap]
    x1: int = LABEL_W
    x2: int = LABEL_W + PLOT_W - 10
    unit_x: int = LABEL_W - 8

    @property
    def tick_end(self) -> int:
        return self.y + 5

    @property
    def label_y(self) -> int:
        return self.y + 18

    @property
    def gap_label_y(self) -> int:
        return self.y + 32


@dataclass(frozen=True)
class Timeline:
    lanes: list[Lane]
    shapes: list[Shape]
    axis: Axis | None  # None: nothing was recorded
    origin: datetime | None  # the first recorded activity
    setup: float  # seconds from the run's start to its first recorded activity
    width: int = WIDTH

    @property
    def height(self) -> int:
        return TOP + max(len(self.lanes), 1) * LANE_H + AXIS_H

    @property
    def empty_at(self) -> tuple[float, float]:
        return LABEL_W + PLOT_W / 2, TOP + LANE_H / 2


def build_timeline(data: RunData, lanes: list[str], managers: list[str]) -> Timeline:
    """Lanes in ``lanes`` order (then any other agent with marks), each mark placed on a shared time axis."""
    marks = timeline_marks(data, managers)
    origin = min((m.start for m in marks), default=None)
    keys = ordered(lanes, [m.lane for m in marks if m.lane])
    drawn = [Lane(key, data.role(key), TOP + i * LANE_H, i % 2 == 1) for i, key in enumerate(keys)]
    if origin is None:
        return Timeline(drawn, [], None, None, 0.0)
    lane_y = {lane.key: lane.y for lane in drawn}
    scale = TimeScale(marks, origin, LABEL_W + 10, PLOT_W - 30)
    bottom = TOP + len(drawn) * LANE_H
    axis = Axis(bottom, TOP, [Tick(x, label) for x, label in scale.ticks()],
                [Gap(x, idle, TOP, bottom) for x, idle in scale.gaps()])
    shapes = [_shape(m, scale, lane_y) for m in sorted(marks, key=lambda m: m.kind not in ("task", "managed"))
              if m.kind == "event" or m.lane in lane_y]  # spans first: the calls are drawn over them
    started = when(data.run["started_at"]) or origin
    return Timeline(drawn, shapes, axis, origin, max((origin - started).total_seconds(), 0))


def _shape(mark: Mark, scale: TimeScale, lane_y: dict[str, int]) -> Shape:
    x1, x2 = scale.x(mark.start), scale.x(mark.end)
    if mark.kind == "event":
        return EventLine(mark, x1, min(lane_y.values(), default=0), max(lane_y.values(), default=0) + LANE_H)
    y = lane_y[mark.lane]
    if mark.kind in ("task", "managed"):
        return _span(mark, x1, max(x2 - x1, 3), y)
    if mark.kind == "delegation":
        d = f"M{x1:.1f},{y + 16} l6,10 l-6,10 l-6,-10 z"
        if mark.target in lane_y:  # a dotted arrow down (or up) to the coworker's lane
            return Handoff(mark, d, x1, y + LANE_H / 2, lane_y[mark.target] + LANE_H / 2)
        return Handoff(mark, d, x1)
    w = max(x2 - x1, 3)  # model calls above, tool calls below a span's label
    return Bar(mark, x1 - (1.5 if w == 3 else 0), y + 8 if mark.kind == "model" else y + 36, w)


def _span(mark: Mark, x: float, w: float, y: int) -> Span:
    label = mark.label if w > len(mark.label) * 6.6 + 12 else ""
    if mark.kind == "managed":  # the manager's own marks crowd the start of its span
        return Span(mark, x, y + 5, w, LANE_H - 10, label, x + w - 6, y + 30, "end")
    return Span(mark, x, y + 5, w, LANE_H - 10, label, x + 6, y + 30, "start")
