"""Stage 5: run a validated crew and return what happened as a ``RunResult``.

A run executes its tasks in segments: normally one, but an approval gate ends
a segment, and ``resume``/``approve`` start a new one after the tasks that
already finished. Finished tasks are matched by name (not position) and feed
their outputs to later tasks as context, so nothing is redone.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

from .definition import CrewDef
from .llm.profiles import choose, load_config
from .problem import Problem, RolecallError
from .project import Project
from .record import Delegation, Listener, ModelCall, Recorder, TaskRecord, ToolCall
from .redact import Redactor
from .settings import Settings
from .store import RunStore, now
from .template import fill


@dataclass
class RunResult:
    """What a run did: its final output, every task (who did it, what came out), delegations, calls."""

    run_id: str
    crew: str
    status: str  # completed, failed, stopped (budget), awaiting_approval, rejected
    output: str | None
    run_dir: Path
    profile: str
    tasks: list[TaskRecord]
    delegations: list[Delegation] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    model_calls: list[ModelCall] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    pending_approval: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def task(self, key: str) -> TaskRecord:
        return next(t for t in self.tasks if t.key == key)

    @property
    def tokens(self) -> int:
        return sum(c.prompt_tokens + c.completion_tokens for c in self.model_calls)

    @property
    def cost(self) -> float:
        return sum(c.cost or 0.0 for c in self.model_calls)

    def summary(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "crew": self.crew, "status": self.status, "output": self.output,
                "profile": self.profile, "run_dir": str(self.run_dir), "seconds": round(self.seconds, 2),
                "error": self.error, "tokens": self.tokens, "cost": round(self.cost, 6),
                "pending_approval": self.pending_approval}

    def render(self) -> str:
        lines = []
        if self.output and self.status == "completed":
            lines += [self.output.strip(), ""]
        for t in self.tasks:
            via = " (delegated by manager)" if t.delegated_to else ""
            lines.append(f"  {t.status:17} {t.key:28} {t.agent or '-'}{via}")
        lines.append(f"run {self.run_id}: {self.status} in {self.seconds:.1f}s on '{self.profile}', "
                     f"{len(self.model_calls)} model calls, {self.tokens} tokens, ${self.cost:.4f}; "
                     f"outputs in {self.run_dir}")
        if self.error:
            lines.append(f"error: {self.error}")
        if self.pending_approval:
            gate = self.pending_approval
            lines.append(f"waiting for approval of task '{gate['task']}' ({gate['mode']}): "
                         f"python main.py approve {self.run_id}  (or --reject --reason \"...\")")
        return "\n".join(lines)


def new_run_id(crew: str) -> str:
    return f"{datetime.now():%Y%m%d-%H%M%S}-{crew}-{secrets.token_hex(2)}"


def crew_hash(crew: CrewDef) -> str:
    """Fingerprint of everything that defines the crew; resume refuses a changed crew."""
    digest = hashlib.sha256()
    for file in sorted(crew.ref.path.rglob("*")):  # YAML, schemas, tools, their data: all of the package
        if file.is_file() and "__pycache__" not in file.parts:
            digest.update(str(file.relative_to(crew.ref.path)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def open_store(project: Project) -> RunStore:
    return RunStore(Settings(project).store_path, Redactor.from_environment(env_file=project.env_file))


def run_crew(project: Project, crew: CrewDef, values: Mapping[str, Any], llm: str | None = None, *,
             max_cost: float | None = None, approve_all: bool = False, listener: Listener | None = None) -> RunResult:
    """Assemble and kick off ``crew``; a failure is reported in the result, not raised."""
    store = open_store(project)
    config = load_config(project.config_dir)
    profile, reason = choose(config, llm, os.environ)
    run_id = new_run_id(crew.name)
    cap = max_cost if max_cost is not None else (crew.spec.budget.max_cost if crew.spec.budget else None)
    store.insert("runs", id=run_id, crew=crew.name, inputs=dict(values), profile=profile, crew_hash=crew_hash(crew),
                 status="running", started_at=now(), pid=os.getpid(), max_cost=cap,
                 run_dir=str(project.runs_dir / run_id))
    override = profile if reason in ("--llm", "ROLECALL_LLM") else None
    return Execution(project, store, crew, run_id, dict(values), profile, override, cap, approve_all,
                     listener).run()


def resume_run(project: Project, run_id: str, crew: CrewDef, *, force: bool = False, approve_all: bool = False,
               listener: Listener | None = None) -> RunResult:
    """Run only what did not finish; finished tasks (by name) feed later ones as context."""
    store = open_store(project)
    row = store.run(run_id)
    if row is None:
        raise RolecallError(Problem(f"no run '{run_id}' in {store.path}", hint="see python main.py runs"))
    if row["status"] in ("completed", "rejected", "running"):
        raise RolecallError(Problem(f"run {row['id']} is {row['status']}; there is nothing to resume"))
    if row["crew_hash"] != crew_hash(crew) and not force:
        raise RolecallError(Problem(
            f"crew '{crew.name}' changed since run {row['id']} started (its YAML, schemas or tools differ)",
            hint="resume anyway with --force, or start a new run"))
    store.update("runs", {"id": row["id"]}, status="running", pid=os.getpid(), finished_at=None, error=None)
    store.insert("events", run_id=row["id"], kind="resumed", detail={"force": force}, at=now())
    override = row["profile"]  # a resumed run keeps its model
    return Execution(project, store, crew, row["id"], row["inputs"], row["profile"], override, row["max_cost"],
                     approve_all, listener).run()


class Execution:
    """One attempt at a run: the tasks that remain, in segments between approval gates."""

    def __init__(self, project: Project, store: RunStore, crew: CrewDef, run_id: str, values: dict[str, Any],
                 profile: str, override: str | None, cap: float | None, approve_all: bool,
                 listener: Listener | None):
        self.project, self.store, self.crew, self.run_id = project, store, crew, run_id
        self.values, self.profile, self.override, self.cap = values, profile, override, cap
        self.approve_all, self.listener = approve_all, listener
        self.settings = Settings(project)
        self.run_dir = project.runs_dir / run_id
        self.budget_hit: str | None = None
        self.pending: dict[str, str] | None = None

    # --- the run ---------------------------------------------------------------
    def run(self) -> RunResult:
        from .assemble import assemble  # imports crewai
        from .llm.factory import LlmPool
        started = time.perf_counter()
        pool = LlmPool(self.project, load_config(self.project.config_dir), self.override)
        self.assembly = assemble(self.project, self.crew, self.values, pool, self.profile)
        role_keys = {agent.role.strip(): key for key, agent in self.assembly.agents.items()}
        output_files = {k: fill(t.output_file, self.values) for k, t in self.crew.tasks.items() if t.output_file}
        self.recorder = Recorder(self.run_id, self.run_dir, list(self.crew.tasks), role_keys, self.store,
                                 self.store.redact, self.settings.cost, output_files, self.listener,
                                 {k for k, t in self.crew.tasks.items() if t.spec.approval == "required"})
        finished = self._finished_tasks()
        status, error, output = "completed", None, None
        with self.recorder.listening(), self._budget_guard():
            remaining = [key for key in self.crew.tasks if key not in finished]
            while remaining:
                segment, gate = self._next_segment(remaining)
                if segment:
                    status, error, output = self._kickoff(segment)
                    if status != "completed":
                        break
                    remaining = remaining[len(segment):]
                if gate is not None:
                    decision = self._gate(*gate)
                    if decision != "approved":
                        status = decision
                        break
        output = output if output is not None else self._last_output()
        return self._finish(status, error, output, time.perf_counter() - started)

    def _finished_tasks(self) -> set[str]:
        """Tasks done in an earlier attempt of this run, accepted by their approval gate if they have one."""
        done: set[str] = set()
        approvals = {(a["task"], a["mode"]): a["status"] for a in self.store.rows("approvals", self.run_id)}
        for row in self.store.tasks(self.run_id):
            task = self.crew.tasks.get(row["key"])
            if task is None or row["status"] not in ("completed", "awaiting_approval"):
                continue
            if task.spec.approval == "required" and approvals.get((task.key, "after")) != "approved":
                continue  # its output was rejected or never reviewed: do it again
            accepted_now = row["status"] == "awaiting_approval"  # approved since: its output is accepted
            if accepted_now:
                row["status"] = "completed"
                self.store.update("tasks", {"run_id": self.run_id, "key": row["key"]}, status="completed")
            self.recorder.carry_over(row)
            if accepted_now:
                self.recorder.publish(task.key)
            self.assembly.tasks[task.key].output = _task_output(self.assembly.tasks[task.key], row)
            done.add(task.key)
        return done

    def _next_segment(self, remaining: list[str]) -> tuple[list[str], tuple[str, str] | None]:
        """Tasks to run now, and the gate that ends them (task, 'before'|'after') if any."""
        approvals = {(a["task"], a["mode"]): a["status"] for a in self.store.rows("approvals", self.run_id)}
        segment: list[str] = []
        for key in remaining:
            mode = self.crew.tasks[key].spec.approval
            if mode == "before" and approvals.get((key, "before")) != "approved":
                return segment, (key, "before")
            segment.append(key)
            if mode == "required":
                return segment, (key, "after")
        return segment, None

    def _kickoff(self, segment: list[str]) -> tuple[str, str | None, str | None]:
        from crewai import Crew
        tasks = [self.assembly.tasks[key] for key in segment]
        first = list(self.crew.tasks).index(segment[0])
        if first > 0:  # later segments: give implicit-context tasks every earlier output, as crewai would
            earlier = [self.assembly.tasks[k] for k in list(self.crew.tasks)[:first]]
            for key, task in zip(segment, tasks):
                if not self.crew.tasks[key].context:
                    task.context = list(earlier)
                earlier.append(task)
        self._apply_feedback(segment)
        crew = Crew(**{**self.assembly.crew_kwargs, "tasks": tasks})
        try:
            return "completed", None, crew.kickoff().raw
        except Exception as exc:  # a failed run keeps what finished; the error goes in the result
            if self.budget_hit:
                return "stopped", self.budget_hit, None
            return "failed", self.store.redact.text(f"{type(exc).__name__}: {exc}"), None

    def _apply_feedback(self, segment: list[str]) -> None:
        """A task whose output a person rejected runs again with their reason."""
        for row in self.store.rows("approvals", self.run_id):
            if row["status"] == "rejected" and row["mode"] == "after" and row["task"] in segment:
                task = self.assembly.tasks[row["task"]]
                if "A reviewer rejected" not in task.description:
                    task.description += (f"\n\nA reviewer rejected the previous answer: {row['reason']}\n"
                                         f"Previous answer:\n{row['content']}")

    # --- approval gates ---------------------------------------------------------
    def _gate(self, key: str, mode: str) -> str:
        existing = {(a["task"], a["mode"]): a for a in self.store.rows("approvals", self.run_id)}.get((key, mode))
        if existing and existing["status"] == "approved":
            return "approved"
        if existing and existing["status"] == "rejected" and mode == "before":
            return "rejected"
        decision = "approved" if self.approve_all else "pending"
        self.store.upsert("approvals", {"run_id": self.run_id, "task": key, "mode": mode}, status=decision,
                          content=self._gate_content(key, mode), reason="--approve-all" if self.approve_all else None,
                          requested_at=now(), decided_at=now() if self.approve_all else None)
        if self.approve_all:
            if mode == "after":
                self.recorder.publish(key)
            return "approved"
        if mode == "after":
            self.recorder.tasks[key].status = "awaiting_approval"
            self.store.update("tasks", {"run_id": self.run_id, "key": key}, status="awaiting_approval")
        self.pending = {"task": key, "mode": mode}
        return "awaiting_approval"

    def _gate_content(self, key: str, mode: str) -> str:
        if mode == "after":
            return self.recorder.tasks[key].output or ""
        task, agent = self.assembly.tasks[key], self.crew.tasks[key].agent
        return f"Task: {key}\nAgent: {agent or '(manager decides)'}\n\n{task.description}\n\n" \
               f"Expected output: {task.expected_output}"

    # --- budget -------------------------------------------------------------------
    @contextmanager
    def _budget_guard(self) -> Iterator[None]:
        """Block the model call that would take the run past its cost cap (crewai's own hook)."""
        if self.cap is None:
            yield
            return
        from crewai.hooks.llm_hooks import register_before_llm_call_hook, unregister_before_llm_call_hook
        cap = self.cap

        def check(context: Any) -> bool | None:
            spent = self.store.spent(self.run_id)
            model = str(getattr(context.llm, "model", "?"))
            prompt = sum(len(str(m.get("content") or "")) for m in context.messages) // 4
            next_call = self.settings.cost(model, prompt, 0) or 0.0
            if spent + next_call > cap:
                self.budget_hit = (f"budget of ${cap:.4f} reached: ${spent:.4f} spent, the next call "
                                   f"would cost about ${next_call:.4f}")
                return False
            return None
        register_before_llm_call_hook(check)
        try:
            yield
        finally:
            unregister_before_llm_call_hook(check)

    # --- the end -------------------------------------------------------------------
    def _last_output(self) -> str | None:
        done = [t for t in self.recorder.tasks.values() if t.status == "completed"]
        return done[-1].output if done else None

    def _finish(self, status: str, error: str | None, output: str | None, seconds: float) -> RunResult:
        pending = self.pending if status == "awaiting_approval" else None
        self.store.update("runs", {"id": self.run_id}, status=status, error=error,
                          output=output if status == "completed" else None,
                          finished_at=None if status == "awaiting_approval" else now())
        r = self.recorder
        result = RunResult(self.run_id, self.crew.name, status, output if status == "completed" else None,
                           self.run_dir, self.profile, list(r.tasks.values()), r.delegations, r.tool_calls,
                           r.model_calls, error, seconds, pending)
        (self.run_dir / "run.json").write_text(
            self.store.redact.text(json.dumps({**result.summary(), "inputs": self.values}, indent=2, default=str))
            + "\n", encoding="utf-8")
        return result


def _task_output(task: Any, row: dict[str, Any]) -> Any:
    from crewai.tasks.task_output import TaskOutput
    return TaskOutput(description=task.description, name=row["key"], raw=row["output"] or "",
                      json_dict=row["structured"], agent=row.get("role") or "")
