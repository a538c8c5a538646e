"""Every run is recorded: exact store contents, token sums, redaction, resume after SIGKILL, approvals, budget."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import REPO, write_files
from rolecall.cli import main
from rolecall.context import open_store

pytestmark = pytest.mark.crew


def test_sequential_run_is_stored_exactly(run_crew, repo_project):
    result = run_crew("research_report", project=repo_project)
    store = open_store(repo_project)
    run = store.run(result.run_id)
    assert (run["status"], run["crew"], run["profile"]) == ("completed", "research_report", "scripted")
    assert run["inputs"] == {"topic": "AI agents", "current_year": 2026} and len(run["crew_hash"]) == 16
    tasks = store.tasks(result.run_id)
    assert [(t["key"], t["agent"], t["status"]) for t in tasks] == [
        ("research_task", "researcher", "completed"), ("reporting_task", "reporting_analyst", "completed")]
    calls = store.model_calls(result.run_id)
    assert [(c["task"], c["agent"]) for c in calls] == [
        ("research_task", "researcher"), ("reporting_task", "reporting_analyst")]
    assert all(c["latency_ms"] is not None and c["cost"] == 0 for c in calls)
    assert store.tool_calls(result.run_id) == [] and store.delegations(result.run_id) == []


def test_hierarchical_run_stores_delegations_and_counts_tokens_once(run_crew, repo_project):
    result = run_crew("research_report_managed", project=repo_project)
    store = open_store(repo_project)
    delegations = store.delegations(result.run_id)
    assert [(d["task"], d["manager"], d["coworker"]) for d in delegations] == [
        ("research_task", "research_manager", "researcher"),
        ("reporting_task", "research_manager", "reporting_analyst")]
    calls = store.model_calls(result.run_id)
    # per task: the manager delegates, the coworker answers, the manager answers with the result
    assert len(calls) == 6
    assert sorted((c["task"], c["agent"]) for c in calls) == sorted(
        [("research_task", "research_manager")] * 2 + [("research_task", "researcher")]
        + [("reporting_task", "research_manager")] * 2 + [("reporting_task", "reporting_analyst")])
    assert len(store.tool_calls(result.run_id)) == 2
    # one LLM object serves every agent here; crewai's own usage_metrics would count it per agent (crewAI#7259)
    per_call = sum(c["prompt_tokens"] + c["completion_tokens"] for c in calls)
    assert per_call == result.tokens
    [row] = [r for r in store.runs("research_report_managed") if r["id"] == result.run_id]
    assert row["tokens"] == per_call and row["calls"] == 6


def test_costs_follow_config_prices(run_crew, tmp_project, tmp_path):
    (tmp_project.root / "config").unlink()
    write_files(tmp_project.root, {
        "config/prices.yaml": "models:\n  scripted: {input: 1000000, output: 2000000}\n",  # $1 / $2 per token
        "config/settings.yaml": "prices: config/prices.yaml\n"})
    write_files(tmp_project.crews_dir / "one", {
        "config/agents.yaml": "a: {role: A, goal: G, backstory: B}\n",
        "config/tasks.yaml": "t: {description: D, expected_output: E, agent: a}\n", "crew.yaml": "{}\n"})
    result = run_crew("one", project=tmp_project)
    [call] = open_store(tmp_project).model_calls(result.run_id)
    assert call["cost"] == call["prompt_tokens"] * 1 + call["completion_tokens"] * 2
    assert result.cost == call["cost"]


def test_budget_stops_the_run_cleanly(run_crew, tmp_project):
    (tmp_project.root / "config").unlink()
    write_files(tmp_project.root, {"config/prices.yaml": "models:\n  scripted: {input: 5000, output: 5000}\n"})
    write_files(tmp_project.crews_dir / "pricey", {
        "config/agents.yaml": "a: {role: A, goal: G, backstory: B}\n",
        "config/tasks.yaml": "t1: {description: D1, expected_output: E, agent: a}\n"
                             "t2: {description: D2, expected_output: E, agent: a}\n",
        "crew.yaml": "budget: {max_cost: 0.5}\n"})
    result = run_crew("pricey", project=tmp_project)
    assert result.status == "stopped" and "budget of $0.5000 reached" in result.error
    assert result.task("t1").status == "completed" and result.task("t2").status != "completed"
    assert result.cost <= 0.5


def test_secrets_never_reach_the_store_files_or_output(run_crew, repo_project, monkeypatch, capsys):
    secret = "sk-test-SECRET-value-123456"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    result = run_crew("research_report", inputs={"topic": f"keys like {secret}"}, project=repo_project)
    assert result.ok
    blobs = [p.read_bytes() for p in result.run_dir.rglob("*") if p.is_file()]
    store = open_store(repo_project)
    blobs += [p.read_bytes() for p in store.path.parent.glob("rolecall.db*")]
    assert all(secret.encode() not in blob for blob in blobs)
    assert store.run(result.run_id)["inputs"]["topic"] == "keys like [redacted:OPENAI_API_KEY]"
    assert "[redacted:OPENAI_API_KEY]" in store.tasks(result.run_id)[0]["role"]
    assert secret not in capsys.readouterr().out


def _gated_crew(project, mode: str) -> None:
    write_files(project.crews_dir / "outreach", {
        "config/agents.yaml": "writer: {role: Writer, goal: Write, backstory: Clear.}\n",
        "config/tasks.yaml": f"draft: {{description: Draft an email., expected_output: An email., agent: writer}}\n"
                             f"send: {{description: Send it., expected_output: Confirmation., agent: writer, "
                             f"approval: {mode}}}\n"
                             f"log: {{description: Log it., expected_output: A log line., agent: writer}}\n",
        "crew.yaml": "{}\n"})


def cli(capsys, project, *argv):
    code = main(list(argv), project_root=project.root)
    out, err = capsys.readouterr()
    return code, out, err


def test_approval_gate_stops_then_approve_resumes(capsys, tmp_project, monkeypatch):
    monkeypatch.setenv("ROLECALL_LLM", "scripted")
    _gated_crew(tmp_project, "required")
    code, out, _ = cli(capsys, tmp_project, "run", "outreach", "--json")
    summary = json.loads(out.strip().splitlines()[-1])
    assert code == 3 and summary["status"] == "awaiting_approval"
    assert summary["pending_approval"] == {"task": "send", "mode": "after"}
    assert f"python main.py approve {summary['run_id']}" in out
    store = open_store(tmp_project)
    assert [t["status"] for t in store.tasks(summary["run_id"])] == ["completed", "awaiting_approval"]
    [gate] = store.approvals(summary["run_id"])
    assert gate["status"] == "pending" and "Writer finished send" in gate["content"]

    code, out, _ = cli(capsys, tmp_project, "approve", summary["run_id"], "--json")
    final = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and final["status"] == "completed"
    calls = store.model_calls(summary["run_id"])
    assert [c["task"] for c in calls] == ["draft", "send", "log"]  # nothing ran twice


def test_rejection_reruns_the_task_with_the_reason(capsys, tmp_project, monkeypatch):
    monkeypatch.setenv("ROLECALL_LLM", "scripted")
    _gated_crew(tmp_project, "required")
    code, out, _ = cli(capsys, tmp_project, "run", "outreach", "--json")
    run_id = json.loads(out.strip().splitlines()[-1])["run_id"]
    assert cli(capsys, tmp_project, "approve", run_id, "--reject")[0] == 2  # a reason is required
    code, out, _ = cli(capsys, tmp_project, "approve", run_id, "--reject", "--reason", "too pushy", "--json")
    assert code == 3  # redone, and waiting for a person again
    store = open_store(tmp_project)
    assert [c["task"] for c in store.model_calls(run_id)] == ["draft", "send", "send"]
    code, out, _ = cli(capsys, tmp_project, "approve", run_id, "--json")
    assert code == 0 and [c["task"] for c in store.model_calls(run_id)] == ["draft", "send", "send", "log"]


def test_approval_before_a_task_and_approve_all(capsys, tmp_project, monkeypatch):
    monkeypatch.setenv("ROLECALL_LLM", "scripted")
    _gated_crew(tmp_project, "before")
    code, out, _ = cli(capsys, tmp_project, "run", "outreach", "--json")
    summary = json.loads(out.strip().splitlines()[-1])
    assert code == 3 and summary["pending_approval"] == {"task": "send", "mode": "before"}
    store = open_store(tmp_project)
    assert [c["task"] for c in store.model_calls(summary["run_id"])] == ["draft"]
    assert "Task: send" in store.approvals(summary["run_id"])[0]["content"]
    code, _, _ = cli(capsys, tmp_project, "approve", summary["run_id"], "--reject", "--reason", "not today")
    assert code == 1 and store.run(summary["run_id"])["status"] == "rejected"
    code, out, _ = cli(capsys, tmp_project, "run", "outreach", "--approve-all", "--json")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["status"] == "completed"


def test_a_run_killed_with_sigkill_is_resumable(tmp_path):
    env = {**os.environ, "ROLECALL_RUNS": str(tmp_path / "runs"), "ROLECALL_SCRIPTED_DELAY": "1.5"}
    proc = subprocess.Popen([sys.executable, "main.py", "run", "research_report", "--llm", "scripted"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "runs" / "rolecall.db"
    deadline = time.time() + 120
    run_id = None
    while time.time() < deadline:  # wait until the first task is on disk, then kill mid-second-task
        time.sleep(0.2)
        if db.exists():
            from rolecall.store import RunStore
            rows = RunStore(db).query("SELECT run_id, key FROM tasks WHERE status = 'completed'")
            if rows:
                run_id = rows[0]["run_id"]
                break
    assert run_id, "the first task never finished"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    from rolecall.store import RunStore
    store = RunStore(db)  # opening the store notices the dead process
    assert store.run(run_id)["status"] == "interrupted"
    assert [(t["key"], t["status"]) for t in store.tasks(run_id)][0] == ("research_task", "completed")
    before = [c["task"] for c in store.model_calls(run_id)]

    env["ROLECALL_SCRIPTED_DELAY"] = "0"
    done = subprocess.run([sys.executable, "main.py", "resume", run_id, "--json"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["status"] == "completed"
    after = [c["task"] for c in store.model_calls(run_id)]
    assert after[len(before):] == ["reporting_task"]  # only what had not finished ran again
    assert [t["status"] for t in store.tasks(run_id)] == ["completed", "completed"]


def test_resume_refuses_a_changed_crew_unless_forced(capsys, tmp_project, monkeypatch):
    monkeypatch.setenv("ROLECALL_LLM", "scripted")
    _gated_crew(tmp_project, "before")
    code, out, _ = cli(capsys, tmp_project, "run", "outreach", "--json")
    run_id = json.loads(out.strip().splitlines()[-1])["run_id"]
    tasks = tmp_project.crews_dir / "outreach" / "config" / "tasks.yaml"
    tasks.write_text(tasks.read_text().replace("Log it.", "Log it twice."))
    code, _, err = cli(capsys, tmp_project, "approve", run_id)
    assert code == 2 and "changed since run" in err and "--force" in err
    code, out, _ = cli(capsys, tmp_project, "resume", run_id, "--force", "--approve-all", "--json")
    assert code == 0


def test_runs_and_show_run_commands(capsys, tmp_project, monkeypatch):
    monkeypatch.setenv("ROLECALL_LLM", "scripted")
    _gated_crew(tmp_project, "required")
    cli(capsys, tmp_project, "run", "outreach", "--approve-all")
    code, out, _ = cli(capsys, tmp_project, "runs", "--crew", "outreach")
    assert code == 0 and "outreach" in out and "completed" in out
    run_id = out.splitlines()[1].split()[0]
    code, out, _ = cli(capsys, tmp_project, "show-run", run_id[:18])
    assert code == 0 and "1. draft  [completed]  by writer" in out and "approval send (after): approved" in out


def test_a_gated_output_file_is_written_only_once_approved(capsys, tmp_project, monkeypatch):
    monkeypatch.setenv("ROLECALL_LLM", "scripted")
    _gated_crew(tmp_project, "required")
    crew_yaml = tmp_project.crews_dir / "outreach" / "crew.yaml"
    crew_yaml.write_text("tasks:\n  send:\n    output_file: sent.md\n")
    code, out, _ = cli(capsys, tmp_project, "run", "outreach", "--json")
    summary = json.loads(out.strip().splitlines()[-1])
    run_dir = tmp_project.runs_dir / summary["run_id"]
    assert code == 3 and (run_dir / "02_send.md").exists() and not (run_dir / "sent.md").exists()
    assert cli(capsys, tmp_project, "approve", summary["run_id"])[0] == 0
    assert (run_dir / "sent.md").read_text() == (run_dir / "02_send.md").read_text()


def test_structured_output_with_dates_is_stored(run_crew, tmp_project):
    write_files(tmp_project.crews_dir / "dated", {
        "schemas.py": "import datetime\nfrom pydantic import BaseModel\n\n\nclass Post(BaseModel):\n"
                      "    day: datetime.date\n    text: str\n",
        "config/agents.yaml": "a: {role: A, goal: G, backstory: B}\n",
        "config/tasks.yaml": "t: {description: D, expected_output: E, agent: a, output_pydantic: Post}\n",
        "crew.yaml": "{}\n"})
    result = run_crew("dated", project=tmp_project)
    assert result.ok and result.task("t").structured["day"] == "2026-01-05"
    assert open_store(tmp_project).tasks(result.run_id)[0]["status"] == "completed"


def test_crewais_own_logs_and_panels_go_to_the_run_record_not_the_terminal(run_crew, repo_project, capfd):
    script = {"tasks": {"research_task": [{"error": "boom"}]}}  # crewai logs the failed call, then retries
    result = run_crew("research_report", script=script, project=repo_project)
    assert result.ok
    out, err = capfd.readouterr()
    assert "Error executing listener" not in out + err
    events = open_store(repo_project).events(result.run_id)
    logged = [json.loads(e["detail"]) for e in events if e["kind"] == "crewai_log"]
    assert any("scripted failure: boom" in e["message"] and e["level"] == "error" for e in logged)
