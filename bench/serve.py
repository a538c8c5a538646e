"""main.py serve under load: kickoff latency, throughput against what the workers allow, and a kill -9.

    python bench/serve.py [--runs 200] [--clients 16] [--workers N] [--delay 0.2] [--no-kill]

A real server (a subprocess on 127.0.0.1, a free port, the scripted model waiting
``--delay`` seconds per call) takes ``--runs`` kickoffs from ``--clients`` concurrent
clients. "Allowed" throughput is ``workers / run time``, the run time measured from runs
done one at a time in a warm worker. Then the same load again on a fresh store, with the
server killed (SIGKILL) once half the runs completed and started again: interrupted runs
are resumed through the API, queued ones start by themselves. Prints what it measured;
nothing is asserted.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from serve_helpers import Server, start_server  # noqa: E402

CREW = "research_report"


def kickoff_all(server: Server, runs: int, clients: int) -> tuple[list[str], list[float]]:
    """Kick off ``runs`` runs from ``clients`` concurrent clients (one connection each, on one event loop,
    so the clients' own threads do not take the CPU from the server on a small machine); the accepted ids
    and each answer's latency (s). Every client connects before the first kickoff: opening 16
    connections at once (and httpx's SSL context for each) is not the kickoff's latency."""
    numbers = itertools.count()
    ids: list[str] = []
    latencies: list[float] = []

    async def client(go: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=server.url, headers=server.headers, timeout=30) as http:
            await http.get("/health")
            await go.wait()
            while (n := next(numbers)) < runs:
                started = time.perf_counter()
                answer = await http.post(f"/crews/{CREW}/kickoff", json={"inputs": {"topic": f"topic {n}"}})
                took = time.perf_counter() - started
                if answer.status_code == 200:
                    ids.append(answer.json()["kickoff_id"])
                    latencies.append(took)

    async def all_clients() -> None:
        go = asyncio.Event()
        connected = [asyncio.create_task(client(go)) for _ in range(clients)]
        await asyncio.sleep(0.5)
        go.set()
        await asyncio.gather(*connected)
    asyncio.run(all_clients())
    return ids, latencies


def runs_of(server: Server) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in server.get("/runs?limit=1000").json()["runs"]}


def wait_done(server: Server, ids: list[str], *, at_least: int | None = None, seconds: float = 3600) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    target = len(ids) if at_least is None else at_least
    while time.monotonic() < deadline:
        runs = runs_of(server)
        if sum(runs.get(i, {}).get("status") == "completed" for i in ids) >= target:
            return runs
        time.sleep(0.5)
    raise SystemExit(f"timed out: fewer than {target} runs completed")


def seconds_between(first: str, last: str) -> float:
    from datetime import datetime
    return (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()


def one_at_a_time(server: Server, count: int = 3) -> float:
    """Median seconds of a run in a warm worker (the first run warms it and is not counted)."""
    took = []
    for n in range(count + 1):
        [run_id], _ = kickoff_all(server, 1, 1)
        record = server.wait_status(run_id, "completed", seconds=300)["run"]
        if n:
            took.append(seconds_between(record["started_at"], record["finished_at"]))
    return statistics.median(took)


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def steady(args: argparse.Namespace, env: dict[str, str], folder: Path) -> None:
    server = start_server(folder / "runs", env=env, workers=args.workers)
    try:
        run_time = one_at_a_time(server)
        started = time.perf_counter()
        ids, latencies = kickoff_all(server, args.runs, args.clients)
        accepted = time.perf_counter() - started
        runs = wait_done(server, ids)
        done = [runs[i] for i in ids]
        span = seconds_between(min(r["started_at"] for r in done), max(r["finished_at"] for r in done))
        print(f"steady: {len(ids)}/{args.runs} kickoffs accepted in {accepted:.2f} s from {args.clients} clients; "
              f"answer p50 {statistics.median(latencies) * 1000:.1f} ms, p95 {p95(latencies) * 1000:.1f} ms, "
              f"max {max(latencies) * 1000:.1f} ms")
        print(f"steady: {sum(r['status'] == 'completed' for r in done)}/{len(ids)} completed and recorded; "
              f"{len(ids) / span:.2f} runs/s over {span:.1f} s; a run alone takes {run_time:.2f} s in a warm worker, "
              f"so {args.workers} workers allow {args.workers / run_time:.2f} runs/s "
              f"({len(ids) / span / (args.workers / run_time):.0%} of that)")
    finally:
        server.stop()


def killed(args: argparse.Namespace, env: dict[str, str], folder: Path) -> None:
    first = start_server(folder / "runs", env=env, workers=args.workers)
    ids, _ = kickoff_all(first, args.runs, args.clients)
    runs = wait_done(first, ids, at_least=len(ids) // 2)
    before = {i: runs[i]["status"] for i in ids}
    calls_before = {i: runs[i]["calls"] for i in ids if before[i] == "completed"}
    first.stop(signal.SIGKILL)
    counts = {s: list(before.values()).count(s) for s in sorted(set(before.values()))}
    print(f"kill -9: {len(ids)} accepted; when killed: {counts}")
    second = start_server(folder / "runs", env=env, workers=args.workers)
    try:
        time.sleep(1.0)
        interrupted = [i for i, r in runs_of(second).items() if r["status"] == "interrupted"]
        for run_id in interrupted:
            second.post(f"/runs/{run_id}/resume")
        runs = wait_done(second, ids)
        records = {i: second.get(f"/runs/{i}").json() for i in ids}
        resumed = {i for i, r in records.items() if any(e["kind"] == "resumed" for e in r["events"])}
        twice = [i for i, r in records.items() if [e["kind"] for e in r["events"]].count("resumed") > 1]
        changed = [i for i, n in calls_before.items() if runs[i]["calls"] != n]
        extra = set(runs) - set(ids)
        print(f"kill -9: after restart {len(interrupted)} interrupted (resumed through the API), "
              f"{sum(before[i] == 'queued' for i in ids)} queued started by themselves")
        print(f"kill -9: {sum(runs[i]['status'] == 'completed' for i in ids)}/{len(ids)} completed; "
              f"lost {len(set(ids) - set(runs))}; runs not accepted {len(extra)}; resumed {len(resumed)} "
              f"(resumed more than once: {len(twice)}); runs completed before the kill that ran again: {len(changed)}")
    finally:
        second.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--delay", type=float, default=0.2, help="seconds per scripted model call")
    parser.add_argument("--no-kill", action="store_true", help="skip the kill -9 half")
    args = parser.parse_args()
    env = {"ROLECALL_SCRIPTED_DELAY": str(args.delay), "ROLECALL_SERVE_TOKEN": "bench-" + "x" * 26}
    print(json.dumps({"runs": args.runs, "clients": args.clients, "workers": args.workers, "delay": args.delay,
                      "cores": os.cpu_count(), "load_average": os.getloadavg()}))
    with tempfile.TemporaryDirectory() as tmp:
        steady(args, env, Path(tmp) / "steady")
        if not args.no_kill:
            killed(args, env, Path(tmp) / "killed")


if __name__ == "__main__":
    main()
