"""One row of a batch as a worker sees it: a ``Job`` in, an ``Outcome`` out, both plain and picklable.

Local worker processes and Ray workers both call ``perform``. A job carries the id
of its run, chosen by the batch before anything starts, so a worker that dies
mid-run leaves a run the batch can find and resume instead of starting it twice.
"""
from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from typing import Any

from .project import Project


@dataclass(frozen=True)
class Job:
    row: int
    run_id: str
    crew: str
    inputs: dict[str, Any]
    llm: str | None = None
    approve_all: bool = False
    max_cost: float | None = None
    resume: bool = False  # the run exists: go on with it (its finished tasks are kept)
    flow: bool = False  # ``crew`` names a flow
    records: dict[str, list[dict[str, Any]]] | None = None  # the run's rows, for a worker with its own store


@dataclass(frozen=True)
class Outcome:
    row: int
    run_id: str
    status: str
    seconds: float
    output: str | None = None
    error: str | None = None
    tokens: int = 0
    cost: float | None = 0.0
    worker: int = 0  # the process id that ran it
    peak_rss_mb: float = 0.0  # that process's high-water mark so far
    overhead: float = 0.0  # seconds beyond the run itself: handing it out, scheduling, bringing it back


def perform(project: Project, job: Job) -> Outcome:
    """Run (or resume) the job's run; a bad row or a failed run is an outcome, never an exception."""
    import os

    from . import api
    from .errors import RolecallError, RunNotFound
    started = time.perf_counter()
    try:
        try:  # a worker that died before the run was recorded leaves nothing to resume
            stored = api.stored_run(job.run_id, project)
            # a run still queued (serve) never started: it is started, not resumed
            resume = job.resume and stored["id"] == job.run_id and stored["status"] != "queued"
        except RunNotFound:
            resume = False
        if resume:
            result: Any = api.resume(job.run_id, approve_all=job.approve_all, project=project)
        elif job.flow:
            result = api.run_flow(job.crew, job.inputs, llm=job.llm, approve_all=job.approve_all, project=project,
                                  run_id=job.run_id)
        else:
            result = api.run(job.crew, job.inputs, llm=job.llm, max_cost=job.max_cost,
                             approve_all=job.approve_all, project=project, run_id=job.run_id)
    except RolecallError as exc:
        return Outcome(job.row, job.run_id, "failed", time.perf_counter() - started,
                       error="; ".join(p.render(project.root) for p in exc.problems), worker=os.getpid(),
                       peak_rss_mb=peak_rss_mb())
    return Outcome(job.row, job.run_id, str(result.status), time.perf_counter() - started, output=result.output,
                   error=result.error, tokens=result.usage.total_tokens, cost=result.usage.cost, worker=os.getpid(),
                   peak_rss_mb=peak_rss_mb())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
