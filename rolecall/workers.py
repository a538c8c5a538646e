"""Worker processes for many runs at once: each imports crewai once and runs jobs until told to stop.

Not ``concurrent.futures``: its pool breaks as a whole when one worker dies, and
it cannot say which job the dead worker held. Here every worker has its own pipe,
so the pool always knows who runs what; a worker that dies (crash, OOM, kill -9)
is replaced and its job handed out again as a resume of the same run, at most
``RETRIES`` times. Workers ignore Ctrl-C: the parent decides what stops.

Importing crewai costs 6-8 s of CPU, and eight workers importing it at once on two
cores took a minute and a half before the first run. So a parent that has no
thread but its main one imports crewai once and forks its workers, which start warm
and share those pages; a parent with other threads (the server, a test process, a
progress bar already drawing) spawns them instead, since a forked child would lack
those threads.
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

from .environment import own_crewai_storage
from .job import Job, Outcome, perform
from .project import Project

RETRIES = 2  # a job whose worker died this many times more is failed, not retried forever
_READY, _DONE, _BROKEN = "ready", "done", "broken"


def serve(conn: Connection, project: Project, die_with_parent: bool = False, nice: int = 0, slot: int = 0) -> None:
    """A worker's life: warm up, then run each job sent until ``None`` arrives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    own_crewai_storage(project.root / ".rolecall-cache" / "crewai" / "workers" / str(slot))
    if die_with_parent:
        _die_with_parent()
    if nice:
        os.nice(nice)
    try:
        import crewai  # noqa: F401  (paid once per worker, not once per run; free when forked warm)
    except Exception as exc:  # said once to the parent, which fails the rows with it: no traceback
        conn.send((_BROKEN, f"{type(exc).__name__}: {exc}"))
        return
    conn.send((_READY, os.getpid()))
    while (job := conn.recv()) is not None:
        conn.send((_DONE, perform(project, job)))


def _context(may_fork: bool) -> Any:
    """fork, warm, from a parent with no other thread; else spawn."""
    if not may_fork or threading.active_count() > 1:
        return multiprocessing.get_context("spawn")
    try:
        import crewai  # noqa: F401  (once, here; every forked worker has it)

        from . import assemble, runner  # noqa: F401  (the rest of what a run imports)
    except Exception:  # a broken install: the workers fail their rows and say so
        return multiprocessing.get_context("spawn")
    if threading.active_count() > 1:  # importing it started one after all
        return multiprocessing.get_context("spawn")
    return multiprocessing.get_context("fork")


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the process that started it dies (even by kill -9): a server
    started again must find the runs it was executing interrupted, not still going in an orphan."""
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: an orphan finishes its run, which is recorded anyway
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


@dataclass
class _Worker:
    process: Any  # a multiprocessing Process, forked or spawned
    conn: Connection
    job: Job | None = None
    ready: bool = False
    sent: float = 0.0  # when it got its job
    broken: str = ""  # why it could not start


class WorkerPool:
    """``size`` worker processes; ``outcomes(jobs)`` yields each job's outcome as it finishes.

    A long-lived owner (the server) uses ``warm``, ``submit`` and ``poll`` instead, from one thread:
    the pool is not thread-safe, and a worker asked to die with its parent dies with that thread.
    """

    def __init__(self, project: Project, size: int, *, die_with_parent: bool = False, nice: int = 0,
                 may_fork: bool = True):
        """``may_fork=False``: always spawn, so this process never imports crewai (the web server)."""
        self.project, self.size, self.die_with_parent, self.nice = project, max(1, size), die_with_parent, nice
        self.may_fork = may_fork
        self._workers: list[_Worker] = []
        self._queue: deque[Job] = deque()
        self._deaths: dict[int, int] = {}  # job row -> workers it has lost
        self._stillborn = 0  # workers that died before they were ready

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def busy(self) -> int:
        return sum(w.job is not None for w in self._workers)

    @property
    def waiting(self) -> int:
        """Jobs submitted and not handed to a worker yet."""
        return len(self._queue)

    @property
    def ready(self) -> int:
        return sum(w.ready for w in self._workers)

    def outcomes(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        for job in jobs:
            self.submit(job)
        while self._queue or any(w.job for w in self._workers):
            yield from self.poll()

    def start(self, jobs: int) -> None:
        """Start the workers ``jobs`` jobs need (before the caller starts threads of its own)."""
        while len(self._workers) < min(self.size, jobs):
            self._start()

    def warm(self) -> None:
        """Start every worker now, so the first job does not wait for crewai's import."""
        while len(self._workers) < self.size:
            self._start()

    def submit(self, job: Job) -> None:
        """Queue ``job``; it starts when a worker is free (call ``poll`` to move things on)."""
        self._queue.append(job)
        while len(self._workers) < min(self.size, self.busy + len(self._queue)):
            self._start()

    def poll(self, timeout: float = 1.0, wake: list[Any] | None = None) -> list[Outcome]:
        """Hand out queued jobs, then the outcomes that arrive within ``timeout`` seconds
        (sooner when one of ``wake``, connections or sockets, becomes readable)."""
        self._hand_out(self._queue)
        found = list(self._collect(self._queue, timeout, wake or []))
        self._hand_out(self._queue)
        return found

    def _start(self) -> None:
        context = _context(self.may_fork)
        parent, child = context.Pipe()
        process = context.Process(target=serve, args=(child, self.project, self.die_with_parent, self.nice,
                                                       len(self._workers)),
                                    daemon=True, name="rolecall-worker")
        process.start()
        child.close()
        self._workers.append(_Worker(process, parent))

    def _hand_out(self, queue: deque[Job]) -> None:
        for worker in self._workers:
            if worker.ready and worker.job is None and queue:
                worker.job, worker.sent = queue.popleft(), time.perf_counter()
                worker.conn.send(worker.job)

    def _collect(self, queue: deque[Job], timeout: float = 1.0, wake: list[Any] | None = None) -> Iterator[Outcome]:
        by_signal = {w.process.sentinel: w for w in self._workers}
        by_conn = {w.conn: w for w in self._workers}
        for ready in wait([*by_conn, *by_signal, *(wake or [])], timeout=timeout):
            if ready not in by_conn and ready not in by_signal:
                continue  # a wake-up: the caller has something new
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
