"""What crewai says while a crew runs goes to the run record, not the terminal.

crewai logs through the root logger (``logging.error`` there installs a stderr handler
on first use), through ``crewai.*`` loggers, and prints rich panels and warnings to
stdout (``[CrewAIEventsBus] Warning: ...``). During a run rolecall's progress is the only
voice on the terminal: each of those lines becomes a ``crewai_log`` or ``crewai_output``
event of the run, redacted like everything else in the store.
"""
from __future__ import annotations

import io
import logging
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .store import RunStore

MAX_EVENTS = 500  # per run: a chatty failure loop must not fill the store
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _Sink:
    """Counts and stores lines for one run, up to ``MAX_EVENTS``."""

    def __init__(self, store: RunStore, run_id: str):
        self.store, self.run_id = store, run_id
        self.count = 0
        self._lock = threading.Lock()

    def add(self, kind: str, detail: dict[str, str]) -> None:
        with self._lock:
            self.count += 1
            if self.count <= MAX_EVENTS:
                self.store.add_event(self.run_id, kind, detail)
            elif self.count == MAX_EVENTS + 1:
                self.store.add_event(self.run_id, kind, {"message": f"(more than {MAX_EVENTS} lines; the rest "
                                                                    f"were not kept)"})


class _LogHandler(logging.Handler):
    def __init__(self, sink: _Sink):
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string in someone's log call is still not our crash
            message = str(record.msg)
        self.sink.add("crewai_log", {"level": record.levelname.lower(), "logger": record.name, "message": message})


class _Lines(io.TextIOBase):
    """A stdout stand-in that stores each finished, non-blank line."""

    def __init__(self, sink: _Sink):
        self.sink, self.pending = sink, ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self.pending += text
            *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self._store(line)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            line, self.pending = self.pending, ""
        self._store(line)

    def isatty(self) -> bool:
        return False  # rich then prints plain text, no cursor tricks

    def _store(self, line: str) -> None:
        clean = _ANSI.sub("", line).rstrip()
        if clean.strip(" ╭╮╰╯─│"):  # skip the frame lines of rich's panels
            self.sink.add("crewai_output", {"message": clean})


@contextmanager
def crewai_output_recorded(store: RunStore, run_id: str) -> Iterator[None]:
    """While the block runs, logs of WARNING and above and anything printed to stdout are run events."""
    sink = _Sink(store, run_id)
    handler = _LogHandler(sink)
    root = logging.getLogger()
    saved_handlers, saved_stdout = root.handlers[:], sys.stdout
    root.handlers = [handler]  # also keeps logging.error() from installing its stderr handler
    lines = _Lines(sink)
    sys.stdout = lines
    try:
        yield
    finally:
        lines.flush()
        sys.stdout = saved_stdout
        root.handlers = saved_handlers
