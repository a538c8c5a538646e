"""Live progress while a crew runs: a rich panel on a terminal, plain lines otherwise (stderr)."""
from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO


class PlainProgress:
    """One line per event; fine for CI logs and pipes."""

    def __init__(self, stream: TextIO | None = None):
        self.stream, self.started, self.tokens = stream or sys.stderr, time.perf_counter(), 0
        self._lock = threading.Lock()

    def __call__(self, what: str, details: dict[str, Any]) -> None:
        with self._lock:
            if what == "model_call":
                self.tokens += details.get("tokens", 0)
                return
            line = self._line(what, details)
            if line:
                print(f"[{time.perf_counter() - self.started:6.1f}s] {line}", file=self.stream, flush=True)

    def _line(self, what: str, d: dict[str, Any]) -> str | None:
        if what == "eval_case":
            return f"eval case {d['case']} on {d['profile']}"
        if what == "task_started":
            return f"{d['task']}: started ({d.get('agent') or 'manager'})"
        if what == "task_completed":
            return f"{d['task']}: done by {d.get('agent')} ({self.tokens} tokens so far)"
        if what == "task_failed":
            return f"{d['task']}: FAILED: {d.get('error')}"
        if what == "delegated":
            return f"{d.get('task')}: {d.get('manager')} delegated to {d.get('coworker')}"
        if what == "tool":
            return f"{d.get('task')}: {d.get('agent')} called {d.get('tool')}"
        if what == "model_event":
            return f"model: {d.get('type', 'event')} {d}"
        return None

    def close(self) -> None:
        pass


class RichProgress(PlainProgress):
    """A live panel: current task, agent, elapsed time, tokens so far; events scroll above it."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live
        super().__init__()
        self.console = Console(stderr=True)
        self.current = "starting"
        self.live = Live(self._panel(), console=self.console, refresh_per_second=4, transient=True)
        self.live.start()

    def _panel(self) -> Any:
        from rich.text import Text
        return Text(f"⏵ {self.current}   {time.perf_counter() - self.started:5.1f}s   {self.tokens} tokens",
                    style="bold cyan")

    def __call__(self, what: str, details: dict[str, Any]) -> None:
        with self._lock:
            if what == "model_call":
                self.tokens += details.get("tokens", 0)
            elif what == "task_started":
                self.current = f"{details['task']} ({details.get('agent') or 'manager'})"
            line = self._line(what, details)
            if line:
                self.live.console.print(f"[dim]{time.perf_counter() - self.started:6.1f}s[/dim] {line}")
            self.live.update(self._panel())

    def close(self) -> None:
        self.live.stop()


def progress_for(stream: TextIO | None = None) -> PlainProgress:
    stream = stream or sys.stderr
    return RichProgress() if stream.isatty() else PlainProgress(stream)
