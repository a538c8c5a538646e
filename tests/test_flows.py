"""Flows: crewai.flow/v1 files in flows/, validated by rolecall, run on crewai's flow runtime with
each crew step a recorded rolecall run; the shipped flows' shapes on the scripted model."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import REPO, write_files
from rolecall import api
from rolecall.cli import main
from rolecall.context import open_store
from rolecall.flow_package import discover_flows
from rolecall.flow_validate import validate_flow
from rolecall.project import Project
from rolecall.usage import Usage


def script(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, replies: dict[str, Any]) -> None:
    file = tmp_path / "script.yaml"
    file.write_text(yaml.safe_dump(replies), encoding="utf-8")
    monkeypatch.setenv("ROLECALL_SCRIPT", str(file))


# --- the file format: rolecall's key sets are crewai's ---------------------------------------

def test_known_keys_are_crewais_own() -> None:
    from crewai.flow import flow_definition as fd

    from rolecall import flow_spec

    def keys(model: Any) -> set[str]:
        return {f.alias or name for name, f in model.model_fields.items()}

    assert keys(fd.FlowDefinition) == set(flow_spec.FLOW_KEYS)
    assert keys(fd.FlowMethodDefinition) == set(flow_spec.METHOD_KEYS)
    assert keys(fd.FlowConfigDefinition) == set(flow_spec.CONFIG_KEYS)
    assert keys(fd.FlowPersistenceDefinition) == set(flow_spec.PERSIST_KEYS)
    assert keys(fd.FlowHumanFeedbackDefinition) == set(flow_spec.FEEDBACK_KEYS)
    assert keys(fd.FlowEachStepDefinition) == set(flow_spec.EACH_STEP_KEYS)
    actions = {fd.FlowCodeActionDefinition: "code", fd.FlowToolActionDefinition: "tool",
               fd.FlowCrewActionDefinition: "crew", fd.FlowAgentActionDefinition: "agent",
               fd.FlowExpressionActionDefinition: "expression", fd.FlowScriptActionDefinition: "script",
               fd.FlowEachActionDefinition: "each"}
    assert {call: keys(model) for model, call in actions.items()} == \
        {call: set(names) for call, names in flow_spec.ACTION_KEYS.items()}
    states = {fd.FlowDictStateDefinition: "dict", fd.FlowPydanticStateDefinition: "pydantic",
              fd.FlowJsonSchemaStateDefinition: "json_schema", fd.FlowUnknownStateDefinition: "unknown"}
    assert {kind: keys(model) for model, kind in states.items()} == \
        {kind: set(names) for kind, names in flow_spec.STATE_KEYS.items()}


def test_the_output_fields_validation_knows_are_those_a_step_has() -> None:
    from dataclasses import fields

    from crewai.flow.human_feedback import HumanFeedbackResult

    from rolecall import flow_spec
    from rolecall.flow_runner import StepOutput
    assert set(StepOutput.model_fields) == set(flow_spec.CREW_STEP_FIELDS)
    assert {f.name for f in fields(HumanFeedbackResult)} == set(flow_spec.FEEDBACK_FIELDS)


def test_shipped_flows_validate_and_crewai_accepts_them() -> None:
    from crewai.flow.flow_definition import FlowDefinition
    project = Project(REPO)
    flows, problems = discover_flows(project)
    assert set(flows) == {"trip_flow", "support_flow", "content_flow", "demo", "research_review",
                          "reviewed_reply"} and not problems
    for package in flows.values():
        check = validate_flow(project, package)
        assert check.ok, [p.render() for p in check.problems]
        FlowDefinition.from_declaration(path=package.file)  # crewai's own models take the same file


def test_list_validate_and_plan_do_not_import_crewai() -> None:
    code = ("import sys; from rolecall.cli import main; "
            "rc = [main(a) for a in (['list'], ['validate', 'trip_flow'], ['plan', 'content_flow'])]; "
            "print('CREWAI' if 'crewai' in sys.modules else 'CLEAN', rc)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "CLEAN [0, 0, 0]"


def test_a_warm_list_of_crews_and_flows_does_not_even_import_pydantic() -> None:
    code = ("import sys; from rolecall.cli import main; main(['list']); "
            "print('PYDANTIC' if 'pydantic' in sys.modules else 'CLEAN')")
    for expected in (None, "CLEAN"):  # the first fills the caches (or finds them filled)
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
        if expected:
            assert out.stdout.strip().splitlines()[-1] == expected


def test_a_cached_flow_is_checked_again_when_it_or_a_crew_it_runs_changes(tmp_project: Project,
                                                                          capsys: pytest.CaptureFixture[str],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    write_files(tmp_project.root, {
        "crews/helper/config/agents.yaml": "a:\n  role: A\n  goal: Help\n  backstory: Kind.\n",
        "crews/helper/config/tasks.yaml": "t:\n  description: Help with {topic}\n  expected_output: Help\n"
                                          "  agent: a\n",
        "crews/helper/crew.yaml": "inputs:\n  topic: {default: tides}\n",
        "flows/helping.yaml": "schema: crewai.flow/v1\nname: Helping\nmethods:\n  go:\n    start: true\n"
                              "    do: {call: crew, from_declaration: helper, inputs: {topic: moons}}\n"})
    assert main(["validate", "--all"], tmp_project.root) == 0
    entry = tmp_project.root / ".rolecall-cache" / "validation" / "flows" / "helping.json"
    assert entry.is_file()
    # the crew it runs loses the input the flow gives it: the flow is wrong now, whatever the cache holds
    write_files(tmp_project.root, {"crews/helper/crew.yaml": "inputs:\n  subject: {default: tides}\n",
                                   "crews/helper/config/tasks.yaml": "t:\n  description: Help with {subject}\n"
                                                                     "  expected_output: Help\n  agent: a\n"})
    capsys.readouterr()
    assert main(["validate", "--all"], tmp_project.root) == 2
    assert "methods.go.do.inputs.topic: crew 'helper' has no input 'topic'" in capsys.readouterr().err
    write_files(tmp_project.root, {"flows/helping.yaml": "schema: crewai.flow/v1\nname: Helping\nmethods:\n"
                                   "  go:\n    start: true\n    do: {call: crew, from_declaration: helper, "
                                   "inputs: {subject: moons}}\n"})
    assert main(["validate", "--all"], tmp_project.root) == 0
    # a key its crew's tool needs: the crew's own cache entry notices, and so the flow's does
    write_files(tmp_project.root, {"crews/helper/config/agents.yaml": "a:\n  role: A\n  goal: Help\n"
                                   "  backstory: Kind.\n  tools: [SerperDevTool]\n"})
    monkeypatch.setenv("SERPER_API_KEY", "serper-test-key")
    assert main(["validate", "--all"], tmp_project.root) == 0
    monkeypatch.delenv("SERPER_API_KEY")
    capsys.readouterr()
    assert main(["list"], tmp_project.root) == 0
    assert "INVALID: run `python main.py validate helping`" in capsys.readouterr().out


def test_plan_shows_the_graph_with_inputs_filled_in(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "trip_flow", "-i", "destination=LIS", "-i", "travellers=3"], REPO) == 0
    out = capsys.readouterr().out
    assert "find_flights: after start; crew trip_flights (origin='London', destination='LIS'" in out
    assert "plan_itinerary: after find_flights and find_hotel; crew trip_itinerary" in out
    assert "in parallel: find_flights + find_hotel" in out
    assert main(["plan", "content_flow"], REPO) == 0
    out = capsys.readouterr().out
    assert "check: after edit; CEL expression router -> revise | publish" in out
    assert "loops back: check -> write (revise)" in out
    assert main(["plan", "trip_flow", "-i", "destnation=LIS"], REPO) == 2
    assert "no state field 'destnation' (did you mean 'destination'?)" in capsys.readouterr().err


# --- validation: every problem, located, at once ---------------------------------------------

BROKEN_FLOW = """\
schema: crewai.flow/v1
name: Broken
state:
  type: dict
  default: {topic: tides}
metods: {}
methods:
  begin:
    start: true
    do: {call: expression, expr: state.topik}
  research:
    listen: begin
    do:
      call: crew
      from_declaration: crews/helper
      inputs: {topc: "${state.topic}", about: "${outputs.begn.raw}"}
  route:
    listen: research
    router: true
    emit: [deep, shallow]
    do: {call: expression, expr: "'deep'"}
  dive:
    listn: deep
    do: {call: crew, from_declaration: crews/nope}
  broken_step:
    listen: deep
    do: {call: crew, from_declaration: broken}
  orphan:
    listen: nothing_here
    do: {call: expresion, expr: "1"}
  each_row:
    listen: begin
    do:
      call: each
      in: state.rows
      do:
        - {name: one, action: {call: crew, from_declaration: helper, inputs: {topic: "${item}"}}}
"""


@pytest.fixture
def broken_project(tmp_project: Project) -> Project:
    write_files(tmp_project.root, {
        "crews/helper/config/agents.yaml": "helper:\n  role: Helper\n  goal: Help with {topic}\n  backstory: Kind.\n",
        "crews/helper/config/tasks.yaml": "help_task:\n  description: Help with {topic}\n"
                                          "  expected_output: Help\n  agent: helper\n",
        "crews/helper/crew.yaml": "inputs:\n  topic: {description: what}\n",
        "crews/broken/config/agents.yaml": "writer:\n  role: W\n  gaol: x\n  backstory: y\n",
        "crews/broken/config/tasks.yaml": "t:\n  description: d\n  expected_output: e\n  agent: writer\n",
        "flows/bad.yaml": BROKEN_FLOW,
    })
    return tmp_project


def test_a_bad_flow_gets_every_problem_located(broken_project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "bad"], broken_project.root) == 2
    err = capsys.readouterr().err.splitlines()
    expected = [
        "flows/bad.yaml:6: metods: unknown key 'metods' in a flow (did you mean 'methods'?)",
        "flows/bad.yaml:10: methods.begin.do.expr: state has no field 'topik' (did you mean 'topic'?)",
        "flows/bad.yaml:16: methods.research.do.inputs.topc: crew 'helper' has no input 'topc' "
        "(did you mean 'topic'?)",
        "flows/bad.yaml:16: methods.research.do.inputs.about: crew 'helper' has no input 'about' "
        "(its inputs: topic)",
        "flows/bad.yaml:16: methods.research.do.inputs: crew 'helper' needs input 'topic' "
        "(add `topic: ${state.topic}` under inputs)",
        "flows/bad.yaml:16: methods.research.do.inputs.about: outputs.begn: no method 'begn' "
        "(did you mean 'begin'?)",
        "flows/bad.yaml:23: methods.dive.listn: unknown key 'listn' in method 'dive' (did you mean 'listen'?)",
        "flows/bad.yaml:24: methods.dive.do.from_declaration: no crew 'crews/nope' (looked in crews/ and beside "
        "the flow) (known crews: broken, helper)",
        "crews/broken/config/agents.yaml:1: writer: missing required key 'goal'",
        "flows/bad.yaml:27: methods.broken_step.do.from_declaration: crew 'broken' does not validate (its "
        "problems are listed with its files) (python main.py validate broken)",
        "flows/bad.yaml:30: methods.orphan.do.call: unknown call 'expresion' (did you mean 'expression'?)",
        "flows/bad.yaml:29: methods.orphan.listen: 'nothing_here' is neither a method nor a router label "
        "(methods: begin, research, route, dive, broken_step, orphan, each_row)",
        "flows/bad.yaml:22: methods.dive: method 'dive' is never reached from a start method "
        "(check its listen: condition)",
        "flows/bad.yaml:28: methods.orphan: method 'orphan' is never reached from a start method "
        "(check its listen: condition)",
        "flows/bad.yaml:37: methods.each_row.do.do[0].action.call: rolecall does not run `call: crew` inside "
        "`each` yet (give the crew its own method, and loop with a router)",
        "flows/bad.yaml:35: methods.each_row.do.in: state has no field 'rows' "
        "(declare it in state.default or state.json_schema)",
        "flows/bad.yaml:20: methods.route.emit: warning: nobody listens to label 'shallow' of router 'route': the "
        "flow ends there (add a method with `listen: shallow`)",
    ]
    for line in expected:
        assert line in err, line
    assert err[-2:] == [f"{len(expected) - 1} errors", "1 invalid"]


def test_running_a_bad_flow_is_exit_2_before_crewai(broken_project: Project,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "bad", "--llm", "scripted"], broken_project.root) == 2
    assert "unknown key 'metods'" in capsys.readouterr().err
    assert api.runs(broken_project) == []


def test_no_such_flow_or_crew_says_so(repo_project: Project) -> None:
    with pytest.raises(api.ConfigError, match="no flow named 'trip_flw'") as info:
        api.load_flow("trip_flw", repo_project)
    assert info.value.problems[0].hint == "did you mean 'trip_flow'?"


# --- the shipped flows on the scripted model ----------------------------------------------

def test_trip_flow_searches_flights_and_hotel_at_once_then_plans(repo_project: Project,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLECALL_SCRIPTED_DELAY", "1.0")
    result = api.run_flow("trip_flow", {"destination": "LIS"}, llm="scripted", project=repo_project)
    assert result.ok, result.error
    assert result.path[0] == "start" and set(result.path[1:3]) == {"find_flights", "find_hotel"}
    assert result.path[3] == "plan_itinerary"
    with open_store(repo_project) as store:
        steps = {s["method"]: s for s in store.steps(result.run_id)}
        flights, hotel, plan = steps["find_flights"], steps["find_hotel"], steps["plan_itinerary"]
        # the two searches overlap in time: each started before the other finished
        assert flights["started_at"] < hotel["finished_at"] and hotel["started_at"] < flights["finished_at"]
        assert plan["started_at"] >= max(flights["finished_at"], hotel["finished_at"])
        children = store.children(result.run_id)
        assert sorted(c["crew"] for c in children) == ["trip_flights", "trip_hotels", "trip_itinerary"]
        assert {c["id"] for c in children} == set(result.crew_runs)
        assert store.run(flights["child_run"])["inputs"]["destination"] == "LIS"
        itinerary = store.run(plan["child_run"])["inputs"]
        assert itinerary["flights"] == flights["output"]["value"]["raw"] and itinerary["travellers"] == 2
        # each child's calls are its own (the parallel crews share one event bus), and they add up
        per_child = [Usage.of(store.model_calls(c["id"])) for c in children]
        assert [u.requests for u in per_child] == [1, 1, 1]
        assert result.usage.total_tokens == sum(u.total_tokens for u in per_child) > 0
        listed = next(r for r in api.runs(repo_project) if r.id == result.run_id)
        assert listed.usage.total_tokens == result.usage.total_tokens


@pytest.mark.parametrize("answer, route", [("billing", "billing"), ("Technical.", "technical"),
                                           ("returns", "returns"), ("no idea", "escalate")])
def test_support_flow_routes_to_exactly_one_handler(answer: str, route: str, repo_project: Project,
                                                    monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script(monkeypatch, tmp_path, {"tasks": {"triage_task": [answer]}})
    result = api.run_flow("support_flow", {"message": "my hub is offline"}, llm="scripted", project=repo_project)
    assert result.ok, result.error
    handler = "handle_escalation" if route == "escalate" else f"handle_{route}"
    assert result.path == ["triage", "route", handler]
    assert result.step("route").label == route
    with open_store(repo_project) as store:
        crews = [c["crew"] for c in store.children(result.run_id)]
    assert crews == ["support_triage"] + ([] if route == "escalate" else [f"support_{route}"])
    if route == "escalate":
        assert result.output == "Escalated to a person: my hub is offline"


def test_content_flow_loops_until_the_bound(repo_project: Project, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    script(monkeypatch, tmp_path, {"tasks": {"review_task": ["REVISE: cut the intro"]}})
    result = api.run_flow("content_flow", {"max_rounds": "2"}, llm="scripted", project=repo_project)
    assert result.ok, result.error
    assert result.path == ["write", "edit", "check", "write", "edit", "check", "publish_article"]
    assert result.rounds("write") == result.rounds("edit") == 2
    assert [s.label for s in result.steps if s.method == "check"] == ["revise", "publish"]
    assert result.step("write", 2).output["round"] == 2
    with open_store(repo_project) as store:
        second = store.run(result.step("write", 2).child_run)
    assert second["inputs"]["notes"] == "REVISE: cut the intro"  # the editor's notes reach the writer
    assert result.output == result.step("write", 2).output["raw"]


def test_content_flow_publishes_an_approved_first_draft(repo_project: Project, monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    script(monkeypatch, tmp_path, {"tasks": {"review_task": ["APPROVED"]}})
    result = api.run_flow("content_flow", llm="scripted", project=repo_project)
    assert result.path == ["write", "edit", "check", "publish_article"] and result.rounds("write") == 1


def test_the_flow_crewai_create_writes_runs_unchanged(repo_project: Project, tmp_path: Path) -> None:
    crewai = Path(sys.executable).with_name("crewai")
    subprocess.run([str(crewai), "create", "flow", "made_here", "--declarative"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=120, env={**os.environ, "CREWAI_TRACING_ENABLED": "false"})
    [written] = list(tmp_path.glob("made_here/src/*/flow.yaml"))
    result = api.run_flow(str(written), {"topic": "tides"}, llm="scripted", project=repo_project)
    assert result.ok and result.output == "tides" and result.path == ["start"]


# --- approval gates and resume --------------------------------------------------------------

GATED = """\
schema: crewai.flow/v1
name: Gated
state: {type: dict, default: {message: "my hub is offline"}}
methods:
  triage:
    start: true
    do: {call: crew, from_declaration: crews/support_triage, inputs: {message: "${state.message}"}}
    human_feedback:
      message: Is this the right specialist?
      emit: [accepted, redo]
  answer:
    listen: accepted
    do: {call: crew, from_declaration: support_technical, inputs: {message: "${state.message}"}}
  again:
    listen: redo
    do: {call: expression, expr: "'redo: ' + outputs.triage.feedback"}
"""


@pytest.fixture
def gated(repo_project: Project, tmp_path: Path) -> Path:
    file = tmp_path / "gated.yaml"
    file.write_text(GATED, encoding="utf-8")
    return file


def test_a_feedback_step_waits_for_approval_then_resumes_without_rerunning(
        gated: Path, repo_project: Project) -> None:
    first = api.run_flow(str(gated), llm="scripted", project=repo_project)
    assert first.status == "awaiting_approval" and first.pending_approval.task == "triage"
    assert first.path == ["triage"]
    decision = api.decide(first.run_id, project=repo_project)
    assert decision.run_id == first.run_id and decision.status == "approved"
    done = api.resume(first.run_id, project=repo_project)
    assert done.ok, done.error
    assert done.path == ["triage", "answer"] and done.step("triage").label == "accepted"
    with open_store(repo_project) as store:
        assert [c["crew"] for c in store.children(first.run_id)] == ["support_triage", "support_technical"]


def test_a_rejection_naming_an_outcome_routes_there(gated: Path, repo_project: Project) -> None:
    first = api.run_flow(str(gated), llm="scripted", project=repo_project)
    api.decide(first.run_id, approve=False, reason="redo: this is billing", project=repo_project)
    done = api.resume(first.run_id, project=repo_project)
    assert done.ok, done.error
    assert done.path == ["triage", "again"] and done.output == "redo: redo: this is billing"


def test_approve_all_passes_every_gate_from_the_cli(gated: Path, repo_project: Project,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLECALL_RUNS", str(repo_project.runs_dir))
    assert main(["run", str(gated), "--llm", "scripted"], REPO) == 3
    assert main(["run", str(gated), "--llm", "scripted", "--approve-all"], REPO) == 0


def test_resume_after_a_failed_crew_keeps_the_finished_ones(repo_project: Project, monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    script(monkeypatch, tmp_path, {"tasks": {"hotel_task": [{"error": "hotel API down"}] * 10}})
    failed = api.run_flow("trip_flow", llm="scripted", project=repo_project)
    assert failed.status == "failed" and "hotel API down" in (failed.error or "")
    assert failed.step("find_flights").status == "completed" and failed.step("find_hotel").status == "failed"
    monkeypatch.delenv("ROLECALL_SCRIPT")
    done = api.resume(failed.run_id, project=repo_project)
    assert done.ok, done.error
    assert done.path == ["start", "find_flights", "find_hotel", "plan_itinerary"] or \
        done.path == ["start", "find_hotel", "find_flights", "plan_itinerary"]
    with open_store(repo_project) as store:
        crews = sorted(c["crew"] for c in store.children(failed.run_id))
    # the flights crew ran once; the failed hotel run was resumed, not started again
    assert crews == ["trip_flights", "trip_hotels", "trip_itinerary"]


def test_show_run_and_report_draw_the_path_taken(repo_project: Project, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script(monkeypatch, tmp_path, {"tasks": {"triage_task": ["billing"]}})
    result = api.run_flow("support_flow", llm="scripted", project=repo_project)
    monkeypatch.setenv("ROLECALL_RUNS", str(repo_project.runs_dir))
    assert main(["show-run", result.run_id], REPO) == 0
    out = capsys.readouterr().out
    assert "  * handle_billing: after billing; crew support_billing" in out
    assert "    handle_technical: after technical; crew support_technical" in out and "(not taken)" in out
    assert "  2. route  [completed]" in out and "-> billing" in out
    billing = result.step("handle_billing").child_run
    assert f"crew run {billing} (support_billing, completed)" in out
    assert f"total: {result.usage.requests} model calls, {result.usage.total_tokens} tokens" in out
    assert main(["show-run", billing], REPO) == 0
    assert f"a step of flow run {result.run_id}" in capsys.readouterr().out
    page = api.write_report(result.run_id, project=repo_project)
    html = page.read_text(encoding="utf-8")
    assert '<g class="node ran" data-key="handle_billing">' in html
    assert '<g class="node not-run" data-key="handle_technical">' in html
    assert html.count('<g class="edge taken">') == 2  # triage -> route -> handle_billing
    for child in result.crew_runs:  # each step links its crew run's own report, written beside it
        assert f'href="../{child}/report.html"' in html
        assert (page.parent.parent / child / "report.html").is_file()
    assert f'data-value="{result.usage.total_tokens}"' in html


def test_crewais_example_flow_runs_unchanged_with_inline_crew_and_agents(
        repo_project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import crewai
    example = Path(crewai.__file__).parent / "flow" / "templates" / "flow_definition_example.yaml"
    assert (REPO / "flows" / "research_review.yaml").read_bytes() == example.read_bytes()  # shipped as it is
    script(monkeypatch, tmp_path, {"tasks": {"route_followup_task": ["followup"],
                                             "review_task": ["needs_followup: true"]}})
    result = api.run_flow("research_review", llm="scripted", project=repo_project)
    assert result.ok, result.error
    assert result.path == ["research_brief", "route_followup", "write_followup"]
    assert result.step("route_followup").label == "followup"
    with open_store(repo_project) as store:
        brief = store.run(result.step("research_brief").child_run)
        assert brief["crew"] == "research_review.research_brief" and brief["parent_run"] == result.run_id
        assert brief["inputs"] == {"topic": "AI agent orchestration", "audience": "platform engineering leaders"}
        assert [t["key"] for t in store.tasks(brief["id"])] == ["research_task", "review_task"]
        router = store.run(result.step("route_followup").child_run)
        assert router["inputs"]["input"] == "Reviewed research: needs_followup: true"
    assert result.usage.requests == 4  # two tasks of the inline crew, then one call per agent step


def test_an_inline_crews_problems_are_located_in_the_flow(tmp_project: Project,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    write_files(tmp_project.root, {"flows/inline.yaml": """\
schema: crewai.flow/v1
name: Inline
methods:
  draft:
    start: true
    do:
      call: crew
      with:
        agents:
          writer: {role: Writer, gaol: Write, backstory: Writes.}
        tasks:
          - {name: write_task, description: "Write about {topic}", expected_output: Text, agent: writer}
      inputs: {topc: x}
"""})
    assert main(["validate", "inline"], tmp_project.root) == 2
    err = capsys.readouterr().err
    assert "flows/inline.yaml:10: methods.draft.do.with.agents.writer.gaol: unknown key 'gaol' " \
           "(did you mean 'goal'?)" in err
    assert "flows/inline.yaml:10: methods.draft.do.with.agents.writer: missing required key 'goal'" in err


def test_an_output_field_a_step_does_not_have_is_located(tmp_project: Project,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    write_files(tmp_project.root, {
        "crews/helper/config/agents.yaml": "a:\n  role: A\n  goal: Help\n  backstory: Kind.\n",
        "crews/helper/config/tasks.yaml": "t:\n  description: Help\n  expected_output: Help\n  agent: a\n",
        "flows/fields.yaml": """\
schema: crewai.flow/v1
name: Fields
methods:
  draft:
    start: true
    do: {call: crew, from_declaration: helper}
    human_feedback: {message: Good?}
  plain:
    start: true
    do: {call: crew, from_declaration: helper}
  after:
    listen: {and: [draft, plain]}
    do: {call: expression, expr: "outputs.draft.raw + outputs.plain.rwa + outputs.draft.output.raw"}
"""})
    assert main(["validate", "fields"], tmp_project.root) == 2
    err = capsys.readouterr().err
    assert "flows/fields.yaml:13: methods.after.do.expr: outputs.draft.raw: no field 'raw' ('draft' has an " \
           "approval gate: its crew's output is outputs.draft.output.raw)" in err
    assert "outputs.plain.rwa: no field 'rwa' (did you mean 'raw'?)" in err
    assert err.count("no field") == 2


def test_a_crew_steps_own_approval_gate_stops_the_flow_and_approve_goes_on(tmp_project: Project) -> None:
    write_files(tmp_project.root, {
        "crews/drafter/config/agents.yaml": "writer:\n  role: Writer\n  goal: Draft {topic}\n  backstory: Kind.\n",
        "crews/drafter/config/tasks.yaml": "draft:\n  description: Draft {topic}\n  expected_output: A draft\n"
                                           "  agent: writer\n",
        "crews/drafter/crew.yaml": "inputs:\n  topic: {default: tides}\ntasks:\n  draft: {approval: required}\n",
        "flows/review.yaml": "schema: crewai.flow/v1\nname: Review\nstate: {type: dict, default: {topic: tides}}\n"
                             "methods:\n  draft:\n    start: true\n    do: {call: crew, from_declaration: drafter,"
                             " inputs: {topic: '${state.topic}'}}\n  done:\n    listen: draft\n"
                             "    do: {call: expression, expr: \"'published: ' + outputs.draft.raw\"}\n",
    })
    first = api.run_flow("review", llm="scripted", project=tmp_project)
    assert first.status == "awaiting_approval" and first.pending_approval.task == "draft"
    assert first.step("draft").status == "awaiting_approval"
    child = first.step("draft").child_run
    with pytest.raises(api.RunStateError, match=f"is a step of flow run {first.run_id}"):
        api.resume(child, project=tmp_project)  # alone, the crew would finish and leave its flow behind
    decision = api.decide(child, project=tmp_project)  # deciding the crew run's gate names the flow run
    assert decision.run_id == first.run_id
    done = api.resume(first.run_id, project=tmp_project)
    assert done.ok, done.error
    assert done.path == ["draft", "done"] and done.output.startswith("published: ")
    with open_store(tmp_project) as store:
        [child] = store.children(first.run_id)  # resumed, not started again
        assert child["status"] == "completed" and done.step("draft").child_run == child["id"]


def test_max_cost_caps_the_whole_flow_and_stops_it_cleanly(tmp_project: Project,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_project.root / "config").unlink()
    crew = {"config/agents.yaml": "a: {role: A, goal: G, backstory: B}\n",
            "config/tasks.yaml": "t: {description: D, expected_output: E, agent: a}\n", "crew.yaml": "{}\n"}
    write_files(tmp_project.root, {
        "config/prices.yaml": "models:\n  scripted: {input: 5000, output: 5000}\n",
        **{f"crews/{name}/{file}": text for name in ("first", "second") for file, text in crew.items()},
        "flows/pair.yaml": "schema: crewai.flow/v1\nname: Pair\nmethods:\n"
                           "  one: {start: true, do: {call: crew, from_declaration: first}}\n"
                           "  two: {listen: one, do: {call: crew, from_declaration: second}}\n"})
    free = api.run_flow("pair", llm="scripted", project=tmp_project)
    assert free.ok, free.error
    with open_store(tmp_project) as store:
        first_cost = store.spent(free.step("one").child_run)
        assert store.spent(free.run_id, family=True) > first_cost > 0
    cap = first_cost * 1.05  # room for the first crew, not for the second's first call
    code = main(["run", "pair", "--llm", "scripted", "--max-cost", str(cap)], project_root=tmp_project.root)
    assert code == 1
    with open_store(tmp_project) as store:
        [flow] = [r for r in store.runs(limit=5) if r["kind"] == "flow" and r["id"] != free.run_id]
        assert flow["status"] == "stopped" and flow["max_cost"] == cap
        assert "its budget of" in flow["error"] and "reached" in flow["error"]
        one, two = store.steps(flow["id"])
        assert (one["method"], one["status"], two["method"]) == ("one", "completed", "two")
        assert store.run(two["child_run"])["status"] == "stopped"  # before its first model call
        assert store.model_calls(two["child_run"]) == []
        assert store.spent(flow["id"], family=True) <= cap


def test_resume_restores_what_finished_steps_left_in_the_state(tmp_project: Project, monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    monkeypatch.setenv("CREWAI_ALLOW_FLOW_SCRIPT_EXECUTION", "1")
    write_files(tmp_project.root, {
        "crews/checker/config/agents.yaml": "a: {role: A, goal: G, backstory: B}\n",
        "crews/checker/config/tasks.yaml": "t: {description: Check it, expected_output: E, agent: a}\n",
        "crews/checker/crew.yaml": "{}\n",
        "flows/counted.yaml": "schema: crewai.flow/v1\nname: Counted\nstate: {type: dict, default: {count: 0}}\n"
                              "methods:\n"
                              "  bump: {start: true, do: {call: script, code: \"state['count'] = state['count'] + 1\"}}\n"
                              "  check: {listen: bump, do: {call: crew, from_declaration: checker}}\n"
                              "  report: {listen: check, do: {call: expression, expr: \"'count ' + string(state.count)\"}}\n"})
    script(monkeypatch, tmp_path, {"tasks": {"t": [{"error": "checker down"}] * 10}})
    failed = api.run_flow("counted", llm="scripted", project=tmp_project)
    assert failed.status == "failed" and failed.step("bump").status == "completed"
    monkeypatch.delenv("ROLECALL_SCRIPT")
    done = api.resume(failed.run_id, project=tmp_project)
    assert done.ok, done.error
    # the script ran once, in the first attempt; its change to the state came back with its record
    assert done.output == "count 1"
    with open_store(tmp_project) as store:
        assert [s["state"] for s in store.steps(failed.run_id) if s["method"] == "bump"] == [{"count": 1}]
