"""``main.py``: argument parsing and printing over the public API (``rolecall.api``).

Exit codes: 0 ok, 1 run failed (``eval``: a pass rate under --min-pass), 2 bad input or config,
3 waiting for approval. Only ``run``, ``resume``, ``approve`` and ``eval`` import crewai (``eval``
after evals.yaml is checked); everything else (``import`` too) stays fast.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cache import checked
from .discover import CrewPackage, discover, find
from .environment import Environment, load_dotenv
from .errors import ConfigError, InputError, RolecallError
from .inputs import InputSpec, bind, parse_pairs
from .problem import Problem, only_errors
from .project import Project

if TYPE_CHECKING:
    from .flow_package import FlowPackage
    from .flow_result import FlowResult
    from .outline import CrewOutline
    from .result import RunResult

# the API (and the run store behind it) loads in the commands that use it: `list` stays fast

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_AWAITING = 0, 1, 2, 3


def main(argv: Sequence[str], project_root: Path | None = None) -> int:
    args = _parser().parse_args(argv)
    project = Project.at(args.project or Environment.current().project or project_root)
    load_dotenv(project.env_file)
    try:
        return int(args.handler(project, args))
    except RolecallError as exc:
        print_problems(exc.problems, project)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # `main.py list | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def print_problems(problems: list[Problem], project: Project) -> None:
    for problem in problems:
        print(problem.render(project.root), file=sys.stderr)
    count = len(only_errors(problems))
    if count:
        print(f"{count} error{'s' if count != 1 else ''}", file=sys.stderr)


# --- commands -----------------------------------------------------------------

def cmd_list(project: Project, args: argparse.Namespace) -> int:
    crews, problems = discover(project)
    if not crews:
        print("no crews yet; create one with: python main.py new NAME")
        return EXIT_OK
    rows = [("NAME", "PROCESS", "AGENTS", "TASKS", "DESCRIPTION")]
    for name, package in crews.items():
        crew = checked(project, package).outline
        if crew is None:
            rows.append((name, "-", "-", "-", f"INVALID: run `python main.py validate {name}`"))
            continue
        rows.append((name, crew.process, str(len(crew.agents)), str(len(crew.tasks)), crew.description))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=False)) + "  " + row[4])
    flows = _flow_rows(project, crews, problems)
    if flows:
        print()
        _print_table([("FLOW", "METHODS", "CREWS", "DESCRIPTION"), *flows])
    print_problems(problems, project)
    return EXIT_OK


def cmd_show(project: Project, args: argparse.Namespace) -> int:
    if _flow_named(project, args.crew):  # a flow as written is its graph, with its state's defaults
        args.input = []
        return _plan_flow(project, args)
    from .describe import show
    crew, warnings = _outline(project, args.crew)
    print(show(crew))
    print_problems(warnings, project)
    return EXIT_OK


def cmd_validate(project: Project, args: argparse.Namespace) -> int:
    crews, problems = discover(project)
    named = {n: _flow_named(project, n, crews) for n in args.crews}
    flows = [f for f in named.values() if f] if args.crews else None
    names = [n for n, flow in named.items() if flow is None]
    packages: list[CrewPackage] = [find(project, name) for name in names] if args.crews else list(crews.values())
    failed = _validate_flows(project, crews, flows, problems)
    for package in packages:
        result = checked(project, package)
        problems += result.problems + result.evals
        ok = result.ok and not only_errors(result.evals)
        failed += not ok
        print(f"{package.name}: {'ok' if ok else 'INVALID'}")
    print_problems(problems, project)
    if failed:
        print(f"{failed} invalid", file=sys.stderr)
    return EXIT_BAD_INPUT if failed else EXIT_OK


def cmd_plan(project: Project, args: argparse.Namespace) -> int:
    if _flow_named(project, args.crew):
        return _plan_flow(project, args)
    from .describe import plan
    crew, warnings = _outline(project, args.crew)
    _, values = _inputs({i.name: i for i in crew.inputs}, args.input)
    print(plan(crew, values))
    print_problems(warnings, project)
    return EXIT_OK


def cmd_run(project: Project, args: argparse.Namespace) -> int:
    from . import api
    if _flow_named(project, args.crew):
        return _run_flow(project, args)
    crew = api.load_crew(args.crew, project, llm=args.llm)
    given, _ = _inputs(crew.inputs, args.input)  # bad inputs are reported before the run starts
    print_problems(crew.warnings, project)
    return _show_result(args, lambda on_event: api.run(
        crew, given, llm=args.llm, max_cost=args.max_cost, approve_all=args.approve_all, on_event=on_event,
        project=project))


def cmd_resume(project: Project, args: argparse.Namespace) -> int:
    from . import api
    return _show_result(args, lambda on_event: api.resume(
        args.run_id, force=args.force, approve_all=args.approve_all, on_event=on_event, project=project))


def cmd_approve(project: Project, args: argparse.Namespace) -> int:
    from . import api
    decision = api.decide(args.run_id, approve=not args.reject, reason=args.reason, task=args.task, project=project)
    print(f"{decision.task}: {decision.status}" + (f" ({args.reason})" if args.reason else ""))
    if decision.ends_run:
        print(f"run {decision.run_id}: rejected")
        return EXIT_FAILED
    return _show_result(args, lambda on_event: api.resume(decision.run_id, force=args.force, on_event=on_event,
                                                          project=project))


def cmd_eval(project: Project, args: argparse.Namespace) -> int:
    from . import api
    from .progress import progress_for
    progress = progress_for()
    try:
        report = api.evaluate(args.crew, llms=args.llm, judge=args.judge, cases=args.case or None,
                              evals=args.file, on_event=progress, project=project)
    finally:
        progress.close()
    print(report.render())
    print(f"results: {report.results_file}\nsummary: {report.summary_file}")
    if args.json:
        print(json.dumps(report.as_dict()))
    if report.meets(args.min_pass):
        return EXIT_OK
    print(f"pass rate under --min-pass {args.min_pass:g}", file=sys.stderr)
    return EXIT_FAILED


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction from 0 to 1 (0.8 is 80%), not {text!r}")
    return value


def _show_result(args: argparse.Namespace, start: Callable[[Any], RunResult | FlowResult]) -> int:
    from .progress import progress_for
    progress = progress_for()
    try:
        result = start(progress)
    finally:
        progress.close()
    print(result.render())
    if getattr(args, "json", False):
        print(json.dumps(result.summary()))
    from .status import RunStatus
    return {RunStatus.COMPLETED: EXIT_OK, RunStatus.AWAITING_APPROVAL: EXIT_AWAITING}.get(result.status, EXIT_FAILED)


def cmd_runs(project: Project, args: argparse.Namespace) -> int:
    from . import api
    from .history import render_runs
    print(render_runs(api.runs(project, crew=args.crew, batch=args.batch, limit=args.limit), args.crew))
    return EXIT_OK


def cmd_batch(project: Project, args: argparse.Namespace) -> int:
    from . import api
    from .batch_progress import batch_progress_for
    if bool(args.inputs) == bool(args.resume):
        raise InputError(Problem("give either --inputs FILE (a new batch) or --resume BATCH_ID",
                                 hint=f"python main.py batch {args.crew} --inputs rows.csv"))
    progress = batch_progress_for()
    if args.resume:
        result = api.resume_batch(args.resume, options=_batch_options(args, project), progress=progress,
                                  project=project)
    else:
        crew = api.load_crew(args.crew, project, llm=args.llm)
        print_problems(crew.warnings, project)
        result = api.run_batch(crew, args.inputs, options=_batch_options(args, project, new=True), strict=args.strict,
                           progress=progress, project=project)
    print(result.render())
    if result.interrupted or not result.rows:
        return EXIT_FAILED
    statuses = set(result.counts)
    return EXIT_OK if statuses == {"completed"} else EXIT_AWAITING if statuses == {"completed",
                                                                                   "awaiting_approval"} else EXIT_FAILED


def _batch_options(args: argparse.Namespace, project: Project, new: bool = False) -> Any:
    """The options given on the command line; a resumed batch keeps its own for the rest."""
    from dataclasses import replace

    from .batch import BatchOptions
    given = {"llm": args.llm, "concurrency": args.concurrency, "approve_all": args.approve_all or None,
             "max_cost": args.max_cost, "ray": args.ray, "csv": args.csv or None}
    given = {k: v for k, v in given.items() if v is not None}
    if new:
        return BatchOptions(**{"concurrency": os.cpu_count() or 1, **given})
    from .context import open_store
    with open_store(project) as store:
        found = store.require_batch(args.resume)
    if found["crew"] != args.crew:
        raise InputError(Problem(f"batch {found['id']} ran crew '{found['crew']}', not '{args.crew}'",
                                 hint=f"python main.py batch {found['crew']} --resume {found['id']}"))
    return replace(BatchOptions(**found["options"]), **given)


def cmd_serve(project: Project, args: argparse.Namespace) -> int:
    import secrets

    from .serve.server import ServeOptions, bind, is_loopback, serve
    env = Environment.current()
    token = env.serve_token
    if not is_loopback(args.host) and token is None:
        raise ConfigError(Problem(f"refusing to serve on {args.host} without a token set",
                                  hint="set ROLECALL_SERVE_TOKEN to a long random value, or bind 127.0.0.1"))
    token = token or secrets.token_urlsafe(24)
    options = ServeOptions(args.host, args.port, args.workers or env.cores, args.llm, args.crew)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        raise ConfigError(Problem(f"cannot listen on {args.host}:{args.port}: {exc.strerror}",
                                  hint="choose another --port (0 picks a free one)")) from None
    host, port = sock.getsockname()[:2]
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
    print(f"serving {args.crew or 'every crew'} on {url} with {options.workers} workers", flush=True)
    print(f"token: {token}" if env.serve_token is None else "token: from ROLECALL_SERVE_TOKEN", flush=True)
    print(f"console: {url}/console/login?token={token if env.serve_token is None else '$ROLECALL_SERVE_TOKEN'}",
          flush=True)
    serve(project, options, token, sock)
    return EXIT_OK


def cmd_show_run(project: Project, args: argparse.Namespace) -> int:
    from . import api
    from .context import open_store
    from .history import render_run
    run_id = api.stored_run(args.run_id, project)["id"]
    with open_store(project) as store:
        print(render_run(store, run_id))
    return EXIT_OK


def cmd_report(project: Project, args: argparse.Namespace) -> int:
    from . import api
    print(api.write_report(args.run_id, out=args.out, project=project))
    return EXIT_OK


def cmd_new(project: Project, args: argparse.Namespace) -> int:
    from .scaffold import scaffold
    path = scaffold(project, args.name, args.process)
    print(f"created {path.relative_to(project.root)}/  (try: python main.py plan {args.name})")
    return EXIT_OK


def cmd_import(project: Project, args: argparse.Namespace) -> int:
    from . import api
    report = api.import_project(args.path, name=args.name, project=project, force=args.force)
    print(report.render(project.root))
    print_problems(report.problems, project)
    return EXIT_OK if report.ok else EXIT_BAD_INPUT


def cmd_doctor(project: Project, args: argparse.Namespace) -> int:
    from .doctor import doctor
    print(doctor(project, args.llm))
    return EXIT_OK


def cmd_schema(project: Project, args: argparse.Namespace) -> int:
    from .spec import json_schemas
    schemas = json_schemas()
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for file, schema in schemas.items():
            target = out / file.replace(".yaml", ".schema.json")
            target.write_text(json.dumps(schema, indent=2) + "\n")
            print(target)
        return EXIT_OK
    chosen = {args.file: schemas[args.file]} if args.file else schemas
    print(json.dumps(chosen if len(chosen) > 1 else next(iter(chosen.values())), indent=2))
    return EXIT_OK


# --- flows: the same commands over flows/ ----------------------------------------------------

def _flow_named(project: Project, name: str, crews: Mapping[str, CrewPackage] | None = None) -> FlowPackage | None:
    """The flow called ``name``, unless a crew has that name (a crew wins)."""
    from .flow_package import find_flow
    if name in (crews if crews is not None else discover(project)[0]):
        return None
    return find_flow(project, name)


def _flow_rows(project: Project, crews: dict[str, CrewPackage], problems: list[Problem]) -> list[tuple[str, ...]]:
    from .flow_cache import checked_flow
    from .flow_package import discover_flows
    flows, found = discover_flows(project)
    problems += found
    rows: list[tuple[str, ...]] = []
    for name, package in flows.items():
        outline = checked_flow(project, package, crews).outline
        if outline is None:
            rows.append((name, "-", "-", f"INVALID: run `python main.py validate {name}`"))
            continue
        rows.append((name, str(len(outline.methods)), ", ".join(outline.crews) or "-", outline.description))
    return rows


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=False)) + "  " + row[-1])


def _validate_flows(project: Project, crews: dict[str, CrewPackage], flows: list[FlowPackage] | None,
                    problems: list[Problem]) -> int:
    """Validate the flows named (every flow when None); how many are invalid."""
    from .flow_cache import checked_flow
    from .flow_package import discover_flows
    if flows is None:
        found, more = discover_flows(project)
        flows, problems[:] = list(found.values()), problems + more
    failed = 0
    seen = set(problems)
    for package in flows:
        result = checked_flow(project, package, crews)
        problems += [p for p in result.problems if p not in seen]  # a crew shared by flows: its problems once
        seen.update(result.problems)
        failed += not result.ok
        print(f"{package.name}: {'ok' if result.ok else 'INVALID'} (flow)")
    return failed


def _plan_flow(project: Project, args: argparse.Namespace) -> int:
    from . import api
    from .flow_graph import plan
    from .flow_inputs import flow_values
    flow = api.load_flow(args.crew, project)
    given, problems = parse_pairs(args.input)
    if problems:
        raise InputError(problems)
    print(plan(flow, flow_values(flow, given)))
    return EXIT_OK


def _run_flow(project: Project, args: argparse.Namespace) -> int:
    from . import api
    from .flow_inputs import flow_values
    flow = api.load_flow(args.crew, project)
    given, problems = parse_pairs(args.input)
    if problems:
        raise InputError(problems)
    flow_values(flow, given)  # bad inputs are reported before the run starts
    return _show_result(args, lambda on_event: api.run_flow(
        flow, given, llm=args.llm, max_cost=args.max_cost, approve_all=args.approve_all, on_event=on_event,
        project=project))


# --- helpers --------------------------------------------------------------------

def _outline(project: Project, name: str) -> tuple[CrewOutline, list[Problem]]:
    """The crew's outline and warnings (from the validation cache when it is current)."""
    result = checked(project, find(project, name))
    if result.outline is None:
        raise ConfigError(result.problems)
    return result.outline, result.problems


def _inputs(declared: Mapping[str, InputSpec], pairs: list[str]) -> tuple[dict[str, str], dict[str, Any]]:
    """``--input`` pairs as given, and as the crew's typed values; every problem at once."""
    given, problems = parse_pairs(pairs)
    values, more = bind(declared, given)
    if problems or more:
        raise InputError(problems + more)
    return given, values


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="Define crews in YAML; run any crew by name.")
    parser.add_argument("--project", help="project folder (default: the folder of main.py)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Any, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(handler=handler)
        return p

    add("list", cmd_list, "every crew: name, process, agents, tasks, description")
    add("show", cmd_show, "explain one crew as written").add_argument("crew")
    p = add("validate", cmd_validate, "check crews; exit 2 listing every problem")
    p.add_argument("crews", nargs="*", help="crew names (default: all)")
    p.add_argument("--all", action="store_true", help="every crew (the default)")
    for name, handler, help in (("plan", cmd_plan, "what a run would do, with inputs filled in; no model is called"),
                                ("run", cmd_run, "run a crew")):
        p = add(name, handler, help)
        p.add_argument("crew")
        p.add_argument("--input", "-i", action="append", default=[], metavar="NAME=VALUE",
                       help="an input value; repeat for several")
        if name == "run":
            p.add_argument("--llm", help="model profile from config/llm.yaml for every agent in this run")
            p.add_argument("--max-cost", type=float, metavar="USD", help="stop before the run costs more")
            p.add_argument("--approve-all", action="store_true", help="approve every approval gate (unattended)")
            p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p = add("eval", cmd_eval, "run a crew's evals.yaml cases and check each run; exit 1 under --min-pass")
    p.add_argument("crew")
    p.add_argument("--llm", help="profiles to compare, comma-separated (local,openai): one column each")
    p.add_argument("--min-pass", type=_fraction, default=1.0, metavar="FRACTION",
                   help="exit 1 when a profile passes fewer of its checks (default 1.0: every check)")
    p.add_argument("--judge", help="profile that judges every rubric check (over evals.yaml's judge:)")
    p.add_argument("--case", action="append", default=[], metavar="NAME", help="run only this case; repeat")
    p.add_argument("--file", help="an evals file other than crews/<crew>/evals.yaml")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object as the last line")
    p = add("resume", cmd_resume, "rerun only what did not finish in a failed or interrupted run")
    p.add_argument("run_id")
    p.add_argument("--force", action="store_true", help="resume even though the crew changed")
    p.add_argument("--approve-all", action="store_true")
    p.add_argument("--json", action="store_true")
    p = add("approve", cmd_approve, "decide a pending approval and resume the run")
    p.add_argument("run_id")
    p.add_argument("--task", help="the task to decide (when several wait)")
    p.add_argument("--reject", action="store_true", help="reject instead of approve")
    p.add_argument("--reason", help="why; a rejected task is redone with it as feedback")
    p.add_argument("--force", action="store_true", help="resume even though the crew changed")
    p.add_argument("--json", action="store_true")
    p = add("batch", cmd_batch, "run a crew once per row of a file of inputs, in worker processes")
    p.add_argument("crew")
    p.add_argument("--inputs", metavar="FILE", help=".csv, .jsonl or .yaml: one row of input values per run")
    p.add_argument("--resume", metavar="BATCH_ID", help="run only the rows of that batch without a completed run")
    p.add_argument("--concurrency", "-j", type=int, metavar="N", help="runs at once (default: the number of cores)")
    p.add_argument("--llm", help="model profile for every agent of every run")
    p.add_argument("--max-cost", type=float, metavar="USD", help="cap on each run's spend")
    p.add_argument("--approve-all", action="store_true", help="approve every gate; else such rows wait for approve")
    p.add_argument("--strict", action="store_true", help="run nothing when any row's inputs are bad")
    p.add_argument("--csv", action="store_true", help="also write results.csv beside results.jsonl")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run on a Ray cluster: a new one on this machine, or the one at ADDRESS (pip install "
                        "-e '.[ray]')")
    p = add("serve", cmd_serve, "every crew behind an HTTP API (CrewAI's shape) and a web console")
    p.add_argument("crew", nargs="?", help="serve this crew at the root paths too (/kickoff, /status/ID)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others need "
                                                        "ROLECALL_SERVE_TOKEN)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--workers", type=int, metavar="N", help="worker processes (default: the number of cores)")
    p.add_argument("--llm", help="model profile for every agent of every run")
    p = add("runs", cmd_runs, "recent runs: status, duration, tokens, cost")
    p.add_argument("--crew")
    p.add_argument("--batch", metavar="BATCH_ID", help="the runs of one batch")
    p.add_argument("--limit", type=int, default=20)
    add("show-run", cmd_show_run, "one run: tasks, who did them, delegations, calls, errors, outputs"
        ).add_argument("run_id")
    p = add("report", cmd_report, "write a self-contained HTML report of a run and print its path")
    p.add_argument("run_id")
    p.add_argument("--out", help="file to write (default: the run folder's report.html)")
    p = add("new", cmd_new, "scaffold a crew package that validates and runs straight away")
    p.add_argument("name")
    p.add_argument("--process", choices=["sequential", "hierarchical"], default="sequential")
    p = add("import", cmd_import, "turn a CrewAI project (crew.py + config/*.yaml, or crew.jsonc) into a crew; "
                                  "crew.py is read, never run")
    p.add_argument("path", help="the CrewAI project's folder, its crew.py, or crew.py:Class for one of several "
                                "crew classes")
    p.add_argument("--name", help="crew name (default: the project's package name)")
    p.add_argument("--force", action="store_true", help="replace an existing crew of that name")
    add("doctor", cmd_doctor, "which model profile a run would use and why; whether it can work here"
        ).add_argument("--llm", help="explain this profile instead of the default")
    p = add("schema", cmd_schema, "JSON Schema for agents.yaml, tasks.yaml and crew.yaml")
    p.add_argument("file", nargs="?", choices=["agents.yaml", "tasks.yaml", "crew.yaml"])
    p.add_argument("--out", help="write <file>.schema.json files into this folder")
    return parser
