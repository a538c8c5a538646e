"""What a run did, as the Python API returns it: ``RunResult`` and the records it holds.

Read side only: nothing here runs anything or imports crewai.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import format as fmt
from .status import GateMode, RunStatus, TaskStatus
from .usage import Usage


@dataclass
class TaskRecord:
    key: str
    agent: str | None = None  # agents.yaml key of the agent that did the work
    role: str | None = None
    status: TaskStatus = TaskStatus.PENDING
    output: str | None = None
    structured: dict[str, Any] | None = None
    file: str | None = None
    delegated_to: list[str] = field(default_factory=list)
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    carried_over: bool = False  # finished by an earlier attempt of this run (resume, approval)


@dataclass
class Delegation:
    task: str | None
    manager: str
    coworker: str  # agents.yaml key when known, else the role as written
    kind: str  # "delegate" or "ask"
    request: str


@dataclass
class ToolCall:
    task: str | None
    agent: str | None
    tool: str
    arguments: Any
    output_chars: int | None = None
    error: str | None = None
    row: int = 0


@dataclass
class ModelCall:
    task: str | None
    agent: str | None
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    latency_ms: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class PendingApproval:
    task: str
    mode: GateMode


@dataclass
class RunResult:
    """What a run did: its final output, every task (who did it, what came out), delegations, calls."""

    run_id: str
    crew: str
    status: RunStatus
    output: str | None
    run_dir: Path
    profile: str
    tasks: list[TaskRecord]
    delegations: list[Delegation] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    model_calls: list[ModelCall] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    pending_approval: PendingApproval | None = None

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.COMPLETED

    def task(self, key: str) -> TaskRecord:
        return next(t for t in self.tasks if t.key == key)

    @property
    def usage(self) -> Usage:
        return Usage.of(self.model_calls)

    @property
    def tokens(self) -> int:
        return self.usage.total_tokens

    @property
    def cost(self) -> float:
        """USD of the priced calls (calls without a price count as nothing here; see ``usage``)."""
        return self.usage.known_cost

    def summary(self) -> dict[str, Any]:
        gate = self.pending_approval
        return {"run_id": self.run_id, "crew": self.crew, "status": str(self.status), "output": self.output,
                "profile": self.profile, "run_dir": str(self.run_dir), "seconds": round(self.seconds, 2),
                "error": self.error, "tokens": self.tokens, "cost": round(self.cost, 6),
                "pending_approval": {"task": gate.task, "mode": str(gate.mode)} if gate else None}

    def render(self) -> str:
        lines = []
        if self.output and self.ok:
            lines += [self.output.strip(), ""]
        for t in self.tasks:
            via = " (delegated by manager)" if t.delegated_to else ""
            lines.append(f"  {t.status:17} {t.key:28} {t.agent or '-'}{via}")
        lines.append(f"run {self.run_id}: {self.status} in {self.seconds:.1f}s on '{self.profile}', "
                     f"{len(self.model_calls)} model calls, {self.tokens} tokens, {fmt.cost(self.cost)}; "
                     f"outputs in {self.run_dir}")
        if self.error:
            lines.append(f"error: {self.error}")
        if self.pending_approval:
            gate = self.pending_approval
            lines.append(f"waiting for approval of task '{gate.task}' ({gate.mode}): "
                         f"python main.py approve {self.run_id}  (or --reject --reason \"...\")")
        return "\n".join(lines)
