"""``main.py``: the commands. Exit codes: 0 ok, 1 run failed, 2 bad input or config.

Only ``run`` imports crewai; everything else stays fast.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from .discover import CrewRef, discover, find
from .inputs import parse_pairs, resolve
from .problem import Problem, RolecallError, errors
from .project import Project
from .validate import check, validate

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_AWAITING = 0, 1, 2, 3


def main(argv: Sequence[str], project_root: Path | None = None) -> int:
    args = _parser().parse_args(argv)
    project = Project.at(args.project or os.environ.get("ROLECALL_PROJECT") or project_root)
    load_env(project)
    try:
        return args.handler(project, args)
    except RolecallError as exc:
        report(exc.problems, project)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # `main.py list | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def load_env(project: Project) -> None:
    """Read .env into the environment; values already set win."""
    if project.env_file.exists():
        from dotenv import dotenv_values
        for key, value in dotenv_values(project.env_file).items():
            if value is not None:
                os.environ.setdefault(key, value)


def report(problems: list[Problem], project: Project) -> None:
    for problem in problems:
        print(problem.render(project.root), file=sys.stderr)
    count = len(errors(problems))
    if count:
        print(f"{count} error{'s' if count != 1 else ''}", file=sys.stderr)


# --- commands -----------------------------------------------------------------

def cmd_list(project: Project, args: argparse.Namespace) -> int:
    crews, problems = discover(project)
    if not crews:
        print("no crews yet; create one with: python main.py new NAME")
        return EXIT_OK
    rows = [("NAME", "PROCESS", "AGENTS", "TASKS", "DESCRIPTION")]
    profiles = _profiles(project)
    for name, ref in crews.items():
        result = validate(project, ref, profiles)
        if result.crew is None:
            rows.append((name, "-", "-", "-", f"INVALID: run `python main.py validate {name}`"))
            continue
        crew = result.crew
        rows.append((name, crew.spec.process, str(len(crew.agents)), str(len(crew.tasks)), crew.spec.description))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])
    report(problems, project)
    return EXIT_OK


def cmd_show(project: Project, args: argparse.Namespace) -> int:
    from .describe import show
    crew, warnings = check(project, find(project, args.crew))
    print(show(crew))
    report(warnings, project)
    return EXIT_OK


def cmd_validate(project: Project, args: argparse.Namespace) -> int:
    crews, problems = discover(project)
    names = args.crews or list(crews)  # no names (or --all): every crew
    refs: list[CrewRef] = [find(project, name) for name in names]
    failed = 0
    profiles = _profiles(project)
    for ref in refs:
        result = validate(project, ref, profiles)
        problems += result.problems
        if not result.ok:
            failed += 1
        print(f"{ref.name}: {'ok' if result.ok else 'INVALID'}")
    report(problems, project)
    if failed:
        print(f"{failed} of {len(refs)} crews invalid", file=sys.stderr)
    return EXIT_BAD_INPUT if failed else EXIT_OK


def cmd_plan(project: Project, args: argparse.Namespace) -> int:
    from .describe import plan
    crew, warnings = check(project, find(project, args.crew))
    values = _inputs(crew.inputs, args.input)
    print(plan(crew, values))
    report(warnings, project)
    return EXIT_OK


def cmd_run(project: Project, args: argparse.Namespace) -> int:
    crew, warnings = check(project, find(project, args.crew))
    values = _inputs(crew.inputs, args.input)
    report(warnings, project)
    from .run import run_crew  # imports crewai
    return _finish_run(args, lambda listener: run_crew(
        project, crew, values, llm=args.llm, max_cost=args.max_cost, approve_all=args.approve_all,
        listener=listener))


def cmd_resume(project: Project, args: argparse.Namespace) -> int:
    from .run import resume_run
    row = _run_row(project, args.run_id)
    crew, _ = check(project, find(project, row["crew"]))
    return _finish_run(args, lambda listener: resume_run(
        project, row["id"], crew, force=args.force, approve_all=args.approve_all, listener=listener))


def cmd_approve(project: Project, args: argparse.Namespace) -> int:
    from .run import open_store, resume_run
    from .store import now
    row = _run_row(project, args.run_id)
    store = open_store(project)
    pending = [a for a in store.rows("approvals", row["id"]) if a["status"] == "pending"]
    if args.task:
        pending = [a for a in pending if a["task"] == args.task]
    if not pending:
        raise RolecallError(Problem(f"run {row['id']} has no pending approval"
                                    + (f" for task '{args.task}'" if args.task else "")))
    if len(pending) > 1:
        raise RolecallError(Problem("several approvals are pending", hint="name one with --task"))
    gate = pending[0]
    if args.reject and not args.reason:
        raise RolecallError(Problem("a rejection needs a reason", hint='add --reason "what to change"'))
    decision = "rejected" if args.reject else "approved"
    store.update("approvals", {"run_id": row["id"], "task": gate["task"], "mode": gate["mode"]},
                 status=decision, reason=args.reason, decided_at=now())
    print(f"{gate['task']}: {decision}" + (f" ({args.reason})" if args.reason else ""))
    if decision == "rejected" and gate["mode"] == "before":
        store.update("runs", {"id": row["id"]}, status="rejected", finished_at=now(),
                     error=f"task '{gate['task']}' was not approved to start: {args.reason}")
        print(f"run {row['id']}: rejected")
        return EXIT_FAILED
    crew, _ = check(project, find(project, row["crew"]))
    return _finish_run(args, lambda listener: resume_run(project, row["id"], crew, force=args.force,
                                                         listener=listener))


def _finish_run(args: argparse.Namespace, start: Any) -> int:
    from .progress import progress_for
    progress = progress_for()
    try:
        result = start(progress)
    finally:
        progress.close()
    print(result.render())
    if getattr(args, "json", False):
        print(json.dumps(result.summary()))
    return {"completed": EXIT_OK, "awaiting_approval": EXIT_AWAITING}.get(result.status, EXIT_FAILED)


def _run_row(project: Project, run_id: str) -> dict[str, Any]:
    from .run import open_store
    from .settings import Settings
    # a project with no store yet has no runs; do not create an empty one just to say so
    row = open_store(project).run(run_id) if Settings(project).store_path.exists() else None
    if row is None:
        raise RolecallError(Problem(f"no run '{run_id}'", hint="see python main.py runs"))
    return row


def cmd_runs(project: Project, args: argparse.Namespace) -> int:
    from .history import render_runs
    print(render_runs(project, args.crew, args.limit))
    return EXIT_OK


def cmd_show_run(project: Project, args: argparse.Namespace) -> int:
    from .history import render_run
    print(render_run(project, _run_row(project, args.run_id)["id"]))
    return EXIT_OK


def cmd_report(project: Project, args: argparse.Namespace) -> int:
    from .report import write_report
    path = write_report(project, _run_row(project, args.run_id)["id"], Path(args.out) if args.out else None)
    print(path)
    return EXIT_OK


def cmd_new(project: Project, args: argparse.Namespace) -> int:
    from .scaffold import scaffold
    path = scaffold(project, args.name, args.process)
    print(f"created {path.relative_to(project.root)}/  (try: python main.py plan {args.name})")
    return EXIT_OK


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


# --- helpers --------------------------------------------------------------------

def _profiles(project: Project) -> list[str]:
    from .llm.profiles import load_config
    return list(load_config(project.config_dir).profiles)


def _inputs(declared: Any, pairs: list[str]) -> dict[str, Any]:
    given, problems = parse_pairs(pairs)
    values, more = resolve(declared, given)
    if problems or more:
        raise RolecallError(problems + more)
    return values


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
    p = add("runs", cmd_runs, "recent runs: status, duration, tokens, cost")
    p.add_argument("--crew")
    p.add_argument("--limit", type=int, default=20)
    add("show-run", cmd_show_run, "one run: tasks, who did them, delegations, calls, errors, outputs"
        ).add_argument("run_id")
    p = add("report", cmd_report, "write a self-contained HTML report of a run and print its path")
    p.add_argument("run_id")
    p.add_argument("--out", help="file to write (default: the run folder's report.html)")
    p = add("new", cmd_new, "scaffold a crew package that validates and runs straight away")
    p.add_argument("name")
    p.add_argument("--process", choices=["sequential", "hierarchical"], default="sequential")
    add("doctor", cmd_doctor, "which model profile a run would use and why; whether it can work here"
        ).add_argument("--llm", help="explain this profile instead of the default")
    p = add("schema", cmd_schema, "JSON Schema for agents.yaml, tasks.yaml and crew.yaml")
    p.add_argument("file", nargs="?", choices=["agents.yaml", "tasks.yaml", "crew.yaml"])
    p.add_argument("--out", help="write <file>.schema.json files into this folder")
    return parser
