"""batch --ray: the same rows on a real local Ray cluster (127.0.0.1, two CPUs) record what a local batch does."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import REPO
from rolecall import api
from rolecall.batch import BatchOptions, BatchResult
from rolecall.context import open_store
from rolecall.project import Project

# loopback only: Ray's switch for a cluster that never reaches beyond this machine (read on import);
# and token authentication, as a cluster people share has it (the token is ~/.ray/auth_token)
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_AUTH_MODE"] = "token"
ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")

pytestmark = pytest.mark.crew

TASK_TITLE = b"ray::RunWorker"  # Ray names an actor's process after its class (and the method it runs)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A real Ray cluster started as `ray start` starts one, on loopback only; batches join it by address."""
    port = _free_port()
    ray_cli = str(Path(sys.executable).with_name("ray"))
    subprocess.run([ray_cli, "start", "--head", "--num-cpus=2", f"--port={port}",
                    "--include-dashboard=false", "--disable-usage-stats", "--object-store-memory=200000000"], check=True, capture_output=True,
                   timeout=120)
    yield f"127.0.0.1:{port}"
    subprocess.run([ray_cli, "stop", "--force"], capture_output=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("ROLECALL_RUNS", str(tmp_path / "runs"))
    return Project(REPO, runs=tmp_path / "runs")


def _rows(tmp_path: Path, count: int) -> Path:
    rows = tmp_path / "rows.csv"
    rows.write_text("topic\n" + "".join(f"topic {i}\n" for i in range(count)))
    return rows


def _recorded(project: Project, result: BatchResult) -> list[Any]:
    """What the store holds of each row's run, without ids and times."""
    with open_store(project) as store:
        out = []
        for row in result.rows:
            tasks = [(t["key"], t["agent"], t["status"], t["output"]) for t in store.tasks(row.run_id)]
            calls = [(c["task"], c["agent"], c["prompt_tokens"], c["completion_tokens"])
                     for c in store.model_calls(row.run_id)]
            out.append((row.number, row.status, row.inputs, row.output, tasks, calls))
        return out


def test_a_ray_batch_records_what_a_local_batch_records(project: Project, tmp_path: Path):
    """`--ray` with no address: a cluster of one on this machine, started and stopped by the batch."""
    rows = _rows(tmp_path, 3)
    local = api.run_batch("research_report", rows, options=BatchOptions(llm="scripted", concurrency=2), project=project)
    on_ray = api.run_batch("research_report", rows, options=BatchOptions(llm="scripted", concurrency=2, ray="local"),
                       project=project)
    assert [r.status for r in on_ray.rows] == ["completed"] * 3
    assert _recorded(project, on_ray) == _recorded(project, local)
    # the run folders came back too: each run's run.json sits in the driver's runs folder
    assert all((project.runs_dir / r.run_id / "run.json").is_file() for r in on_ray.rows if r.run_id)
    assert api.runs(project, batch=on_ray.id)[0].crew == "research_report"


def _ray_task_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(TASK_TITLE):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def test_a_lost_ray_worker_is_retried_and_its_run_recorded_once(cluster: str, project: Project, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch):
    """`--ray ADDRESS`: join a cluster someone started (`ray start --head`), kill a worker mid-run."""
    monkeypatch.setenv("ROLECALL_SCRIPTED_DELAY", "1.5")  # long enough to be caught mid-run
    rows = _rows(tmp_path, 2)
    killed: list[int] = []

    def kill_one() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for pid in _ray_task_pids():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.1)
    killer = threading.Thread(target=kill_one)
    killer.start()
    result = api.run_batch("research_report", rows, options=BatchOptions(llm="scripted", concurrency=2, ray=cluster),
                       project=project)
    killer.join()
    assert killed, "no Ray task process was seen"
    assert [r.status for r in result.rows] == ["completed", "completed"]
    assert killed[0] not in result.peak_rss_mb  # the outcome came from the retry, on another worker
    with open_store(project) as store:
        runs = store.query("SELECT id FROM runs")
        tasks = store.query("SELECT run_id, key FROM tasks")
    assert sorted(r["id"] for r in runs) == sorted(r.run_id for r in result.rows if r.run_id)
    assert len(tasks) == 4  # two tasks per run, recorded once
