"""`main.py eval`: a crew's evals.yaml cases run as real recorded runs, then checked.

    python main.py eval support_desk                  # every case on the default profile
    python main.py eval support_desk --llm a,b        # the same cases on two profiles, side by side
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import rolecall
from helpers import REPO, write_files
from rolecall import ConfigError, evaluate
from rolecall.cli import main
from rolecall.project import Project

pytestmark = pytest.mark.crew

SEED_CREWS = ["campaign_planner", "content_analysis", "content_pipeline", "partner_outreach", "research_report",
              "research_report_managed", "support_desk", "task_router", "trip_planner"]

MEMO = {  # a small crew of our own: a writer drafts a memo, then states it as structured data
    "config/agents.yaml": "writer:\n  role: Memo Writer\n  goal: Write short memos\n  backstory: Brief.\n",
    "config/tasks.yaml": ("draft:\n  description: Draft a memo about {subject}\n  expected_output: A short memo\n"
                          "  agent: writer\n"
                          "facts:\n  description: State the memo's title and length\n"
                          "  expected_output: Its title and word count\n  agent: writer\n  context: [draft]\n"),
    "crew.yaml": ("inputs:\n  subject: {default: the offsite}\n"
                  "tasks:\n  facts:\n    output_schema: {name: MemoFacts, fields: {title: str, words: int}}\n"),
}


@pytest.fixture
def memo_project(tmp_path: Path) -> Project:
    """A project holding the memo crew, this repo's tools and settings, and a second scripted profile
    (`scripted-formal`, replaying its own script) to compare against."""
    root = tmp_path / "project"
    write_files(root / "crews" / "memo", MEMO)
    (root / "tools").symlink_to(REPO / "tools")
    shutil.copytree(REPO / "config", root / "config")
    with (root / "config" / "llm.yaml").open("a", encoding="utf-8") as f:
        f.write("  scripted-formal: {provider: scripted, script: formal.yaml}\n")
    (root / "formal.yaml").write_text(yaml.safe_dump({"tasks": {"draft": ["Dear team, the offsite is on Friday."]}}))
    return Project(root, runs=tmp_path / "runs")


def write_evals(project: Project, evals: str) -> Path:
    file = project.crews_dir / "memo" / "evals.yaml"
    file.write_text(evals, encoding="utf-8")
    return file


def cli(capsys: pytest.CaptureFixture[str], project: Project, *argv: str) -> tuple[int, str, str]:
    code = main(["--project", str(project.root), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_evaluate_is_part_of_the_public_api():
    assert {"evaluate", "EvalReport"} <= set(rolecall.__all__)


@pytest.mark.parametrize("crew", SEED_CREWS)
def test_every_seed_crew_passes_its_evals_on_the_scripted_model(crew, repo_project):
    report = evaluate(crew, llms="scripted", project=repo_project)
    passed, total = report.counts("scripted")
    assert total >= 5 and passed == total, report.render()
    assert report.meets(1.0) and [r.status for r in report.runs] == ["completed"] * len(report.cases)
    # every case is a recorded run: the run store knows it, and its report sits in its run folder
    stored = {r.id for r in rolecall.runs(repo_project, crew=crew, limit=50)}
    assert {r.run_id for r in report.runs} <= stored
    assert all((Path(r.run_dir) / "report.html").is_file() for r in report.runs)


def test_an_eval_records_every_case_check_and_run_beside_the_run_folders(repo_project):
    report = evaluate("support_desk", llms=["scripted"], project=repo_project)
    assert report.folder.parent == repo_project.runs_dir / "evals"
    saved = json.loads(report.results_file.read_text())
    billing = next(r for r in saved["runs"] if r["case"] == "billing_refund")
    assert [(c["check"], c["passed"]) for c in billing["checks"]] == [
        ("delegated_to billing_specialist", True), ("done_by billing_specialist", True),
        ("tool billing_policy", True), ("matches /(?im)^routed to: billing/", True), ("contains 'refund'", True),
        ("max_tokens 30000", True), ("rubric 'The reply is addressed to \"Sam\" ...'", True)]
    assert billing["checks"][2]["detail"] == "'billing_policy' ran 1x (by billing_specialist)"
    assert billing["run_id"] == report.run_of("billing_refund", "scripted").run_id
    assert saved["pass_rate"] == {"scripted": 1.0} and saved["cases"] == ["billing_refund", "hub_offline",
                                                                          "damaged_camera"]
    # the scripted case replayed its script, kept in the eval's folder
    assert yaml.safe_load((report.folder / "billing_refund.script.yaml").read_text())["agents"]["supervisor"]
    page = report.summary_file.read_text()
    assert page.count('class="case-row"') == 3 and "billing_refund" in page and "tool billing_policy" in page
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")  # self-contained, no requests
    for run in report.runs:  # each case's run links to its own report, which exists
        link = f'href="../../{run.run_id}/report.html"'
        assert link in page and (report.folder / "../.." / run.run_id / "report.html").resolve().is_file()


def test_a_failing_check_says_what_it_found_and_exits_1_under_min_pass(memo_project, capsys):
    write_evals(memo_project, "cases:\n  offsite:\n    checks:\n"
                              "      - contains: ultramarine\n"
                              "      - done_by: writer\n"
                              "        task: draft\n")
    code, out, err = cli(capsys, memo_project, "eval", "memo", "--llm", "scripted")
    assert code == 1 and "pass rate under --min-pass 1" in err
    assert "pass rate on scripted: 1/2 checks (50%)" in out
    [failure] = [line for line in out.splitlines() if line.startswith("  offsite [scripted]")]
    assert failure == ("  offsite [scripted] contains 'ultramarine': 'ultramarine' is not in the final output: "
                       "'{\"title\":\"title by Memo Writer\",\"words\":1}'")
    assert cli(capsys, memo_project, "eval", "memo", "--llm", "scripted", "--min-pass", "0.5")[0] == 0
    with pytest.raises(SystemExit) as refused:  # argparse: a fraction is 0..1
        cli(capsys, memo_project, "eval", "memo", "--min-pass", "1.5")
    assert refused.value.code == 2 and "must be a fraction from 0 to 1" in capsys.readouterr().err


def test_schema_checks_parse_the_tasks_structured_output(memo_project):
    write_evals(memo_project, "cases:\n  offsite:\n    checks:\n"
                              "      - schema: {}\n"
                              "      - schema: {title: Offsite}\n"
                              "      - schema: {words: 1}\n")
    report = evaluate("memo", llms="scripted", project=memo_project)
    parses, title, words = report.run_of("offsite", "scripted").checks  # the scripted model's sample instance
    assert (parses.passed, parses.detail) == (True, "task 'facts' output parses as MemoFacts")
    assert (title.passed, title.detail) == (False, "task 'facts' output parses as MemoFacts, but title is "
                                                   "'title by Memo Writer', expected 'Offsite'")
    assert (words.passed, words.detail) == (True, "task 'facts' output parses as MemoFacts with words as expected")


def test_two_profiles_run_the_same_cases_side_by_side(memo_project, capsys):
    write_evals(memo_project, "cases:\n  offsite:\n    checks:\n"
                              "      - contains: Dear team\n        task: draft\n"
                              "      - done_by: writer\n")
    code, out, _ = cli(capsys, memo_project, "eval", "memo", "--llm", "scripted,scripted-formal")
    header, run_row, dear, done = out.splitlines()[:4]
    assert header.split() == ["CASE", "CHECK", "scripted", "scripted-formal"]
    assert run_row.split()[:3] == ["offsite", "(run)", "completed"]
    assert dear.split() == ["contains", "'Dear", "team'", "@draft", "FAIL", "pass"]
    assert done.split() == ["done_by", "writer", "pass", "pass"]
    assert "pass rate on scripted: 1/2 checks (50%)" in out and "pass rate on scripted-formal: 2/2" in out
    assert code == 1  # one profile under --min-pass 1.0 fails the eval


def test_the_judge_answers_rubrics_and_its_reason_is_kept(memo_project, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    write_evals(memo_project, """\
judge: scripted
cases:
  own_verdict:               # the scripted judge decides by the phrases the rubric quotes
    checks:
      - rubric: The memo is written by the "Memo Writer".
      - rubric: The memo mentions the "budget".
  scripted_verdict:          # a case's script may say what the judge answers
    script:
      judge:
        - {pass: false, reason: Too curt for a memo.}
        - not JSON at all
    checks:
      - rubric: The memo is friendly.
        task: draft
      - rubric: The memo is short.
  unavailable_judge:
    checks:
      - rubric: The memo is friendly.
        judge: openai
""")
    report = evaluate("memo", llms="scripted", project=memo_project)
    writer, budget = report.run_of("own_verdict", "scripted").checks
    assert (writer.passed, writer.judge, writer.judge_reason) == (
        True, "scripted", "scripted judge: the output has every quoted phrase ('Memo Writer')")
    assert writer.judge_tokens > 0
    assert (budget.passed, budget.judge_reason) == (False, "scripted judge: the output lacks 'budget'")
    curt, garbled = report.run_of("scripted_verdict", "scripted").checks
    assert (curt.passed, curt.judge_reason, curt.detail) == (
        False, "Too curt for a memo.", "scripted judged task 'draft' output: Too curt for a memo.")
    assert not garbled.passed and garbled.judge_reason == (
        "the judge did not answer the JSON verdict asked for: 'not JSON at all'")
    [unavailable] = report.run_of("unavailable_judge", "scripted").checks
    assert not unavailable.passed and "the judge could not answer: profile 'openai' needs OPENAI_API_KEY" in \
        unavailable.judge_reason
    saved = json.loads(report.results_file.read_text())
    assert saved["runs"][1]["checks"][0]["judge_reason"] == "Too curt for a memo."


def test_a_bad_evals_file_is_exit_2_with_file_line_and_key_path_before_any_model_is_called(memo_project, capsys):
    file = write_evals(memo_project, """\
cases:
  offsite:
    inputs: {subjct: budget}
    checks:
      - contians: offsite
      - contains: offsite
        task: drafts
      - delegated_to: writter
      - tool: search_knowledge
      - schema: {}
        task: draft
""")
    code, out, err = cli(capsys, memo_project, "eval", "memo", "--llm", "scripted")
    shown = file.relative_to(memo_project.root)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"{shown}:3: cases.offsite.inputs.subjct: unknown input 'subjct' (did you mean 'subject'?)",
        f"{shown}:5: cases.offsite.checks[0].contians: unknown key 'contians' (did you mean 'contains'?)",
        f"{shown}:7: cases.offsite.checks[1].task: no task 'drafts' in crew 'memo' (did you mean 'draft'?)",
        f"{shown}:8: cases.offsite.checks[2].delegated_to: no agent 'writter' in crew 'memo' "
        "(did you mean 'writer'?)",
        f"{shown}:9: cases.offsite.checks[3].tool: no agent or task of crew 'memo' has a tool 'search_knowledge' "
        "(tools: none)",
        f"{shown}:10: cases.offsite.checks[4].schema: task 'draft' has no output schema (output_pydantic, "
        "output_json or output_schema) (name a task that has one: facts)",
        "6 errors"]
    assert not memo_project.runs_dir.exists()  # nothing ran
    # checking evals.yaml is as light as `validate`: crewai is imported only when a run starts
    code = (f"import sys; from rolecall.cli import main; "
            f"rc = main(['--project', {str(memo_project.root)!r}, 'eval', 'memo']); "
            f"print('CREWAI' if 'crewai' in sys.modules else 'CLEAN', rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.stdout.strip().splitlines()[-1] == "CLEAN 2"


def test_validate_reports_a_bad_evals_file_with_the_crew_it_belongs_to(memo_project, capsys):
    assert cli(capsys, memo_project, "validate", "memo")[0] == 0
    file = write_evals(memo_project, "cases:\n  offsite:\n    checks:\n      - done_by: writter\n")
    code, out, err = cli(capsys, memo_project, "validate", "memo")
    assert (code, out) == (2, "memo: INVALID\n")
    assert f"{file.relative_to(memo_project.root)}:4: cases.offsite.checks[0].done_by: no agent 'writter' " \
           "in crew 'memo' (did you mean 'writer'?)" in err.splitlines()
    # the crew itself is still valid: it is listed, shown and run as before
    code, out, _ = cli(capsys, memo_project, "list")
    assert code == 0 and "INVALID" not in out
    assert cli(capsys, memo_project, "show", "memo")[0] == 0
    write_evals(memo_project, "cases:\n  offsite:\n    checks:\n      - done_by: writer\n")
    assert cli(capsys, memo_project, "validate", "memo")[:2] == (0, "memo: ok\n")  # the cache saw the change


def test_unknown_profiles_cases_and_a_missing_file_are_bad_input(memo_project):
    with pytest.raises(ConfigError, match="no evals.yaml"):
        evaluate("memo", llms="scripted", project=memo_project)
    write_evals(memo_project, "cases:\n  offsite:\n    checks: [{done_by: writer}]\n")
    with pytest.raises(ConfigError, match="unknown model profile 'scriptd'"):
        evaluate("memo", llms="scripted,scriptd", project=memo_project)
    with pytest.raises(ConfigError, match="named twice"):
        evaluate("memo", llms="scripted,scripted", project=memo_project)
    with pytest.raises(ConfigError, match=r"no case 'ofsite' in evals.yaml \(did you mean 'offsite'\?\)"):
        evaluate("memo", llms="scripted", cases=["ofsite"], project=memo_project)
    assert not memo_project.runs_dir.exists()


def test_a_case_whose_run_fails_fails_its_checks_with_the_runs_error(memo_project):
    write_evals(memo_project, """\
cases:
  model_down:
    script: {tasks: {draft: [{error: the model is down}, {error: the model is down}, {error: the model is down},
                             {error: the model is down}, {error: the model is down}]}}
    checks:
      - contains: offsite
      - done_by: writer
        task: draft
      - max_tokens: 1000
""")
    report = evaluate("memo", llms="scripted", project=memo_project)
    run = report.run_of("model_down", "scripted")
    contains, done, tokens = run.checks
    assert run.status == "failed" and not contains.passed and not done.passed
    assert contains.detail.startswith("there is no final output (run failed: ") and "the model is down" in \
        contains.detail
    assert done.detail == "task 'draft' did not complete (failed)"
    assert tokens.passed  # what the failed run used is still counted against its cap
    assert report.pass_rate("scripted") == pytest.approx(1 / 3)


def test_a_profile_that_cannot_answer_is_bad_input_before_any_case_runs(memo_project, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    write_evals(memo_project, "cases:\n  offsite:\n    checks: [{done_by: writer}]\n")
    code, out, err = cli(capsys, memo_project, "eval", "memo", "--llm", "scripted,openai")
    assert code == 2 and "profile 'openai' needs OPENAI_API_KEY" in err
    assert rolecall.runs(memo_project) == []  # the scripted column did not run either
