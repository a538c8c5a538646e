"""File tools are confined to the crew's workspace; tool faults end cleanly.

A scripted agent tries every escape with every file tool a crew can bind (crewai_tools'
reader, writer and directory lister, and a project's own @tool): absolute paths, ``..``,
``.env`` and dotfiles, ``~``, and a symlink that leads out. None succeeds, the agent reads
a plain refusal, and the run record keeps each as a refused call.
"""
from __future__ import annotations

import json

import pytest

from helpers import write_files
from rolecall import ConfigError, load_crew
from rolecall.context import open_store

pytestmark = pytest.mark.crew

SECRET = "sk-never-leaves-dotenv-0123456789"
ESCAPES = ["/etc/passwd", "../../.env", ".env", "notes/../../../.env", "~/.ssh/id_rsa", "outside/hostname"]

PEEK = '''
from pathlib import Path
from crewai.tools import tool


@tool
def peek(path: str) -> str:
    """Read a text file."""
    return Path(path).read_text()


@tool
def flood(query: str) -> str:
    """Answer at length."""
    return "x" * 10_000_000


@tool
def explode(query: str) -> str:
    """Always fails."""
    raise RuntimeError("the tool blew up")
'''


def _crew(project, tools: str, extra: str = "") -> None:
    write_files(project.root, {".env": f"OPENAI_API_KEY={SECRET}\n"})
    write_files(project.crews_dir / "files", {
        "config/agents.yaml": "clerk: {role: Clerk, goal: Handle files, backstory: Careful.}\n",
        "config/tasks.yaml": "work: {description: Work with the files, expected_output: A note, agent: clerk}\n"
                             "after: {description: Sum up, expected_output: A line, agent: clerk, context: [work]}\n",
        "crew.yaml": f"agents:\n  clerk:\n    tools: {tools}\n{extra}",
        "tools.py": PEEK,
        "notes/today.md": "Buy milk.\n",
    })
    (project.crews_dir / "files" / "outside").symlink_to("/etc")  # a symlink that leads out


def _calls(project, run_id: str) -> list[dict]:
    return open_store(project).tool_calls(run_id)


@pytest.mark.parametrize("tool, argument", [("Read a file's content", "file_path"),
                                             ("List files in directory", "directory"), ("peek", "path")])
def test_no_escape_reaches_a_file_tool(run_crew, tmp_project, monkeypatch, tool, argument):
    monkeypatch.chdir(tmp_project.root)  # as `main.py` runs: crewai_tools' own checks anchor here
    _crew(tmp_project, "[FileReadTool, DirectoryReadTool, peek]")
    steps = [{"tool": tool, "input": {argument: escape}} for escape in ESCAPES]
    legit = "notes/today.md" if argument != "directory" else "notes"
    steps += [{"tool": tool, "input": {argument: legit}}, "Done."]
    result = run_crew("files", script={"tasks": {"work": steps}}, project=tmp_project)
    assert result.ok, result.error
    calls = _calls(tmp_project, result.run_id)[: len(ESCAPES) + 1]
    assert [json.loads(c["arguments"])[argument] for c in calls] == [*ESCAPES, legit]
    assert all(c["error"] and c["error"].startswith("refused: ") for c in calls[:-1]), calls
    assert calls[-1]["error"] is None and calls[-1]["result_chars"] > 0
    everything = json.dumps([dict(t.__dict__) for t in result.tasks]) + json.dumps(open_store(tmp_project).model_calls(result.run_id))
    assert SECRET not in everything and "root:x:0:0" not in everything


def test_the_writer_writes_only_into_the_run_folder(run_crew, tmp_project, monkeypatch):
    monkeypatch.chdir(tmp_project.root)
    _crew(tmp_project, "[FileWriterTool]")
    write = "File Writer Tool"
    steps = [{"tool": write, "input": {"filename": "x.md", "content": "no", "directory": d}}
             for d in ("/tmp", "..", "../../crews", ".git")]
    steps += [{"tool": write, "input": {"filename": "../../escape.md", "content": "no"}},
              {"tool": write, "input": {"filename": "draft.md", "content": "Hello", "directory": "out"}}, "Done."]
    result = run_crew("files", script={"tasks": {"work": steps}}, project=tmp_project)
    assert result.ok, result.error
    calls = _calls(tmp_project, result.run_id)
    assert [bool(c["error"] and c["error"].startswith("refused: ")) for c in calls[:6]] == [True] * 5 + [False]
    assert (result.run_dir / "out" / "draft.md").read_text() == "Hello"
    assert not (tmp_project.root / "escape.md").exists() and not (tmp_project.crews_dir / "x.md").exists()


def test_listed_folders_widen_the_workspace(run_crew, tmp_project):
    _crew(tmp_project, "[peek]", "workspace:\n  read: [../../shared_data]\n")
    with pytest.raises(ConfigError) as caught:
        load_crew("files", tmp_project)
    assert [p.render(tmp_project.root) for p in caught.value.problems] == [
        "crews/files/crew.yaml:5: workspace.read[0]: '../../shared_data' climbs out with '..' "
        "(list folders inside the crew's folder)"]


def test_constructor_paths_and_code_execution_are_checked_before_the_run(tmp_project, monkeypatch):
    monkeypatch.setenv("E2B_API_KEY", "e2b-test-key")
    _crew(tmp_project, "[{FileReadTool: {file_path: /home/me/.env}}, E2BPythonTool]")
    write_files(tmp_project.crews_dir / "files", {"config/agents.yaml":
                "clerk: {role: Clerk, goal: Handle files, backstory: Careful., allow_code_execution: true}\n"})
    with pytest.raises(ConfigError) as caught:
        load_crew("files", tmp_project)
    assert sorted(p.render(tmp_project.root) for p in caught.value.problems) == [
        "crews/files/config/agents.yaml:1: clerk.allow_code_execution: this agent would run code it writes, and "
        "the crew does not allow it (add workspace: {code_execution: true} to crew.yaml if you mean it)",
        "crews/files/crew.yaml:3: agents.clerk.tools[0].FileReadTool.file_path: '/home/me/.env' is an absolute "
        "path; give a path relative to the crew's folder (tools read the crew's folder and the run folder; list "
        "more under workspace in crew.yaml)",
        "crews/files/crew.yaml:3: agents.clerk.tools[1]: tool 'E2BPythonTool' runs code the model writes, and "
        "this crew does not allow it (add workspace: {code_execution: true} to crew.yaml if you mean it)"]


def test_a_flood_of_output_is_cut_and_a_failing_tool_is_recorded(run_crew, tmp_project):
    _crew(tmp_project, "[flood, explode]")
    steps = [{"tool": "flood", "input": {"query": "all"}}, {"tool": "explode", "input": {"query": "now"}}, "Done."]
    result = run_crew("files", script={"tasks": {"work": steps}}, project=tmp_project)
    assert result.ok and [t.status for t in result.tasks] == ["completed", "completed"]
    flood, *explode = _calls(tmp_project, result.run_id)  # crewai tries a failing tool again
    assert flood["error"] is None and 16_000 < flood["result_chars"] < 16_200
    assert explode and all("the tool blew up" in call["error"] for call in explode)
    assert len(result.model_calls) < 10  # crewai did not summarise its way through 10 MB


def test_a_tool_that_hangs_past_the_time_limit_fails_the_task_and_keeps_the_rest(run_crew, tmp_project):
    _crew(tmp_project, "[nap]", "    max_execution_time: 2\n")
    write_files(tmp_project.crews_dir / "files", {"tools.py": PEEK + '''

@tool
def nap(query: str) -> str:
    """Takes its time."""
    import time
    time.sleep(4)
    return "late"
'''})
    write_files(tmp_project.crews_dir / "files", {"config/tasks.yaml":
                "first: {description: Say hi, expected_output: Hi, agent: clerk}\n"
                "work: {description: Use the tool, expected_output: A note, agent: clerk}\n"})
    result = run_crew("files", script={"tasks": {"work": [{"tool": "nap", "input": {"query": "x"}}, "Done."]}},
                      project=tmp_project)
    assert result.status == "failed" and "timed out" in result.error
    assert [(t.key, t.status) for t in result.tasks] == [("first", "completed"), ("work", "failed")]
    assert (result.run_dir / "01_first.md").exists()
