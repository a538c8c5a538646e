"""What an eval found, as ``api.evaluate`` returns it: each case's run on each profile, each check's outcome.

Read side only: nothing here runs a crew or imports crewai. ``render()`` is the table
``main.py eval`` prints; ``as_dict()`` is what ``results.json`` holds.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import format as fmt

RESULTS_FILE, SUMMARY_FILE = "results.json", "summary.html"


@dataclass(frozen=True)
class CheckResult:
    check: str  # the check as the table shows it: "contains 'refund' @handle_message"
    kind: str
    passed: bool
    detail: str
    judge: str | None = None  # rubric checks: the judge's profile, reason and tokens
    judge_reason: str | None = None
    judge_tokens: int = 0
    judge_cost: float | None = None


@dataclass(frozen=True)
class CaseRun:
    """One case run on one profile: the run it made (its report is in ``run_dir``) and its checks."""

    case: str
    profile: str
    run_id: str
    status: str
    run_dir: str
    seconds: float
    tokens: int
    cost: float | None
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def ok(self) -> bool:
        return self.passed == len(self.checks)


@dataclass
class EvalReport:
    """Every case on every profile; the pass rate is over checks (a case's checks each count once)."""

    eval_id: str
    crew: str
    profiles: list[str]
    cases: list[str]
    runs: list[CaseRun]
    folder: Path
    started_at: str = ""
    seconds: float = 0.0

    def run_of(self, case: str, profile: str) -> CaseRun:
        return next(r for r in self.runs if r.case == case and r.profile == profile)

    def counts(self, profile: str | None = None) -> tuple[int, int]:
        """(checks passed, checks run), on one profile or on all."""
        chosen = [r for r in self.runs if profile is None or r.profile == profile]
        return sum(r.passed for r in chosen), sum(len(r.checks) for r in chosen)

    def pass_rate(self, profile: str | None = None) -> float:
        passed, total = self.counts(profile)
        return passed / total if total else 0.0

    def meets(self, min_pass: float) -> bool:
        """Whether every profile's pass rate reaches ``min_pass`` (a fraction, 0..1)."""
        return all(self.pass_rate(p) >= min_pass for p in self.profiles)

    @property
    def results_file(self) -> Path:
        return self.folder / RESULTS_FILE

    @property
    def summary_file(self) -> Path:
        return self.folder / SUMMARY_FILE

    def as_dict(self) -> dict[str, Any]:
        return {"eval_id": self.eval_id, "crew": self.crew, "profiles": self.profiles, "cases": self.cases,
                "started_at": self.started_at, "seconds": round(self.seconds, 2),
                "pass_rate": {p: round(self.pass_rate(p), 4) for p in self.profiles},
                "runs": [{**asdict(r), "passed": r.passed} for r in self.runs]}

    def render(self) -> str:
        """The table: one row per case and check, one column per profile, then the pass rates."""
        rows: list[list[str]] = [["CASE", "CHECK", *self.profiles]]
        for case in self.cases:
            first = self.run_of(case, self.profiles[0])
            rows.append([case, "(run)", *[_run_cell(self.run_of(case, p)) for p in self.profiles]])
            for i, check in enumerate(first.checks):
                rows.append(["", check.check, *["pass" if self.run_of(case, p).checks[i].passed else "FAIL"
                                                for p in self.profiles]])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
        lines.append("")
        for profile in self.profiles:
            passed, total = self.counts(profile)
            lines.append(f"pass rate on {profile}: {passed}/{total} checks ({self.pass_rate(profile):.0%})")
        failed = [(r, c) for r in self.runs for c in r.checks if not c.passed]
        if failed:
            lines += ["", "failed:"] + [f"  {r.case} [{r.profile}] {c.check}: {c.detail}" for r, c in failed]
        return "\n".join(lines)


def _run_cell(run: CaseRun) -> str:
    return f"{run.status} {fmt.short_seconds(run.seconds)} {run.tokens:,} tok"
