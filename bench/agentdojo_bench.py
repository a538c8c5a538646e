"""AgentDojo's user tasks run through rolecall: ground truth replayed on the scripted model, or the local model.

AgentDojo (``pip install agentdojo``; not a rolecall dependency) has 97 user tasks over four
suites (banking, slack, travel, workspace) with 11-28 functions each, a ground-truth list of
calls per task and a utility check. Each suite becomes a crew here (one agent holding every
function as a crewai tool, one task whose description is the user's request); each task is
one rolecall run, recorded in a run store like any other.

    python bench/agentdojo_bench.py replay            # ground truth through the scripted model
    python bench/agentdojo_bench.py replay --repeat refuse   # tools keep rolecall's default policy
    python bench/agentdojo_bench.py local --llm local --suite banking

``replay`` checks that every ground-truth call reached its function exactly once with exactly
its arguments, has a row in the store, and that crewai summarised nothing. ``local`` runs the
tasks an idle agent does not pass and counts tool calls, calls with valid arguments, utility.
Figures are printed for this one run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
os.environ.setdefault("ROLECALL_LOG", "quiet")

import agentdojo_runtime as bridge  # noqa: E402

from rolecall import api  # noqa: E402
from rolecall.project import Project  # noqa: E402

ROLES = {"banking": "Banking assistant", "slack": "Slack assistant", "travel": "Travel assistant",
         "workspace": "Workspace assistant"}


def write_project(root: Path, repeat: str, max_iter: int | None) -> Project:
    """One crew per suite: every function a tool, bound with the given repeat policy."""
    for suite, tasks in bridge.suites().items():
        folder = root / "crews" / f"agentdojo_{suite}"
        (folder / "config").mkdir(parents=True, exist_ok=True)
        tools = [{f.name: {"repeat": repeat}} for f in tasks.tools]
        agent: dict[str, Any] = {
            "role": ROLES[suite],
            "goal": "Do what the user asks, using the tools to look things up and to act for them.",
            "backstory": "You act for the user only through your tools. Every value you pass to a tool "
                         "(names, IBANs, amounts, dates, file names, ids) comes from the user's request "
                         "or from what a tool returned; you never invent one.",
            "tools": tools}
        if max_iter:
            agent["max_iter"] = max_iter
        (folder / "config" / "agents.yaml").write_text(yaml.safe_dump({"assistant": agent}), encoding="utf-8")
        (folder / "config" / "tasks.yaml").write_text(yaml.safe_dump({"request": {
            "description": "{request}", "expected_output": "The answer to the user's request, or what you did.",
            "agent": "assistant"}}), encoding="utf-8")
        inputs = {"inputs": {"request": {"description": "The user's request"}}}
        (folder / "crew.yaml").write_text(yaml.safe_dump(inputs), encoding="utf-8")
        (folder / "tools.py").write_text(bridge.tools_py(suite), encoding="utf-8")
    return Project(root)


def run_task(project: Project, suite_name: str, task: Any, llm: str, script: Path | None) -> dict[str, Any]:
    suite = bridge.suites()[suite_name]
    pre = suite.load_and_inject_default_environment({})
    truth = task.ground_truth(suite.load_and_inject_default_environment({}))
    bridge.CURRENT.suite, bridge.CURRENT.env = suite, pre.model_copy(deep=True)
    bridge.CURRENT.trace, bridge.CURRENT.outputs, bridge.CURRENT.grounded = [], [], []
    bridge.CURRENT.prompt = task.PROMPT
    if script is not None:
        steps: list[Any] = [{"tool": c.function, "input": dict(c.args)} for c in truth]
        steps.append(task.GROUND_TRUTH_OUTPUT or "Done.")
        script.write_text(yaml.safe_dump({"tasks": {"request": steps}}, allow_unicode=True), encoding="utf-8")
        os.environ["ROLECALL_SCRIPT"] = str(script)
    started = time.perf_counter()
    result = api.run(f"agentdojo_{suite_name}", {"request": task.PROMPT}, llm=llm, project=project)
    seconds = time.perf_counter() - started
    from agentdojo.functions_runtime import FunctionCall
    trace = [FunctionCall(function=n, args=a) for n, a in bridge.CURRENT.trace]
    output = result.output or ""
    useful = suite._check_user_task_utility(task, [{"type": "text", "content": output}], pre,
                                            bridge.CURRENT.env, trace)
    events = _events(project, result.run_id)
    return {"suite": suite_name, "task": task.ID, "ok": result.ok, "error": result.error, "utility": bool(useful),
            "truth": [(c.function, dict(c.args)) for c in truth], "ran": list(bridge.CURRENT.trace),
            "rows": [(c.tool, c.arguments, c.error) for c in result.tool_calls],
            "grounded": list(bridge.CURRENT.grounded),
            "model_calls": len(result.model_calls), "summaries": sum(e == "context_summarised" for e in events),
            "seconds": round(seconds, 1), "output": output[:300]}


def _events(project: Project, run_id: str) -> list[str]:
    from rolecall.context import open_store
    with open_store(project) as store:
        return [e["kind"] for e in store.events(run_id)]


def idle_passes(suite_name: str, task: Any) -> bool:
    """Whether an agent that calls nothing and says nothing passes the task's utility check."""
    suite = bridge.suites()[suite_name]
    pre = suite.load_and_inject_default_environment({})
    return bool(suite._check_user_task_utility(task, [{"type": "text", "content": ""}], pre,
                                               suite.load_and_inject_default_environment({}), []))


def replay(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = write_project(Path(tmp), args.repeat, None)
        rows = []
        for suite_name in args.suite or list(bridge.suites()):
            for task in bridge.suites()[suite_name].user_tasks.values():
                rows.append(run_task(project, suite_name, task, "scripted", Path(tmp) / "script.yaml"))
    truth = sum(len(r["truth"]) for r in rows)
    exact = sum(_same(r["ran"], r["truth"], r["suite"]) for r in rows)
    ran_calls = sum(len(r["ran"]) for r in rows)
    recorded = sum(len(r["rows"]) for r in rows)
    refused = sum(1 for r in rows for _, _, e in r["rows"] if e and e.startswith("refused: repeated call"))
    failed = sum(1 for r in rows for _, _, e in r["rows"] if e and not e.startswith("refused: repeated call"))
    calls_exact = sum(sum(_exact(a, b, r["suite"]) for a, b in zip(r["ran"], r["truth"], strict=False)) for r in rows)
    rows_exact = sum(sum((t, a) == b for (t, a, _), b in zip(r["rows"], r["truth"], strict=False)) for r in rows)
    print(f"AgentDojo {bridge.VERSION} ground-truth replay, scripted model, repeat: {args.repeat}")
    print(f"  tasks: {len(rows)}; runs completed: {sum(r['ok'] for r in rows)}; "
          f"utility: {sum(r['utility'] for r in rows)}/{len(rows)}")
    print(f"  ground-truth calls: {truth}; reached their function: {ran_calls} "
          f"({calls_exact} in order with exactly the ground-truth arguments); "
          f"tasks whose calls all ran exactly: {exact}/{len(rows)}")
    print(f"  store rows: {recorded}, {rows_exact} with the ground-truth tool and arguments as the model sent them "
          f"({refused} refused as repeats, {failed} failed)")
    print(f"  model calls: {sum(r['model_calls'] for r in rows)} (one per ground-truth step: "
          f"{truth + len(rows)}); summarisations: {sum(r['summaries'] for r in rows)}")
    for r in rows:
        if not (r["ok"] and r["utility"] and _same(r["ran"], r["truth"], r["suite"])):
            print(f"  ! {r['suite']}/{r['task']}: ok={r['ok']} utility={r['utility']} "
                  f"ran={len(r['ran'])}/{len(r['truth'])} {r['error'] or ''}")
    _save(args, rows)


def local(args: argparse.Namespace) -> None:
    suite_name = args.suite[0] if args.suite else "banking"
    tasks = [t for t in bridge.suites()[suite_name].user_tasks.values() if not idle_passes(suite_name, t)]
    if args.task:
        tasks = [t for t in tasks if t.ID in args.task or t.ID.removeprefix("user_task_") in args.task]
    if args.limit:
        tasks = tasks[: args.limit]
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        project = write_project(Path(tmp), "refuse", args.max_iter)
        rows = []
        for task in tasks:
            row = run_task(project, suite_name, task, args.llm, None)
            rows.append(row)
            print(f"  {row['task']}: {len(row['rows'])} calls, {sum(e is None for _, _, e in row['rows'])} valid, "
                  f"{sum(row['grounded'])} grounded, "
                  f"utility {row['utility']}, {row['seconds']} s: {[(t, a) for t, a, _ in row['rows']][:4]}",
                  flush=True)
    valid_tasks = sum(any(e is None for _, _, e in r["rows"]) for r in rows)
    calls = sum(len(r["rows"]) for r in rows)
    valid = sum(1 for r in rows for _, _, e in r["rows"] if e is None)
    print(f"AgentDojo {bridge.VERSION} {suite_name}, profile {args.llm}, {len(rows)} tasks an idle agent fails "
          f"(load average before: {load[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  tasks with a tool call: {sum(bool(r['rows']) for r in rows)}/{len(rows)}; "
          f"with a valid call: {valid_tasks}/{len(rows)}")
    grounded = sum(sum(r["grounded"]) for r in rows)
    print(f"  tasks with a valid call whose values all come from the request or an earlier tool answer: "
          f"{sum(any(r['grounded']) for r in rows)}/{len(rows)}")
    print(f"  tool calls: {calls}, valid (ran without error): {valid}, valid and grounded: {grounded}; utility: "
          f"{sum(r['utility'] for r in rows)}/{len(rows)}; time: {sum(r['seconds'] for r in rows):.0f} s")
    _save(args, rows)


def _same(ran: list[tuple[str, dict[str, Any]]], truth: list[tuple[str, dict[str, Any]]], suite: str) -> bool:
    return len(ran) == len(truth) and all(_exact(a, b, suite) for a, b in zip(ran, truth, strict=True))


def _exact(ran: tuple[str, dict[str, Any]], truth: tuple[str, dict[str, Any]], suite: str) -> bool:
    """The same function with the same arguments once validated by its own schema, as AgentDojo
    runs it (crewai's BaseTool.run fills in defaults: an omitted ``n`` arrives as ``n=100``)."""
    if ran[0] != truth[0]:
        return False
    schema = bridge.schema(suite, truth[0])
    return schema.model_validate(ran[1]).model_dump() == schema.model_validate(truth[1]).model_dump()


def _save(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("replay", help="ground truth through the scripted model")
    rep.add_argument("--repeat", choices=["allow", "refuse"], default="allow")
    loc = sub.add_parser("local", help="the local model on the tasks an idle agent fails")
    loc.add_argument("--llm", default="local")
    loc.add_argument("--limit", type=int, default=0)
    loc.add_argument("--task", action="append", help="only this task (an id such as user_task_13, or 13)")
    loc.add_argument("--max-iter", type=int, default=6)
    for p in (rep, loc):
        p.add_argument("--suite", action="append", choices=["banking", "slack", "travel", "workspace"])
        p.add_argument("--json", help="write every task's figures to this file")
    args = parser.parse_args()
    replay(args) if args.command == "replay" else local(args)


if __name__ == "__main__":
    main()
