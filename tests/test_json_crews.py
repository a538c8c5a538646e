"""CrewAI 1.15's JSON crews are crews: crew.jsonc + agents/<name>.jsonc, read like a YAML crew.

The template ``crewai create crew`` writes is discovered, listed, validated, planned and run;
rolecall and crewai's own loader build the same agents, tasks and process from the same files;
a mistake in a JSON file is located as file:line:col: key.path: message, exit 2.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import REPO, write_files
from rolecall.api import load_crew, run, runs, write_report
from rolecall.cli import main
from rolecall.discover import discover, find
from rolecall.json_crew import load_json_crew
from rolecall.jsonc import JsoncError, parse
from rolecall.problem import Problem
from rolecall.project import Project
from rolecall.spec import AgentSpec
from rolecall.validate import validate

CREWAI = Path(sys.executable).with_name("crewai")
QUIET = {"CREWAI_DMN": "1", "OTEL_SDK_DISABLED": "true", "CREWAI_DISABLE_TELEMETRY": "true",
         "CREWAI_DISABLE_TRACKING": "true", "CREWAI_DISABLE_VERSION_CHECK": "true", "CREWAI_TRACING_ENABLED": "false"}
# Until model strings are resolved by validate (being written on main), a crew's "openai/gpt-4o"
# passes validation as a profile of that name; runs use the scripted model either way.
MODEL_STRINGS = "default: scripted\nprofiles:\n  openai/gpt-4o: {provider: scripted}\n" \
                "  openai/gpt-4o-mini: {provider: scripted}\n"


@pytest.fixture
def json_project(tmp_path: Path) -> Project:
    """A project whose config/llm.yaml knows the model strings the crews below name."""
    root = tmp_path / "project"
    (root / "crews").mkdir(parents=True)
    (root / "tools").symlink_to(REPO / "tools")
    shutil.copytree(REPO / "config", root / "config")
    (root / "config" / "llm.yaml").write_text(MODEL_STRINGS, encoding="utf-8")
    return Project(root)


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The crew `crewai create crew demo_crew` writes (non-interactive, offline), its own .git included."""
    where = tmp_path_factory.mktemp("created")
    subprocess.run([str(CREWAI), "create", "crew", "demo_crew"], cwd=where, env={**os.environ, **QUIET},
                   stdin=subprocess.DEVNULL, capture_output=True, check=True, timeout=120)
    return where / "demo_crew"


def add_template(project: Project, template: Path) -> Path:
    folder = project.crews_dir / "demo_crew"
    shutil.copytree(template, folder)
    return folder


def cli(capsys: pytest.CaptureFixture[str], project: Project, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), project_root=project.root)
    out, err = capsys.readouterr()
    return code, out, err


# A hierarchical JSON crew as people write it: comments, trailing commas, an agent inline,
# settings, a custom tool, a crewai_tools tool, context by name, an unnamed task, inputs.
NEWSROOM = {
    "crew.jsonc": """{
  "name": "Newsroom",
  /* the editor manages: CrewAI keeps the manager out of "agents" */
  "agents": ["reporter", "fact_checker"],
  "manager_agent": "editor",
  "process": "hierarchical",
  "tasks": [
    {
      "name": "gather",
      "description": "Gather facts about {topic}.",
      "expected_output": "A list of facts.",
    },
    {
      "name": "check",
      "description": "Check the facts about {topic}.",
      "expected_output": "Checked facts.",
      "agent": "fact_checker",
      "context": ["gather"],
    },
    {
      // no name: crewai's wizard would call it write_the_story_about_task
      "description": "Write the story about {topic}.",
      "expected_output": "A story of {words} words.",
      "context": ["gather", "check"],
    },
  ],
  "inputs": {"topic": "tides", "words": 300},
}
""",
    "agents/reporter.jsonc": """{
  "role": "Reporter",
  "goal": "Find what is new about {topic}",
  "backstory": "You ask good questions.",
  "llm": "openai/gpt-4o-mini",
  "tools": ["custom:word_count", "FileReadTool"],
  "settings": {
    "allow_delegation": false, // workers do the work
    "max_iter": 5,
  },
}
""",
    "agents/fact_checker.jsonc": """{
  "role": "Fact checker",
  "goal": "Check every claim",
  "backstory": "You trust nothing.",
  "llm": "openai/gpt-4o-mini",
}
""",
    "agents/editor.json": """{
  "role": "Editor",
  "goal": "Publish a true story about {topic}",
  "backstory": "You run the desk.",
  "llm": "openai/gpt-4o-mini",
  "settings": {"allow_delegation": true}
}
""",
    "tools/word_count.py": """from crewai.tools import BaseTool


class WordCountTool(BaseTool):
    name: str = "word_count"
    description: str = "Counts the words in a text."

    def _run(self, text: str) -> str:
        return str(len(text.split()))
""",
}


# Agents written inline, as crewai's crew definitions allow, and CrewAI's built-in manager.
INLINE = """{
  "agents": {
    "researcher": {"role": "Researcher", "goal": "Study {topic}", "backstory": "Curious.", "llm": "openai/gpt-4o"},
    "writer": {"role": "Writer", "goal": "Explain {topic}", "backstory": "Clear.", "llm": "openai/gpt-4o",
               "settings": {"max_iter": 3}},
  },
  "process": "hierarchical",
  "manager_llm": "openai/gpt-4o",
  "tasks": [
    {"name": "study", "description": "Study {topic}.", "expected_output": "Notes."},
    {"name": "explain", "description": "Explain {topic}.", "expected_output": "A page.", "context": ["study"]},
  ],
  "inputs": {"topic": "tides"},
}
"""


# --- the template ----------------------------------------------------------------------

def test_the_template_crewai_writes_is_listed_validated_and_planned(capsys, json_project, template):
    folder = add_template(json_project, template)
    package = find(json_project, "demo_crew")
    assert package.layout == "json"
    assert [f.relative_to(folder).as_posix() for f in package.files] == ["crew.jsonc", "agents/researcher.jsonc"]
    code, out, _ = cli(capsys, json_project, "list")
    assert code == 0 and out.splitlines()[1].split()[:4] == ["demo_crew", "sequential", "1", "1"]
    code, out, err = cli(capsys, json_project, "validate", "demo_crew")
    assert (code, err) == (0, "") and "demo_crew: ok" in out
    code, out, _ = cli(capsys, json_project, "plan", "demo_crew")
    assert code == 0 and "1. research_task  (agent: researcher)" in out
    assert "role: Senior Researcher" in out
    code, out, _ = cli(capsys, json_project, "show", "demo_crew")
    assert code == 0 and "researcher" in out and "research_task" in out


@pytest.mark.crew
def test_the_template_runs_end_to_end_and_is_recorded(json_project, template):
    add_template(json_project, template)
    result = run("demo_crew", {}, llm="scripted", project=json_project)
    assert result.ok and result.status == "completed"
    assert [(t.key, t.agent, t.status) for t in result.tasks] == [("research_task", "researcher", "completed")]
    # one call for the task; the template's "memory": true adds crewai's memory analysis, agentless
    assert result.output and [c.agent for c in result.model_calls].count("researcher") == 1
    assert {c.agent for c in result.model_calls} <= {"researcher", None}
    [summary] = runs(json_project)
    assert (summary.id, summary.crew, summary.status) == (result.run_id, "demo_crew", "completed")
    report = write_report(result.run_id, project=json_project)
    assert "research_task" in report.read_text(encoding="utf-8")


@pytest.mark.crew
def test_a_hierarchical_json_crew_runs_under_its_manager(json_project):
    write_files(json_project.crews_dir / "newsroom", NEWSROOM)
    result = run("newsroom", {"topic": "eclipses"}, llm="scripted", project=json_project)
    assert result.ok, result.error
    assert [(t.key, t.agent) for t in result.tasks] == [
        ("gather", "reporter"), ("check", "fact_checker"), ("write_the_story_about_task", "reporter")]


def test_an_agent_file_changed_is_validated_again(capsys, json_project, template, monkeypatch):
    folder = add_template(json_project, template)
    assert cli(capsys, json_project, "validate", "demo_crew")[0] == 0
    agent = folder / "agents" / "researcher.jsonc"
    agent.write_text(agent.read_text(encoding="utf-8").replace('"goal"', '"gaol"'), encoding="utf-8")
    code, out, err = cli(capsys, json_project, "validate", "demo_crew")
    assert code == 2
    assert "crews/demo_crew/agents/researcher.jsonc:11:3: gaol: unknown key 'gaol' (did you mean 'goal'?)" in err
    monkeypatch.setattr("rolecall.validate.validate", None)  # unchanged: the answer comes from the cache
    assert cli(capsys, json_project, "validate", "demo_crew") == (2, out, err)


# --- the same crew as crewai builds it -------------------------------------------------

def view(agents, tasks, process, manager):
    """What a person would compare: agents, tasks and process, with inputs filled in."""
    return ([(a.role, a.goal, a.backstory, sorted(t.name for t in a.tools or []), a.allow_delegation, a.max_iter)
             for a in agents],
            [(t.description, t.expected_output, t.agent.role if t.agent else None,
              [c.description for c in t.context] if isinstance(t.context, list) else [],
              sorted(tool.name for tool in t.tools or [])) for t in tasks],
            str(process.value), manager.role if manager else None)


def crewai_view(crew, inputs):
    crew._interpolate_inputs(inputs)  # what kickoff does first
    return view(crew.agents, crew.tasks, crew.process, crew.manager_agent)


def rolecall_view(project: Project, name: str):
    """As a run assembles it, with the crew's own input defaults."""
    from rolecall.assemble import assemble
    from rolecall.context import RunContext
    from rolecall.inputs import bound
    from rolecall.llm.factory import LlmPool
    crew = load_crew(name, project)
    built = assemble(project, crew, bound(crew.inputs, {}), LlmPool(RunContext.open(project), "scripted"), "scripted")
    return view(built.crew_kwargs["agents"], built.tasks.values(), built.crew_kwargs["process"], built.manager)


@pytest.mark.crew
def test_rolecall_and_crewai_build_the_same_crew_from_the_same_files(json_project, template, monkeypatch):
    from crewai.project.crew_loader import load_crew as crewai_load_crew
    from crewai.project.crew_loader import load_crew_from_definition
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # crewai builds its LLM objects; nothing is called
    add_template(json_project, template)
    write_files(json_project.crews_dir / "newsroom", NEWSROOM)
    for name in ("demo_crew", "newsroom"):
        folder = json_project.crews_dir / name
        theirs, defaults = crewai_load_crew(folder / "crew.jsonc")
        ours = rolecall_view(json_project, name)
        assert ours == crewai_view(theirs, defaults), name
    write_files(json_project.crews_dir / "inline", {"crew.jsonc": INLINE})
    theirs, defaults = load_crew_from_definition(parse(INLINE).data, project_root=json_project.crews_dir / "inline")
    inline = rolecall_view(json_project, "inline")
    assert inline == crewai_view(theirs, defaults)
    assert (inline[2], inline[3], inline[0][1][5]) == ("hierarchical", None, 3)  # CrewAI's manager, on manager_llm
    agents, tasks, process, manager = ours
    assert (process, manager) == ("hierarchical", "Editor")
    assert agents[0] == ("Reporter", "Find what is new about tides", "You ask good questions.",
                         ["Read a file's content", "word_count"], False, 5)
    assert tasks[2] == ("Write the story about tides.", "A story of 300 words.", None,
                        ["Gather facts about tides.", "Check the facts about tides."], [])


def test_a_json_crew_reads_like_its_yaml_twin(json_project):
    write_files(json_project.crews_dir / "newsroom", NEWSROOM)
    crew = load_crew("newsroom", json_project)
    assert list(crew.agents) == ["reporter", "fact_checker", "editor"] and crew.workers == ["reporter", "fact_checker"]
    assert (crew.hierarchical, crew.manager_agent) == (True, "editor")
    assert list(crew.tasks) == ["gather", "check", "write_the_story_about_task"]
    assert crew.tasks["write_the_story_about_task"].context == ["gather", "check"]
    assert [t.name for t in crew.agents["reporter"].tools] == ["custom:word_count", "FileReadTool"]
    assert (crew.agents["reporter"].spec.max_iter, crew.agents["reporter"].spec.allow_delegation) == (5, False)
    assert {k: (i.type, i.default) for k, i in crew.inputs.items()} == {"topic": ("string", "tides"),
                                                                      "words": ("integer", 300)}


# --- JSONC as people write it ------------------------------------------------------------

def test_jsonc_takes_comments_trailing_commas_and_keeps_positions():
    parsed = parse('{\n  // a comment with "quotes" and /* */\n  "a": "http://x/*y*/", /* b */ "b": [1, 2,],\n}\n')
    assert parsed.data == {"a": "http://x/*y*/", "b": [1, 2]}
    assert (parsed.spots[("a",)].line, parsed.spots[("a",)].column) == (3, 3)
    assert (parsed.spots[("b", 1)].line, parsed.spots[("b", 1)].column) == (3, 42)


@pytest.mark.parametrize(("text", "expected"), [
    ('{"a": [1, 2}', "1:12: '}' cannot close the '[' opened at 1:7 (write ']' here, or open a '{' to match)"),
    ("{'a': 1}", "1:2: keys take double quotes in JSON (write \"key\", not 'key')"),
    ('{"a": True}', "1:7: 'True' is not JSON (write true)"),
    ('{"a": 01}', "1:7: '01' is not a JSON number (write it as a number like 3 or 0.5, or as text \"01\")"),
    ('{"a": "x\\qy"}', "1:9: this backslash starts no valid escape (write a backslash as \\\\; escapes are "
                        '\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)'),
    ("{ /* never closed", "1:3: this /* comment is never closed (end it with */)"),
    ("// only a comment\n", "2:1: the file holds no JSON value (write the settings as an object: { ... })"),
    ("[" * 70 + "]" * 70, "1:66: the document is nested more than 64 levels deep (flatten this value)"),
])
def test_a_syntax_error_says_where_and_how_to_fix_it(text, expected):
    with pytest.raises(JsoncError) as caught:
        parse(text)
    error = caught.value
    assert f"{error.spot.line}:{error.spot.column}: {error.message} ({error.hint})" == expected


def test_env_values_in_llm_objects_stay_text_until_the_run(json_project):
    write_files(json_project.crews_dir / "local", {
        "crew.jsonc": '{"agents": ["writer"], "tasks": [{"name": "t", "description": "D", "expected_output": "E",'
                      ' "agent": "writer"}]}',
        "agents/writer.jsonc": '{"role": "R", "goal": "G", "backstory": "B",\n'
                               ' "llm": {"model": "llama3", "provider": "ollama",\n'
                               '         "base_url": "${OLLAMA_URL:-http://localhost:11434}", "api_key": "${KEY}"}}',
    })
    problems: list[Problem] = []
    files = load_json_crew(find(json_project, "local"), problems)
    assert problems == [] and files is not None
    llm = AgentSpec.model_validate(files.agents.data["writer"]).llm
    assert (llm.base_url, llm.api_key) == ("${OLLAMA_URL:-http://localhost:11434}", "${KEY}")
    assert files.agents.problem(("writer", "llm", "base_url"), "x").render(json_project.root) == \
        "crews/local/agents/writer.jsonc:3:10: llm.base_url: x"


def test_a_crew_with_llm_objects_validates(json_project):
    write_files(json_project.crews_dir / "local", {
        "crew.jsonc": '{"agents": ["writer"], "tasks": [{"name": "t", "description": "D", "expected_output": "E",'
                      ' "agent": "writer"}]}',
        "agents/writer.jsonc": '{"role": "R", "goal": "G", "backstory": "B",'
                               ' "llm": {"model": "llama3", "provider": "ollama", "base_url": "${OLLAMA_URL}"}}',
    })
    crew = load_crew("local", json_project)
    name = crew.agents["writer"].llm
    assert name == "ollama/llama3@${OLLAMA_URL}"
    assert (crew.models[name].provider, crew.models[name].model, crew.models[name].base_url) == (
        "crewai", "ollama/llama3", "${OLLAMA_URL}")


def test_a_custom_tool_that_does_not_exist_is_located(capsys, json_project):
    files = dict(NEWSROOM)
    files["agents/reporter.jsonc"] = files["agents/reporter.jsonc"].replace("custom:word_count", "custom:word_cont")
    write_files(json_project.crews_dir / "newsroom", files)
    code, _, err = cli(capsys, json_project, "validate", "newsroom")
    assert code == 2
    assert ("crews/newsroom/agents/reporter.jsonc:6:13: tools[0]: custom tool 'custom:word_cont': no "
            "crews/newsroom/tools/word_cont.py (did you mean 'custom:word_count'?)") in err


# --- bad input: located, plain, exit 2 --------------------------------------------------

GOOD_AGENT = '{\n  "role": "Writer",\n  "goal": "Write",\n  "backstory": "Clear."\n}\n'
GOOD_CREW = ('{\n  "agents": ["writer"],\n  "tasks": [\n    {\n      "name": "draft",\n'
             '      "description": "Draft it.",\n      "expected_output": "A draft.",\n'
             '      "agent": "writer"\n    }\n  ]\n}\n')


@pytest.mark.parametrize(("crew", "agent", "expected"), [
    (GOOD_CREW.replace('"Draft it.",', '"Draft it.,'), GOOD_AGENT,
     'crews/bad/crew.jsonc:6:22: JSON syntax error: this string is never closed: it has no closing " on its line '
     '(end it with ", and write a line break inside it as \\n)'),
    (GOOD_CREW, GOOD_AGENT.replace('"Write",', '"Write"'),
     "crews/bad/agents/writer.jsonc:3:18: JSON syntax error: missing ',' after the value of \"goal\" (the next one "
     "starts at 4:3) (add a comma here, or close with '}')"),
    (GOOD_CREW.replace('  "tasks"', '  / tasks\n  "tasks"'), GOOD_AGENT,
     "crews/bad/crew.jsonc:3:3: JSON syntax error: '/' does not start a comment (write // for a line comment or "
     "/* ... */)"),
    (GOOD_CREW.replace('"agent": "writer"', '"agent": "writr"'), GOOD_AGENT,
     "crews/bad/crew.jsonc:8:7: tasks[0].agent: no agent 'writr' in crew.jsonc's agents (did you mean 'writer'?)"),
    (GOOD_CREW.replace('"expected_output"', '"expected_outptu"'), GOOD_AGENT,
     "crews/bad/crew.jsonc:7:7: tasks[0].expected_outptu: unknown key 'expected_outptu' "
     "(did you mean 'expected_output'?)"),
    (GOOD_CREW, GOOD_AGENT.replace('"Clear."', '["Clear."]'),
     "crews/bad/agents/writer.jsonc:4:3: backstory: must be a valid string, got a list ['Clear.']"),
    (GOOD_CREW.replace('["writer"]', '["writer", "editor"]'), GOOD_AGENT,
     "crews/bad/crew.jsonc:2:24: agents[1]: no agents/editor.jsonc (or .json) for agent 'editor' "
     "(create agents/editor.jsonc with role, goal and backstory)"),
    (GOOD_CREW.replace('"name": "draft"', '"name": "draft", "name": "again"'), GOOD_AGENT,
     "crews/bad/crew.jsonc:5:24: tasks[0].name: duplicate key 'name' (the earlier one would be silently dropped) "
     "(remove one of them)"),
    (GOOD_CREW.replace('"agents": ["writer"],', '"agents": ["writer"], "process": "sequentail",'), GOOD_AGENT,
     "crews/bad/crew.jsonc:2:25: process: must be 'sequential' or 'hierarchical', got text 'sequentail'"),
    (GOOD_CREW.replace('"agent": "writer"', '"agent": "writer", "context": ["drfat"]'), GOOD_AGENT,
     "crews/bad/crew.jsonc:8:38: tasks[0].context[0]: no task 'drfat' in crew.jsonc's tasks (did you mean 'draft'?)"),
    (GOOD_CREW, GOOD_AGENT.replace('"Clear."', '"Clear.",\n  "type": {"python": "my.Agent"}'),
     "crews/bad/agents/writer.jsonc:5:3: type: rolecall builds crewai's Agent; a custom or conditional type is not "
     "supported (remove 'type')"),
    (GOOD_CREW, GOOD_AGENT.replace('"Clear."', '"Clear.",\n  "tools": ["platform:gmail"]'),
     "crews/bad/agents/writer.jsonc:5:13: tools[0]: tool 'platform:gmail' is a CrewAI platform integration, which "
     "rolecall does not run (give the agent apps: [gmail] instead)"),
    (GOOD_CREW.replace(',\n      "agent": "writer"', ""), GOOD_AGENT,
     'crews/bad/crew.jsonc:4:5: tasks[0]: task has no agent; a sequential crew needs one for every task '
     '(add "agent": "<agent name>" to this task)'),
    (GOOD_CREW.replace('"agents": ["writer"],', '"agents": ["writer"], "process": "hierarchical",'), GOOD_AGENT,
     'crews/bad/crew.jsonc:2:25: process: a hierarchical crew needs a manager '
     '(add "manager_agent": "<agent name>" or "manager_llm": "<model>")'),
], ids=["unterminated string", "missing comma", "bad comment", "unknown agent", "unknown key", "wrong type",
        "missing agent file", "duplicate key", "bad process", "unknown context", "agent type", "platform tool",
        "task without agent", "no manager"])
def test_a_mistake_is_located_by_file_line_and_column(capsys, json_project, crew, agent, expected):
    write_files(json_project.crews_dir / "bad", {"crew.jsonc": crew, "agents/writer.jsonc": agent})
    code, _, err = cli(capsys, json_project, "validate", "bad")
    assert code == 2 and "Traceback" not in err
    assert expected in err.splitlines()


def test_settings_and_top_level_keys_cannot_both_set_a_key(capsys, json_project):
    write_files(json_project.crews_dir / "bad", {
        "crew.jsonc": GOOD_CREW,
        "agents/writer.jsonc": GOOD_AGENT.replace('"Clear."', '"Clear.",\n  "max_iter": 3,\n'
                                                              '  "settings": {"max_iter": 4, "verbos": true}'),
    })
    code, _, err = cli(capsys, json_project, "validate", "bad")
    assert code == 2
    assert err.splitlines()[:2] == [
        "crews/bad/agents/writer.jsonc:6:16: settings.max_iter: 'max_iter' is set here and at the top of the file "
        "(keep one; crewai lets settings win)",
        "crews/bad/agents/writer.jsonc:6:31: settings.verbos: unknown key 'verbos' (did you mean 'verbose'?)"]


def test_no_bytes_make_a_traceback(tmp_path):
    import random
    rng = random.Random(7)
    pieces = ['{', '}', '[', ']', '"', ':', ',', '//', '/*', '*/', '\n', 'a', '1', '-', '.', 'e', '\\', 'true',
              ' ', '\t', '\u00a0', '\ud800', '\x00', "'"]
    started = time.perf_counter()
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        try:
            parse(text)
        except JsoncError as error:
            assert error.spot.line >= 1 and error.spot.column >= 1 and error.message
    for text in ["[" * 100_000, '{"a": ' + "9" * 10_000 + "}", '{"a": 1e400}', "\ufeff{}", "[" + "1," * 200_000 + "]",
                 " " * 1_000_000, "{" + "/*" * 100_000, '["' + "x" * 1_000_000 + '"]']:
        try:
            parse(text)
        except JsoncError as error:
            assert error.message
    assert time.perf_counter() - started < 10


def test_a_mangled_template_is_reported_never_a_traceback(json_project, template):
    import random
    rng = random.Random(11)
    folder = add_template(json_project, template)
    originals = {f: f.read_text(encoding="utf-8") for f in (folder / "crew.jsonc", folder / "agents/researcher.jsonc")}
    profiles = ["openai/gpt-4o"]
    started = time.perf_counter()
    for _ in range(150):
        file, text = rng.choice(list(originals.items()))
        for _ in range(rng.randint(1, 3)):  # cut, repeat or insert a few characters anywhere
            at = rng.randrange(len(text))
            text = rng.choice([text[:at] + text[at + rng.randint(1, 40):], text[:at] + text[at:at + 30] * 2 + text[at:],
                               text[:at] + rng.choice('{}[]",:/*\\0n') + text[at:]])
        file.write_text(text, encoding="utf-8")
        result = validate(json_project, find(json_project, "demo_crew"), profiles)
        assert all(p.file is not None and p.line for p in result.problems if p.severity == "error")
        file.write_text(originals[file], encoding="utf-8")
    assert time.perf_counter() - started < 30


def test_a_file_that_is_not_utf8_is_located(capsys, json_project):
    write_files(json_project.crews_dir / "bad", {"crew.jsonc": GOOD_CREW})
    (json_project.crews_dir / "bad" / "agents").mkdir()
    (json_project.crews_dir / "bad" / "agents" / "writer.jsonc").write_bytes(b'{"role": "\xff"}')
    code, _, err = cli(capsys, json_project, "validate", "bad")
    assert code == 2 and err.splitlines()[0] == (
        "crews/bad/agents/writer.jsonc:1: the file is not UTF-8 text (byte 0xff at offset 10) (save it as UTF-8)")


def test_discovery_knows_json_crews_and_yaml_crews_apart(json_project):
    write_files(json_project.crews_dir / "j", {"crew.json": "{}"})
    write_files(json_project.crews_dir / "y", {"crew.yaml": "{}"})
    crews, _ = discover(json_project)
    assert {name: p.layout for name, p in crews.items()} == {"j": "json", "y": "yaml"}
    elsewhere = json_project.root / "elsewhere" / "k"
    write_files(elsewhere, {"crew.jsonc": "{}"})
    assert find(json_project, str(elsewhere)).layout == "json"  # a crew folder named by its path


def test_list_validate_and_plan_do_not_import_crewai(json_project):
    write_files(json_project.crews_dir / "newsroom", NEWSROOM)
    code = ("import sys; from rolecall.cli import main; "
            f"[main(a, project_root={str(json_project.root)!r}) for a in (['list'], ['validate', 'newsroom'], "
            "['plan', 'newsroom'])]; "
            "print(sorted(m for m in sys.modules if m == 'crewai' or m.startswith('crewai.')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
