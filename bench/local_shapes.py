#!/usr/bin/env python3
"""Do the shipped crews keep their shape on the embedded local model?

    .venv/bin/python bench/local_shapes.py [--crews research_report trip_planner ...]

Runs each crew in crews/ with its default inputs on the `local` profile, every approval gate
approved (what `main.py run NAME --llm local --approve-all` does; in one process here, so the
model loads once), and prints from the run store:
  1. the share of tasks done by the intended agent (goal >= 95%): a sequential task's bound
     agent; a hierarchical task's bound agent, or for an unbound task the agent the crew means
     (INTENDED below); a hierarchical task counts when every delegation of it went to that
     agent and there was at least one;
  2. the share of tool-holding agents that worked in the run and called one of their own
     tools, delegation tools not counted (goal >= 95%);
  3. the wall time of research_report (goal <= 15 s) and research_report_managed (goal <= 45 s).
It measures, it does not assert. llama.cpp slows down several times when anything else wants a
core, so the CPU other processes used during each run is printed next to its time.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rolecall.delegation import ASK_TOOL, DELEGATE_TOOL  # noqa: E402
from rolecall.environment import quiet_crewai  # noqa: E402
from rolecall.project import Project  # noqa: E402

quiet_crewai()

DELEGATION_TOOLS = {DELEGATE_TOOL, ASK_TOOL}
GOALS = {"research_report": 15.0, "research_report_managed": 45.0}

# Unbound tasks of the shipped hierarchical crews, read off each task's text: the description
# names the specialist it is for ("Have the Flight Agent ..."), or, for the two routers, the rule
# that sends the crew's default input (a double charge; a Python function) to one specialist.
INTENDED = {
    "research_report_managed": {"research_task": "researcher", "reporting_task": "reporting_analyst"},
    "trip_planner": {"flight_task": "flight_agent", "hotel_task": "hotel_agent",
                     "itinerary_task": "itinerary_writer"},
    "support_desk": {"handle_message": "billing_specialist"},
    "task_router": {"route_request": "developer_agent"},
}


@dataclass
class Shape:
    """One run's tally: tasks on target and tool agents that used a tool, with the misses named."""

    tasks: int = 0
    on_target: int = 0
    tool_agents: int = 0
    used_tools: int = 0
    seconds: float = 0.0
    others: float = 0.0  # cores' worth of other processes' work during the run
    misses: list[str] | None = None
    calls: list[str] | None = None  # per model call, for the timed crews


class CpuOthers:
    """CPU time other processes used between start() and stop(), in cores (Linux /proc)."""

    def start(self) -> None:
        self._begin = self._sample()

    def stop(self) -> float:
        end = self._sample()
        if self._begin is None or end is None:
            return float("nan")
        total, idle, ours = (b - a for a, b in zip(self._begin, end, strict=True))
        cores = os.cpu_count() or 1
        return max(0.0, total - idle - ours) / max(total, 1) * cores

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                ticks = [int(v) for v in stat.readline().split()[1:9]]
        except OSError:
            return None
        own = os.times()
        return sum(ticks), ticks[3] + ticks[4], (own.user + own.system) * os.sysconf("SC_CLK_TCK")


def measure(project: Project, name: str) -> Shape:
    from rolecall.api import load_crew, run
    crew = load_crew(name, project)
    watch = CpuOthers()
    watch.start()
    started = time.perf_counter()
    result = run(crew, llm="local", approve_all=True, project=project)
    shape = Shape(seconds=time.perf_counter() - started, others=watch.stop(), misses=[],
                  calls=[f"{c.agent}/{c.task}: {c.prompt_tokens} prompt + {c.completion_tokens} tokens in "
                         f"{(c.latency_ms or 0) / 1000:.1f}s" for c in result.model_calls])
    assert shape.misses is not None
    if not result.ok:
        shape.misses.append(f"run {result.status}: {result.error}")
    for task in result.tasks:
        intended = crew.tasks[task.key].agent or INTENDED.get(name, {}).get(task.key)
        sent = [d.coworker for d in result.delegations if d.task == task.key and d.kind == "delegate"]
        if crew.hierarchical:
            hit = bool(sent) and set(sent) == {intended}
        else:
            hit = task.agent == intended
        hit = hit and str(task.status) == "completed"
        shape.tasks += 1
        shape.on_target += hit
        if not hit:
            shape.misses.append(f"{task.key}: meant for {intended}, {task.status}, delegated to {sent or 'nobody'}"
                                f", done by {task.agent}")
    worked = {t.agent for t in result.tasks} | {d.coworker for d in result.delegations}
    for key, agent in crew.agents.items():
        if not agent.tools or key not in worked:
            continue
        used = [c.tool for c in result.tool_calls if c.agent == key and c.tool not in DELEGATION_TOOLS]
        shape.tool_agents += 1
        shape.used_tools += bool(used)
        if not used:
            shape.misses.append(f"{key} holds {[t.name for t in agent.tools]} and called none")
    return shape


def share(part: int, whole: int) -> str:
    return f"{part}/{whole} = {100 * part / whole:.0f}%" if whole else "n/a"


def tally(shapes: list[Shape], part: str, whole: str) -> str:
    return share(sum(getattr(s, part) for s in shapes), sum(getattr(s, whole) for s in shapes))


def main() -> int:
    from rolecall.discover import discover
    from rolecall.llm.local import local_llm
    from rolecall.llm.profiles import load_config
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crews", nargs="*", help="crew names (default: every crew in crews/)")
    args = parser.parse_args()
    project = Project(ROOT)
    names = args.crews or sorted(discover(project)[0])
    one, five, _ = os.getloadavg()
    started = time.perf_counter()
    local_llm("local", load_config(project.config_dir).profiles["local"], root=ROOT).engine  # noqa: B018 - loads it
    print(f"{os.cpu_count()} cores, load {one:.1f}/{five:.1f}; model loaded in {time.perf_counter() - started:.1f}s")
    shapes: dict[str, Shape] = {}
    with tempfile.TemporaryDirectory() as runs:
        project = Project(ROOT, runs=Path(runs))
        for name in names:
            shape = shapes[name] = measure(project, name)
            goal = f", goal <= {GOALS[name]:.0f}s" if name in GOALS else ""
            print(f"{name:26} {shape.seconds:6.1f}s (others used {shape.others:.2f} cores{goal})  "
                  f"tasks on target {share(shape.on_target, shape.tasks)}, "
                  f"tool agents that used a tool {share(shape.used_tools, shape.tool_agents)}")
            for miss in shape.misses or []:
                print(f"    {miss}")
            if name in GOALS:  # where the time goes
                for call in shape.calls or []:
                    print(f"      call {call}")
    every, managed = list(shapes.values()), [s for n, s in shapes.items() if n in INTENDED]
    print(f"tasks done by the intended agent: {tally(every, 'on_target', 'tasks')} "
          f"(hierarchical crews only: {tally(managed, 'on_target', 'tasks')}; goal >= 95%)")
    print(f"tool-holding agents that used a tool: {tally(every, 'used_tools', 'tool_agents')} (goal >= 95%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
