"""Stage 6: record what happened in a run, from crewai's own event bus, as it happens.

Every fact goes to the run store the moment crewai reports it, and each
finished task's output to ``runs/<run-id>/``, so a run that fails or is killed
later keeps everything finished before. Secrets are redacted on the way out.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import delegation
from .context import RunContext
from .definition import CrewDefinition
from .result import Delegation, ModelCall, TaskRecord, ToolCall
from .status import TaskStatus
from .template import fill

Listener = Callable[[str, dict[str, Any]], None]  # progress: (what happened, details)
Pricing = Callable[[str, int, int], "float | None"]  # (model, prompt tokens, completion tokens) -> USD


class Recorder:
    """Listens to crewai's events for one run; keeps the store and the run folder up to date."""

    def __init__(self, context: RunContext, run_id: str, crew: CrewDefinition, values: Mapping[str, Any],
                 role_keys: dict[str, str], *, cost: Pricing, listener: Listener | None = None):
        self.run_id, self.run_dir, self.order = run_id, context.project.runs_dir / run_id, list(crew.tasks)
        self.role_keys = role_keys  # filled role -> agents.yaml key
        self.store, self.redactor, self.cost = context.store, context.redactor, cost
        # task key -> output_file, relative to the run folder
        self.output_files = {k: fill(t.output_file, values) for k, t in crew.tasks.items() if t.output_file}
        # tasks whose output_file waits until a person approves the output
        self.gated = {k for k, t in crew.tasks.items() if t.spec.approval == "required"}
        self.listener = listener or (lambda what, details: None)
        self.tasks: dict[str, TaskRecord] = {k: TaskRecord(k) for k in self.order}
        self.delegations: list[Delegation] = []
        self.tool_calls: list[ToolCall] = []
        self.model_calls: list[ModelCall] = []
        self._started: dict[str, float] = {}  # model call id -> perf_counter at start
        # crewai's native calls name tools by their sanitised name; the store keeps the name the crew gave
        self.tool_names = {delegation.sanitized(n): n for n in (delegation.DELEGATE_TOOL, delegation.ASK_TOOL)}
        self._summarising: tuple[str | None, str | None] | None = None  # (task, agent role) being summarised
        self._lock = threading.RLock()
        self.owned: set[str] = set()  # ids of this run's crewai agents and tasks (see ``own``)
        self.run_dir.mkdir(parents=True, exist_ok=True)

    def know_tools(self, names: Iterable[str]) -> None:
        self.tool_names.update({delegation.sanitized(n): n for n in names})

    def own(self, ids: Iterable[str]) -> None:
        """The ids of this run's agents and tasks: a flow runs crews side by side in one process, on
        one event bus, and an event of another crew's task, by an agent not ours, is not ours."""
        self.owned.update(ids)

    def _foreign(self, event: Any) -> bool:
        # only a task id tells crews apart: crewai's own helpers (an LLM guardrail's judge, a manager
        # built from manager_llm) are agents we did not make, and a delegated coworker gets a new task
        task, agent = getattr(event, "task_id", None), getattr(event, "agent_id", None)
        return bool(self.owned and task and str(task) not in self.owned and str(agent or "") not in self.owned)

    def tool_name(self, name: str) -> str:
        return self.tool_names.get(delegation.sanitized(name), name)

    def agent_key(self, role: str | None) -> str | None:
        return self.role_keys.get((role or "").strip(), role)

    def role_of(self, key: str | None) -> str | None:
        return next((r for r, k in self.role_keys.items() if k == key), None)

    @contextmanager
    def listening(self) -> Iterator[Recorder]:
        from crewai.events import crewai_event_bus
        from crewai.events.base_events import BaseEvent
        from crewai.events.types.llm_events import (
            ContextWindowSummarizationCompletedEvent,
            ContextWindowSummarizationFailedEvent,
            ContextWindowSummarizationStartedEvent,
            LLMCallCompletedEvent,
            LLMCallFailedEvent,
            LLMCallStartedEvent,
        )
        from crewai.events.types.task_events import TaskCompletedEvent, TaskFailedEvent, TaskStartedEvent
        from crewai.events.types.tool_usage_events import (
            ToolFailureDetectedEvent,
            ToolUsageErrorEvent,
            ToolUsageFinishedEvent,
            ToolUsageStartedEvent,
        )

        from .llm.events import EVENT_TYPES
        handlers: dict[type[BaseEvent], Callable[[Any], None]] = {
                    TaskStartedEvent: self.on_task_started, TaskCompletedEvent: self.on_task_completed,
                    TaskFailedEvent: self.on_task_failed, ToolUsageStartedEvent: self.on_tool_started,
                    ToolUsageFinishedEvent: self.on_tool_finished, ToolUsageErrorEvent: self.on_tool_error,
                    ToolFailureDetectedEvent: self.on_tool_failure,
                    LLMCallStartedEvent: self.on_model_started, LLMCallCompletedEvent: self.on_model_call,
                    LLMCallFailedEvent: self.on_model_failed,
                    ContextWindowSummarizationStartedEvent: self.on_summary_started,
                    ContextWindowSummarizationCompletedEvent: self.on_summary_finished,
                    ContextWindowSummarizationFailedEvent: self.on_summary_finished}
        handlers.update({kind: self.on_model_event for kind in EVENT_TYPES})
        wrapped = {kind: self._guarded(handler) for kind, handler in handlers.items()}
        for kind, handler in wrapped.items():
            crewai_event_bus.on(kind)(handler)
        try:
            yield self
        finally:
            crewai_event_bus.flush()
            for kind, handler in wrapped.items():
                crewai_event_bus.off(kind, handler)

    def _guarded(self, handler: Any) -> Any:
        # crewai runs plain handlers on a pool of ten threads, so a tool's "finished" can be handled
        # before its "started". Async handlers all run on crewai's single event-loop thread, in the
        # order events were emitted; doing the work without awaiting keeps that order.
        async def run(source: Any, event: Any) -> None:
            if self._foreign(event):
                return
            with self._lock:
                handler(event)
        return run

    # --- tasks ------------------------------------------------------------------
    def _task_key(self, event: Any) -> str | None:
        task = getattr(event, "task", None)
        name = getattr(task, "name", None) or getattr(event, "task_name", None)
        return name if name in self.tasks else None

    def _save_task(self, key: str) -> None:
        t = self.tasks[key]
        self.store.save_task(self.run_id, key, position=self.order.index(key), agent=t.agent, role=t.role,
                             status=t.status, output=t.output, structured=t.structured, started_at=t.started_at,
                             finished_at=t.finished_at, error=t.error, carried_over=int(t.carried_over))

    def set_status(self, key: str, status: TaskStatus) -> None:
        self.tasks[key].status = status
        self.store.update_task(self.run_id, key, status=status)

    def on_task_started(self, event: Any) -> None:
        key = self._task_key(event)
        if key:
            record = self.tasks[key]
            role = getattr(getattr(event.task, "agent", None), "role", None)
            record.status, record.started_at, record.error = TaskStatus.RUNNING, _iso(event), None
            record.role, record.agent, record.delegated_to = role, self.agent_key(role), []
            self._save_task(key)
            self.listener("task_started", {"task": key, "agent": record.agent})

    def on_task_completed(self, event: Any) -> None:
        key = self._task_key(event)
        if not key:
            return
        record, output = self.tasks[key], event.output
        record.status, record.finished_at = TaskStatus.COMPLETED, _iso(event)
        record.output = self.redactor.text(output.raw or "")
        structured = output.json_dict or (output.pydantic.model_dump(mode="json") if output.pydantic else None)
        record.structured = json.loads(self.redactor.text(json.dumps(structured))) if structured else None
        if record.delegated_to:  # in a hierarchical crew the coworker did the work, not the manager
            record.agent = record.delegated_to[-1]
            record.role = self.role_of(record.agent) or record.role
        record.file = str(self._write_output(key, record))
        self._save_task(key)
        self.listener("task_completed", {"task": key, "agent": record.agent})

    def on_task_failed(self, event: Any) -> None:
        key = self._task_key(event)
        if key:
            record = self.tasks[key]
            record.status, record.finished_at = TaskStatus.FAILED, _iso(event)
            record.error = self.redactor.text(str(event.error))
            self._save_task(key)
            self.listener("task_failed", {"task": key, "error": record.error})

    def carry_over(self, row: dict[str, Any]) -> None:
        """A task finished by an earlier attempt of this run (resume, approval): kept, not redone."""
        record = self.tasks[row["key"]]
        for name in ("agent", "role", "output", "structured", "started_at", "finished_at"):
            setattr(record, name, row.get(name))
        record.status, record.carried_over = TaskStatus(row["status"]), True
        self.store.update_task(self.run_id, record.key, carried_over=1)

    # --- tools and delegation -------------------------------------------------------
    def _add_call(self, event: Any) -> ToolCall:
        args = event.tool_args
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                pass
        task = self._task_key(event) or self._running_task()
        call = ToolCall(task, self.agent_key(event.agent_role), self.tool_name(event.tool_name), args)
        call.row = self.store.add_tool_call(self.run_id, task=task, agent=call.agent, tool=call.tool,
                                            arguments=args, at=_iso(event))
        self.tool_calls.append(call)
        return call

    def on_tool_started(self, event: Any) -> None:
        call = self._add_call(event)
        task, agent, args = call.task, call.agent, call.arguments
        kind = delegation.kind_of(event.tool_name)
        if kind and isinstance(args, dict):
            coworker = self.agent_key(str(args.get("coworker") or args.get("co_worker") or "")) or "?"
            request = str(args.get("task") or args.get("question") or "")
            self.delegations.append(Delegation(task, agent or "?", coworker, kind, request))
            self.store.add_delegation(self.run_id, task=task, manager=agent or "?", coworker=coworker, kind=kind,
                                      request=request, at=_iso(event))
            if kind == "delegate" and task:
                self.tasks[task].delegated_to.append(coworker)
            self.listener("delegated", {"task": task, "manager": agent, "coworker": coworker})
        else:
            self.listener("tool", {"task": task, "agent": agent, "tool": call.tool})

    def on_tool_finished(self, event: Any) -> None:
        call = self._open_call(event.tool_name)
        if call is None:
            return
        failure = getattr(event, "failure", None)  # a tool may "finish" by returning crewai's ToolFailure
        if failure is not None:
            call.error = self.redactor.text(str(getattr(failure, "message", failure)))
            self.store.finish_tool_call(call.row, error=call.error, finished_at=_iso(event))
            return
        call.output_chars = len(str(event.output))
        self.store.finish_tool_call(call.row, result_chars=call.output_chars, finished_at=_iso(event))

    def on_tool_error(self, event: Any) -> None:
        call = self._open_call(event.tool_name)
        if call is not None:
            call.error = self.redactor.text(str(event.error))
            self.store.finish_tool_call(call.row, error=call.error, finished_at=_iso(event))

    def on_tool_failure(self, event: Any) -> None:
        """A call crewai could not even start (arguments that are not JSON, a step it could not parse): no
        ToolUsageStarted came before it, so it gets its own row here. Failures of calls that ran are
        recorded by on_tool_finished and on_tool_error."""
        reason = getattr(event.failure, "reason", None)
        if getattr(reason, "value", reason) != "invalid_input":
            return
        call = self._add_call(event)
        call.error = self.redactor.text(f"not run: {event.failure.message}")
        self.store.finish_tool_call(call.row, error=call.error, finished_at=_iso(event))

    def _open_call(self, tool: str) -> ToolCall | None:
        key = delegation.sanitized(tool)
        return next((c for c in self.tool_calls if delegation.sanitized(c.tool) == key
                     and c.output_chars is None and c.error is None), None)

    # --- model calls ------------------------------------------------------------------
    def on_model_started(self, event: Any) -> None:
        self._started[event.call_id] = time.perf_counter()

    def on_model_call(self, event: Any) -> None:
        usage = event.usage or {}
        prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        self._add_model_call(event, prompt, completion, None)

    def on_model_failed(self, event: Any) -> None:
        self._add_model_call(event, 0, 0, self.redactor.text(str(event.error)))

    def on_summary_started(self, event: Any) -> None:
        """crewai compacts a conversation: its summary calls carry no agent or task of their own."""
        task = self._task_key(event)
        self._summarising = (task, getattr(event, "agent_role", None))
        self.store.add_event(self.run_id, "context_summarised",
                             {"task": task, "agent": self.agent_key(self._summarising[1]), "model": event.model},
                             _iso(event))

    def on_summary_finished(self, event: Any) -> None:
        self._summarising = None

    def _add_model_call(self, event: Any, prompt: int, completion: int, error: str | None) -> None:
        task = event.task_name if event.task_name in self.tasks else None
        role = event.agent_role
        if self._summarising is not None and role is None:
            task, role = task or self._summarising[0], self._summarising[1]
        task = task or self._running_task()
        start = self._started.pop(event.call_id, None)
        latency = round((time.perf_counter() - start) * 1000, 1) if start is not None else None
        model = event.model or "?"
        call = ModelCall(task, self.agent_key(role), model, prompt, completion,
                         self.cost(model, prompt, completion), latency, error)
        self.model_calls.append(call)
        self.store.add_model_call(self.run_id, task=call.task, agent=call.agent, model=model, prompt_tokens=prompt,
                                  completion_tokens=completion, cost=call.cost, latency_ms=latency, error=error,
                                  at=_iso(event))
        self.listener("model_call", {"task": task, "agent": call.agent, "tokens": prompt + completion})

    def on_model_event(self, event: Any) -> None:
        """Retries, fallbacks and breaker changes from rolecall's resilient models."""
        detail = {k: v for k, v in event.model_dump(mode="json").items()
                  if k not in ("timestamp", "source_fingerprint", "source_type", "fingerprint_metadata")}
        self.store.add_event(self.run_id, event.type, detail, _iso(event))
        self.listener("model_event", detail)

    def _running_task(self) -> str | None:
        running = [k for k, t in self.tasks.items() if t.status == TaskStatus.RUNNING]
        return running[-1] if running else None

    # --- files ---------------------------------------------------------------
    def _output_path(self, key: str) -> Path:
        suffix = ".json" if self.tasks[key].structured is not None else ".md"
        return self.run_dir / f"{self.order.index(key) + 1:02d}_{key}{suffix}"

    def _write_output(self, key: str, record: TaskRecord) -> Path:
        file = self._output_path(key)
        if record.structured is not None:
            file.write_text(json.dumps(record.structured, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        else:
            file.write_text((record.output or "") + "\n", encoding="utf-8")
        if key not in self.gated:
            self.publish(key, file)
        return file

    def publish(self, key: str, file: Path | None = None) -> None:
        """Write the task's own output_file (as CrewAI users know it), once its output is accepted."""
        if key not in self.output_files:
            return
        source = file or self._output_path(key)
        if not source.is_file():
            return
        target = self.run_dir / self.output_files[key]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")



def _iso(event: Any) -> str:
    stamp = getattr(event, "timestamp", None) or datetime.now(UTC)
    return stamp.isoformat() if isinstance(stamp, datetime) else str(stamp)
