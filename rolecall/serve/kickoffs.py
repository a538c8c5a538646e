"""The queue between the web process and the worker processes.

A kickoff is written to the run store (``queued``, with its webhooks and meta) before the
answer is sent, so nothing accepted is lost. One thread owns the ``WorkerPool`` (it is not
thread-safe, and workers started with ``die_with_parent`` die with the thread that started
them): it takes new jobs from an in-memory inbox, hands them out, and records what a worker
could not (a crew that no longer loads, a worker that died too often).

On start, runs a killed server left ``running`` are ``interrupted`` (the store marks them,
their worker processes died with it) and offered for resume; ``queued`` runs start; runs
whose approval was decided but not resumed go on.
"""
from __future__ import annotations

import itertools
import json
import queue
import secrets
import socket
import threading
import time
from datetime import datetime
from typing import Any

from ..job import Job, Outcome
from ..project import Project
from ..status import ApprovalStatus, RunStatus
from ..store import RunStore
from ..workers import WorkerPool

RECHECK_SECONDS = 2.0  # how often runs left 'running' by dead processes are looked for
# workers yield the CPU to the web process: with every core running crews, 30 kickoffs from 16 clients
# were answered with p95 165 ms at nice 0 and 70 ms at nice 10 (2 cores, 2 workers, same load)
WORKER_NICE = 10


def new_kickoff_id(crew: str) -> str:
    # the run id itself: sortable by time, unique without asking the store
    return f"{datetime.now():%Y%m%d-%H%M%S}-{crew}-{secrets.token_hex(4)}"


class Kickoffs:
    def __init__(self, project: Project, store: RunStore, workers: int, llm: str | None):
        self.project, self.store, self.workers, self.llm = project, store, max(1, workers), llm
        self._inbox: queue.Queue[Job] = queue.Queue()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._rows = itertools.count(1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rolecall-kickoffs", daemon=True)
        self.active: set[str] = set()  # run ids a worker holds right now (read by /health)
        self.started = threading.Event()

    # --- the web process's side --------------------------------------------------------
    def kickoff(self, crew: str, inputs: dict[str, Any], *, webhooks: dict[str, str] | None = None,
                meta: Any = None, flow: bool = False) -> str:
        """Record a new run (of a crew, or a flow) as queued, then queue it; the id is the run's id."""
        run_id = new_kickoff_id(crew)
        self.store.queue_run(run_id, crew=crew, inputs=inputs, llm=self.llm, webhooks=webhooks, meta=meta,
                             kind="flow" if flow else "crew")
        self._send(Job(next(self._rows), run_id, crew, inputs, llm=self.llm, flow=flow))
        return run_id

    def resume(self, run_id: str, crew: str) -> None:
        """Go on with a stored run (decided approval, interrupted, failed) in a worker."""
        self._send(Job(next(self._rows), run_id, crew, {}, llm=self.llm, resume=True))

    def start(self) -> None:
        self._recover()
        self._thread.start()

    def stop(self) -> None:
        """Stop the workers; runs they were in are marked interrupted (resume picks them up)."""
        self._stop.set()
        self._wake()
        self._thread.join(timeout=30)
        self.store.mark_interrupted()

    @property
    def waiting(self) -> int:
        return self._inbox.qsize()

    def _send(self, job: Job) -> None:
        self._inbox.put(job)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_writer.send(b"!")
        except OSError:  # the buffer is full: the loop is awake already
            pass

    def _recover(self) -> None:
        self.store.mark_interrupted()
        for row in self.store.queued_runs():
            self._inbox.put(Job(next(self._rows), row["id"], row["crew"], _inputs(row["inputs"]), llm=self.llm,
                                flow=row["kind"] == "flow"))
        for run_id in self.store.runs_with_status(RunStatus.AWAITING_APPROVAL):
            gates = self.store.approvals(run_id)
            kickoff = self.store.kickoff(run_id)
            if kickoff and gates and all(g["status"] != ApprovalStatus.PENDING for g in gates):
                self._inbox.put(Job(next(self._rows), run_id, kickoff["crew"], {}, llm=self.llm, resume=True))

    # --- the pool's thread ---------------------------------------------------------------
    def _loop(self) -> None:
        pool = WorkerPool(self.project, self.workers, die_with_parent=True, nice=WORKER_NICE, may_fork=False)
        deferred: list[Job] = []  # jobs for a run a worker still holds: one worker per run at a time
        checked = time.monotonic()
        try:
            pool.warm()
            self.started.set()
            while not self._stop.is_set():
                self._drain_wake()
                deferred = self._hand_in(pool, deferred)
                for outcome in pool.poll(timeout=1.0, wake=[self._wake_reader]):
                    self._finished(outcome)
                if time.monotonic() - checked > RECHECK_SECONDS:
                    self.store.mark_interrupted()  # a killed server's workers may die after we started
                    checked = time.monotonic()
        finally:
            pool.close()

    def _hand_in(self, pool: WorkerPool, deferred: list[Job]) -> list[Job]:
        jobs = [*deferred]
        while True:
            try:
                jobs.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        later = []
        for job in jobs:
            if job.run_id in self.active:
                later.append(job)
            else:
                self.active.add(job.run_id)
                pool.submit(job)
        return later

    def _finished(self, outcome: Outcome) -> None:
        self.active.discard(outcome.run_id)
        if not outcome.error:
            return
        row = self.store.run(outcome.run_id)
        if row is not None and row["id"] == outcome.run_id and row["status"] in (RunStatus.QUEUED, RunStatus.RUNNING):
            # the worker could not record it (the crew no longer loads; its worker died RETRIES times)
            self.store.finish_run(outcome.run_id, RunStatus.FAILED, error=outcome.error)

    def _drain_wake(self) -> None:
        try:
            while self._wake_reader.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass


def _inputs(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)
