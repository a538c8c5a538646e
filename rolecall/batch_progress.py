"""A batch's progress: a live bar on a terminal (done, failed, running, ETA, tokens, cost), plain lines otherwise.

Both write to stderr, so stdout keeps only the batch's summary.
"""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from . import format as fmt
from .job import Outcome
from .status import RunStatus


class PlainBatchProgress:
    """One line per finished row; fine for CI logs and pipes."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.total = self.done = self.failed = self.tokens = 0
        self.cost: float | None = 0.0
        self.started = time.perf_counter()
        self._started_with = 0  # rows done by an earlier attempt: they say nothing about this one's speed

    def start(self, total: int, done: int) -> None:
        self.total, self.done, self.started = total, done, time.perf_counter()
        self._started_with = done
        if done:
            print(f"{done} of {total} rows already done", file=self.stream, flush=True)

    def update(self, outcome: Outcome, running: int) -> None:
        self.done += 1
        self.failed += outcome.status not in (RunStatus.COMPLETED, RunStatus.AWAITING_APPROVAL)
        self.tokens += outcome.tokens
        self.cost = None if self.cost is None or outcome.cost is None else self.cost + outcome.cost
        self._show(outcome, running)

    def _show(self, outcome: Outcome, running: int) -> None:
        error = f": {outcome.error}" if outcome.error else ""
        print(f"[{self.done}/{self.total}] row {outcome.row} {outcome.status} in {outcome.seconds:.1f}s "
              f"({outcome.tokens} tokens){error}", file=self.stream, flush=True)

    def eta(self) -> float | None:
        finished_here = self.done - self._started_with
        if not finished_here:
            return None
        return (time.perf_counter() - self.started) / finished_here * (self.total - self.done)

    def close(self) -> None:
        pass


class RichBatchProgress(PlainBatchProgress):
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        super().__init__()
        self.bar = Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                            console=Console(stderr=True), transient=False)
        self.task: Any = None

    def start(self, total: int, done: int) -> None:
        super().start(total, done)
        self.bar.start()
        self.task = self.bar.add_task(self._line(0), total=total, completed=done)

    def _show(self, outcome: Outcome, running: int) -> None:
        if outcome.status not in (RunStatus.COMPLETED, RunStatus.AWAITING_APPROVAL):
            self.bar.console.print(f"row {outcome.row}: {outcome.status}: {outcome.error or ''}")
        self.bar.update(self.task, completed=self.done, description=self._line(running))

    def _line(self, running: int) -> str:
        eta = self.eta()
        return (f"failed {self.failed}  running {running}  ETA {fmt.short_seconds(eta) if eta is not None else '?'}"
                f"  {self.tokens} tokens  {fmt.cost(self.cost)}")

    def close(self) -> None:
        self.bar.stop()


def batch_progress_for(stream: TextIO | None = None) -> PlainBatchProgress:
    stream = stream or sys.stderr
    return RichBatchProgress() if stream.isatty() else PlainBatchProgress(stream)
