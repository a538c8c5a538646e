"""A crew without crew.yaml is read the way CrewAI reads it: agents.yaml and tasks.yaml as people have them."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import SHARED, write_files
from rolecall import ConfigError, load_crew
from rolecall.cli import main

EXAMPLES = SHARED / "compat" / "crewai-examples"


def classic_template() -> Path:
    import crewai_cli  # what `crewai create crew --classic` copies, read without importing crewai
    return Path(crewai_cli.__file__).parent / "templates" / "crew" / "config"


def drop_in(project, name: str, config: Path) -> None:
    target = project.crews_dir / name / "config"
    target.mkdir(parents=True)
    for file in ("agents.yaml", "tasks.yaml"):
        shutil.copy(config / file, target / file)


@pytest.mark.crew
def test_crewai_create_crew_classic_runs_unchanged(tmp_project, run_crew, capsys):
    drop_in(tmp_project, "template", classic_template())
    crew = load_crew("template", tmp_project)
    # every placeholder is a required text input, as CrewAI asks for them at kickoff
    assert {name: (spec.type, spec.default) for name, spec in crew.inputs.items()} == {
        "topic": ("string", None), "current_year": ("string", None)}
    assert main(["run", "template", "--llm", "scripted"], project_root=tmp_project.root) == 2
    assert "missing required input 'topic' (pass --input topic=...)" in capsys.readouterr().err
    result = run_crew("template", inputs={"topic": "tides", "current_year": "2026"}, project=tmp_project)
    assert result.ok, result.error
    assert [(t.key, t.agent) for t in result.tasks] == [("research_task", "researcher"),
                                                        ("reporting_task", "reporting_analyst")]
    assert "tides" in result.tasks[0].output  # the scripted model answers as its role, filled with the input


@pytest.mark.crew
@pytest.mark.parametrize("example", ["outline_book_crew", "meta_quest_knowledge"])
def test_examples_that_bind_tasks_in_yaml_run_as_they_are(tmp_project, run_crew, example, monkeypatch):
    monkeypatch.setenv("SERPER_API_KEY", "x")
    drop_in(tmp_project, example, EXAMPLES / example)
    crew = load_crew(example, tmp_project)
    inputs = {name: "x" for name in crew.inputs}
    result = run_crew(example, inputs=inputs, project=tmp_project)
    assert result.ok, result.error
    assert [t.agent for t in result.tasks] == [t.agent for t in crew.tasks.values()]


@pytest.mark.parametrize("example", ["game_builder_crew", "job_posting", "marketing_strategy", "surprise_trip"])
def test_tasks_crew_py_binds_are_named_with_the_way_to_bind_them(tmp_project, example):
    drop_in(tmp_project, example, EXAMPLES / example)
    with pytest.raises(ConfigError) as failed:
        load_crew(example, tmp_project)
    unbound = [p for p in failed.value.problems if "task has no agent" in p.message]
    tasks = [line.split(":")[0] for line in (EXAMPLES / example / "tasks.yaml").read_text().splitlines()
             if line[:1].isalpha()]
    assert [p.path for p in unbound] == tasks
    assert all("python main.py import" in p.hint and p.line for p in unbound)


@pytest.mark.crew
def test_braces_crewai_leaves_alone_reach_the_model_as_written(tmp_project, run_crew):
    write_files(tmp_project.crews_dir / "jsonish", {
        "config/agents.yaml": "dev:\n  role: Developer\n  goal: Emit JSON for {city}\n  backstory: Precise.\n",
        # CrewAI fills {city} and leaves the JSON braces as they are; a lone agent gets the unbound task
        "config/tasks.yaml": "emit:\n  description: 'Reply with {\"city\": \"{city}\", \"tags\": []} exactly.'\n"
                             "  expected_output: JSON\n"})
    crew = load_crew("jsonish", tmp_project)
    assert crew.tasks["emit"].agent == "dev"
    from rolecall.assemble import assemble
    from rolecall.context import RunContext
    from rolecall.llm.factory import LlmPool
    assembly = assemble(tmp_project, crew, {"city": "Lyon"}, LlmPool(RunContext.open(tmp_project), "scripted"),
                        "scripted")
    assert assembly.tasks["emit"].description == 'Reply with {"city": "Lyon", "tags": []} exactly.'
    result = run_crew("jsonish", inputs={"city": "Lyon"}, project=tmp_project)
    assert result.ok, result.error


def test_with_a_crew_yaml_everything_stays_strict(tmp_project):
    write_files(tmp_project.crews_dir / "strict", {
        "config/agents.yaml": "dev: {role: Developer, goal: Emit JSON, backstory: Precise.}\n",
        "config/tasks.yaml": "emit:\n  description: 'Reply with {city}.'\n  expected_output: JSON\n"
                             "  callback: print\n",
        "crew.yaml": "description: strict\n"})
    with pytest.raises(ConfigError) as failed:
        load_crew("strict", tmp_project)
    assert sorted(p.message for p in failed.value.problems) == [
        "agent 'dev' is never given a task",
        "placeholder '{city}' is not a declared input",
        "task has no agent; a sequential crew needs one for every task",
        "unknown key 'callback'"]


@pytest.mark.crew
def test_human_input_becomes_an_approval_gate(tmp_project, run_crew):
    # CrewAI would block on the console; rolecall stops for `main.py approve` instead
    write_files(tmp_project.crews_dir / "reviewed", {
        "config/agents.yaml": "dev:\n  role: Developer\n  goal: Draft\n  backstory: Careful.\n",
        "config/tasks.yaml": "draft:\n  description: Draft it.\n  expected_output: A draft.\n  human_input: true\n"})
    crew = load_crew("reviewed", tmp_project)
    assert (crew.tasks["draft"].spec.approval, crew.tasks["draft"].spec.human_input) == ("required", None)
    result = run_crew("reviewed", project=tmp_project)
    assert result.status == "awaiting_approval" and result.pending_approval.task == "draft"


def test_dialect_crewai_reads_unchanged_crewai_yaml_beside_a_crew_yaml(tmp_project):
    # what `main.py import` writes: the project's YAML copied as it is, bindings in crew.yaml
    write_files(tmp_project.crews_dir / "imported", {
        "config/agents.yaml": "dev:\n  role: Developer\n  goal: Emit JSON\n  backstory: Precise.\n  memroy: true\n",
        "config/tasks.yaml": "emit:\n  description: 'Reply with {\"city\": \"{city}\"}.'\n  expected_output: JSON\n",
        "crew.yaml": "dialect: crewai\ninputs:\n  city: {default: Lyon}\ntasks:\n  emit: {agent: dev}\n"})
    crew = load_crew("imported", tmp_project)
    assert crew.tasks["emit"].agent == "dev" and crew.inputs["city"].default == "Lyon"
    assert [(w.path, w.message, w.hint) for w in crew.warnings] == [
        ("dev.memroy", "unknown key 'memroy' is ignored, as CrewAI ignores it", "did you mean 'memory'?")]
