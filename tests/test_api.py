"""The public Python API: what `from rolecall import ...` offers, used as a reader would."""
from __future__ import annotations

import ast
import subprocess
import sys
import types

import pytest

import rolecall
from helpers import REPO, write_files
from rolecall import (
    ConfigError,
    InputError,
    RolecallError,
    RunNotFound,
    RunStateError,
    decide,
    load_crew,
    resume,
    run,
    runs,
)
from rolecall.llm.profiles import load_config


def test_the_exported_names_are_exactly_the_public_api():
    for name in rolecall.__all__:  # every exported name resolves, to something rolecall defines
        value = getattr(rolecall, name)
        assert name == "__version__" or value.__module__.startswith("rolecall."), name
    public = {name for name, value in vars(rolecall).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert public == set(rolecall.__all__) - {"__version__"}  # nothing else leaks in
    assert rolecall.__all__ == sorted(set(rolecall.__all__)) and dir(rolecall) == rolecall.__all__
    with pytest.raises(AttributeError):
        rolecall.validate_crew  # noqa: B018 - not part of the API
    flows = {"load_flow", "run_flow", "FlowOutline", "FlowResult", "StepRecord"}  # the flows API (tests/test_flows.py)
    assert flows <= set(rolecall.__all__)


def test_the_error_tree_in_the_docstring_matches_the_classes():
    from rolecall import errors
    classes = {name: value for name, value in vars(errors).items()
               if isinstance(value, type) and issubclass(value, RolecallError)}
    drawn = {}  # class -> its parent, read off the indentation of the tree
    stack: list[tuple[int, str]] = []
    for line in errors.__doc__.splitlines():
        name = line.lstrip(" │├└─").split(" ")[0]
        if name in classes:
            depth = len(line) - len(line.lstrip(" │├└─"))
            while stack and stack[-1][0] >= depth:
                stack.pop()
            drawn[name] = stack[-1][1] if stack else None
            stack.append((depth, name))
    assert drawn == {name: (cls.__base__.__name__ if cls is not RolecallError else None)
                     for name, cls in classes.items()}
    assert issubclass(InputError, ConfigError) and issubclass(RunNotFound, RolecallError)


@pytest.mark.crew
def test_load_and_run_a_crew_in_a_few_lines(repo_project):
    crew = load_crew("research_report", repo_project)
    result = run(crew, {"topic": "tides"}, llm="scripted", project=repo_project)
    assert result.ok and result.status == "completed"
    assert [(t.key, t.agent) for t in result.tasks] == [
        ("research_task", "researcher"), ("reporting_task", "reporting_analyst")]
    assert result.usage.requests == len(result.model_calls) == 2
    assert result.usage.total_tokens == result.tokens > 0
    assert rolecall.run is run and callable(rolecall.run)  # no submodule shadows the API after a run
    [summary] = runs(repo_project)
    assert (summary.id, summary.status, summary.usage.total_tokens) == (result.run_id, "completed", result.tokens)


@pytest.mark.crew
def test_run_by_name_coerces_inputs_and_reports_bad_ones(repo_project):
    with pytest.raises(InputError) as caught:
        run("research_report", {"topik": "tides", "current_year": "soon"}, llm="scripted", project=repo_project)
    messages = [p.message for p in caught.value.problems]
    assert messages == ["unknown input 'topik'", "input 'current_year' must be a whole number, got 'soon'"]
    result = run("research_report", {"current_year": "2031"}, llm="scripted", project=repo_project)
    assert result.ok


def test_errors_say_what_is_wrong(repo_project):
    with pytest.raises(ConfigError, match="no crew named 'research_reprot'") as caught:
        load_crew("research_reprot", repo_project)
    assert caught.value.problems[0].hint == "did you mean 'research_report'?"
    with pytest.raises(RunNotFound):
        resume("20990101-000000-nope-0000", project=repo_project)


@pytest.mark.crew
def test_decide_then_resume_an_approval_gate(tmp_project):
    write_files(tmp_project.crews_dir / "memo", {
        "config/agents.yaml": "writer: {role: Writer, goal: Write, backstory: Brief.}\n",
        "config/tasks.yaml": "draft: {description: Draft a memo, expected_output: A memo, agent: writer}\n"
                             "send: {description: Send it, expected_output: Sent, agent: writer}\n",
        "crew.yaml": "tasks:\n  draft: {approval: required}\n",
    })
    waiting = run("memo", llm="scripted", project=tmp_project)
    assert waiting.status == "awaiting_approval" and waiting.pending_approval.task == "draft"
    with pytest.raises(InputError, match="a rejection needs a reason"):
        decide(waiting.run_id, approve=False, project=tmp_project)
    decision = decide(waiting.run_id, project=tmp_project)
    assert (decision.task, decision.status, decision.ends_run) == ("draft", "approved", False)
    done = resume(waiting.run_id, project=tmp_project)
    assert done.ok and [t.carried_over for t in done.tasks] == [True, False]
    with pytest.raises(RunStateError, match="there is nothing to resume"):
        resume(waiting.run_id, project=tmp_project)


def test_a_profile_in_llm_yaml_changes_only_the_fields_it_sets(tmp_project):
    config = tmp_project.root / "myconfig"
    write_files(config, {"llm.yaml": "profiles:\n  local: {threads: 1}\n  mine: {model: x}\n"})
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert [p.render(tmp_project.root) for p in caught.value.problems] == [
        "myconfig/llm.yaml:3: profiles.mine: profile 'mine' needs a provider "
        "(add provider: openai, openai_compatible, crewai, local or scripted)"]
    write_files(config, {"llm.yaml": "profiles:\n  local: {threads: 1}\n  openai: {retries: 2}\n"})
    profiles = load_config(config).profiles
    assert (profiles["local"].provider, profiles["local"].model, profiles["local"].threads) == (
        "local", "qwen2.5-coder-0.5b-instruct", 1)
    assert (profiles["openai"].api_key_env, profiles["openai"].retries) == ("OPENAI_API_KEY", 2)


def test_the_read_side_and_the_cli_never_import_the_run_machinery():
    code = ("import sys, rolecall.report, rolecall.history, rolecall.cli, rolecall.approval; "
            "print(sorted(m for m in sys.modules if m in ('rolecall.runner', 'rolecall.record', 'rolecall.assemble')"
            " or m == 'crewai' or m.startswith('crewai.')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_environment_variables_are_read_in_one_module():
    readers = []
    for file in sorted((REPO / "rolecall").rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
                    and getattr(node.value, "id", "") == "os":
                readers.append(file.relative_to(REPO).as_posix())
    assert sorted(set(readers)) == ["rolecall/environment.py"]


def test_a_task_name_other_than_its_key_is_reported_not_dropped(tmp_project):
    write_files(tmp_project.crews_dir / "named", {
        "config/agents.yaml": "writer: {role: Writer, goal: Write, backstory: Brief.}\n",
        "config/tasks.yaml": "draft:\n  name: First draft\n  description: Draft\n  expected_output: A draft\n"
                             "  agent: writer\n",
    })
    write_files(tmp_project.crews_dir / "named", {"crew.yaml": "description: named tasks\n"})
    crew = load_crew("named", tmp_project)
    assert [p.render(tmp_project.root) for p in crew.warnings] == [
        "crews/named/config/tasks.yaml:2: draft.name: warning: 'name' is not used: rolecall names this task "
        "by its key 'draft' (remove it, or rename the task key to 'First draft')"]


def test_fallback_problems_in_llm_yaml_name_the_file_and_line(tmp_project):
    config = tmp_project.root / "myconfig"
    write_files(config, {"llm.yaml": "profiles:\n  a:\n    provider: scripted\n    fallback: [b]\n"
                                     "  b:\n    provider: scripted\n    fallback: [a]\n"})
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    [problem] = caught.value.problems
    assert problem.render(tmp_project.root).startswith(
        "myconfig/llm.yaml:7: profiles.b.fallback: model profiles fall back in a circle: a -> b -> a")
    write_files(config, {"llm.yaml": "profiles:\n  a:\n    provider: scripted\n    fallback: [loca]\n"})
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert [p.render(tmp_project.root) for p in caught.value.problems] == [
        "myconfig/llm.yaml:4: profiles.a.fallback[0]: profile 'a': fallback 'loca' is not a model profile "
        "(did you mean 'local'?)"]
