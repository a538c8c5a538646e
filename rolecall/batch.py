"""Many runs of one crew: a batch over a file of input rows, recorded in the run store, resumable.

Every row is checked against the crew's typed inputs before anything starts; a
bad row is kept (with its row number, line and what is wrong) and the others
run, unless ``strict``. The batch and each row's run id are written before any
run starts, so a batch killed at any point can be resumed: rows with a completed
(or rejected) run are left alone, failed and interrupted runs are resumed
(keeping their finished tasks), rows never started are started.
"""
from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from . import format as fmt
from .context import RunContext
from .dataset import DataRow
from .definition import CrewDefinition
from .errors import InputError
from .inputs import bind
from .job import Job, Outcome
from .problem import Problem
from .results_file import write_results
from .status import RunStatus
from .usage import Usage

INVALID, PENDING = "invalid", "pending"  # a row whose inputs did not bind; a row with no run yet
_LEFT_ALONE = (RunStatus.COMPLETED, RunStatus.REJECTED, RunStatus.AWAITING_APPROVAL)


@dataclass(frozen=True)
class BatchOptions:
    llm: str | None = None
    concurrency: int = 2
    approve_all: bool = False
    max_cost: float | None = None  # per run
    ray: str | None = None  # None: local worker processes; "local": a Ray cluster on this machine; else its address
    csv: bool = False


@dataclass(frozen=True)
class BatchRow:
    number: int
    inputs: dict[str, Any]
    run_id: str | None
    status: str  # a RunStatus, or INVALID / PENDING
    output: str | None
    error: str | None
    usage: Usage
    seconds: float | None


@dataclass
class BatchResult:
    id: str
    crew: str
    rows: list[BatchRow]
    folder: Path
    interrupted: bool = False
    outcomes: list[Outcome] = field(default_factory=list)  # this attempt's, in the order they finished

    @property
    def peak_rss_mb(self) -> dict[int, float]:
        """Worker process id -> its memory high-water mark."""
        peaks: dict[int, float] = {}
        for o in self.outcomes:
            peaks[o.worker] = max(peaks.get(o.worker, 0.0), o.peak_rss_mb)
        return peaks

    @property
    def counts(self) -> Counter[str]:
        return Counter(row.status for row in self.rows)

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(row.status == RunStatus.COMPLETED for row in self.rows)

    @property
    def usage(self) -> Usage:
        total = Usage()
        for row in self.rows:
            total = total.add(row.usage)
        return total

    def render(self) -> str:
        lines = [f"  row {r.number:<5} {r.status:17} {r.run_id or '-'}" + (f"  {r.error}" if r.error else "")
                 for r in self.rows if r.status != RunStatus.COMPLETED]
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.counts.items()))
        lines.append(f"batch {self.id}: {len(self.rows)} rows: {counts}; {self.usage.total_tokens} tokens, "
                     f"{fmt.cost(self.usage.cost)}; results in {self.folder / 'results.jsonl'}")
        waiting = [r for r in self.rows if r.status == RunStatus.AWAITING_APPROVAL]
        if waiting:
            lines.append(f"{len(waiting)} rows wait for approval: python main.py approve RUN_ID "
                         f"(e.g. {waiting[0].run_id})")
        if self.interrupted or any(r.status not in (*_LEFT_ALONE, INVALID) for r in self.rows):
            lines.append(f"go on with: python main.py batch {self.crew} --resume {self.id}")
        return "\n".join(lines)


class Progress(Protocol):
    def start(self, total: int, done: int) -> None: ...
    def update(self, outcome: Outcome, running: int) -> None: ...
    def close(self) -> None: ...


class Executor(Protocol):
    @property
    def busy(self) -> int: ...
    def start(self, jobs: int) -> None: ...
    def outcomes(self, jobs: list[Job]) -> Iterator[Outcome]: ...
    def close(self) -> None: ...


def new_batch_id(crew: str) -> str:
    return f"batch-{datetime.now():%Y%m%d-%H%M%S}-{crew}-{secrets.token_hex(2)}"


def bind_rows(crew: CrewDefinition, rows: list[DataRow], source: Path) -> tuple[list[tuple[DataRow, dict[str, Any]]],
                                                                               dict[int, list[Problem]]]:
    """Each row's typed inputs, and the problems of the rows that do not bind, located in ``source``."""
    good: list[tuple[DataRow, dict[str, Any]]] = []
    bad: dict[int, list[Problem]] = {}
    for row in rows:
        values, problems = bind(crew.inputs, row.values)
        if problems:
            bad[row.number] = [Problem(p.message, source, row.line, f"row {row.number}", p.hint) for p in problems]
        else:
            good.append((row, values))
    return good, bad


def start_batch(context: RunContext, crew: CrewDefinition, rows: list[DataRow], source: Path,
                options: BatchOptions, progress: Progress, *, strict: bool = False) -> BatchResult:
    """Record the batch and its rows, then run every row that binds."""
    good, bad = bind_rows(crew, rows, source)
    if bad and strict:
        raise InputError([p for problems in bad.values() for p in problems])
    batch_id = new_batch_id(crew.name)
    stored: list[tuple[int, dict[str, Any], str | None]] = [(row.number, values, None) for row, values in good]
    stored += [(n, next(r.values for r in rows if r.number == n), "; ".join(p.render() for p in problems))
               for n, problems in bad.items()]
    context.store.create_batch(batch_id, crew=crew.name, source=str(source), options=asdict(options),
                               rows=sorted(stored, key=lambda r: r[0]))
    jobs = [_job(batch_id, crew.name, row.number, values, options) for row, values in good]
    for job in jobs:
        context.store.set_batch_row(batch_id, job.row, run_id=job.run_id)
    return _execute(context, batch_id, jobs, options, progress)


def resume_batch(context: RunContext, batch_id: str, options: BatchOptions | None, progress: Progress) -> BatchResult:
    """Run only the rows of a batch that have no completed run; ``options`` default to the batch's own."""
    found = context.store.require_batch(batch_id)
    chosen = options or BatchOptions(**found["options"])
    jobs = []
    for row in context.store.batch_rows(found["id"]):
        if row["input_error"] or row["status"] in _LEFT_ALONE:
            continue
        job = _job(found["id"], found["crew"], row["row"], row["inputs"], chosen)
        jobs.append(replace(job, run_id=row["run_id"] or job.run_id, resume=bool(row["status"])))
    return _execute(context, found["id"], jobs, chosen, progress)


def batch_result(context: RunContext, batch_id: str, *, interrupted: bool = False) -> BatchResult:
    found = context.store.require_batch(batch_id)
    rows = [_row(r) for r in context.store.batch_rows(found["id"])]
    return BatchResult(found["id"], found["crew"], rows, context.project.runs_dir / found["id"], interrupted)


def _job(batch_id: str, crew: str, number: int, values: dict[str, Any], options: BatchOptions) -> Job:
    return Job(number, f"{batch_id}-{number:05d}", crew, values, llm=options.llm, approve_all=options.approve_all,
               max_cost=options.max_cost)


def _execute(context: RunContext, batch_id: str, jobs: list[Job], options: BatchOptions,
             progress: Progress) -> BatchResult:
    outcomes: list[Outcome] = []
    interrupted = bool(jobs) and _drain(context, batch_id, jobs, options, progress, outcomes)
    context.store.mark_interrupted()  # the runs the stopped workers were in the middle of
    context.store.finish_batch(batch_id)
    result = batch_result(context, batch_id, interrupted=interrupted)
    result.outcomes = outcomes
    write_results(result, csv=options.csv)
    return result


def _drain(context: RunContext, batch_id: str, jobs: list[Job], options: BatchOptions, progress: Progress,
           outcomes: list[Outcome]) -> bool:
    """Run the jobs, recording each outcome as it comes back; True when Ctrl-C stopped them."""
    total = len(context.store.batch_rows(batch_id))
    executor = _executor(context, options)
    executor.start(len(jobs))  # before the progress bar's thread: workers may then fork warm
    progress.start(total, total - len(jobs))
    try:
        for outcome in executor.outcomes(jobs):
            context.store.set_batch_row(batch_id, outcome.row, run_id=outcome.run_id,
                                        seconds=round(outcome.seconds, 3))
            if outcome.error and not context.store.run(outcome.run_id):  # it never got as far as a run
                context.store.set_batch_row(batch_id, outcome.row, failure=outcome.error)
            outcomes.append(outcome)
            progress.update(outcome, executor.busy)
    except KeyboardInterrupt:  # stop now; every finished row is already recorded
        return True
    finally:
        executor.close()
        progress.close()
    return False


def _executor(context: RunContext, options: BatchOptions) -> Executor:
    if options.ray is not None:
        from .ray_workers import RayPool  # ray is an optional extra
        return RayPool(context.project, context.store, options.ray, options.concurrency)
    from .workers import WorkerPool
    return WorkerPool(context.project, options.concurrency)


def _row(stored: dict[str, Any]) -> BatchRow:
    if stored["input_error"]:
        status = INVALID
    elif stored["failure"] and not stored["status"]:
        status = RunStatus.FAILED
    else:
        status = stored["status"] or PENDING
    cost = None if stored["unpriced"] else float(stored["cost"] or 0.0)
    usage = Usage(stored["calls"] or 0, stored["prompt_tokens"] or 0, stored["completion_tokens"] or 0,
                  cost, stored["unpriced"] or 0)
    # a row with a run says what its run says; one without, why it has none
    error = stored["error"] if stored["status"] else stored["input_error"] or stored["failure"]
    return BatchRow(stored["row"], stored["inputs"], stored["run_id"] if stored["status"] else None, status,
                    stored["output"], error, usage, stored["seconds"])
