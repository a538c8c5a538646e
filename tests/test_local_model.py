"""The embedded local model running real crews: tool use and delegation, asserted from events.

These load Qwen2.5-Coder-0.5B (the default `local` profile) and run the example crews
end to end, so they take a minute or two on 2 cores. CI runs them; select or skip with
``-m local_model`` / ``-m "not local_model"``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from helpers import REPO
from rolecall.api import load_crew
from rolecall.api import run as run_named
from rolecall.llm.weights import ModelSource, lookup
from rolecall.project import Project
from rolecall.result import RunResult

INPUTS = {"topic": "solar storage", "current_year": 2026}
DELEGATE = "Delegate work to coworker"



@pytest.fixture(scope="module")
def model_available() -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make install)")
    found = lookup("qwen2.5-coder-0.5b-instruct", root=REPO)
    if found.path is None and found.origin is not ModelSource.PYPI_PARTS:
        pytest.skip(f"the local model is not available: {found.missing}")


def run(project: Project, name: str) -> RunResult:
    return run_named(name, INPUTS, llm="local", project=project)


@pytest.fixture
def project(tmp_path: Path, model_available: None) -> Project:
    return Project(REPO, runs=tmp_path / "runs")


@pytest.mark.local_model
def test_sequential_crew_researcher_really_searches_its_knowledge(project: Project) -> None:
    result = run(project, "research_report")
    assert result.ok, result.error
    searches = [c for c in result.tool_calls if c.tool == "search_knowledge"]
    assert searches, f"the researcher never called its tool: {result.tool_calls}"
    call = searches[0]
    assert call.agent == "researcher" and call.task == "research_task"
    assert isinstance(call.arguments, dict) and str(call.arguments.get("query") or "").strip()
    assert call.error is None and call.output_chars  # the tool ran and answered
    assert [t.status for t in result.tasks] == ["completed", "completed"]
    assert all((t.output or "").strip() for t in result.tasks)
    _real_usage(result)


@pytest.mark.local_model
def test_hierarchical_crew_manager_really_delegates(project: Project) -> None:
    """The manager hands each task to its coworker and writes neither result itself (measured before the
    grammar kept the crew's shape: it delegated the research, then wrote the report itself)."""
    result = run(project, "research_report_managed")
    assert result.ok, result.error
    delegations = [d for d in result.delegations if d.kind == "delegate"]
    assert all(d.manager == "research_manager" for d in delegations)
    assert {d.coworker for d in delegations} <= {"researcher", "reporting_analyst"}  # real roles only
    assert {d.task for d in delegations} == {"research_task", "reporting_task"}  # both tasks delegated
    assert {c.tool for c in result.tool_calls} <= {DELEGATE, "Ask question to coworker"}
    for task in result.tasks:
        assert task.status == "completed" and (task.output or "").strip()
        assert task.delegated_to and task.agent in ("researcher", "reporting_analyst")
    # once the coworker answered, the manager passes the answer on without generating it again
    passed = [c for c in result.model_calls if c.agent == "research_manager" and c.completion_tokens == 0]
    assert [c.task for c in passed] == ["research_task", "reporting_task"] and all(c.prompt_tokens == 0 for c in passed)
    _real_usage(dataclasses.replace(result, model_calls=[c for c in result.model_calls if c not in passed]))


@pytest.mark.local_model
def test_trip_planner_flight_task_goes_to_the_flight_agent_who_searches(project: Project) -> None:
    """Only the flight task, to keep it short: before, the manager answered it with an invented flight."""
    crew = load_crew("trip_planner", project)
    flights_only = dataclasses.replace(crew, tasks={"flight_task": crew.tasks["flight_task"]})
    result = run_named(flights_only, llm="local", project=project)
    assert result.ok, result.error
    assert [(d.task, d.coworker) for d in result.delegations if d.kind == "delegate"][:1] == \
        [("flight_task", "flight_agent")]
    # whether the model writes valid arguments is another matter: it has sent "2027-04-16, 2027-04-19"
    # as one date (the schema says only "YYYY-MM-DD" in a description, no pattern the grammar could hold)
    searches = [c for c in result.tool_calls if c.tool == "flight_search"]
    assert searches and all(c.agent == "flight_agent" for c in searches), result.tool_calls
    assert result.task("flight_task").agent == "flight_agent"


def _real_usage(result: RunResult) -> None:
    """Token counts are llama.cpp's own, per call, not estimates."""
    assert result.model_calls
    for call in result.model_calls:
        assert call.model == "qwen2.5-coder-0.5b-instruct"
        assert call.prompt_tokens > 50 and call.completion_tokens > 0


@pytest.mark.local_model
def test_structured_output_through_a_json_grammar(model_available: None) -> None:
    """A tool-less agent asked for a pydantic model gets one, generated under its JSON schema."""
    from pydantic import BaseModel

    from rolecall.llm.base import CallContext
    from rolecall.llm.local import local_llm
    from rolecall.llm.profiles import ProfileSpec

    class Facts(BaseModel):
        topic: str
        facts: list[str]

    llm = local_llm("local", ProfileSpec(provider="local", model="qwen2.5-coder-0.5b-instruct", max_tokens=200),
                    root=REPO)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You answer in JSON."},
        {"role": "user", "content": "Give the topic 'solar storage' and two short facts about it."}]
    done = llm.complete(CallContext(messages, response_model=Facts))
    assert isinstance(done.text, Facts), done.text
    assert done.text.topic and done.prompt_tokens > 10 and done.completion_tokens > 5


def test_threads_follow_free_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other processes' CPU time since our last call decides how many threads the next one gets."""
    from rolecall.llm.cpu import CpuWatch
    watch = CpuWatch(2)
    samples = iter([(1200, 700, 0.0), (1400, 800, 100.0), (1600, 600, 0.0)])
    monkeypatch.setattr(watch, "_sample", lambda: next(samples))
    watch._last = (1000, 600, 0.0)
    assert watch.free_cores() == 1  # 200 ticks, 100 idle, none ours: one core held elsewhere
    watch._last = (1200, 700, 0.0)
    assert watch.free_cores() == 2  # the busy ticks were our own (crewai between calls)
    watch._last = (1000, 600, 0.0)
    assert watch.free_cores() == 1  # never below one thread, even on a saturated machine


def test_a_broken_model_file_is_a_clean_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading happens when the profile is built, so a bad file stops the run before crewai starts."""
    pytest.importorskip("llama_cpp")
    from rolecall.errors import RolecallError
    from rolecall.llm.local import local_llm
    from rolecall.llm.profiles import ProfileSpec
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    monkeypatch.setenv("ROLECALL_LOCAL_MODEL", str(broken))
    with pytest.raises(RolecallError, match="llama.cpp could not load .*broken.gguf"):
        local_llm("local", ProfileSpec(provider="local", model="qwen2.5-coder-0.5b-instruct"), root=tmp_path)


def test_a_reply_cut_off_by_max_tokens_ends_at_a_finished_sentence() -> None:
    from rolecall.llm.local import tidy_cut
    assert tidy_cut("Thought: t\nFinal Answer: One. Two is done. Three is cut o") == \
        "Thought: t\nFinal Answer: One. Two is done."
    assert tidy_cut("## Report\n\nA finished line.\n- first point\n- second po") == \
        "## Report\n\nA finished line.\n- first point"
    assert tidy_cut("Thought: t\nFinal Answer: no sentence end at all") == \
        "Thought: t\nFinal Answer: no sentence end at all"  # nothing better to cut at
    step = 'Thought: t\nAction: search_knowledge\nAction Input: {"query": "a. b'
    assert tidy_cut(step) == step  # an action's JSON is never shortened
