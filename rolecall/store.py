"""The run store: every run, task, model call, tool call, delegation and approval, in SQLite.

Rows are written and committed as crewai's events arrive, so a crash or
``kill -9`` loses nothing that finished; a run still marked ``running`` whose
process is gone is marked ``interrupted`` the next time the store opens.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from .redact import Redactor

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, crew TEXT NOT NULL, inputs TEXT NOT NULL, profile TEXT NOT NULL,
    crew_hash TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    output TEXT, error TEXT, pid INTEGER, resumed_from TEXT, max_cost REAL, run_dir TEXT
);
CREATE TABLE IF NOT EXISTS tasks (
    run_id TEXT NOT NULL REFERENCES runs(id), key TEXT NOT NULL, position INTEGER NOT NULL,
    agent TEXT, role TEXT, status TEXT NOT NULL, output TEXT, structured TEXT,
    started_at TEXT, finished_at TEXT, error TEXT, carried_over INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS model_calls (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id), task TEXT, agent TEXT, model TEXT,
    prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cost REAL,
    latency_ms REAL, error TEXT, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tool_calls (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id), task TEXT, agent TEXT, tool TEXT NOT NULL,
    arguments TEXT, result_chars INTEGER, error TEXT, at TEXT NOT NULL, finished_at TEXT
);
CREATE TABLE IF NOT EXISTS delegations (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id), task TEXT, manager TEXT NOT NULL,
    coworker TEXT NOT NULL, kind TEXT NOT NULL, request TEXT, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
    run_id TEXT NOT NULL REFERENCES runs(id), task TEXT NOT NULL, mode TEXT NOT NULL, status TEXT NOT NULL,
    content TEXT, reason TEXT, requested_at TEXT NOT NULL, decided_at TEXT,
    PRIMARY KEY (run_id, task, mode)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id), kind TEXT NOT NULL,
    detail TEXT, at TEXT NOT NULL
);
"""

FINISHED = ("completed", "failed", "interrupted", "rejected", "stopped")


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


class RunStore:
    """One SQLite file; safe to share between crewai's event-handler threads."""

    def __init__(self, path: Path, redactor: Redactor | None = None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.redact = redactor or Redactor.from_environment()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        self.mark_interrupted()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- writing: one committed statement per fact --------------------------------
    def _write(self, sql: str, values: tuple[Any, ...]) -> int:
        clean = tuple(self.redact.value(v) for v in values)
        with self._lock:
            cursor = self._db.execute(sql, clean)
            return int(cursor.lastrowid or 0)

    def insert(self, table: str, **fields: Any) -> int:
        fields = _encoded(fields)
        names = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        return self._write(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(fields.values()))

    def update(self, table: str, where: dict[str, Any], **fields: Any) -> None:
        fields = _encoded(fields)
        sets = ", ".join(f"{k} = ?" for k in fields)
        cond = " AND ".join(f"{k} = ?" for k in where)
        self._write(f"UPDATE {table} SET {sets} WHERE {cond}", (*fields.values(), *where.values()))

    def upsert(self, table: str, key: dict[str, Any], **fields: Any) -> None:
        """Insert the row with primary key ``key``, or update its ``fields`` if it exists."""
        fields = _encoded(fields)
        columns = {**key, **fields}
        sets = ", ".join(f"{k} = excluded.{k}" for k in fields)
        self._write(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
                    f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}", tuple(columns.values()))

    def mark_interrupted(self) -> list[str]:
        """Runs left 'running' by a process that no longer exists."""
        with self._lock:
            rows = self._db.execute("SELECT id, pid FROM runs WHERE status = 'running'").fetchall()
        gone = [row["id"] for row in rows if not _alive(row["pid"])]
        for run_id in gone:
            self.update("runs", {"id": run_id}, status="interrupted", finished_at=now(),
                        error="the process running it stopped (crash or kill) before it finished")
            self._write("UPDATE tasks SET status = 'interrupted' WHERE run_id = ? AND status = 'running'", (run_id,))
        return gone

    # --- reading ---------------------------------------------------------------
    def query(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(row) for row in self._db.execute(sql, args).fetchall()]

    def run(self, run_id: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM runs WHERE id = ?", run_id)
        if not rows:
            rows = self.query("SELECT * FROM runs WHERE id LIKE ? ORDER BY started_at DESC", f"{run_id}%")
            if len(rows) != 1:
                return None
        run = rows[0]
        run["inputs"] = json.loads(run["inputs"])
        return run

    def tasks(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.query("SELECT * FROM tasks WHERE run_id = ? ORDER BY position", run_id)
        for row in rows:
            row["structured"] = json.loads(row["structured"]) if row["structured"] else None
        return rows

    def rows(self, table: str, run_id: str) -> list[dict[str, Any]]:
        return self.query(f"SELECT * FROM {table} WHERE run_id = ? ORDER BY rowid", run_id)

    def runs(self, crew: str | None = None, limit: int = 20) -> Iterator[dict[str, Any]]:
        sql = ("SELECT r.*, COALESCE(SUM(m.prompt_tokens + m.completion_tokens), 0) AS tokens, "
               "SUM(m.cost) AS cost, COUNT(m.id) AS calls FROM runs r LEFT JOIN model_calls m ON m.run_id = r.id "
               + ("WHERE r.crew = ? " if crew else "") + "GROUP BY r.id ORDER BY r.started_at DESC LIMIT ?")
        yield from self.query(sql, *((crew,) if crew else ()), limit)

    def spent(self, run_id: str) -> float:
        rows = self.query("SELECT COALESCE(SUM(cost), 0) AS cost FROM model_calls WHERE run_id = ?", run_id)
        return float(rows[0]["cost"])


def _encoded(fields: dict[str, Any]) -> dict[str, Any]:
    """Mappings and lists are stored as JSON text."""
    return {k: json.dumps(v, default=str) if isinstance(v, (dict, list)) else v for k, v in fields.items()}


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"
