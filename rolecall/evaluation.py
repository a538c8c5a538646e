"""Running an eval: every case of a crew's evals.yaml, on each profile, as a real recorded run.

Each case is one ``api.run`` (gates approved: an eval runs unattended), then its checks.
The eval is kept beside the run folders, in ``<runs>/evals/<eval-id>/``: ``results.json``
(every case, profile, run id, check outcome and judge's reason), ``summary.html``, and the
script each scripted case replayed. Each case's run links to its own report.
"""
from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .checks import CheckOutcome, evaluate_check
from .definition import CrewDefinition
from .environment import temporarily
from .errors import RolecallError
from .eval_report import CaseRun, CheckResult, EvalReport
from .evals import CheckBase, EvalCase, EvalSuite, Rubric
from .judge import Judge, Verdict
from .project import Project
from .result import RunResult

if TYPE_CHECKING:
    from .record import Listener


def new_eval_id(crew: str) -> str:
    return f"{datetime.now():%Y%m%d-%H%M%S}-{crew}-{secrets.token_hex(2)}"


def run_suite(project: Project, crew: CrewDefinition, suite: EvalSuite, profiles: list[str],
              *, judge_profile: str | None = None, on_event: Listener | None = None) -> EvalReport:
    """Run every case of ``suite`` on every profile, check it, and write results.json and summary.html."""
    reachable(project, profiles)
    eval_id = new_eval_id(crew.name)
    folder = project.runs_dir / "evals" / eval_id
    folder.mkdir(parents=True, exist_ok=True)
    started, clock = datetime.now(UTC).isoformat(), time.monotonic()
    runner = _CaseRunner(project, crew, suite, folder, judge_profile, on_event)
    runs = [runner.run(case, profile) for profile in profiles for case in suite.cases]
    report = EvalReport(eval_id, crew.name, profiles, [c.name for c in suite.cases], runs, folder, started,
                        time.monotonic() - clock)
    write(project, report)
    return report


def reachable(project: Project, profiles: list[str]) -> None:
    """Build each profile's model once, so a missing key or model file is bad input before the first
    case runs, not after half the eval (``ModelUnavailable``). The local model loads once per process."""
    from .context import RunContext
    from .llm.factory import LlmPool
    context = RunContext.open(project)
    try:
        pool = LlmPool(context)
        for profile in profiles:
            pool.get(profile)
    finally:
        context.store.close()


def write(project: Project, report: EvalReport) -> None:
    """results.json, summary.html, and each case run's own report.html (the summary links to them)."""
    from . import api
    from .context import redactor_for
    from .environment import Environment
    from .report.eval_page import render_eval  # jinja2 loads only when there is something to show
    for run in report.runs:
        api.write_report(run.run_id, project=project)
    redactor = redactor_for(project, Environment.current())  # outputs quoted in details may hold a secret
    report.results_file.write_text(redactor.text(json.dumps(report.as_dict(), indent=2)) + "\n", encoding="utf-8")
    report.summary_file.write_text(render_eval(report, redactor), encoding="utf-8")


class _CaseRunner:
    def __init__(self, project: Project, crew: CrewDefinition, suite: EvalSuite, folder: Path,
                 judge_profile: str | None, on_event: Listener | None):
        self.project, self.crew, self.suite = project, crew, suite
        self.folder, self.judge_profile, self.on_event = folder, judge_profile, on_event

    def run(self, case: EvalCase, profile: str) -> CaseRun:
        from . import api
        if self.on_event is not None:
            self.on_event("eval_case", {"case": case.name, "profile": profile})
        # only the scripted model reads a script, as the crew's model or as a judge; others ignore it
        with replaying(case.script, self.folder / f"{case.name}.script.yaml"):
            result = api.run(self.crew, case.inputs, llm=profile, approve_all=True, on_event=self.on_event,
                             project=self.project)
            judges = Judge(self.project)
            try:
                checks = [self.check(check, result, profile, judges) for check in case.checks]
            finally:
                judges.close()
        return CaseRun(case.name, profile, result.run_id, str(result.status), str(result.run_dir),
                       round(result.seconds, 2), result.tokens, result.usage.cost, checks)

    def check(self, check: CheckBase, result: RunResult, profile: str, judges: Judge) -> CheckResult:
        outcome = evaluate_check(check, result, self.crew,
                                 lambda rubric, text: self.judged(judges, rubric, text, profile))
        return _result(check, outcome)

    def judged(self, judges: Judge, check: Rubric, text: str, profile: str) -> Verdict:
        chosen = self.judge_of(check, profile)
        try:
            return judges.verdict(chosen, check.rubric, text)
        except RolecallError as exc:  # no key, no model file: the check fails, saying why; the eval goes on
            return Verdict(False, f"the judge could not answer: {exc}", chosen)
        except Exception as exc:  # noqa: BLE001 - a provider's own error (network, 5xx after retries) likewise
            return Verdict(False, f"the judge could not answer: {type(exc).__name__}: {exc}"[:300], chosen)

    def judge_of(self, check: Rubric, profile: str) -> str:
        """--judge, else the check's ``judge:``, else the file's, else the profile the case ran on."""
        return self.judge_profile or check.judge or self.suite.judge or profile


def _result(check: CheckBase, outcome: CheckOutcome) -> CheckResult:
    verdict = outcome.verdict
    return CheckResult(check.label(), check.kind, outcome.passed, outcome.detail,
                       verdict.profile if verdict else None, verdict.reason if verdict else None,
                       verdict.prompt_tokens + verdict.completion_tokens if verdict else 0,
                       verdict.cost if verdict else None)


@contextmanager
def replaying(script: dict[str, Any] | None, file: Path) -> Iterator[None]:
    """The scripted model replays ``script`` for this case only; the file stays in the eval's
    folder as a record of what was replayed."""
    if script is None:
        yield
        return
    file.write_text(yaml.safe_dump(script, sort_keys=False, allow_unicode=True), encoding="utf-8")
    with temporarily("ROLECALL_SCRIPT", str(file)):
        yield
