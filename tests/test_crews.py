"""The example crews end to end: real crewai objects, the scripted model, assertions on what happened."""
from __future__ import annotations

import json

import pytest

from helpers import REPO, write_files
from rolecall.cli import main

pytestmark = pytest.mark.crew


def test_research_report_runs_each_task_with_its_agent(run_crew, repo_project):
    result = run_crew("research_report", inputs={"topic": "solar storage"}, project=repo_project)
    assert result.ok, result.error
    assert [(t.key, t.agent, t.status) for t in result.tasks] == [
        ("research_task", "researcher", "completed"),
        ("reporting_task", "reporting_analyst", "completed")]
    assert result.delegations == []
    assert "solar storage Reporting Analyst" in result.output
    # every task's output is on disk, plus the task's own output_file and a summary
    files = sorted(p.name for p in result.run_dir.iterdir())
    assert files == ["01_research_task.md", "02_reporting_task.md", "report.md", "run.json"]
    assert (result.run_dir / "report.md").read_text().strip() == result.output.strip()
    summary = json.loads((result.run_dir / "run.json").read_text())
    assert summary["status"] == "completed" and summary["inputs"]["topic"] == "solar storage"
    assert len(result.model_calls) == 2 and result.tokens > 0


def test_managed_crew_delegates_every_task_through_crewai(run_crew, repo_project):
    result = run_crew("research_report_managed", project=repo_project)
    assert result.ok, result.error
    assert [(d.task, d.manager, d.coworker, d.kind) for d in result.delegations] == [
        ("research_task", "research_manager", "researcher", "delegate"),
        ("reporting_task", "research_manager", "reporting_analyst", "delegate")]
    assert [(t.key, t.agent) for t in result.tasks] == [
        ("research_task", "researcher"), ("reporting_task", "reporting_analyst")]
    assert all(c.tool == "Delegate work to coworker" and c.agent == "research_manager" for c in result.tool_calls)
    # the manager called the model, and so did each coworker it delegated to
    assert {c.agent for c in result.model_calls} == {"research_manager", "researcher", "reporting_analyst"}


def test_a_script_replays_tool_calls_exactly(run_crew, repo_project):
    script = {"tasks": {"research_task": [
        {"tool": "search_knowledge", "input": {"query": "sodium-ion storage"}},
        "Sodium-ion cells are entering stationary storage."]}}
    result = run_crew("research_report", inputs={"topic": "solar storage"}, script=script, project=repo_project)
    assert result.ok, result.error
    [call] = result.tool_calls
    assert (call.tool, call.agent, call.task) == ("search_knowledge", "researcher", "research_task")
    assert call.arguments == {"query": "sodium-ion storage"}
    assert call.output_chars and call.output_chars > 50  # the tool really read the crew's knowledge/
    assert result.task("research_task").output == "Sodium-ion cells are entering stationary storage."


def test_a_failed_run_keeps_finished_outputs(run_crew, repo_project):
    script = {"tasks": {"reporting_task": [{"error": "model went away"}] * 10}}
    result = run_crew("research_report", script=script, project=repo_project)
    assert not result.ok and "model went away" in result.error
    assert result.task("research_task").status == "completed"
    assert (result.run_dir / "01_research_task.md").read_text().strip() == result.task("research_task").output
    assert result.task("reporting_task").status == "failed"
    assert json.loads((result.run_dir / "run.json").read_text())["status"] == "failed"


def test_manager_llm_crew_uses_crewais_builtin_manager(run_crew, tmp_project):
    write_files(tmp_project.crews_dir / "desk", {
        "config/agents.yaml": "writer: {role: Writer, goal: Write well, backstory: Clear.}\n"
                              "checker: {role: Fact Checker, goal: Check facts, backstory: Careful.}\n",
        "config/tasks.yaml": "check_task:\n  description: Check the facts in the draft.\n"
                             "  expected_output: A list of corrections.\n",
        "crew.yaml": "process: hierarchical\nmanager: {llm: scripted}\n",
    })
    result = run_crew("desk", project=tmp_project)
    assert result.ok, result.error
    [delegation] = result.delegations
    assert (delegation.manager, delegation.coworker) == ("Crew Manager", "checker")


def test_literal_braces_reach_the_model_as_braces(run_crew, tmp_project):
    write_files(tmp_project.crews_dir / "jsonish", {
        "config/agents.yaml": "dev: {role: Developer, goal: Emit JSON, backstory: Precise.}\n",
        "config/tasks.yaml": 'emit:\n  description: \'Reply with {{"city": "{city}"}} exactly.\'\n'
                             "  expected_output: JSON\n  agent: dev\n",
        "crew.yaml": "inputs:\n  city: {default: Lyon}\n",
    })
    from rolecall import load_crew
    from rolecall.assemble import assemble
    from rolecall.context import RunContext
    from rolecall.llm.factory import LlmPool
    crew = load_crew("jsonish", tmp_project)
    pool = LlmPool(RunContext.open(tmp_project), "scripted")
    assembly = assemble(tmp_project, crew, {"city": "Lyon"}, pool, "scripted")
    assert assembly.tasks["emit"].description == 'Reply with {"city": "Lyon"} exactly.'
    # and crewai runs it without trying to interpolate the braces again (crewAI#7523)
    result = run_crew("jsonish", script={"tasks": {"emit": ['{"city": "Lyon"}']}}, project=tmp_project)
    assert result.ok, result.error
    assert result.task("emit").output == '{"city": "Lyon"}'


def test_inline_output_schema_gives_structured_output(run_crew, tmp_project):
    write_files(tmp_project.crews_dir / "shaped", {
        "config/agents.yaml": "planner: {role: Planner, goal: Plan trips, backstory: Organised.}\n",
        "config/tasks.yaml": "plan:\n  description: Plan a day in {city}.\n  expected_output: A plan.\n"
                             "  agent: planner\n",
        "crew.yaml": "inputs:\n  city: {default: Oslo}\ntasks:\n  plan:\n    output_schema:\n      name: DayPlan\n"
                     "      fields:\n        city: str\n        stops:\n          - name: str\n            minutes: int\n",
    })
    result = run_crew("shaped", project=tmp_project)
    assert result.ok, result.error
    structured = result.task("plan").structured
    assert set(structured) == {"city", "stops"} and isinstance(structured["stops"][0]["minutes"], int)
    assert (result.run_dir / "01_plan.json").exists()


def test_a_scaffolded_crew_validates_and_runs(run_crew, tmp_project):
    from rolecall.scaffold import scaffold
    for process in ("sequential", "hierarchical"):
        scaffold(tmp_project, f"faq_{process}", process)
        result = run_crew(f"faq_{process}", project=tmp_project)
        assert result.ok, result.error
        assert [t.agent for t in result.tasks] == ["specialist", "writer"]
        assert bool(result.delegations) == (process == "hierarchical")


def test_structured_output_in_a_hierarchical_crew(run_crew, tmp_project):
    write_files(tmp_project.crews_dir / "managed_shape", {
        "config/agents.yaml": "planner: {role: Planner, goal: Plan trips, backstory: Organised.}\n"
                              "lead: {role: Lead, goal: Delegate, backstory: Calm.}\n",
        "config/tasks.yaml": "plan:\n  description: Plan a day.\n  expected_output: A plan.\n",
        "crew.yaml": "process: hierarchical\nmanager: {agent: lead}\ntasks:\n  plan:\n    output_schema:\n"
                     "      name: DayPlan\n      fields:\n        city: str\n        stops: list[str]\n",
    })
    result = run_crew("managed_shape", project=tmp_project)
    assert result.ok, result.error
    assert result.delegations[0].coworker == "planner"
    assert set(result.task("plan").structured) == {"city", "stops"}


def test_a_tool_that_fails_is_recorded_as_an_error(run_crew, tmp_project):
    write_files(tmp_project.crews_dir / "flaky", {
        "tools.py": "from crewai.tools import BaseTool\nfrom crewai.tools.tool_failure import ToolFailure\n\n\n"
                    "class LookupTool(BaseTool):\n    name: str = 'lookup'\n    description: str = 'Look up'\n\n"
                    "    def _run(self, query: str) -> object:\n        return ToolFailure(message='service down')\n",
        "config/agents.yaml": "a: {role: A, goal: G, backstory: B, tools: [LookupTool]}\n",
        "config/tasks.yaml": "t: {description: D, expected_output: E, agent: a}\n", "crew.yaml": "{}\n"})
    script = {"tasks": {"t": [{"tool": "lookup", "input": {"query": "x"}}, "done"]}}
    result = run_crew("flaky", script=script, project=tmp_project)
    assert result.ok, result.error
    [call] = result.tool_calls
    assert call.error and "service down" in call.error and call.output_chars is None


def test_delegation_written_with_crewais_sanitized_tool_name_is_recorded(run_crew, repo_project):
    # crewai's prompt lists delegate_work_to_coworker; a model may write that form
    script = {"agents": {"research_manager": [
        "Thought: delegate\nAction: delegate_work_to_coworker\nAction Input: "
        '{"task": "Research AI agents", "context": "five points", "coworker": "AI agents Senior Data Researcher"}']}}
    result = run_crew("research_report_managed", script=script, project=repo_project)
    assert result.ok, result.error
    first = result.delegations[0]
    assert (first.task, first.coworker, first.kind) == ("research_task", "researcher", "delegate")
    assert result.tool_calls[0].output_chars and result.tool_calls[0].output_chars > 0


SHIPPED = sorted(p.name for p in (REPO / "crews").iterdir() if (p / "crew.yaml").exists())


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_crew_runs_as_shipped_on_the_scripted_model(name, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROLECALL_RUNS", str(tmp_path / "runs"))
    code = main(["run", name, "--llm", "scripted", "--approve-all"], project_root=REPO)
    assert code == 0, capsys.readouterr().out[-2000:]
