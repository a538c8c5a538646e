"""Stage 5: run a validated crew and return what happened as a ``RunResult``.

(The module is ``runner``, not ``run``: importing a submodule named ``run`` would
replace the public ``rolecall.run`` function with the module.)

A run executes its tasks in segments: normally one, but an approval gate ends
a segment, and ``resume``/``approve`` start a new ``Attempt`` after the tasks that
already finished. Finished tasks are matched by name (not position) and feed
their outputs to later tasks as context, so nothing is redone.
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from .capture import crewai_output_recorded
from .context import RunContext
from .definition import CrewDefinition
from .errors import RunStateError
from .llm.profiles import choose
from .problem import Problem
from .record import Listener, Recorder
from .repeats import forget_last_call
from .result import PendingApproval, RunResult
from .status import ApprovalStatus, GateMode, RunStatus, TaskStatus
from .store import Row, RunStore

# A flow starts crews side by side in one process; building crewai objects (and the pydantic models
# and tool modules behind them, made on first use) from two threads at once is not safe, so
# assembling takes turns. The crews still run at the same time.
ASSEMBLING = threading.Lock()

# profiles chosen by the person starting the run override every agent's own `llm:`
_OVERRIDING = ("--llm", "ROLECALL_LLM")


def new_run_id(crew: str) -> str:
    return f"{datetime.now():%Y%m%d-%H%M%S}-{crew}-{secrets.token_hex(2)}"


def claimed_run_id(store: RunStore, run_id: str | None, name: str) -> str:
    """The id a new run of ``name`` is recorded under: ``run_id`` if chosen beforehand (free, or a run that
    serve queued and this start takes over), else a new one."""
    existing = store.run(run_id) if run_id is not None else None
    if existing is not None and (existing["id"] != run_id or existing["status"] != RunStatus.QUEUED):
        raise RunStateError(Problem(f"a run '{run_id}' exists already", hint="resume it, or start a new run"))
    return run_id or new_run_id(name)


def start_run(context: RunContext, crew: CrewDefinition, values: Mapping[str, Any], llm: str | None = None, *,
              max_cost: float | None = None, approve_all: bool = False,
              listener: Listener | None = None, run_id: str | None = None,
              parent_run: str | None = None) -> RunResult:
    """Record a new run of ``crew`` and execute it; a failure is reported in the result, not raised.

    ``run_id``: an id chosen beforehand (a batch records it before the run starts); new by default.
    ``parent_run``: the flow run this crew run is a step of.
    """
    profile, reason = choose(context.llm_config, llm, context.env)
    run_id = claimed_run_id(context.store, run_id, crew.name)
    cap = max_cost if max_cost is not None else (crew.spec.budget.max_cost if crew.spec.budget else None)
    context.store.create_run(id=run_id, crew=crew.name, inputs=dict(values), profile=profile,
                             crew_hash=crew.package.fingerprint(), max_cost=cap,
                             run_dir=str(context.project.runs_dir / run_id), parent_run=parent_run)
    row = context.store.run(run_id)
    assert row is not None
    return Attempt(context, crew, row, override=profile if reason in _OVERRIDING else None,
                   approve_all=approve_all, listener=listener).run()


def resumable_run(context: RunContext, run_id: str) -> Row:
    """The stored run, if it exists and has something left to do."""
    row = context.store.require_run(run_id)
    if not RunStatus(row["status"]).resumable:
        raise RunStateError(Problem(f"run {row['id']} is {row['status']}; there is nothing to resume"))
    return row


def resume_run(context: RunContext, run_id: str, crew: CrewDefinition, *, force: bool = False,
               approve_all: bool = False, listener: Listener | None = None) -> RunResult:
    """Run only what did not finish; finished tasks (by name) feed later ones as context."""
    row = resumable_run(context, run_id)
    if row["crew_hash"] != crew.package.fingerprint() and not force:
        raise RunStateError(Problem(
            f"crew '{crew.name}' changed since run {row['id']} started (its YAML, schemas or tools differ)",
            hint="resume anyway with --force, or start a new run"))
    context.store.restart_run(row["id"])
    context.store.add_event(row["id"], "resumed", {"force": force})
    # a resumed run keeps its model
    return Attempt(context, crew, row, override=row["profile"], approve_all=approve_all, listener=listener).run()


class Attempt:
    """One attempt at a run: the tasks that remain, in segments between approval gates."""

    def __init__(self, context: RunContext, crew: CrewDefinition, run: Row, *, override: str | None,
                 approve_all: bool, listener: Listener | None):
        self.context, self.store, self.crew = context, context.store, crew
        self.run_id, self.values, self.profile = run["id"], dict(run["inputs"]), run["profile"]
        self.cap: float | None = run["max_cost"]
        self.parent: str | None = run.get("parent_run")
        self.override, self.approve_all, self.listener = override, approve_all, listener
        self.run_dir = context.project.runs_dir / self.run_id
        self.budget_hit: str | None = None
        self.pending: PendingApproval | None = None

    # --- the run ---------------------------------------------------------------
    def run(self) -> RunResult:
        from .assemble import assemble  # imports crewai
        from .environment import keep_crewai_storage
        from .llm.factory import LlmPool
        keep_crewai_storage(self.context.project.root / ".rolecall-cache" / "crewai")
        started = time.perf_counter()
        with ASSEMBLING:
            pool = LlmPool(self.context, self.override, self.crew.models)
            self.assembly = assemble(self.context.project, self.crew, self.values, pool, self.profile,
                                     run_dir=self.run_dir)
        role_keys = {agent.role.strip(): key for key, agent in self.assembly.agents.items()}
        self.recorder = Recorder(self.context, self.run_id, self.crew, self.values, role_keys, cost=pool.cost,
                                 listener=self.listener)
        self.recorder.know_tools(_tool_names(self.assembly))
        self.recorder.own([str(a.id) for a in self.assembly.agents.values()]
                          + [str(t.id) for t in self.assembly.tasks.values()])
        finished = self._finished_tasks()
        status, error, output = RunStatus.COMPLETED, None, None
        with self.recorder.listening(), self._budget_guard(), crewai_output_recorded(self.store, self.run_id):
            remaining = [key for key in self.crew.tasks if key not in finished]
            while remaining:
                segment, gate = self._next_segment(remaining)
                if segment:
                    status, error, output = self._kickoff(segment)
                    if status != RunStatus.COMPLETED:
                        break
                    remaining = remaining[len(segment):]
                if gate is not None:
                    decision = self._gate(*gate)
                    if decision != RunStatus.COMPLETED:
                        status = decision
                        break
        output = output if output is not None else self._last_output()
        return self._finish(status, error, output, time.perf_counter() - started)

    def _finished_tasks(self) -> set[str]:
        """Tasks done in an earlier attempt of this run, accepted by their approval gate if they have one."""
        done: set[str] = set()
        gates = self.store.gate_states(self.run_id)
        for row in self.store.tasks(self.run_id):
            task = self.crew.tasks.get(row["key"])
            if task is None or row["status"] not in (TaskStatus.COMPLETED, TaskStatus.AWAITING_APPROVAL):
                continue
            if task.spec.approval == "required" and gates.get((task.key, GateMode.AFTER)) != ApprovalStatus.APPROVED:
                continue  # its output was rejected or never reviewed: do it again
            accepted_now = row["status"] == TaskStatus.AWAITING_APPROVAL  # approved since: its output is accepted
            row["status"] = TaskStatus.COMPLETED
            self.recorder.carry_over(row)
            if accepted_now:
                self.recorder.set_status(task.key, TaskStatus.COMPLETED)
                self.recorder.publish(task.key)
            self.assembly.tasks[task.key].output = _task_output(self.assembly.tasks[task.key], row)
            done.add(task.key)
        return done

    def _next_segment(self, remaining: list[str]) -> tuple[list[str], tuple[str, GateMode] | None]:
        """Tasks to run now, and the gate that ends them (task, before|after) if any."""
        gates = self.store.gate_states(self.run_id)
        segment: list[str] = []
        for key in remaining:
            mode = self.crew.tasks[key].spec.approval
            if mode == "before" and gates.get((key, GateMode.BEFORE)) != ApprovalStatus.APPROVED:
                return segment, (key, GateMode.BEFORE)
            segment.append(key)
            if mode == "required":
                return segment, (key, GateMode.AFTER)
        return segment, None

    def _kickoff(self, segment: list[str]) -> tuple[RunStatus, str | None, str | None]:
        from crewai import Crew
        tasks = [self.assembly.tasks[key] for key in segment]
        first = list(self.crew.tasks).index(segment[0])
        if first > 0:  # later segments: give implicit-context tasks every earlier output, as crewai would
            earlier = [self.assembly.tasks[k] for k in list(self.crew.tasks)[:first]]
            for key, task in zip(segment, tasks, strict=False):
                if not self.crew.tasks[key].context:
                    task.context = list(earlier)
                earlier.append(task)
        self._apply_feedback(segment)
        crew = Crew(**{**self.assembly.crew_kwargs, "tasks": tasks})
        forget_last_call(crew)  # a repeated call runs or is refused by rolecall, and recorded (repeats.py)
        try:
            output: Any = crew.kickoff()
            if self.crew.spec.stream:  # a CrewStreamingOutput: the chunks go to the listener as they come
                for chunk in output:
                    if self.listener is not None:
                        self.listener("stream", {"agent": chunk.agent_role, "text": chunk.content})
                output = output.result
            return RunStatus.COMPLETED, None, str(getattr(output, "raw", output))
        except Exception as exc:  # a failed run keeps what finished; the error goes in the result
            if self.budget_hit:
                return RunStatus.STOPPED, self.budget_hit, None
            return RunStatus.FAILED, self.store.redact.text(f"{type(exc).__name__}: {exc}"), None

    def _apply_feedback(self, segment: list[str]) -> None:
        """A task whose output a person rejected runs again with their reason."""
        for row in self.store.approvals(self.run_id):
            if row["status"] == ApprovalStatus.REJECTED and row["mode"] == GateMode.AFTER and row["task"] in segment:
                task = self.assembly.tasks[row["task"]]
                if "A reviewer rejected" not in task.description:
                    task.description += (f"\n\nA reviewer rejected the previous answer: {row['reason']}\n"
                                         f"Previous answer:\n{row['content']}")

    # --- approval gates ---------------------------------------------------------
    def _gate(self, key: str, mode: GateMode) -> RunStatus:
        """COMPLETED when the run may go on; REJECTED or AWAITING_APPROVAL when it stops here."""
        decided = self.store.gate_states(self.run_id).get((key, mode))
        if decided == ApprovalStatus.APPROVED:
            return RunStatus.COMPLETED
        if decided == ApprovalStatus.REJECTED and mode == GateMode.BEFORE:
            return RunStatus.REJECTED
        decision = ApprovalStatus.APPROVED if self.approve_all else ApprovalStatus.PENDING
        self.store.request_approval(self.run_id, key, mode, content=self._gate_content(key, mode), status=decision,
                                    reason="--approve-all" if self.approve_all else None)
        if self.approve_all:
            if mode == GateMode.AFTER:
                self.recorder.publish(key)
            return RunStatus.COMPLETED
        if mode == GateMode.AFTER:
            self.recorder.set_status(key, TaskStatus.AWAITING_APPROVAL)
        self.pending = PendingApproval(key, mode)
        return RunStatus.AWAITING_APPROVAL

    def _gate_content(self, key: str, mode: GateMode) -> str:
        if mode == GateMode.AFTER:
            return self.recorder.tasks[key].output or ""
        task, agent = self.assembly.tasks[key], self.crew.tasks[key].agent
        return f"Task: {key}\nAgent: {agent or '(manager decides)'}\n\n{task.description}\n\n" \
               f"Expected output: {task.expected_output}"

    # --- budget -------------------------------------------------------------------
    @contextmanager
    def _budget_guard(self) -> Iterator[None]:
        """Block the model call that would take the run past its cost cap, or the flow it is a step
        of past the flow's (crewai's own hook)."""
        caps = self._caps()
        if not caps:
            yield
            return
        from crewai.hooks.llm_hooks import register_before_llm_call_hook, unregister_before_llm_call_hook

        def check(context: Any) -> bool | None:
            model = str(getattr(context.llm, "model", "?"))
            prompt = sum(len(str(m.get("content") or "")) for m in context.messages) // 4
            next_call = self.context.settings.cost(model, prompt, 0) or 0.0
            for whose, cap, spent_by in caps:
                spent = spent_by()
                if spent + next_call > cap:
                    self.budget_hit = (f"{whose}budget of ${cap:.4f} reached: ${spent:.4f} spent, the next call "
                                       f"would cost about ${next_call:.4f}")
                    return False
            return None
        register_before_llm_call_hook(check)
        try:
            yield
        finally:
            unregister_before_llm_call_hook(check)

    def _caps(self) -> list[tuple[str, float, Callable[[], float]]]:
        """Each cap this run's calls count against, and what has been spent against it: the run's own,
        and its flow's, which every crew run of the flow spends from (parallel steps too)."""
        caps: list[tuple[str, float, Callable[[], float]]] = []
        if self.cap is not None:
            caps.append(("", self.cap, lambda: self.store.spent(self.run_id)))
        flow = self.store.run(self.parent) if self.parent else None
        if flow is not None and flow["max_cost"] is not None:
            caps.append((f"flow run {flow['id']}: its ", float(flow["max_cost"]),
                         lambda: self.store.spent(flow["id"], family=True)))
        return caps

    # --- the end -------------------------------------------------------------------
    def _last_output(self) -> str | None:
        done = [t for t in self.recorder.tasks.values() if t.status == TaskStatus.COMPLETED]
        return done[-1].output if done else None

    def _finish(self, status: RunStatus, error: str | None, output: str | None, seconds: float) -> RunResult:
        final = output if status == RunStatus.COMPLETED else None
        self.store.finish_run(self.run_id, status, error=error, output=final)
        r = self.recorder
        result = RunResult(self.run_id, self.crew.name, status, final, self.run_dir, self.profile,
                           list(r.tasks.values()), r.delegations, r.tool_calls, r.model_calls, error, seconds,
                           self.pending if status == RunStatus.AWAITING_APPROVAL else None)
        (self.run_dir / "run.json").write_text(
            self.store.redact.text(json.dumps({**result.summary(), "inputs": self.values}, indent=2, default=str))
            + "\n", encoding="utf-8")
        return result


def _task_output(task: Any, row: Row) -> Any:
    from crewai.tasks.task_output import TaskOutput
    return TaskOutput(description=task.description, name=row["key"], raw=row["output"] or "",
                      json_dict=row["structured"], agent=row.get("role") or "")


def _tool_names(assembly: Any) -> list[str]:
    """The names of every tool the run's agents and tasks hold (crewai reports native calls sanitised)."""
    holders = [*assembly.agents.values(), *assembly.tasks.values()]
    return [str(tool.name) for holder in holders for tool in (getattr(holder, "tools", None) or [])]
