"""Batch throughput and memory on the scripted model, in local worker processes and on a local Ray cluster.

    python bench/batch.py [--runs 50] [--concurrency 8] [--delay 0.2] [--no-ray]

Prints figures measured in this run; nothing is asserted. "Ideal" is
``concurrency / run time``, with the run time taken from runs done one at a time
in a warm worker. Steady throughput counts from the first finished run to the
last, so the workers' one-time crewai import is reported apart.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rolecall import api  # noqa: E402
from rolecall.batch import BatchOptions, BatchResult  # noqa: E402
from rolecall.project import Project  # noqa: E402

CREW = "research_report"


def rows_file(folder: Path, count: int) -> Path:
    rows = folder / f"rows-{count}.csv"
    rows.write_text("topic\n" + "".join(f"topic {i}\n" for i in range(count)))
    return rows


class Arrivals:
    """A batch progress that only notes when each run came back."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.workers: list[int] = []  # the process that ran each, in the same order

    def start(self, total: int, done: int) -> None:
        self.started = time.perf_counter()

    def update(self, outcome: object, running: int) -> None:
        self.times.append(time.perf_counter() - self.started)
        self.workers.append(getattr(outcome, "worker", 0))

    def close(self) -> None:
        pass


def batch(project: Project, rows: Path, concurrency: int, ray: str | None = None) -> tuple[BatchResult, Arrivals]:
    arrivals = Arrivals()
    result = api.run_batch(CREW, rows, options=BatchOptions(llm="scripted", concurrency=concurrency, ray=ray),
                       progress=arrivals, project=project)
    return result, arrivals


def report(name: str, result: BatchResult, arrivals: Arrivals, concurrency: int, run_alone: float) -> None:
    done = sum(r.status == "completed" for r in result.rows)
    seconds = [o.seconds for o in result.outcomes]
    ideal = concurrency / run_alone
    wall = arrivals.times[-1]
    # steady: once every worker has finished a run (its start-up is behind it), until the last run;
    # Ray brings its workers up one after another, so the first `concurrency` runs back are not that moment
    first_back = {w: i for i, w in reversed(list(enumerate(arrivals.workers)))}
    warm_index = (max(first_back.values()) if len(first_back) >= concurrency
                  else min(concurrency, len(arrivals.times)) - 1)
    warm = arrivals.times[warm_index]
    later = len(arrivals.times) - 1 - warm_index
    steady = later / max(1e-9, wall - warm)
    overall = len(result.outcomes) / wall
    peaks = result.peak_rss_mb
    print(f"{name}: {done}/{len(result.rows)} completed in {wall:.1f} s (workers' start-up included: "
          f"first run back after {arrivals.times[0]:.1f} s)")
    print(f"  run time under load: median {statistics.median(seconds):.2f} s (alone {run_alone:.2f} s)")
    print(f"  throughput: {overall:.2f} runs/s overall, {steady:.2f} runs/s steady (the last {later} runs, once "
          f"every worker had run one); ideal {ideal:.2f} runs/s "
          f"-> {overall / ideal:.2f}x overall, {steady / ideal:.2f}x steady")
    later = _after_first_per_worker(result)
    print(f"  overhead per run beyond the run itself (handing out, scheduling, bringing back), once each "
          f"worker had run once: median {statistics.median(o.overhead for o in later):.3f} s, "
          f"max {max(o.overhead for o in later):.3f} s")
    print(f"  peak RSS per worker: {len(peaks)} workers, {min(peaks.values()):.0f}-{max(peaks.values()):.0f} MB")
    growth = _growth(result)
    if growth is not None:
        print(f"  RSS growth per worker from its first to its last run: max {growth:.1f} MB")


def _after_first_per_worker(result: BatchResult) -> list:
    seen: set[int] = set()
    later = []
    for o in result.outcomes:
        if o.worker in seen:
            later.append(o)
        seen.add(o.worker)
    return later or result.outcomes


def _growth(result: BatchResult) -> float | None:
    by_worker: dict[int, list[float]] = {}
    for o in result.outcomes:
        by_worker.setdefault(o.worker, []).append(o.peak_rss_mb)
    spans = [marks[-1] - marks[0] for marks in by_worker.values() if len(marks) > 1]
    return max(spans) if spans else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--delay", default="0.2", help="ROLECALL_SCRIPTED_DELAY, seconds per model call")
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    os.environ["ROLECALL_SCRIPTED_DELAY"] = args.delay
    print(f"{os.cpu_count()} cores; {args.runs} runs of {CREW} on the scripted model, "
          f"{args.delay} s per model call, concurrency {args.concurrency}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        project = Project(ROOT, runs=folder / "runs")
        alone, _ = batch(project, rows_file(folder, 4), 1)
        run_alone = statistics.median(o.seconds for o in alone.outcomes[1:])  # the first paid the warm-up
        result, arrivals = batch(project, rows_file(folder, args.runs), args.concurrency)
        report("local workers", result, arrivals, args.concurrency, run_alone)
        if not args.no_ray:
            result, arrivals = batch(project, rows_file(folder, args.runs), args.concurrency, ray="local")
            report("local Ray", result, arrivals, args.concurrency, run_alone)


if __name__ == "__main__":
    main()
