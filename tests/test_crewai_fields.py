"""Every setting of crewai's Agent, Task and Crew is a key rolecall accepts, or excluded with a reason.

When a crewai upgrade adds a field, the first test names it: support it (spec.py and
assemble.py) or add it to ``spec.NOT_FROM_FILES`` with the reason.
"""
from __future__ import annotations

import pytest

from helpers import write_files
from rolecall import load_crew
from rolecall.spec import NOT_FROM_FILES, AgentSpec, CrewSpec, TaskBinding, TaskSpec

# rolecall's own keys, which crewai does not have
ROLECALL_ONLY = {
    "Agent": {"tools_first"},
    "Task": {"approval", "output_schema"},
    "Crew": {"description", "dialect", "manager", "inputs", "agents", "tasks", "task_order", "budget", "workspace",
             "llm"},
}
ACCEPTED = {"Agent": set(AgentSpec.model_fields),
            "Task": set(TaskSpec.model_fields) | set(TaskBinding.model_fields),
            "Crew": set(CrewSpec.model_fields) | {"process"}}


def crewai_fields(name: str) -> set[str]:
    import crewai
    return set(getattr(crewai, name).model_fields)


@pytest.mark.parametrize("name", ["Agent", "Task", "Crew"])
def test_every_crewai_field_is_accepted_or_excluded_with_a_reason(name):
    theirs = crewai_fields(name)
    neither = sorted(theirs - ACCEPTED[name] - set(NOT_FROM_FILES[name]))
    assert neither == [], f"crewai.{name} fields rolecall neither accepts nor excludes: {neither}"
    stale = sorted(set(NOT_FROM_FILES[name]) - theirs)
    assert stale == [], f"excluded fields crewai.{name} no longer has: {stale}"
    invented = sorted(ACCEPTED[name] - theirs - ROLECALL_ONLY[name])
    assert invented == [], f"keys rolecall accepts for crewai.{name} that crewai does not have: {invented}"
    assert all(reason for reason in NOT_FROM_FILES[name].values())


AGENT_SETTINGS = {
    "allow_delegation": True, "verbose": False, "cache": False, "max_iter": 7, "max_rpm": 30,
    "max_execution_time": 60, "max_retry_limit": 1, "respect_context_window": False, "reasoning": False,
    "max_reasoning_attempts": 2, "inject_date": True, "date_format": "%d.%m.%Y", "multimodal": False,
    "use_system_prompt": True, "code_execution_mode": "safe", "max_tokens": 300,
    "guardrail": "The answer is polite.", "guardrail_max_retries": 1, "planning": False,
    "tool_failure_policy": "warn", "use_better_compaction": False, "mcps": [], "apps": [],
}
TASK_SETTINGS = {
    "async_execution": False, "human_input": False, "create_directory": False, "markdown": True,
    "guardrails": ["The answer is short.", "The answer is polite."], "guardrail_max_retries": 2, "max_retries": 2,
    "tool_failure_policy": "raise", "allow_crewai_trigger_context": False,
}
CREW_SETTINGS = {"planning": False, "max_rpm": 20, "cache": False, "tool_failure_policy": "ignore", "stream": False}


def yaml_block(settings: dict, indent: str) -> str:
    import json
    return "".join(f"{indent}{k}: {json.dumps(v)}\n" for k, v in settings.items())


@pytest.mark.crew
def test_settings_written_as_data_reach_crewai(tmp_project):
    write_files(tmp_project.crews_dir / "settings", {
        "config/agents.yaml": "dev:\n  role: Developer\n  goal: Build\n  backstory: Careful.\n"
                              "  function_calling_llm: scripted\n  planning_config: {max_attempts: 2}\n"
                              + yaml_block(AGENT_SETTINGS, "  "),
        "config/tasks.yaml": "build:\n  description: Build it.\n  expected_output: Done.\n  agent: dev\n"
                             "  input_files: {spec: notes.txt}\n" + yaml_block(TASK_SETTINGS, "  "),
        "notes.txt": "the spec",
        "crew.yaml": "output_log_file: crew.log\nfunction_calling_llm: scripted\nplanning_llm: scripted\n"
                     + yaml_block(CREW_SETTINGS, ""),
    })
    crew = load_crew("settings", tmp_project)
    from rolecall.assemble import assemble
    from rolecall.context import RunContext
    from rolecall.llm.factory import LlmPool
    pool = LlmPool(RunContext.open(tmp_project))  # the crew's own models (scripted): settings kept as written
    assembly = assemble(tmp_project, crew, {}, pool, "scripted", run_dir=tmp_project.root / "runs" / "r1")
    agent, task = assembly.agents["dev"], assembly.tasks["build"]
    for field, value in AGENT_SETTINGS.items():
        got = getattr(agent, field)
        assert (got.value if hasattr(got, "value") else got) == value, field
    assert agent.function_calling_llm is pool.get("scripted")
    assert agent.planning_config.max_attempts == 2
    for field, value in TASK_SETTINGS.items():
        got = getattr(task, field)
        if field == "guardrails":
            assert len(task._guardrails) == 2  # crewai turns each plain-language check into an LLM guardrail
            continue
        assert (got.value if hasattr(got, "value") else got) == value, field
    given = task.input_files["spec"]  # a crewai FilePath when crewai-files is installed, else the path
    assert str(getattr(given, "path", given)) == str(tmp_project.crews_dir / "settings" / "notes.txt")
    kwargs = assembly.crew_kwargs
    assert {k: kwargs[k] for k in CREW_SETTINGS} == CREW_SETTINGS
    assert kwargs["output_log_file"] == str(tmp_project.root / "runs" / "r1" / "crew.log")
    assert kwargs["planning_llm"] is pool.get("scripted")
    from crewai import Crew
    Crew(**{**kwargs, "tasks": list(assembly.tasks.values())})  # crewai takes them together


@pytest.mark.crew
def test_a_run_on_the_scripted_model_ignores_the_rate_limit_and_bounds_reasoning(tmp_project):
    # max_rpm: 1 made crewai sleep out a minute per model call: --llm scripted has no provider to spare
    write_files(tmp_project.crews_dir / "limited", {
        "config/agents.yaml": "dev: {role: Developer, goal: Build, backstory: Careful., max_rpm: 1, reasoning: true}\n",
        "config/tasks.yaml": "build: {description: Build it., expected_output: Done., agent: dev}\n",
        "crew.yaml": "max_rpm: 1\n"})
    from rolecall.assemble import assemble
    from rolecall.context import RunContext
    from rolecall.llm.factory import LlmPool
    crew = load_crew("limited", tmp_project, llm="scripted")
    assembly = assemble(tmp_project, crew, {}, LlmPool(RunContext.open(tmp_project), "scripted"), "scripted")
    assert assembly.agents["dev"].max_rpm is None and "max_rpm" not in assembly.crew_kwargs
    # crewai refines a reasoning plan until the model calls it ready, unbounded: one attempt offline
    assert assembly.agents["dev"].planning_config.max_attempts == 1
    assembly = assemble(tmp_project, crew, {}, LlmPool(RunContext.open(tmp_project)), "scripted")
    assert assembly.agents["dev"].max_rpm == 1 and assembly.crew_kwargs["max_rpm"] == 1  # its own model: kept


def test_paths_in_settings_stay_inside_the_crew(tmp_project):
    write_files(tmp_project.crews_dir / "paths", {
        "config/agents.yaml": "dev: {role: Developer, goal: Build, backstory: Careful.}\n",
        "config/tasks.yaml": "build:\n  description: Build it.\n  expected_output: Done.\n  agent: dev\n"
                             "  input_files: {spec: ../secret.txt, other: missing.txt}\n",
        "crew.yaml": "output_log_file: /tmp/x.log\nprompt_file: prompts.json\n"})
    from rolecall import ConfigError
    with pytest.raises(ConfigError) as failed:
        load_crew("paths", tmp_project)
    shown = sorted(f"{p.path}: {p.message}" for p in failed.value.problems)
    assert shown == [
        "build.input_files.other: no file or folder 'missing.txt' in crews/paths",
        "build.input_files.spec: '../secret.txt' climbs out with '..'",
        "output_log_file: '/tmp/x.log' is an absolute path; give a path relative to the crew's folder",
        "prompt_file: no file or folder 'prompts.json' in crews/paths"]
