"""crewai's agent executor, with the class of its state built once instead of on every task.

crewai 1.15's ``AgentExecutor`` is a ``Flow[AgentExecutorState]``; since that state is a plain
pydantic model, every executor's start builds a new class ``StateWithId(FlowState,
AgentExecutorState)``, schema and all: two per task, 18% of a scripted run's CPU (55 -> 45 ms
per research_report run, measured in one process). In a batch of eight workers on two cores
that CPU is what the runs wait for.

A subclass given as ``executor_class`` cannot carry this: crewai's flow methods are collected
from the class's own namespace, and a subclass's executor never reached a final answer. So the
state type ``Flow[T]`` recorded on ``AgentExecutor`` is swapped for the same class, made once;
crewai instantiates a ``FlowState`` subclass as it is. A test checks it still holds for crewai.
"""
from __future__ import annotations

from crewai.agents.agent_executor import AgentExecutor, AgentExecutorState
from crewai.flow.runtime import FlowState


class ExecutorState(FlowState, AgentExecutorState):
    """What crewai's Flow makes of ``AgentExecutorState`` for each executor: a ``FlowState`` with an id."""


def share_state_class() -> None:
    """Make every crewai agent executor start from ``ExecutorState`` (idempotent)."""
    if getattr(AgentExecutor, "_initial_state_t", None) is AgentExecutorState:
        AgentExecutor._initial_state_t = ExecutorState  # type: ignore[attr-defined]
