"""partner_outreach: discovery from the directory, a ranked shortlist, drafts a person approves."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import REPO
from rolecall.cli import main
from rolecall.context import open_store
from rolecall.project import Project

pytestmark = pytest.mark.crew

GATE = {"task": "outreach_task", "mode": "after"}
# the qualifier lists partners out of order on purpose: the schema ranks them by score
SHORTLIST = json.dumps({"partners": [
    {"name": "Tessera CI", "fit_score": 7, "reason": "YAML pipelines, same users."},
    {"name": "Northwind Vector", "fit_score": 9, "reason": "Agent builders need retrieval."},
    {"name": "Lumen Observability", "fit_score": 8, "reason": "Traces for crews in production."}]})
SCRIPT = {"tasks": {
    "discovery_task": [{"tool": "search_knowledge", "input": {"query": "developer tool AI infrastructure"}}],
    "qualification_task": [SHORTLIST],
    "outreach_task": ["Subject: Crews that search Northwind\n\nHi ..."]}}
REDRAFT = {"tasks": {"outreach_task": ["Subject: Free tier\n\nHi ..."]}}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> Callable[..., tuple[int, dict[str, Any]]]:
    """``main.py`` in this process on the repo's crews, runs in tmp; returns (exit code, --json summary).

    Each command starts a fresh scripted model that replays ``script`` from its first reply."""
    monkeypatch.setenv("ROLECALL_RUNS", str(tmp_path / "runs"))
    file = tmp_path / "script.yaml"
    monkeypatch.setenv("ROLECALL_SCRIPT", str(file))

    def run(*argv: str, script: dict[str, Any] = SCRIPT) -> tuple[int, dict[str, Any]]:
        file.write_text(yaml.safe_dump(script), encoding="utf-8")
        code = main([*argv, "--json"], project_root=REPO)
        return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    return run


@pytest.fixture
def store(tmp_path: Path) -> Any:
    return open_store(Project(REPO, runs=tmp_path / "runs"))


@pytest.fixture
def prompts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(task, last message) of every scripted model call."""
    from rolecall.llm.scripted import ScriptedLLM
    seen: list[tuple[str, str]] = []
    original = ScriptedLLM.complete

    def spy(self: ScriptedLLM, ctx: Any) -> Any:
        seen.append((ctx.task_name, str(ctx.messages[-1].get("content"))))
        return original(self, ctx)
    monkeypatch.setattr(ScriptedLLM, "complete", spy)
    return seen


def test_the_run_stops_for_approval_then_completes(cli, store):
    code, summary = cli("run", "partner_outreach", "--llm", "scripted")
    assert (code, summary["status"], summary["pending_approval"]) == (3, "awaiting_approval", GATE)
    run_id = summary["run_id"]
    assert [(t["key"], t["agent"], t["status"]) for t in store.tasks(run_id)] == [
        ("discovery_task", "scout", "completed"), ("qualification_task", "qualifier", "completed"),
        ("outreach_task", "outreach_writer", "awaiting_approval")]
    # the scout searched the bundled directory, and its entries are the discovery result as they stand
    [search] = store.tool_calls(run_id)
    assert (search["task"], search["agent"], search["tool"]) == ("discovery_task", "scout", "search_knowledge")
    found = store.tasks(run_id)[0]["output"]
    assert len(found) == search["result_chars"] and "[partner_directory.md] Northwind Vector" in found
    # the shortlist is structured, ranked by score
    shortlist = store.tasks(run_id)[1]["structured"]["partners"]
    assert [(p["rank"], p["name"], p["fit_score"]) for p in shortlist] == [
        (1, "Northwind Vector", 9), (2, "Lumen Observability", 8), (3, "Tessera CI", 7)]
    [gate] = store.approvals(run_id)
    assert gate["status"] == "pending" and gate["content"].startswith("Subject: Crews that search Northwind")

    code, summary = cli("approve", run_id)
    assert (code, summary["status"]) == (0, "completed")
    assert summary["output"].startswith("Subject: Crews that search Northwind")
    assert [c["task"] for c in store.model_calls(run_id)] == [  # nothing ran twice
        "discovery_task", "qualification_task", "outreach_task"]
    assert (Path(summary["run_dir"]) / "outreach_drafts.md").read_text().strip() == summary["output"]


def test_a_rejection_redoes_the_drafts_with_the_reason(cli, store, prompts):
    code, summary = cli("run", "partner_outreach", "--llm", "scripted")
    run_id = summary["run_id"]
    code, summary = cli("approve", run_id, "--reject", "--reason", "Mention our free tier.", script=REDRAFT)
    assert (code, summary["status"], summary["pending_approval"]) == (3, "awaiting_approval", GATE)
    assert store.approvals(run_id)[0]["content"].startswith("Subject: Free tier")
    outreach_prompts = [text for task, text in prompts if task == "outreach_task"]
    assert len(outreach_prompts) == 2 and "Mention our free tier." in outreach_prompts[1]
    assert "Mention our free tier." not in outreach_prompts[0]

    code, summary = cli("approve", run_id)
    assert (code, summary["status"]) == (0, "completed")
    assert summary["output"].startswith("Subject: Free tier")
    # only the rejected task ran again
    assert [c["task"] for c in store.model_calls(run_id)] == [
        "discovery_task", "qualification_task", "outreach_task", "outreach_task"]


def test_approve_all_runs_straight_through(cli, store):
    code, summary = cli("run", "partner_outreach", "--llm", "scripted", "--approve-all")
    assert (code, summary["status"], summary["pending_approval"]) == (0, "completed", None)
    [gate] = store.approvals(summary["run_id"])
    assert (gate["task"], gate["status"], gate["reason"]) == ("outreach_task", "approved", "--approve-all")
    assert [t["status"] for t in store.tasks(summary["run_id"])] == ["completed"] * 3
