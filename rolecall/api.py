"""rolecall from Python: load a crew, run it, evaluate it, resume it, decide its approvals, read its history.

    from rolecall import load_crew, run

    crew = load_crew("research_report")
    result = run(crew, {"topic": "tides"}, llm="scripted")
    print(result.status, result.output, result.usage.total_tokens)

Every front end (``main.py``, the pytest fixture) stands on these functions.
Errors are ``RolecallError``s (see ``rolecall.errors``); a run that fails is not
an error: its ``RunResult`` says ``failed`` and keeps every finished task.
Only ``run`` and ``resume`` import crewai.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .approval import Decision
from .definition import CrewDefinition
from .discover import find
from .environment import Environment
from .errors import ConfigError, RunNotFound, RunStateError
from .history import RunSummary, summaries
from .inputs import bound
from .llm.profiles import load_config
from .problem import Problem
from .project import Project
from .result import RunResult
from .validate import validate

if TYPE_CHECKING:
    from .batch import BatchOptions, BatchResult, Progress
    from .eval_report import EvalReport
    from .flow_graph import FlowOutline
    from .flow_result import FlowResult
    from .importer import ImportReport
    from .record import Listener
    from .store import Row

# the run store (sqlite3) and the run context load on first use: `main.py list` needs neither

ProjectLike = Project | str | os.PathLike[str] | None


def project_of(project: ProjectLike) -> Project:
    return project if isinstance(project, Project) else Project.at(project)


def load_crew(name_or_path: str | os.PathLike[str], project: ProjectLike = None,
              *, profiles: Any = None, llm: str | None = None) -> CrewDefinition:
    """The validated crew called ``name_or_path`` (or the crew folder at that path).

    ``llm``: the profile a run will give every agent; the crew's own models then need no keys.
    Raises ``ConfigError`` listing every problem, located; warnings are kept on the
    definition (``crew.warnings``).
    """
    chosen = project_of(project)
    package = find(chosen, str(name_or_path))
    names = profiles if profiles is not None else load_config(chosen.config_dir).profiles
    result = validate(chosen, package, names, overridden=bool(llm or Environment.current().get("ROLECALL_LLM")))
    if result.crew is None:
        raise ConfigError(result.problems)
    return result.crew


def run(crew: CrewDefinition | str, inputs: Mapping[str, Any] | None = None, *, llm: str | None = None,
        max_cost: float | None = None, approve_all: bool = False, on_event: Listener | None = None,
        project: ProjectLike = None, run_id: str | None = None) -> RunResult:
    """Run ``crew`` (a definition or a name) with ``inputs`` (coerced to their declared types).

    ``llm`` names a model profile for every agent; ``max_cost`` caps the spend in USD;
    ``approve_all`` approves every gate; ``on_event(what, details)`` sees progress;
    ``run_id`` is the new run's id when the caller chose it beforehand (see ``new_run_id``).
    """
    from .context import RunContext
    from .runner import start_run  # imports crewai when the crew is assembled
    chosen = project_of(project)
    context = RunContext.open(chosen)
    definition = crew if isinstance(crew, CrewDefinition) else load_crew(
        crew, chosen, profiles=context.llm_config.profiles, llm=llm)
    values = bound(definition.inputs, inputs or {})
    return start_run(context, definition, values, llm, max_cost=max_cost, approve_all=approve_all,
                     listener=on_event, run_id=run_id)


def evaluate(crew: CrewDefinition | str, *, llms: str | list[str] | None = None, judge: str | None = None,
             cases: list[str] | None = None, evals: str | os.PathLike[str] | None = None,
             on_event: Listener | None = None, project: ProjectLike = None) -> EvalReport:
    """Run the cases of ``crew``'s ``evals.yaml`` (or the file ``evals``) on each profile in ``llms``.

    ``llms``: profile names (a list, or ``"local,openai"``); default the profile a run would use.
    ``judge``: the profile that judges every rubric, over what evals.yaml says. ``cases``: only these.
    evals.yaml is checked against the crew before any model is called (``ConfigError``, located).
    Each case is a recorded run; the report's ``folder`` holds results.json and summary.html.
    """
    from .evals import load_suite
    from .llm.profiles import choose
    chosen = project_of(project)
    config = load_config(chosen.config_dir)
    env = Environment.current()
    names = [n.strip() for n in llms.split(",")] if isinstance(llms, str) else list(llms or [])
    profiles = [choose(config, name or None, env)[0] for name in names or [""]]
    if len(set(profiles)) != len(profiles):
        raise ConfigError(Problem(f"a profile is named twice in --llm {','.join(names)}",
                                  hint="name each profile once; two profiles may share settings in config/llm.yaml"))
    if judge is not None:
        choose(config, judge, env)  # an unknown judge is bad input before anything runs
    definition = crew if isinstance(crew, CrewDefinition) else load_crew(
        crew, chosen, profiles=config.profiles, llm=profiles[0])
    suite = load_suite(definition, set(config.profiles), Path(evals) if evals else None)
    if cases:
        suite = suite.only(cases)
    from .evaluation import run_suite  # the runs import crewai
    return run_suite(chosen, definition, suite, profiles, judge_profile=judge, on_event=on_event)


def resume(run_id: str, *, force: bool = False, approve_all: bool = False, on_event: Listener | None = None,
           project: ProjectLike = None) -> RunResult | FlowResult:
    """Run what did not finish in a failed, interrupted, stopped or approved run (of a crew or a flow)."""
    from .context import RunContext
    from .runner import resumable_run, resume_run
    chosen = project_of(project)
    context = RunContext.open(chosen)
    row = resumable_run(context, run_id)
    if row.get("parent_run"):  # alone it would finish the crew but leave its flow where it stopped
        parent = row["parent_run"]
        raise RunStateError(Problem(f"run {row['id']} is a step of flow run {parent}",
                                    hint=f"resume the flow: python main.py resume {parent}"))
    if row.get("kind") == "flow":
        from .flow_runner import resume_flow
        flow = load_flow(row["crew"], chosen)
        return resume_flow(context, row, flow, force=force, approve_all=approve_all, listener=on_event)
    crew = load_crew(row["crew"], chosen, profiles=context.llm_config.profiles, llm=row["profile"])  # keeps its model
    return resume_run(context, row["id"], crew, force=force, approve_all=approve_all, listener=on_event)


def decide(run_id: str, approve: bool = True, reason: str | None = None, *, task: str | None = None,
           project: ProjectLike = None) -> Decision:
    """Approve (or reject, with a reason) the gate a run waits on. Call ``resume`` to go on,
    unless ``decision.ends_run``."""
    from .context import open_store
    from .flow_approval import decide_run
    chosen = project_of(project)
    with open_store(chosen) as store:
        return decide_run(store, store.require_run(run_id), approve, reason, task)


def runs(project: ProjectLike = None, *, crew: str | None = None, batch: str | None = None,
         limit: int = 20) -> list[RunSummary]:
    """Recent runs, newest first; of one crew, or of one batch (its id or a unique prefix)."""
    from .context import open_store, store_exists
    chosen = project_of(project)
    if not store_exists(chosen):
        return []
    with open_store(chosen) as store:
        if batch is not None:
            batch = store.require_batch(batch)["id"]
        return summaries(store, crew, limit, batch=batch)


def run_batch(crew: CrewDefinition | str, rows: str | os.PathLike[str], *, options: BatchOptions | None = None,
          strict: bool = False, progress: Progress | None = None, project: ProjectLike = None) -> BatchResult:
    """Run ``crew`` once per row of the file ``rows`` (.csv, .jsonl, .yaml, .json), in worker processes.

    Each row is checked against the crew's typed inputs first: a bad row is kept as ``invalid``
    (with its row number and line) and the others run, or, with ``strict``, nothing runs and
    ``InputError`` lists every bad row. Runs that fail are rows of the result, not errors.
    """
    from .batch import BatchOptions, start_batch
    from .batch_progress import PlainBatchProgress
    from .context import RunContext
    from .dataset import read_rows
    chosen = project_of(project)
    context = RunContext.open(chosen)
    chosen_options = options or BatchOptions()
    definition = crew if isinstance(crew, CrewDefinition) else load_crew(
        crew, chosen, profiles=context.llm_config.profiles, llm=chosen_options.llm)
    source = Path(rows).resolve()
    return start_batch(context, definition, read_rows(source), source, chosen_options,
                       progress or PlainBatchProgress(), strict=strict)


def resume_batch(batch_id: str, *, options: BatchOptions | None = None, progress: Progress | None = None,
                 project: ProjectLike = None) -> BatchResult:
    """Run the rows of a batch that have no completed run: failed and interrupted runs are resumed."""
    from .batch import resume_batch as go_on
    from .batch_progress import PlainBatchProgress
    from .context import RunContext
    return go_on(RunContext.open(project_of(project)), batch_id, options, progress or PlainBatchProgress())


def stored_run(run_id: str, project: ProjectLike = None) -> Row:
    """The stored run with this id (or unique id prefix)."""
    from .context import open_store, store_exists
    chosen = project_of(project)
    if not store_exists(chosen):  # a project with no store has no runs; do not create an empty one to say so
        raise RunNotFound(Problem(f"no run '{run_id}' (no run was recorded yet)", hint="see python main.py runs"))
    with open_store(chosen) as store:
        return store.require_run(run_id)


def write_report(run_id: str, *, out: str | os.PathLike[str] | None = None, project: ProjectLike = None) -> Path:
    """Write the run's HTML report (default ``<run folder>/report.html``); return its path."""
    from . import report
    chosen = project_of(project)
    return report.write_report(chosen, stored_run(run_id, chosen)["id"], Path(out) if out else None)


def load_flow(name_or_path: str | os.PathLike[str], project: ProjectLike = None) -> FlowOutline:
    """The validated flow called ``name_or_path`` (``flows/<name>.yaml``, ``flows/<name>/flow.yaml``, or a path).

    Raises ``ConfigError`` listing every problem of the flow and of the crews it runs, located.
    """
    from .flow_package import find_flow
    from .flow_validate import validate_flow
    chosen = project_of(project)
    package = find_flow(chosen, str(name_or_path))
    if package is None:
        from .flow_package import discover_flows
        known = discover_flows(chosen)[0]
        from .problem import did_you_mean
        raise ConfigError(Problem(f"no flow named '{name_or_path}'", chosen.flows_dir,
                                  hint=did_you_mean(str(name_or_path), known) or
                                  f"known flows: {', '.join(known) or 'none'}"))
    check = validate_flow(chosen, package)
    if check.outline is None:
        raise ConfigError(check.problems)
    return check.outline


def run_flow(flow: FlowOutline | str, inputs: Mapping[str, Any] | None = None, *, llm: str | None = None,
             max_cost: float | None = None, approve_all: bool = False, on_event: Listener | None = None,
             project: ProjectLike = None, run_id: str | None = None) -> FlowResult:
    """Run ``flow`` (an outline or a name) on crewai's flow runtime; ``inputs`` set its state fields.

    Each ``call: crew`` step is a rolecall run of that crew, recorded as a child of the flow run;
    ``llm`` names a model profile for every crew; ``max_cost`` caps the whole flow's spend in USD
    (the run stops cleanly, resumable); ``approve_all`` approves every gate;
    ``run_id`` is the new run's id when the caller chose it beforehand.
    """
    from .context import RunContext
    from .flow_inputs import flow_values
    from .flow_runner import start_flow
    chosen = project_of(project)
    outline = flow if not isinstance(flow, str) else load_flow(flow, chosen)
    values = flow_values(outline, inputs or {})
    context = RunContext.open(chosen)
    return start_flow(context, outline, values, llm, max_cost=max_cost, approve_all=approve_all, listener=on_event,
                      run_id=run_id)


def import_project(path: str | os.PathLike[str], *, name: str | None = None, project: ProjectLike = None,
                   force: bool = False) -> ImportReport:
    """Turn the CrewAI project at ``path`` into the crew ``crews/<name>/`` (default: its package name).

    crew.py is read statically, never run; agents.yaml and tasks.yaml are copied unchanged.
    Bad input (no project there, a crew.py that cannot be parsed, an existing crew without
    ``force``) raises ``ConfigError`` with nothing written. The report lists what could not be
    recovered (``notes``, located in the source project) and the new crew's validation
    ``problems``; ``report.ok`` is True when it validates.
    """
    from .importer import import_project as run_import
    return run_import(project_of(project), Path(path), name=name, force=force)
