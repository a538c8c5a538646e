"""Deciding a flow run's approval gate: a ``human_feedback`` step of the flow, or a gate of a crew
run the flow started. Only the store is touched; ``resume`` of the flow run goes on from there."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .approval import Decision, decide
from .errors import RunStateError
from .problem import Problem
from .status import ApprovalStatus, RunStatus

if TYPE_CHECKING:
    from .store import Row, RunStore


def decide_in_flow(store: RunStore, flow_run: Row, approve: bool, reason: str | None,
                   task: str | None) -> Decision:
    """Decide the gate the flow run waits on; the decision names the flow run, which is what resumes."""
    for run in [flow_run, *store.children(flow_run["id"])]:
        if run is not flow_run and run["status"] != RunStatus.AWAITING_APPROVAL:
            continue
        pending = [a for a in store.approvals(run["id"]) if a["status"] == ApprovalStatus.PENDING
                   and (task is None or a["task"] == task)]
        if pending:
            decision = decide(store, run, approve, reason, task)
            if decision.ends_run and run is not flow_run:  # a crew step refused permission ends the flow
                store.finish_run(flow_run["id"], RunStatus.REJECTED,
                                 error=f"crew run {run['id']}: task '{decision.task}' was not approved to start")
            return replace(decision, run_id=flow_run["id"])
    raise RunStateError(Problem(f"run {flow_run['id']} has no pending approval" + (f" for '{task}'" if task else "")))
