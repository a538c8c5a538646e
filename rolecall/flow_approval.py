"""Deciding any run's approval gate: a crew run's own, a ``human_feedback`` step of a flow, or a gate
of a crew run a flow started. Only the store is touched; ``resume`` of the run the decision names
goes on from there (for a flow's crew step, that is the flow run)."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .approval import Decision, decide
from .errors import RunStateError
from .problem import Problem
from .status import ApprovalStatus, RunStatus

if TYPE_CHECKING:
    from .store import Row, RunStore


def decide_run(store: RunStore, run: Row, approve: bool, reason: str | None, task: str | None) -> Decision:
    """Decide the gate ``run`` waits on; a gate inside a flow names the flow run, which is what resumes."""
    if run.get("parent_run"):
        return _decide_step(store, store.require_run(run["parent_run"]), run, approve, reason, task)
    if run.get("kind") == "flow":
        return decide_in_flow(store, run, approve, reason, task)
    return decide(store, run, approve, reason, task)


def decide_in_flow(store: RunStore, flow_run: Row, approve: bool, reason: str | None,
                   task: str | None) -> Decision:
    """Decide the gate the flow run waits on: its own, or one of a crew run it started."""
    for run in [flow_run, *store.children(flow_run["id"])]:
        if run is not flow_run and run["status"] != RunStatus.AWAITING_APPROVAL:
            continue
        pending = [a for a in store.approvals(run["id"]) if a["status"] == ApprovalStatus.PENDING
                   and (task is None or a["task"] == task)]
        if pending:
            return _decide_step(store, flow_run, run, approve, reason, task)
    raise RunStateError(Problem(f"run {flow_run['id']} has no pending approval" + (f" for '{task}'" if task else "")))


def _decide_step(store: RunStore, flow_run: Row, run: Row, approve: bool, reason: str | None,
                 task: str | None) -> Decision:
    decision = decide(store, run, approve, reason, task)
    if decision.ends_run and run["id"] != flow_run["id"]:  # a crew step refused permission ends the flow
        store.finish_run(flow_run["id"], RunStatus.REJECTED,
                         error=f"crew run {run['id']}: task '{decision.task}' was not approved to start")
    return replace(decision, run_id=flow_run["id"])
