"""Every status a run, a task or an approval gate can be in.

``StrEnum`` members are stored in the run store as their plain values and compare
equal to them, so rows read back and results agree (``result.status == "completed"``).
"""
from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    QUEUED = "queued"  # accepted by `serve` and recorded, not started yet; it starts when a worker is free
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"  # the budget cap ended it before the next model call
    AWAITING_APPROVAL = "awaiting_approval"
    REJECTED = "rejected"
    INTERRUPTED = "interrupted"  # its process died (crash, kill -9); resume picks it up

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.AWAITING_APPROVAL)

    @property
    def resumable(self) -> bool:
        return self in (RunStatus.FAILED, RunStatus.STOPPED, RunStatus.INTERRUPTED, RunStatus.AWAITING_APPROVAL)


class TaskStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    AWAITING_APPROVAL = "awaiting_approval"
    INTERRUPTED = "interrupted"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class GateMode(StrEnum):
    BEFORE = "before"  # a person approves before the task starts (crew.yaml `approval: before`)
    AFTER = "after"  # ... or accepts its output (crew.yaml `approval: required`)
