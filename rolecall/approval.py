"""Deciding an approval gate: a person approves or rejects what a run waits on.

Only the store is touched: deciding never runs anything. Continuing the run
afterwards is ``resume``'s job, so every front end (CLI, API, a web console)
decides the same way and then resumes if the run goes on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import InputError, RunStateError
from .problem import Problem
from .status import ApprovalStatus, GateMode, RunStatus

if TYPE_CHECKING:
    from .store import Row, RunStore


@dataclass(frozen=True)
class Decision:
    run_id: str
    task: str
    mode: GateMode
    status: ApprovalStatus
    reason: str | None

    @property
    def ends_run(self) -> bool:
        """A task refused permission to start ends its run; a rejected output is redone instead."""
        return self.status == ApprovalStatus.REJECTED and self.mode == GateMode.BEFORE


def pending_gate(store: RunStore, run: Row, task: str | None = None) -> Row:
    pending = [a for a in store.approvals(run["id"]) if a["status"] == ApprovalStatus.PENDING]
    if task:
        pending = [a for a in pending if a["task"] == task]
    if not pending:
        raise RunStateError(Problem(f"run {run['id']} has no pending approval"
                                    + (f" for task '{task}'" if task else "")))
    if len(pending) > 1:
        raise InputError(Problem("several approvals are pending", hint="name one with --task"))
    return pending[0]


def decide(store: RunStore, run: Row, approve: bool = True, reason: str | None = None,
           task: str | None = None) -> Decision:
    """Record the decision on the run's pending gate (the only one, or ``task``'s)."""
    gate = pending_gate(store, run, task)
    if not approve and not reason:
        raise InputError(Problem("a rejection needs a reason", hint='add --reason "what to change"'))
    decision = Decision(run["id"], gate["task"], GateMode(gate["mode"]),
                        ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED, reason)
    store.decide_approval(run["id"], decision.task, decision.mode, decision.status, reason)
    if decision.ends_run:
        store.finish_run(run["id"], RunStatus.REJECTED,
                         error=f"task '{decision.task}' was not approved to start: {reason}")
    return decision
