"""Stage 6: record what happened in a run, from crewai's own event bus, as it happens.

Each finished task's output is written to ``runs/<run-id>/`` the moment crewai
reports it, so a run that fails later keeps everything finished before.
"""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

DELEGATION_TOOLS = {"Delegate work to coworker": "delegate", "Ask question to coworker": "ask"}


@dataclass
class TaskRecord:
    key: str
    agent: str | None  # agents.yaml key of the agent that did the work
    role: str | None
    status: str = "pending"  # pending, running, completed, failed
    output: str | None = None
    structured: dict[str, Any] | None = None
    file: str | None = None
    delegated_to: list[str] = field(default_factory=list)
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None


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


@dataclass
class ModelCall:
    task: str | None
    agent: str | None
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Recorder:
    """Listens to crewai's events for one run and keeps the run folder up to date."""

    def __init__(self, run_dir: Path, task_order: list[str], role_keys: dict[str, str],
                 output_files: dict[str, str] | None = None):
        self.run_dir = run_dir
        self.output_files = output_files or {}  # task key -> output_file, relative to the run folder
        self.order = task_order
        self.role_keys = role_keys  # filled role -> agents.yaml key
        self.tasks: dict[str, TaskRecord] = {k: TaskRecord(k, None, None) for k in task_order}
        self.delegations: list[Delegation] = []
        self.tool_calls: list[ToolCall] = []
        self.model_calls: list[ModelCall] = []
        self._lock = threading.Lock()
        run_dir.mkdir(parents=True, exist_ok=True)

    def agent_key(self, role: str | None) -> str | None:
        return self.role_keys.get((role or "").strip(), role)

    @contextmanager
    def listening(self) -> Iterator["Recorder"]:
        from crewai.events import crewai_event_bus
        from crewai.events.types.llm_events import LLMCallCompletedEvent
        from crewai.events.types.task_events import TaskCompletedEvent, TaskFailedEvent, TaskStartedEvent
        from crewai.events.types.tool_usage_events import (ToolUsageErrorEvent, ToolUsageFinishedEvent,
                                                           ToolUsageStartedEvent)
        handlers = {TaskStartedEvent: self.on_task_started, TaskCompletedEvent: self.on_task_completed,
                    TaskFailedEvent: self.on_task_failed, ToolUsageStartedEvent: self.on_tool_started,
                    ToolUsageFinishedEvent: self.on_tool_finished, ToolUsageErrorEvent: self.on_tool_error,
                    LLMCallCompletedEvent: self.on_model_call}
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
        def run(source: Any, event: Any) -> None:
            with self._lock:
                handler(event)
        return run

    # --- event handlers (called under the lock) ---------------------------------
    def _task_key(self, event: Any) -> str | None:
        task = getattr(event, "task", None)
        name = getattr(task, "name", None) or getattr(event, "task_name", None)
        return name if name in self.tasks else None

    def on_task_started(self, event: Any) -> None:
        key = self._task_key(event)
        if key:
            record = self.tasks[key]
            role = getattr(getattr(event.task, "agent", None), "role", None)
            record.status, record.started_at = "running", _iso(event)
            record.role, record.agent = role, self.agent_key(role)

    def on_task_completed(self, event: Any) -> None:
        key = self._task_key(event)
        if not key:
            return
        record, output = self.tasks[key], event.output
        record.status, record.finished_at = "completed", _iso(event)
        record.output = output.raw
        record.structured = output.json_dict or (output.pydantic.model_dump() if output.pydantic else None)
        if record.delegated_to:  # in a hierarchical crew the coworker did the work, not the manager
            record.agent = record.delegated_to[-1]
            record.role = next((r for r, k in self.role_keys.items() if k == record.agent), record.role)
        record.file = str(self._write_output(key, record))

    def on_task_failed(self, event: Any) -> None:
        key = self._task_key(event)
        if key:
            self.tasks[key].status, self.tasks[key].error = "failed", str(event.error)
            self.tasks[key].finished_at = _iso(event)

    def on_tool_started(self, event: Any) -> None:
        args = event.tool_args
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                pass
        task = self._task_key(event) or self._running_task()
        agent = self.agent_key(event.agent_role)
        self.tool_calls.append(ToolCall(task, agent, event.tool_name, args))
        kind = DELEGATION_TOOLS.get(event.tool_name)
        if kind and isinstance(args, dict):
            coworker = self.agent_key(str(args.get("coworker") or args.get("co_worker") or ""))
            request = str(args.get("task") or args.get("question") or "")
            self.delegations.append(Delegation(task, agent or "?", coworker or "?", kind, request))
            if kind == "delegate" and task and coworker:
                self.tasks[task].delegated_to.append(coworker)

    def on_tool_finished(self, event: Any) -> None:
        call = self._open_call(event.tool_name)
        if call is not None:
            call.output_chars = len(str(event.output))

    def on_tool_error(self, event: Any) -> None:
        call = self._open_call(event.tool_name)
        if call is not None:
            call.error = str(event.error)

    def on_model_call(self, event: Any) -> None:
        usage = event.usage or {}
        task = event.task_name if event.task_name in self.tasks else self._running_task()
        self.model_calls.append(ModelCall(
            task, self.agent_key(event.agent_role), event.model or "?",
            int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)))

    def _running_task(self) -> str | None:
        running = [k for k, t in self.tasks.items() if t.status == "running"]
        return running[-1] if running else None

    def _open_call(self, tool: str) -> ToolCall | None:
        return next((c for c in reversed(self.tool_calls) if c.tool == tool and c.output_chars is None
                     and c.error is None), None)

    # --- files ---------------------------------------------------------------
    def _write_output(self, key: str, record: TaskRecord) -> Path:
        number = self.order.index(key) + 1
        if record.structured is not None:
            file = self.run_dir / f"{number:02d}_{key}.json"
            file.write_text(json.dumps(record.structured, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        else:
            file = self.run_dir / f"{number:02d}_{key}.md"
            file.write_text((record.output or "") + "\n", encoding="utf-8")
        if key in self.output_files:  # the task's own output_file, as CrewAI users know it
            target = self.run_dir / self.output_files[key]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
        return file

    def write_summary(self, summary: dict[str, Any]) -> Path:
        file = self.run_dir / "run.json"
        body = {**summary, "tasks": [asdict(t) for t in self.tasks.values()],
                "delegations": [asdict(d) for d in self.delegations],
                "tool_calls": [asdict(c) for c in self.tool_calls],
                "model_calls": [asdict(c) for c in self.model_calls]}
        file.write_text(json.dumps(body, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
        return file


def _iso(event: Any) -> str:
    stamp = getattr(event, "timestamp", None) or datetime.now(timezone.utc)
    return stamp.isoformat() if isinstance(stamp, datetime) else str(stamp)
