"""batch: one run per row of a file, in worker processes; recorded, resumable, nothing lost or run twice."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import REPO
from rolecall import api
from rolecall.batch import BatchOptions
from rolecall.context import open_store
from rolecall.dataset import read_rows
from rolecall.errors import InputError
from rolecall.project import Project

pytestmark = pytest.mark.crew

TOPICS = ["tides", "solar storage", "coral reefs"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("ROLECALL_RUNS", str(tmp_path / "runs"))  # the workers inherit it
    return Project(REPO, runs=tmp_path / "runs")


def _store_rows(project: Project, sql: str, *args: Any) -> list[dict[str, Any]]:
    with open_store(project) as store:
        return store.query(sql, *args)


def _wait_for(condition: Callable[[], Any], seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


# --- reading rows -------------------------------------------------------------------

def test_rows_come_from_csv_jsonl_and_yaml_with_their_lines(tmp_path: Path):
    (tmp_path / "a.csv").write_text("topic,current_year\ntides,2025\n\"solar\nstorage\",\nreefs,2024\n")
    (tmp_path / "a.jsonl").write_text('{"topic": "tides"}\n\n{"topic": "reefs", "current_year": 2024}\n')
    (tmp_path / "a.yaml").write_text("rows:\n  - topic: tides\n  - topic: reefs\n    current_year: 2024\n")
    csv_rows = read_rows(tmp_path / "a.csv")
    assert [(r.number, r.line, r.values) for r in csv_rows] == [
        (1, 2, {"topic": "tides", "current_year": "2025"}),
        (2, 3, {"topic": "solar\nstorage"}),  # an empty cell is not given: the default applies
        (3, 5, {"topic": "reefs", "current_year": "2024"})]
    assert [(r.number, r.line) for r in read_rows(tmp_path / "a.jsonl")] == [(1, 1), (2, 3)]
    assert [(r.number, r.line, r.values) for r in read_rows(tmp_path / "a.yaml")] == [
        (1, 2, {"topic": "tides"}), (2, 3, {"topic": "reefs", "current_year": 2024})]


def test_an_unreadable_row_is_located(tmp_path: Path):
    (tmp_path / "bad.jsonl").write_text('{"topic": "tides"}\n{"topic": \n["a list"]\n')
    with pytest.raises(InputError) as caught:
        read_rows(tmp_path / "bad.jsonl")
    assert [p.render(tmp_path) for p in caught.value.problems] == [
        "bad.jsonl:2:11: row 2: row 2 is not JSON: Expecting value",
        "bad.jsonl:3: row 3: row 3 is not a mapping of input names to values (for example {\"topic\": \"tides\"})"]
    (tmp_path / "rows.txt").write_text("tides\n")
    with pytest.raises(InputError, match="unknown inputs format '.txt'"):
        read_rows(tmp_path / "rows.txt")


# --- a batch ---------------------------------------------------------------------------

def test_a_batch_runs_every_good_row_and_keeps_the_bad_one(project: Project, tmp_path: Path):
    rows = tmp_path / "rows.csv"
    rows.write_text("topic,current_year\ntides,2025\nsolar storage,next year\ncoral reefs,\n")
    result = api.run_batch("research_report", rows, options=BatchOptions(llm="scripted", concurrency=2, csv=True),
                       project=project)
    assert [(r.number, r.status) for r in result.rows] == [(1, "completed"), (2, "invalid"), (3, "completed")]
    assert result.rows[1].error == (f"{rows}:3: row 2: input 'current_year' must be a whole number, got 'next year'")
    assert result.rows[1].run_id is None
    assert "tides" in result.rows[0].output and "coral reefs" in result.rows[2].output
    assert result.rows[2].inputs == {"topic": "coral reefs", "current_year": 2026}  # the default filled the gap
    # each row's run is an ordinary recorded run: two tasks by their agents
    for row in (result.rows[0], result.rows[2]):
        assert row.run_id and row.run_id.startswith(result.id)
        tasks = _store_rows(project, "SELECT key, agent, status FROM tasks WHERE run_id = ? ORDER BY position",
                            row.run_id)
        assert tasks == [{"key": "research_task", "agent": "researcher", "status": "completed"},
                         {"key": "reporting_task", "agent": "reporting_analyst", "status": "completed"}]
        assert row.usage.total_tokens > 0
    # results.jsonl and .csv: one line per row, in row order, agreeing with the store
    lines = [json.loads(line) for line in (result.folder / "results.jsonl").read_text().splitlines()]
    assert [(x["row"], x["status"], x["run_id"]) for x in lines] == [(r.number, r.status, r.run_id)
                                                                      for r in result.rows]
    assert lines[0]["tokens"] == result.rows[0].usage.total_tokens and lines[0]["seconds"] > 0
    header = (result.folder / "results.csv").read_text().splitlines()[0]
    assert header == "row,run_id,status,topic,current_year,output,error,tokens,cost,seconds"
    listed = api.runs(project, batch=result.id)
    assert sorted(r.id for r in listed) == [result.rows[0].run_id, result.rows[2].run_id]


def test_strict_runs_nothing_when_a_row_is_bad(project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from rolecall.cli import main
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"topic": "tides"}\n{"topik": "reefs"}\n')
    code = main(["batch", "research_report", "--inputs", str(rows), "--llm", "scripted", "--strict"],
                project_root=REPO)
    err = capsys.readouterr().err
    assert code == 2
    assert "rows.jsonl:2: row 2: unknown input 'topik' (did you mean 'topic'?)" in err
    assert not (project.runs_dir / "rolecall.db").exists() or not _store_rows(project, "SELECT id FROM runs")


def test_gated_rows_wait_for_approval_and_approve_all_runs_them_through(project: Project, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch):
    from test_crew_partner_outreach import SCRIPT
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump(SCRIPT))
    monkeypatch.setenv("ROLECALL_SCRIPT", str(script))
    rows = tmp_path / "rows.yaml"
    rows.write_text("- count: 2\n- count: 3\n")
    waiting = api.run_batch("partner_outreach", rows, options=BatchOptions(llm="scripted"), project=project)
    assert [r.status for r in waiting.rows] == ["awaiting_approval", "awaiting_approval"]
    assert "2 rows wait for approval: python main.py approve" in waiting.render()
    # a person approves one row; resuming the batch leaves both alone (one done, one still waiting)
    api.decide(waiting.rows[0].run_id, project=project)
    assert api.resume(waiting.rows[0].run_id, project=project).ok
    again = api.resume_batch(waiting.id, project=project)
    assert [r.status for r in again.rows] == ["completed", "awaiting_approval"]
    unattended = api.run_batch("partner_outreach", rows, options=BatchOptions(llm="scripted", approve_all=True),
                           project=project)
    assert [r.status for r in unattended.rows] == ["completed", "completed"]


# --- killed workers, Ctrl-C ----------------------------------------------------------------

def _batch_process(tmp_path: Path, *args: str, delay: str = "1.5") -> subprocess.Popen[str]:
    env = {**os.environ, "ROLECALL_RUNS": str(tmp_path / "runs"), "ROLECALL_SCRIPTED_DELAY": delay}
    return subprocess.Popen([sys.executable, str(REPO / "main.py"), "batch", "research_report", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _rows_file(tmp_path: Path, count: int) -> Path:
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"topic": f"topic {i}"}) + "\n" for i in range(count)))
    return rows


def test_a_killed_worker_loses_nothing_and_runs_nothing_twice(project: Project, tmp_path: Path):
    rows = _rows_file(tmp_path, 3)
    batch = _batch_process(tmp_path, "--inputs", str(rows), "--llm", "scripted", "-j", "2")
    running = _wait_for(lambda: project.runs_dir.joinpath("rolecall.db").exists() and _store_rows(
        project, "SELECT id, pid FROM runs WHERE status = 'running'"))
    victim = running[0]
    os.kill(victim["pid"], signal.SIGKILL)
    out, err = batch.communicate(timeout=240)
    assert batch.returncode == 0, out + err
    runs = _store_rows(project, "SELECT id, status FROM runs")
    assert sorted(r["status"] for r in runs) == ["completed"] * 3  # three rows, three runs: none started twice
    events = _store_rows(project, "SELECT kind FROM events WHERE run_id = ?", victim["id"])
    assert {"kind": "resumed"} in events  # the killed run went on where it stopped


def test_ctrl_c_stops_the_batch_and_resume_finishes_only_what_is_left(project: Project, tmp_path: Path):
    rows = _rows_file(tmp_path, 4)
    batch = _batch_process(tmp_path, "--inputs", str(rows), "--llm", "scripted", "-j", "2")
    _wait_for(lambda: project.runs_dir.joinpath("rolecall.db").exists() and _store_rows(
        project, "SELECT id FROM runs WHERE status = 'completed'"))
    os.killpg(batch.pid, signal.SIGINT)  # as a terminal's Ctrl-C does: the whole process group
    out, err = batch.communicate(timeout=60)
    assert batch.returncode == 1, out + err
    [batch_id] = [r["id"] for r in _store_rows(project, "SELECT id FROM batches")]
    assert f"--resume {batch_id}" in out
    before = {r["id"]: r for r in _store_rows(project, "SELECT id, status, finished_at FROM runs")}
    done_before = {k for k, r in before.items() if r["status"] == "completed"}
    assert done_before and len(done_before) < 4
    assert {r["status"] for r in before.values()} <= {"completed", "interrupted"}
    lines = (project.runs_dir / batch_id / "results.jsonl").read_text().splitlines()
    assert {json.loads(x)["run_id"] for x in lines if json.loads(x)["status"] == "completed"} == done_before

    again = _batch_process(tmp_path, "--resume", batch_id, delay="0")
    out, err = again.communicate(timeout=240)
    assert again.returncode == 0, out + err
    after = {r["id"]: r for r in _store_rows(project, "SELECT id, status, finished_at FROM runs")}
    assert len(after) == 4 and {r["status"] for r in after.values()} == {"completed"}
    assert all(after[k]["finished_at"] == before[k]["finished_at"] for k in done_before)  # not run again


def test_workers_that_cannot_start_fail_the_rows_instead_of_looping(project: Project, tmp_path: Path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "crewai.py").write_text("raise ImportError('crewai is broken here')\n")
    rows = _rows_file(tmp_path, 2)
    env = {**os.environ, "ROLECALL_RUNS": str(tmp_path / "runs"), "PYTHONPATH": str(broken)}
    done = subprocess.run([sys.executable, str(REPO / "main.py"), "batch", "research_report", "--inputs", str(rows),
                           "--llm", "scripted", "-j", "2"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.count("failed  ") == 2 and "worker processes could not start" in done.stdout
    assert "--resume batch-" in done.stdout  # once the install is fixed, the same batch goes on


def test_a_batch_id_that_is_unknown_or_ambiguous_says_which(project: Project, tmp_path: Path):
    from rolecall.errors import RunNotFound
    with open_store(project) as store:
        for suffix in ("a1", "a2"):
            store.create_batch(f"batch-20261202-000000-research_report-{suffix}", crew="research_report",
                               source="rows.csv", options={}, rows=[])
    with pytest.raises(RunNotFound, match="'batch-2026' starts 2 batch ids"):
        api.runs(project, batch="batch-2026")
    with pytest.raises(RunNotFound, match="no batch 'nope'"):
        api.resume_batch("nope", project=project)
    assert api.runs(project, batch="batch-20261202-000000-research_report-a1") == []
