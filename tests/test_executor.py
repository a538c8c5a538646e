"""crewai's agent executors start from one state class, built once, and still do their work."""
from __future__ import annotations

import gc

import pytest

from rolecall import api
from rolecall.project import Project

pytestmark = pytest.mark.crew


def test_runs_build_no_state_class_of_their_own_and_complete(repo_project: Project) -> None:
    from crewai.agents.agent_executor import AgentExecutor, AgentExecutorState

    from rolecall.executor import ExecutorState
    gc.collect()
    gc.disable()  # a class crewai built per executor would stay visible until the next collection
    try:
        before = set(AgentExecutorState.__subclasses__())
        results = [api.run("research_report", {"topic": f"tides {i}"}, llm="scripted", project=repo_project)
                   for i in range(2)]
        built = set(AgentExecutorState.__subclasses__()) - before
    finally:
        gc.enable()
    assert all(r.ok for r in results), [r.error for r in results]
    assert [t.agent for t in results[1].tasks] == ["researcher", "reporting_analyst"]
    assert AgentExecutor._initial_state_t is ExecutorState  # type: ignore[attr-defined]
    assert built == set(), f"crewai built {len(built)} state classes for 4 tasks"
