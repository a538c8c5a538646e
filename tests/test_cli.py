"""main.py as a user meets it: output, exit codes, and no crewai import outside `run`."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from helpers import REPO, write_files
from rolecall.cli import main


def cli(capsys, *argv, root=REPO):
    code = main(list(argv), project_root=root)
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_crew_with_process_and_counts(capsys):
    code, out, _ = cli(capsys, "list")
    assert code == 0
    rows = {line.split()[0]: line.split()[1:4] for line in out.splitlines()[1:] if line.strip()}
    assert rows["research_report"] == ["sequential", "2", "2"]
    assert rows["trip_flow"] == ["4", "trip_flights,", "trip_hotels,"]  # flows follow, in a table of their own
    assert rows["research_report_managed"] == ["hierarchical", "3", "2"]


def test_validate_all_passes_on_the_shipped_crews(capsys):
    code, out, err = cli(capsys, "validate", "--all")
    assert code == 0, err
    assert "research_report: ok" in out


def test_validate_lists_every_problem_and_exits_2(capsys, tmp_project):
    write_files(tmp_project.crews_dir / "broken", {
        "config/agents.yaml": "writer:\n  role: Writer\n  gaol: Write\n  backstory: Clear.\n",
        "config/tasks.yaml": "t:\n  description: Write about {topc}.\n  expected_output: Text.\n  agent: writr\n",
        "crew.yaml": "inputs:\n  topic: {default: x}\n",
    })
    code, out, err = cli(capsys, "validate", "broken", root=tmp_project.root)
    assert code == 2
    assert "Traceback" not in err
    assert "crews/broken/config/agents.yaml:3: writer.gaol: unknown key 'gaol' (did you mean 'goal'?)" in err
    assert "crews/broken/config/tasks.yaml:4: t.agent: no agent 'writr' in config/agents.yaml (did you mean 'writer'?)" in err
    assert "crews/broken/config/tasks.yaml:2: t.description: placeholder '{topc}' is not a declared input (did you mean 'topic'?)" in err


def test_unknown_crew_gets_did_you_mean(capsys):
    code, _, err = cli(capsys, "show", "research_reprot")
    assert code == 2 and "no crew named 'research_reprot' (did you mean 'research_report'?)" in err


def test_plan_fills_inputs_and_shows_order_tools_and_delegates(capsys):
    code, out, _ = cli(capsys, "plan", "research_report", "--input", "topic=solar storage")
    assert code == 0
    assert "role: solar storage Senior Data Researcher" in out
    assert "1. research_task  (agent: researcher)" in out and "2. reporting_task  (agent: reporting_analyst)" in out
    assert "tools: KnowledgeSearchTool" in out
    code, out, _ = cli(capsys, "plan", "research_report_managed")
    assert "manager delegates to: researcher, reporting_analyst" in out


def test_input_of_the_wrong_type_is_exit_2(capsys):
    code, _, err = cli(capsys, "plan", "research_report", "--input", "current_year=soon")
    assert code == 2 and "input 'current_year' must be a whole number, got 'soon'" in err


def test_schema_is_json_schema_for_all_three_files(capsys, tmp_path):
    code, out, _ = cli(capsys, "schema", "crew.yaml")
    schema = json.loads(out)
    assert code == 0 and {"process", "manager", "inputs", "agents", "tasks"} <= set(schema["properties"])
    code, out, _ = cli(capsys, "schema", "--out", str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "agents.schema.json", "crew.schema.json", "tasks.schema.json"]
    agents = json.loads((tmp_path / "agents.schema.json").read_text())
    assert "role" in json.dumps(agents)


def test_new_scaffolds_a_crew_that_validates(capsys, tmp_project):
    code, out, _ = cli(capsys, "new", "customer_faq", "--process", "hierarchical", root=tmp_project.root)
    assert code == 0 and "created crews/customer_faq/" in out
    assert cli(capsys, "validate", "customer_faq", root=tmp_project.root)[0] == 0
    code, _, err = cli(capsys, "new", "customer_faq", root=tmp_project.root)
    assert code == 2 and "already exists" in err
    assert cli(capsys, "new", "Bad-Name", root=tmp_project.root)[0] == 2


@pytest.mark.parametrize("command", [["list"], ["validate", "--all"], ["show", "research_report"],
                                     ["plan", "research_report"], ["schema"]])
def test_commands_that_run_no_crew_never_import_crewai(command):
    code = (f"import sys; from pathlib import Path; from rolecall.cli import main; "
            f"rc = main({command!r}, project_root=Path({str(REPO)!r})); "
            f"print('CREWAI' if 'crewai' in sys.modules else 'CLEAN', rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO).stdout
    assert out.strip().splitlines()[-1] == "CLEAN 0"


@pytest.mark.crew
def test_run_prints_output_writes_run_folder_and_exits_0(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ROLECALL_RUNS", str(tmp_path / "runs"))
    code, out, _ = cli(capsys, "run", "research_report", "--llm", "scripted", "--json")
    last = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and last["status"] == "completed" and last["output"]
    assert sorted(p.name for p in (tmp_path / "runs" / last["run_id"]).iterdir())[:2] == [
        "01_research_task.md", "02_reporting_task.md"]


def test_an_unchanged_crew_is_listed_from_the_cache_and_any_change_revalidates(tmp_project, capsys):
    write_files(tmp_project.crews_dir / "memo", {
        "config/agents.yaml": "w: {role: Writer, goal: Write, backstory: Brief.}\n",
        "config/tasks.yaml": "t: {description: Draft it, expected_output: A memo, agent: w}\n",
        "crew.yaml": "description: first words\n",
    })
    assert main(["list"], project_root=tmp_project.root) == 0
    assert "first words" in capsys.readouterr().out
    [entry] = (tmp_project.root / ".rolecall-cache" / "validation").glob("memo.json")
    write_files(tmp_project.crews_dir / "memo", {"crew.yaml": "description: second words\n"})
    assert main(["list"], project_root=tmp_project.root) == 0
    assert "second words" in capsys.readouterr().out
    write_files(tmp_project.crews_dir / "memo", {"config/tasks.yaml": "t: {description: Draft it, agent: w}\n"})
    assert main(["validate", "memo"], project_root=tmp_project.root) == 2
    assert "t: missing required key 'expected_output'" in capsys.readouterr().err
    assert entry.exists()


def test_a_cached_crew_still_notices_a_missing_api_key(tmp_project, monkeypatch, capsys):
    write_files(tmp_project.crews_dir / "search", {
        "config/agents.yaml": "w: {role: Writer, goal: Write, backstory: Brief., tools: [SerperDevTool]}\n",
        "config/tasks.yaml": "t: {description: Look it up, expected_output: Facts, agent: w}\n",
        "crew.yaml": "{}\n",
    })
    monkeypatch.setenv("SERPER_API_KEY", "serper-test-key")
    assert main(["validate", "search"], project_root=tmp_project.root) == 0
    monkeypatch.delenv("SERPER_API_KEY")
    assert main(["validate", "search"], project_root=tmp_project.root) == 2
    assert "needs the environment variable SERPER_API_KEY" in capsys.readouterr().err


def test_a_cached_crew_notices_a_package_installed_since(tmp_project, monkeypatch, tmp_path, capsys):
    # validation checks a model's client package; `pip install` changes site-packages, and the entry
    site = tmp_path / "venv" / "site-packages"
    site.mkdir(parents=True)
    monkeypatch.syspath_prepend(str(site))
    write_files(tmp_project.crews_dir / "claude", {
        "config/agents.yaml": "w: {role: Writer, goal: Write, backstory: Brief., llm: groq/llama-3.1-8b}\n",
        "config/tasks.yaml": "t: {description: Draft it, expected_output: A memo, agent: w}\n",
        "crew.yaml": "{}\n",
    })
    monkeypatch.setenv("GROQ_API_KEY", "k")
    if importlib.util.find_spec("litellm") is not None:
        pytest.skip("litellm is installed here")
    assert main(["validate", "claude"], project_root=tmp_project.root) == 2
    assert "needs the Python package 'litellm', which is not installed" in capsys.readouterr().err
    (site / "litellm").mkdir()  # what installing it leaves
    (site / "litellm" / "__init__.py").write_text("")
    importlib.invalidate_caches()
    assert main(["validate", "claude"], project_root=tmp_project.root) == 0
