"""Run a validated flow on crewai's own flow runtime; each ``call: crew`` step is a rolecall run.

crewai builds the flow from the file (``Flow.from_declaration``) and decides what runs when:
starts, listeners, ``and``/``or``, routers, parallel branches, loops. rolecall changes two
things inside it. A method whose ``do:`` is ``call: crew`` with a rolecall crew runs that
crew through ``runner.start_run`` (its bindings, profiles, tools' confinement and recording;
the crew run is a child of the flow run). Every method is wrapped so the store records each
step as it starts and ends. ``human_feedback`` steps ask through a provider that is a rolecall
approval gate. A resumed flow run replays the steps that finished (their recorded outputs,
in order; their crews are not run again) and continues from there; a crew run left
unfinished is resumed, so its finished tasks are kept too.
"""
from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel

from .capture import crewai_output_recorded
from .context import RunContext
from .definition import CrewDefinition
from .errors import ConfigError, RunStateError
from .flow_graph import FlowOutline, MethodOutline
from .flow_result import SUPERSEDED, FlowResult, flow_result
from .llm.profiles import choose
from .problem import Problem
from .record import Listener
from .result import PendingApproval, RunResult
from .runner import claimed_run_id, resume_run, start_run
from .status import ApprovalStatus, GateMode, RunStatus, TaskStatus
from .store import Row

_OVERRIDING = ("--llm", "ROLECALL_LLM")  # as in runner: a profile chosen by the person overrides the crews'


class StepOutput(BaseModel):
    """What a crew step gives the flow: ``${outputs.m.raw}`` as with crewai's CrewOutput, plus
    the crew run's id and ``round``, how many times this method has run in the flow run."""

    raw: str = ""
    json_dict: dict[str, Any] | None = None
    run_id: str | None = None
    round: int = 1

    def __str__(self) -> str:  # a router's label, when a crew step routes
        return self.raw.strip()


class StepFailed(RuntimeError):
    """A crew step's run did not complete: the flow run fails with its reason."""


class BudgetReached(StepFailed):
    """A crew step stopped before a model call that would pass its budget, or the flow's."""


class CrewAwaiting(RuntimeError):
    """A crew step's run waits at one of its own approval gates: the flow run waits too."""

    def __init__(self, run: RunResult):
        super().__init__(f"crew run {run.run_id} waits for an approval")
        self.run = run


def start_flow(context: RunContext, flow: FlowOutline, values: Mapping[str, Any], llm: str | None = None, *,
               max_cost: float | None = None, approve_all: bool = False, listener: Listener | None = None,
               run_id: str | None = None) -> FlowResult:
    """Record a new flow run and execute it; a failure is reported in the result, not raised.

    ``max_cost``: USD for the whole flow; every crew run of it stops before a model call would
    pass it (each crew's own budget still applies too).
    ``run_id``: an id chosen beforehand (serve queues the run before a worker starts it)."""
    profile, reason = choose(context.llm_config, llm, context.env)
    run_id = claimed_run_id(context.store, run_id, flow.name)
    # a flow outside flows/ is recorded by its path, so that resume finds it again
    ref = flow.name if flow.file.is_relative_to(context.project.flows_dir.resolve()) else str(flow.file)
    context.store.create_run(id=run_id, crew=ref, kind="flow", inputs=dict(values), profile=profile,
                             crew_hash=flow.fingerprint, max_cost=max_cost,
                             run_dir=str(context.project.runs_dir / run_id))
    context.store.add_event(run_id, "flow_outline", flow.to_json())  # show-run and report draw the graph from it
    row = context.store.run(run_id)
    assert row is not None
    override = profile if reason in _OVERRIDING else None
    return FlowAttempt(context, flow, row, override=override, approve_all=approve_all, listener=listener).run()


def resume_flow(context: RunContext, row: Row, flow: FlowOutline, *, force: bool = False,
                approve_all: bool = False, listener: Listener | None = None) -> FlowResult:
    """Continue after the last finished step: finished steps replay, their crews do not run again."""
    if row["crew_hash"] != flow.fingerprint and not force:
        raise RunStateError(Problem(f"flow '{flow.name}' changed since run {row['id']} started",
                                    flow.file, hint="resume anyway with --force, or start a new run"))
    context.store.restart_run(row["id"])
    context.store.add_event(row["id"], "resumed", {"force": force})
    return FlowAttempt(context, flow, row, override=row["profile"], approve_all=approve_all,
                       listener=listener).run()


class FlowAttempt:
    """One attempt at a flow run: crewai's runtime with rolecall's steps plugged in."""

    def __init__(self, context: RunContext, flow: FlowOutline, run: Row, *, override: str | None,
                 approve_all: bool, listener: Listener | None):
        self.context, self.store, self.flow = context, context.store, flow
        self.run_id, self.values = run["id"], dict(run["inputs"])
        self.override, self.approve_all = override, approve_all
        self.listener: Listener = listener or (lambda what, details: None)
        self.run_dir = context.project.runs_dir / self.run_id
        self.rounds: dict[str, int] = {}
        self.seqs: dict[tuple[str, int], int] = {}
        self.pending: PendingApproval | None = None
        self.finished: set[int] = set()  # step seqs whose end is recorded
        self.crews: dict[str, CrewDefinition] = {}  # method -> the crew it runs, loaded before the flow starts
        self.flow_obj: Any = None  # crewai's Flow, once built: its state is recorded with each finished step
        self._lock = threading.Lock()
        steps = self.store.steps(self.run_id)
        self.replay = {(s["method"], s["round"]): s for s in steps if s["status"] == TaskStatus.COMPLETED}
        for s in steps:  # what did not finish is done again below; the old row stays, marked
            if s["status"] not in (TaskStatus.COMPLETED, SUPERSEDED):
                self.store.update_step(self.run_id, s["seq"], status=SUPERSEDED)

    # --- the run ----------------------------------------------------------------------
    def run(self) -> FlowResult:
        from .environment import keep_crewai_storage
        keep_crewai_storage(self.context.project.root / ".rolecall-cache" / "crewai")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        status, error, output = RunStatus.COMPLETED, None, None
        flow: Any = None
        with crewai_output_recorded(self.store, self.run_id):
            try:
                flow = self._build()
                result = flow.kickoff(inputs=self.values)
                if self._paused(result):
                    status = RunStatus.AWAITING_APPROVAL
                else:
                    output = _text(result)
            except CrewAwaiting as waiting:
                status, self.pending = RunStatus.AWAITING_APPROVAL, waiting.run.pending_approval
            except BudgetReached as stopped:  # like a crew run: stopped cleanly, resumable
                status, error = RunStatus.STOPPED, self.store.redact.text(str(stopped))
            except Exception as exc:  # a failed run keeps every finished step; the error goes in the result
                status, error = RunStatus.FAILED, self.store.redact.text(f"{type(exc).__name__}: {exc}")
                self.store.add_event(self.run_id, "flow_failed", {"traceback": traceback.format_exc(limit=-12)})
            if flow is not None:  # a failed step after a gate: where the gate routed is still recorded
                self._record_outcomes(flow)
        self.store.finish_run(self.run_id, status, error=error, output=output)
        result_ = flow_result(self.store, self.run_id, seconds=time.perf_counter() - started, pending=self.pending)
        (self.run_dir / "run.json").write_text(self.store.redact.text(json.dumps(
            {**result_.summary(), "inputs": self.values}, indent=2, default=str)) + "\n", encoding="utf-8")
        return result_

    def _crews(self) -> dict[str, CrewDefinition]:
        """Every crew the flow runs, loaded (validated) now, one after the other: in the flow's threads
        two crews would build the same pydantic models lazily at once, which pydantic does not survive."""
        from .api import load_crew
        return {m.name: load_crew(m.crew_path or m.crew, self.context.project,
                                  profiles=self.context.llm_config.profiles, llm=self.override)
                for m in self.flow.methods.values() if m.crew}

    def _build(self) -> Any:
        self.crews = self._crews()
        data = yaml.safe_load(self.flow.file.read_text(encoding="utf-8"))
        for name, method in (data.get("methods") or {}).items():
            if isinstance(method, dict) and isinstance(method.get("human_feedback"), dict):
                method["human_feedback"]["provider"] = _Gate(self, name)
        try:
            flow = _flow_class().from_declaration(contents=data)
        except Exception as exc:  # crewai's own checks, after rolecall's: still bad input, never a traceback
            raise ConfigError(Problem(f"crewai cannot build the flow: {exc}", self.flow.file)) from exc
        original = flow._collapse_to_outcome
        object.__setattr__(flow, "_collapse_to_outcome", lambda feedback, outcomes, llm: _named_outcome(
            feedback, outcomes) or original(feedback, outcomes, llm))
        for name, method in self.flow.methods.items():
            flow._methods[name] = self._recorded(flow, method, flow._methods[name])
        self.flow_obj = flow
        return flow

    # --- steps ---------------------------------------------------------------------------
    def _recorded(self, flow: Any, method: MethodOutline, action: Callable[..., Any]) -> Callable[..., Any]:
        async def step(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                round = self.rounds[method.name] = self.rounds.get(method.name, 0) + 1
            done = self.replay.get((method.name, round))
            if done is not None:  # finished in an earlier attempt: its output, not its work again
                self.seqs[(method.name, round)] = done["seq"]
                _restore_state(flow, done["state"])  # and what it left in the state (a script's changes)
                return _revived(done["output"])
            seq = self.seqs[(method.name, round)] = self.store.add_step(self.run_id, method.name, round)
            self.listener("task_started", {"task": f"{self.flow.name}.{method.name}", "agent": method.crew or
                                           method.call})
            try:
                if method.crew:  # the crew's thread records the step's end itself (see _crew_step)
                    result: Any = await self._crew(flow, method, round, seq)
                else:
                    result = await _call(action, args, kwargs)
                    label = str(getattr(result, "value", result)) if method.router and not method.feedback else None
                    self._finish(seq, TaskStatus.COMPLETED, output=_frozen(result), label=label)
            except Exception as exc:
                self._finish(seq, TaskStatus.FAILED, error=self.store.redact.text(f"{type(exc).__name__}: {exc}"))
                raise
            self.listener("task_completed", {"task": f"{self.flow.name}.{method.name}", "agent": method.crew
                                             or method.call})
            return result

        try:  # crewai passes the trigger's result only to a method that takes parameters: keep the action's
            step.__signature__ = inspect.signature(action)  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            pass
        return step

    def _finish(self, seq: int, status: TaskStatus, **fields: Any) -> None:
        """A step's end, recorded once: a crew's thread may have recorded it already."""
        with self._lock:
            if seq in self.finished:
                return
            self.finished.add(seq)
        if status == TaskStatus.COMPLETED and self.flow_obj is not None:
            fields["state"] = _state_of(self.flow_obj)
        self.store.finish_step(self.run_id, seq, status, **fields)
        if status == TaskStatus.FAILED:
            self.listener("task_failed", {"task": f"{self.flow.name}#{seq}", "error": fields.get("error")})

    async def _crew(self, flow: Any, method: MethodOutline, round: int, seq: int) -> StepOutput:
        from crewai.flow.expressions import Expression
        inputs = Expression.from_flow(dict(method.inputs), flow).render_template()
        ctx = contextvars.copy_context()
        return await asyncio.to_thread(ctx.run, self._crew_step, method, inputs, round, seq)

    def _crew_step(self, method: MethodOutline, inputs: dict[str, Any], round: int, seq: int) -> StepOutput:
        """Run the crew and record the step's end here, in the crew's thread: when a parallel branch
        fails, crewai cancels the flow, and a crew that finishes after that is still finished."""
        result = self._run_crew(method, inputs, seq)
        if result.status == RunStatus.AWAITING_APPROVAL:
            self._finish(seq, TaskStatus.AWAITING_APPROVAL)
            raise CrewAwaiting(result)
        if result.status != RunStatus.COMPLETED:
            failed = BudgetReached if result.status == RunStatus.STOPPED else StepFailed
            raise failed(f"crew run {result.run_id} of '{method.crew}' {result.status}: {result.error or '-'}")
        done = [t for t in result.tasks if t.structured is not None]
        output = StepOutput(raw=result.output or "", json_dict=done[-1].structured if done else None,
                            run_id=result.run_id, round=round)
        label = str(output) if method.router and not method.feedback else None  # a crew (or agent) that routes
        self._finish(seq, TaskStatus.COMPLETED, output=_frozen(output), label=label)
        return output

    def _run_crew(self, method: MethodOutline, inputs: dict[str, Any], seq: int) -> RunResult:
        from .inputs import bound
        crew = self.crews[method.name]
        unfinished = self._unfinished_child(crew.name)
        if unfinished is not None:  # a crew run this flow left unfinished: resumed, its finished tasks kept
            self.store.update_step(self.run_id, seq, child_run=unfinished["id"])
            return resume_run(self.context, unfinished["id"], crew, approve_all=self.approve_all,
                              listener=self.listener)
        values = bound(crew.inputs, inputs)
        result = start_run(self.context, crew, values, self.override, approve_all=self.approve_all,
                           listener=self.listener, parent_run=self.run_id)
        self.store.update_step(self.run_id, seq, child_run=result.run_id)
        return result

    def _unfinished_child(self, crew: str) -> Row | None:
        linked = {s["child_run"] for s in self.store.steps(self.run_id) if s["status"] == TaskStatus.COMPLETED}
        with self._lock:
            for child in self.store.children(self.run_id):
                if child["crew"] == crew and child["id"] not in linked and RunStatus(child["status"]).resumable:
                    linked.add(child["id"])
                    return child
        return None

    # --- approval gates (human_feedback) --------------------------------------------------
    def feedback(self, method: str, context: Any) -> str:
        """What the reviewer said: '' for approved (crewai's default outcome), the reason if rejected."""
        from crewai.flow.async_feedback.types import HumanFeedbackPending
        key = gate_key(method, self.rounds.get(method, 1))
        rows = {a["task"]: a for a in self.store.approvals(self.run_id) if a["mode"] == GateMode.AFTER}
        decided = rows.get(key)
        if decided is not None and decided["status"] == ApprovalStatus.APPROVED:
            return ""
        if decided is not None and decided["status"] == ApprovalStatus.REJECTED:
            return str(decided["reason"] or "")
        content = str(getattr(context, "method_output", "") or "")
        if self.approve_all:
            self.store.request_approval(self.run_id, key, GateMode.AFTER, content=content,
                                        status=ApprovalStatus.APPROVED, reason="--approve-all")
            return ""
        self.store.request_approval(self.run_id, key, GateMode.AFTER, content=content)
        self.pending = PendingApproval(key, GateMode.AFTER)
        raise HumanFeedbackPending(context=context, message=f"step '{key}' waits for approval")

    def _paused(self, result: Any) -> bool:
        from crewai.flow.async_feedback.types import HumanFeedbackPending
        return isinstance(result, HumanFeedbackPending)

    def _record_outcomes(self, flow: Any) -> None:
        """The outcome each feedback step routed to, as its step's label."""
        rounds: dict[str, int] = {}
        for item in getattr(flow, "human_feedback_history", []) or []:
            name = str(getattr(item, "method_name", ""))
            rounds[name] = rounds.get(name, 0) + 1
            seq = self.seqs.get((name, rounds[name]))
            if seq is not None and getattr(item, "outcome", None):
                self.store.update_step(self.run_id, seq, label=str(item.outcome))


def _flow_class() -> Any:
    from crewai.flow.flow import Flow

    class RolecallFlow(Flow):
        # crewai gives every flow a default Memory (LanceDB: 4 s to import, on every run); a
        # declarative flow that wants one sets config.memory, and each crew has its own
        _skip_auto_memory: ClassVar[bool] = True

    return RolecallFlow


class _Gate:
    """crewai's ``HumanFeedbackProvider``: the question goes to rolecall's approval gates."""

    def __init__(self, attempt: FlowAttempt, method: str):
        self.attempt, self.method = attempt, method

    def request_feedback(self, context: Any, flow: Any) -> str:
        return self.attempt.feedback(self.method, context)


def gate_key(method: str, round: int) -> str:
    """The approval row's name: the method, with its round after the first (a gate in a loop)."""
    return method if round <= 1 else f"{method}#{round}"


def _named_outcome(feedback: str, outcomes: Any) -> str | None:
    """A rejection reason that names an outcome routes there, without asking a model to read it."""
    words = feedback.lower().replace(":", " ").replace(",", " ").split()
    named = [o for o in outcomes if str(o).lower() in words]
    return str(named[0]) if len(named) == 1 else None


async def _call(action: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if inspect.iscoroutinefunction(action):
        return await action(*args, **kwargs)
    ctx = contextvars.copy_context()
    result = await asyncio.to_thread(ctx.run, action, *args, **kwargs)
    return await result if inspect.isawaitable(result) else result


def _frozen(result: Any) -> dict[str, Any]:
    """A step's result as JSON for the store, and for replay on resume."""
    if isinstance(result, StepOutput):
        return {"type": "crew", "value": result.model_dump(mode="json")}
    from crewai.utilities.serialization import to_serializable
    return {"type": "value", "value": to_serializable(result)}


def _state_of(flow: Any) -> dict[str, Any]:
    """The flow's state as JSON: a dict state as it is, a pydantic one as its fields."""
    from crewai.utilities.serialization import to_serializable
    state = flow.state
    data = state.model_dump(mode="json") if hasattr(state, "model_dump") else to_serializable(dict(state))
    return {k: v for k, v in data.items() if k != "id"} if isinstance(data, dict) else {}  # the id is this attempt's


def _restore_state(flow: Any, saved: dict[str, Any] | None) -> None:
    if not saved:
        return
    state = flow.state
    for key, value in saved.items():
        if isinstance(state, dict):
            state[key] = value
        else:
            setattr(state, key, value)


def _revived(stored: Any) -> Any:
    if isinstance(stored, dict) and stored.get("type") == "crew":
        return StepOutput(**stored["value"])
    return stored.get("value") if isinstance(stored, dict) else stored


def _text(result: Any) -> str | None:
    if result is None:
        return None
    raw = getattr(result, "raw", None)
    return str(raw if raw is not None else result)
