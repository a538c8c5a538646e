"""What a flow run did, as the Python API returns it: its steps, the crew runs they started, usage.

Read side only: built from the run store, nothing here runs anything or imports crewai.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import format as fmt
from .result import PendingApproval
from .status import RunStatus
from .usage import Usage

if TYPE_CHECKING:
    from .store import Row, RunStore


@dataclass(frozen=True)
class StepRecord:
    """One execution of a flow method (a method in a loop has one per round)."""

    method: str
    round: int
    status: str
    output: Any = None  # the method's result: text, a value, or a crew step's {raw, json_dict, run_id}
    label: str | None = None  # what a router (or a feedback step with outcomes) emitted
    child_run: str | None = None  # the rolecall crew run this step started
    error: str | None = None

    @classmethod
    def of(cls, row: Row) -> StepRecord:
        output = row["output"]
        value = output.get("value") if isinstance(output, dict) else output
        return cls(row["method"], row["round"], row["status"], value, row["label"], row["child_run"], row["error"])


@dataclass
class FlowResult:
    run_id: str
    flow: str
    status: RunStatus
    output: str | None
    run_dir: Path
    profile: str
    steps: list[StepRecord]
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    seconds: float = 0.0
    pending_approval: PendingApproval | None = None

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.COMPLETED

    @property
    def path(self) -> list[str]:
        """The methods in the order they ran (a loop's methods once per round)."""
        return [s.method for s in self.steps]

    def step(self, method: str, round: int = 1) -> StepRecord:
        return next(s for s in self.steps if s.method == method and s.round == round)

    def rounds(self, method: str) -> int:
        """How many times ``method`` ran: a bounded loop's count."""
        return max((s.round for s in self.steps if s.method == method), default=0)

    @property
    def crew_runs(self) -> list[str]:
        return [s.child_run for s in self.steps if s.child_run]

    def summary(self) -> dict[str, Any]:
        gate = self.pending_approval
        return {"run_id": self.run_id, "flow": self.flow, "status": str(self.status), "output": self.output,
                "profile": self.profile, "run_dir": str(self.run_dir), "seconds": round(self.seconds, 2),
                "error": self.error, "tokens": self.usage.total_tokens, "cost": round(self.usage.known_cost, 6),
                "steps": [{"method": s.method, "round": s.round, "status": s.status, "label": s.label,
                           "crew_run": s.child_run} for s in self.steps],
                "pending_approval": {"task": gate.task, "mode": str(gate.mode)} if gate else None}

    def render(self) -> str:
        lines = [self.output.strip(), ""] if self.output and self.ok else []
        for s in self.steps:
            extra = f" -> {s.label}" if s.label else ""
            extra += f"  crew run {s.child_run}" if s.child_run else ""
            again = f" #{s.round}" if s.round > 1 else ""
            lines.append(f"  {s.status:17} {s.method}{again}{extra}")
        lines.append(f"flow run {self.run_id}: {self.status} in {self.seconds:.1f}s on '{self.profile}', "
                     f"{self.usage.requests} model calls, {self.usage.total_tokens} tokens, "
                     f"{fmt.cost(self.usage.cost)}; outputs in {self.run_dir}")
        if self.error:
            lines.append(f"error: {self.error}")
        if self.pending_approval:
            lines.append(f"waiting for approval of step '{self.pending_approval.task}': "
                         f"python main.py approve {self.run_id}  (or --reject --reason \"...\")")
        return "\n".join(lines)


SUPERSEDED = "superseded"  # a step that failed or was interrupted, then done again by a resume


def flow_result(store: RunStore, run_id: str, *, seconds: float = 0.0,
                pending: PendingApproval | None = None) -> FlowResult:
    """The flow run as the store knows it now."""
    row = store.run(run_id)
    assert row is not None, "callers look the run up first"
    steps = [StepRecord.of(r) for r in store.steps(run_id) if r["status"] != SUPERSEDED]
    status = RunStatus(row["status"])
    return FlowResult(run_id, row["crew"], status, row["output"], Path(row["run_dir"]), row["profile"], steps,
                      Usage.of(store.family_model_calls(run_id)), row["error"], seconds,
                      pending if status == RunStatus.AWAITING_APPROVAL else None)
