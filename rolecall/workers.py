"""Worker processes for many runs at once: each imports crewai once and runs jobs until told to stop.

Not ``concurrent.futures``: its pool breaks as a whole when one worker dies, and
it cannot say which job the dead worker held. Here every worker has its own pipe,
so the pool always knows who runs what; a worker that dies (crash, OOM, kill -9)
is replaced and its job handed out again as a resume of the same run, at most
``RETRIES`` times. Workers ignore Ctrl-C: the parent decides what stops.

Importing crewai costs 6-8 s of CPU, and eight workers importing it at once on two
cores took a minute and a half before the first run. So a parent that has no
thread but its main one imports crewai once and forks its workers, which start warm
and share those pages; a parent with other threads (a test process, a progress bar
already drawing) spawns them instead, since a forked child would lack those threads.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from typing import Any

from .job import Job, Outcome, perform
from .project import Project

RETRIES = 2  # a job whose worker died this many times more is failed, not retried forever
_READY, _DONE, _BROKEN = "ready", "done", "broken"


def serve(conn: Connection, project: Project) -> None:
    """A worker's life: warm up, then run each job sent until ``None`` arrives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import crewai  # noqa: F401  (paid once per worker, not once per run; free when forked warm)
    except Exception as exc:  # said once to the parent, which fails the rows with it: no traceback
        conn.send((_BROKEN, f"{type(exc).__name__}: {exc}"))
        return
    conn.send((_READY, os.getpid()))
    while (job := conn.recv()) is not None:
        conn.send((_DONE, perform(project, job)))


def _context() -> Any:
    """fork, warm, from a parent with no other thread; else spawn."""
    if threading.active_count() > 1:
        return multiprocessing.get_context("spawn")
    try:
        import crewai  # noqa: F401  (once, here; every forked worker has it)

        from . import assemble, runner  # noqa: F401  (the rest of what a run imports)
    except Exception:  # a broken install: the workers fail their rows and say so
        return multiprocessing.get_context("spawn")
    if threading.active_count() > 1:  # importing it started one after all
        return multiprocessing.get_context("spawn")
    return multiprocessing.get_context("fork")


@dataclass
class _Worker:
    process: Any  # a multiprocessing Process, forked or spawned
    conn: Connection
    job: Job | None = None
    ready: bool = False
    sent: float = 0.0  # when it got its job
    broken: str = ""  # why it could not start


class WorkerPool:
    """``size`` worker processes; ``outcomes(jobs)`` yields each job's outcome as it finishes."""

    def __init__(self, project: Project, size: int):
        self.project, self.size = project, max(1, size)
        self._workers: list[_Worker] = []
        self._deaths: dict[int, int] = {}  # job row -> workers it has lost
        self._stillborn = 0  # workers that died before they were ready

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def busy(self) -> int:
        return sum(w.job is not None for w in self._workers)

    def start(self, jobs: int) -> None:
        """Start the workers ``jobs`` jobs need (before the caller starts threads of its own)."""
        while len(self._workers) < min(self.size, jobs):
            self._start()

    def outcomes(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        queue = deque(jobs)
        self.start(len(queue))
        while queue or any(w.job for w in self._workers):
            self._hand_out(queue)
            yield from self._collect(queue)

    def _start(self) -> None:
        context = _context()
        parent, child = context.Pipe()
        process = context.Process(target=serve, args=(child, self.project), daemon=True, name="rolecall-worker")
        process.start()
        child.close()
        self._workers.append(_Worker(process, parent))

    def _hand_out(self, queue: deque[Job]) -> None:
        for worker in self._workers:
            if worker.ready and worker.job is None and queue:
                worker.job, worker.sent = queue.popleft(), time.perf_counter()
                worker.conn.send(worker.job)

    def _collect(self, queue: deque[Job]) -> Iterator[Outcome]:
        by_signal = {w.process.sentinel: w for w in self._workers}
        by_conn = {w.conn: w for w in self._workers}
        for ready in wait([*by_conn, *by_signal], timeout=1.0):
            worker = by_conn.get(ready)  # type: ignore[call-overload]
            if worker is not None:
                try:
                    kind, value = worker.conn.recv()
                except (EOFError, OSError):
                    continue  # it died; its sentinel says so
                if kind == _READY:
                    worker.ready = True
                elif kind == _BROKEN:
                    worker.broken = value
                else:
                    worker.job = None
                    yield replace(value, overhead=max(0.0, time.perf_counter() - worker.sent - value.seconds))
            elif by_signal[ready] in self._workers:
                yield from self._bury(by_signal[ready], queue)

    def _bury(self, worker: _Worker, queue: deque[Job]) -> Iterator[Outcome]:
        """Replace a dead worker; its job goes back at the front (as a resume), or fails after RETRIES."""
        self._workers.remove(worker)
        worker.conn.close()
        job, code = worker.job, worker.process.exitcode
        if not worker.ready:  # it died warming up: a broken install, not a bad row
            self._stillborn += 1
            if self._stillborn > RETRIES:
                while queue:
                    lost = queue.popleft()
                    yield Outcome(lost.row, lost.run_id, "failed", 0.0,
                                  error=f"worker processes could not start ({worker.broken or f'exit code {code}'});"
                                        " check that `python -c 'import crewai'` works")
                return
        if job is None:
            if queue:
                self._start()
            return
        self._deaths[job.row] = self._deaths.get(job.row, 0) + 1
        if self._deaths[job.row] > RETRIES:
            yield Outcome(job.row, job.run_id, "failed", 0.0,
                          error=f"its worker process died {self._deaths[job.row]} times (last exit code {code})")
            return
        queue.appendleft(replace(job, resume=True))
        self._start()

    def close(self) -> None:
        """Stop every worker now; a run one was in the middle of is left for the store to mark interrupted."""
        for worker in self._workers:
            if worker.job is None:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
            else:
                worker.process.terminate()
        for worker in self._workers:
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self._workers.clear()
