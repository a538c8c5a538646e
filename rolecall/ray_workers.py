"""A batch on a Ray cluster: each run is a call to one of ``size`` Ray actors; its records come back
to the driver's run store.

The project (crews, config, tools, .env) travels as Ray's ``working_dir`` runtime
environment, so a worker on another machine sees the same files. A worker records
into a store of its own in a temporary folder and returns the run's rows and its
run folder's files; the driver adds them to its store (``RunStore.import_run``).
Only a returned result is recorded, so a worker lost mid-run, which Ray restarts and
whose calls it retries, leaves one run, not two. Each actor imports crewai once.

Actors, not one task per run: a task waits for the driver to see the last one finish,
then for Ray to lease it a worker (7 ms a run, median, on two busy cores). Each actor
holds its next run queued behind the current one, so it starts at once (4 ms).
"""
from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from .environment import Environment, own_crewai_storage, ray_on_loopback
from .errors import ConfigError
from .job import Job, Outcome, perform
from .problem import Problem
from .project import Project
from .store import RunStore

# what a worker must not receive: the driver's environment, run folders, caches and virtualenvs
EXCLUDES = [".venv", "venv", ".git", "runs", ".rolecall-cache", "__pycache__", "*.pyc", "node_modules", ".mypy_cache",
            ".ruff_cache", ".pytest_cache", ".hypothesis"]
PASSED_ON = ("ROLECALL_LLM", "ROLECALL_SCRIPT", "ROLECALL_SCRIPTED_DELAY", "ROLECALL_LOCAL_MODEL", "ROLECALL_CACHE",
             "ROLECALL_OFFLINE")  # settings, never secrets: those travel in the project's .env
RETRIES = 3  # Ray restarts a dead actor, and reruns the calls it held, this many times
QUEUED = 2  # calls an actor holds at once: the run it is on, and the next


def run_on_worker(job: Job, root: str | None = None) -> dict[str, Any]:
    """A Ray task: the job's run in a store of its own; its records and files go back to the driver.

    ``root``: the project's folder, when it did not travel as the working_dir (Ray starts the task there).
    """
    from .context import open_store
    from .environment import load_dotenv
    root_dir = Path(root) if root else Path.cwd()
    with tempfile.TemporaryDirectory(prefix="rolecall-ray-") as folder:
        project = Project(root_dir, runs=Path(folder))
        load_dotenv(project.env_file)
        if job.records:  # a resumed run: its finished tasks come with it
            with open_store(project) as store:
                store.import_run(job.records)
        outcome = perform(project, replace(job, records=None))
        with open_store(project) as store:
            records = store.export_run(job.run_id) if store.run(job.run_id) else None
        run_dir = Path(folder) / job.run_id
        files = {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    return {"outcome": outcome, "records": records, "files": files}


class RunWorker:
    """A Ray actor that runs batch rows one after another, crewai imported once."""

    def __init__(self, root: str | None):
        self.root = root
        # its own crewai scratch folder, as a local worker has: crewai rewrites one SQLite file on every
        # kickoff, and eight actors sharing it waited on its lock (runs took 0.59 s instead of 0.45 s)
        self.scratch = tempfile.TemporaryDirectory(prefix="rolecall-crewai-")
        own_crewai_storage(Path(self.scratch.name))

    def run(self, job: Job) -> dict[str, Any]:
        return run_on_worker(job, self.root)


class RayPool:
    """Up to ``size`` runs at once on the Ray cluster at ``address`` ("local": start one on this machine)."""

    def __init__(self, project: Project, store: RunStore, address: str, size: int):
        if address == "local" or address.rsplit(":", 1)[0] in ("127.0.0.1", "localhost"):
            ray_on_loopback()
        try:
            import ray
        except ImportError:
            raise ConfigError(Problem("--ray needs the ray package", hint="pip install -e '.[ray]'")) from None
        self.ray, self.project, self.store, self.size = ray, project, store, max(1, size)
        # a driver that called ray.init itself keeps its cluster and runtime environment; then the
        # workers read the project where it is, which holds on one machine
        self._owned = not ray.is_initialized()
        if self._owned:
            local = address == "local"
            ray.init(address="local" if local else address, num_cpus=self.size if local else None,
                     include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                     runtime_env=self.runtime_env())
        root = None if self._owned else str(project.root)
        actor = ray.remote(num_cpus=1, max_restarts=RETRIES, max_task_retries=RETRIES)(RunWorker)
        self._actors: list[Any] = [actor.remote(root) for _ in range(self.size)]
        self._running: dict[Any, tuple[Job, int, float]] = {}  # call -> its job, its actor, when it was sent
        self._free_at = [0.0] * self.size  # when each actor's previous call came back

    def runtime_env(self) -> dict[str, Any]:
        env = Environment.current()
        passed = {name: env[name] for name in PASSED_ON if name in env}
        return {"working_dir": str(self.project.root), "excludes": EXCLUDES, "env_vars": passed}

    @property
    def busy(self) -> int:
        return len({actor for _, actor, _ in self._running.values()})

    def start(self, jobs: int) -> None:
        """Nothing to do: the actors started with the pool, and take calls as they come."""

    def outcomes(self, jobs: list[Job]) -> Iterator[Outcome]:
        waiting = list(reversed([self._shippable(job) for job in jobs]))
        self._refill(waiting)
        while self._running:
            done, _ = self.ray.wait(list(self._running), num_returns=1)
            job, actor, sent = self._running.pop(done[0])
            began, self._free_at[actor] = max(sent, self._free_at[actor]), time.perf_counter()
            self._refill(waiting)
            yield self._received(job, done[0], self._free_at[actor] - began)

    def _refill(self, waiting: list[Job]) -> None:
        """Up to QUEUED calls per actor: the one it runs, and the next, ready when it is done."""
        held = [0] * self.size
        for _, actor, _ in self._running.values():
            held[actor] += 1
        for actor in sorted(range(self.size), key=held.__getitem__):
            while waiting and held[actor] < QUEUED:
                job = waiting.pop()
                self._running[self._actors[actor].run.remote(job)] = (job, actor, time.perf_counter())
                held[actor] += 1

    def _shippable(self, job: Job) -> Job:
        """A resumed run takes its records along: the worker's store starts empty."""
        if job.resume and self.store.run(job.run_id) is not None:
            return replace(job, records=self.store.export_run(job.run_id))
        return job

    def _received(self, job: Job, ref: Any, seconds: float) -> Outcome:
        try:
            answer = self.ray.get(ref)
        except Exception as exc:  # the task failed for good (workers lost more than RETRIES times)
            return Outcome(job.row, job.run_id, "failed", seconds, error=f"on Ray: {type(exc).__name__}: {exc}")
        outcome: Outcome = replace(answer["outcome"], overhead=max(0.0, seconds - answer["outcome"].seconds))
        run_dir = self.project.runs_dir / job.run_id
        if answer["records"]:
            answer["records"]["runs"][0]["run_dir"] = str(run_dir)
            self.store.import_run(answer["records"])
        for name, content in answer["files"].items():
            target = run_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        return outcome

    def close(self) -> None:
        for actor in self._actors:  # with the calls they hold: their runs were never recorded here
            self.ray.kill(actor, no_restart=True)
        self._running.clear()
        if self._owned:
            self.ray.shutdown()
