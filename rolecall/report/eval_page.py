"""``summary.html`` of an eval: the case x check matrix with one column per profile, self-contained.

Same Jinja2 environment (autoescaped) and stylesheet as the run report; the page has no
script, and its policy forbids every request. Each case's run links to that run's own report.
Secret values are redacted from the finished page, as in the run report.
"""
from __future__ import annotations

import html
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..eval_report import CaseRun, CheckResult, EvalReport
from ..redact import Redactor
from .page import assets, environment


@dataclass(frozen=True)
class _Rate:
    profile: str
    passed: int
    total: int
    fraction: float


def render_eval(report: EvalReport, redactor: Redactor | None = None, written_at: datetime | None = None) -> str:
    cases = [{"name": case, "runs": [_run(report, report.run_of(case, p)) for p in report.profiles],
              "rows": _rows(report, case)} for case in report.cases]
    rates = [_Rate(p, *report.counts(p), report.pass_rate(p)) for p in report.profiles]
    page = environment().get_template("eval.html.j2").render(
        report=report, cases=cases, rates=rates, css=assets().css, results_file=report.results_file.name,
        written_at=(written_at or datetime.now(UTC)).isoformat())
    page = page.replace("&#34;", "&quot;").replace("&#39;", "&#x27;")  # as html.escape writes them (page.py)
    return redactor.also_escaped(html.escape).text(page) if redactor else page


def _run(report: EvalReport, run: CaseRun) -> dict[str, Any]:
    """A run's cell: its facts and a link to its report, relative so the folder can move as a whole."""
    target = Path(run.run_dir) / "report.html"
    return {"status": run.status, "run_id": run.run_id, "seconds": run.seconds, "tokens": run.tokens,
            "cost": run.cost, "report": Path(os.path.relpath(target, report.folder)).as_posix()}


def _rows(report: EvalReport, case: str) -> list[dict[str, Any]]:
    first = report.run_of(case, report.profiles[0])
    cells: list[list[CheckResult]] = [report.run_of(case, p).checks for p in report.profiles]
    return [{"check": check.check, "cells": [checks[i] for checks in cells]} for i, check in enumerate(first.checks)]
