"""The run store: every run, task, model call, tool call, delegation and approval, in SQLite.

Rows are written and committed as crewai's events arrive, so a crash or
``kill -9`` loses nothing that finished; a run still marked ``running`` whose
process is gone is marked ``interrupted`` the next time the store opens. Every
value is redacted on its way in.

Writers and readers are named for what they hold (``add_model_call``,
``approvals``); only this module knows the tables.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .redact import Redactor
from .status import ApprovalStatus, GateMode, RunStatus, TaskStatus

Row = dict[str, Any]

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, crew TEXT NOT NULL, inputs TEXT NOT NULL, profile TEXT NOT NULL,
    crew_hash TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    output TEXT, error TEXT, pid INTEGER, max_cost REAL, run_dir TEXT
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
CREATE TABLE IF NOT EXISTS kickoffs (
    run_id TEXT PRIMARY KEY REFERENCES runs(id), crew TEXT NOT NULL, llm TEXT, webhooks TEXT, meta TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY, crew TEXT NOT NULL, source TEXT NOT NULL, options TEXT NOT NULL,
    created_at TEXT NOT NULL, finished_at TEXT
);
CREATE TABLE IF NOT EXISTS batch_rows (
    batch_id TEXT NOT NULL REFERENCES batches(id), row INTEGER NOT NULL, inputs TEXT NOT NULL,
    run_id TEXT, error TEXT, failure TEXT, seconds REAL, PRIMARY KEY (batch_id, row)
);
CREATE TABLE IF NOT EXISTS flow_steps (
    run_id TEXT NOT NULL REFERENCES runs(id), seq INTEGER NOT NULL, method TEXT NOT NULL,
    round INTEGER NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    output TEXT, label TEXT, child_run TEXT, error TEXT, PRIMARY KEY (run_id, seq)
);
"""
# columns added since the first release: a store written before them gets them on open
ADDED_COLUMNS = {"runs": {"kind": "TEXT NOT NULL DEFAULT 'crew'", "parent_run": "TEXT"},
                 "flow_steps": {"state": "TEXT"}}  # the flow's state when the step finished

# a run's own records, in the order they refer to each other; `export_run` and `import_run` move them
RUN_TABLES = ("runs", "tasks", "model_calls", "tool_calls", "delegations", "approvals", "events")
_NUMBERED = {"model_calls", "tool_calls", "delegations", "events"}  # their ids are the receiving store's


def now() -> str:
    return datetime.now(UTC).isoformat()


class RunStore:
    """One SQLite file; safe to share between crewai's event-handler threads."""

    def __init__(self, path: Path, redactor: Redactor | None = None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.redact = redactor or Redactor()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            self._add_columns()
        self.mark_interrupted()

    def _add_columns(self) -> None:
        for table, columns in ADDED_COLUMNS.items():
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- runs --------------------------------------------------------------------------
    def create_run(self, *, id: str, crew: str, inputs: dict[str, Any], profile: str, crew_hash: str,
                   run_dir: str, max_cost: float | None = None, status: RunStatus = RunStatus.RUNNING,
                   started_at: str | None = None, pid: int | None = None, **finished: Any) -> None:
        # a queued run (see ``queue_run``) is taken over by its start; any other existing id is an error
        self._upsert("runs", {"id": id}, crew=crew, inputs=inputs, profile=profile, crew_hash=crew_hash,
                     status=status, started_at=started_at or now(), pid=pid if pid is not None else os.getpid(),
                     max_cost=max_cost, run_dir=run_dir, **finished)

    def queue_run(self, run_id: str, *, crew: str, inputs: dict[str, Any], llm: str | None,
                  webhooks: dict[str, str] | None = None, meta: Any = None, kind: str = "crew") -> None:
        """A run accepted by ``serve`` and not started yet: the run (``queued``) and how it was asked for,
        committed together, so an accepted kickoff survives any crash after its answer."""
        with self._lock:
            self._write("BEGIN", ())
            try:
                self._insert("runs", id=run_id, crew=crew, kind=kind, inputs=inputs, profile=llm or "", crew_hash="",
                             status=RunStatus.QUEUED, started_at=now(), pid=os.getpid(),
                             run_dir="")
                self._insert("kickoffs", run_id=run_id, crew=crew, llm=llm, webhooks=webhooks or {},
                             meta=meta, created_at=now())
                self._write("COMMIT", ())
            except BaseException:
                self._write("ROLLBACK", ())
                raise

    def kickoff(self, run_id: str) -> Row | None:
        """How a ``serve`` run was asked for (its webhooks and meta), or None for any other run."""
        rows = self.query("SELECT * FROM kickoffs WHERE run_id = ?", run_id)
        if not rows:
            return None
        found = rows[0]
        found["webhooks"] = json.loads(found["webhooks"] or "{}")
        found["meta"] = json.loads(found["meta"]) if found["meta"] is not None else None
        return found

    def queued_runs(self) -> list[Row]:
        """Runs accepted and not started, oldest first, with how they were asked for."""
        return self.query("SELECT r.id, r.crew, r.kind, r.inputs, k.llm FROM runs r JOIN kickoffs k ON k.run_id = r.id "
                          "WHERE r.status = ? ORDER BY r.started_at, r.rowid", RunStatus.QUEUED.value)

    def runs_with_status(self, status: RunStatus) -> list[str]:
        return [r["id"] for r in self.query("SELECT id FROM runs WHERE status = ? ORDER BY started_at", status.value)]

    def pending_approvals(self) -> list[Row]:
        """Every gate waiting for a person, oldest first, with its run's crew."""
        return self.query("SELECT a.*, r.crew FROM approvals a JOIN runs r ON r.id = a.run_id "
                          "WHERE a.status = ? AND r.status = ? ORDER BY a.requested_at",
                          ApprovalStatus.PENDING.value, RunStatus.AWAITING_APPROVAL.value)

    def restart_run(self, run_id: str) -> None:
        """A run picked up again (resume, approval) by this process."""
        self._update("runs", {"id": run_id}, status=RunStatus.RUNNING, pid=os.getpid(), finished_at=None, error=None)

    def finish_run(self, run_id: str, status: RunStatus, *, error: str | None = None,
                   output: str | None = None) -> None:
        # a run waiting for a person is not finished: it has no end time yet
        self._update("runs", {"id": run_id}, status=status, error=error, output=output,
                     finished_at=None if status == RunStatus.AWAITING_APPROVAL else now())

    def run(self, run_id: str) -> Row | None:
        """The run with this id, or the only one whose id starts with it."""
        run = self._by_id("runs", run_id)
        if run is not None:
            run["inputs"] = json.loads(run["inputs"])
        return run

    def require_run(self, run_id: str) -> Row:
        """Like ``run``, but a run that is not there is a ``RunNotFound`` saying where it looked."""
        row = self.run(run_id)
        if row is None:
            from .errors import RunNotFound
            from .problem import Problem
            raise RunNotFound(Problem(f"no run '{run_id}' in {self.path}", hint="see python main.py runs"))
        return row

    def runs(self, crew: str | None = None, limit: int = 20, *, batch: str | None = None,
             status: str | None = None) -> Iterator[Row]:
        """Newest first, each with its calls, tokens and cost summed."""
        where, args = [], []
        if crew:
            where.append("r.crew = ?")
            args.append(crew)
        if status:
            where.append("r.status = ?")
            args.append(status)
        if batch:
            where.append("r.id IN (SELECT run_id FROM batch_rows WHERE batch_id = ?)")
            args.append(batch)
        sql = (_RUN_TOTALS + (f"WHERE {' AND '.join(where)} " if where else "")
               + "GROUP BY r.id ORDER BY r.started_at DESC LIMIT ?")
        for row in self.query(sql, *args, limit):
            row["inputs"] = json.loads(row["inputs"])
            yield row

    def mark_interrupted(self) -> list[str]:
        """Runs left 'running' by a process that no longer exists."""
        rows = self.query("SELECT id, pid FROM runs WHERE status = ?", RunStatus.RUNNING.value)
        gone = [row["id"] for row in rows if not _alive(row["pid"])]
        for run_id in gone:
            self._update("runs", {"id": run_id}, status=RunStatus.INTERRUPTED, finished_at=now(),
                         error="the process running it stopped (crash or kill) before it finished")
            for table in ("tasks", "flow_steps"):
                self._write(f"UPDATE {table} SET status = ? WHERE run_id = ? AND status = ?",
                            (TaskStatus.INTERRUPTED.value, run_id, TaskStatus.RUNNING.value))
        return gone

    # --- tasks ---------------------------------------------------------------------------
    def save_task(self, run_id: str, key: str, *, position: int, status: TaskStatus, **fields: Any) -> None:
        """Insert the task's row, or replace the fields given."""
        self._upsert("tasks", {"run_id": run_id, "key": key}, position=position, status=status, **fields)

    def update_task(self, run_id: str, key: str, **fields: Any) -> None:
        """Change some fields of a task row that exists."""
        self._update("tasks", {"run_id": run_id, "key": key}, **fields)

    def tasks(self, run_id: str) -> list[Row]:
        rows = self.query("SELECT * FROM tasks WHERE run_id = ? ORDER BY position", run_id)
        for row in rows:
            row["structured"] = json.loads(row["structured"]) if row["structured"] else None
        return rows

    # --- calls and delegations -------------------------------------------------------------
    def add_model_call(self, run_id: str, *, task: str | None, agent: str | None, model: str, prompt_tokens: int,
                       completion_tokens: int, cost: float | None, latency_ms: float | None, error: str | None,
                       at: str) -> int:
        return self._insert("model_calls", run_id=run_id, task=task, agent=agent, model=model,
                            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cost=cost,
                            latency_ms=latency_ms, error=error, at=at)

    def add_tool_call(self, run_id: str, *, task: str | None, agent: str | None, tool: str, arguments: Any,
                      at: str, **finished: Any) -> int:
        return self._insert("tool_calls", run_id=run_id, task=task, agent=agent, tool=tool, arguments=arguments,
                            at=at, **finished)

    def finish_tool_call(self, call_id: int, *, finished_at: str, result_chars: int | None = None,
                         error: str | None = None) -> None:
        self._update("tool_calls", {"id": call_id}, result_chars=result_chars, error=error, finished_at=finished_at)

    def add_delegation(self, run_id: str, *, task: str | None, manager: str, coworker: str, kind: str,
                       request: str, at: str) -> int:
        return self._insert("delegations", run_id=run_id, task=task, manager=manager, coworker=coworker,
                            kind=kind, request=request, at=at)

    def add_event(self, run_id: str, kind: str, detail: Any = None, at: str | None = None) -> int:
        return self._insert("events", run_id=run_id, kind=kind, detail=detail, at=at or now())

    def model_calls(self, run_id: str) -> list[Row]:
        return self._rows("model_calls", run_id)

    def tool_calls(self, run_id: str) -> list[Row]:
        return self._rows("tool_calls", run_id)

    def delegations(self, run_id: str) -> list[Row]:
        return self._rows("delegations", run_id)

    def events(self, run_id: str) -> list[Row]:
        return self._rows("events", run_id)

    def since(self, table: str, run_id: str, after: int, *, family: bool = False) -> list[Row]:
        """The run's rows of a numbered table (model_calls, tool_calls, delegations, events) after id ``after``;
        with ``family``, those of the crew runs it started too."""
        if table not in _NUMBERED:
            raise ValueError(f"{table} has no numbered rows")
        which, ids = _whose(run_id, family)
        return self.query(f"SELECT * FROM {table} WHERE ({which}) AND id > ? ORDER BY id", *ids, after)

    def spent(self, run_id: str, *, family: bool = False) -> float:
        """What the run's model calls cost; with ``family``, those of the crew runs it started too."""
        which, ids = _whose(run_id, family)
        rows = self.query(f"SELECT COALESCE(SUM(cost), 0) AS cost FROM model_calls WHERE {which}", *ids)
        return float(rows[0]["cost"])

    # --- flow runs: their steps and the crew runs they started ---------------------------------
    def add_step(self, run_id: str, method: str, round: int) -> int:
        """A flow method starting (``round``: how many times it has started in this run); its seq."""
        with self._lock:
            seq = int(self.query("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM flow_steps WHERE run_id = ?",
                                 run_id)[0]["seq"])
            self._insert("flow_steps", run_id=run_id, seq=seq, method=method, round=round,
                         status=TaskStatus.RUNNING, started_at=now())
        return seq

    def update_step(self, run_id: str, seq: int, **fields: Any) -> None:
        self._update("flow_steps", {"run_id": run_id, "seq": seq}, **fields)

    def finish_step(self, run_id: str, seq: int, status: TaskStatus, **fields: Any) -> None:
        self._update("flow_steps", {"run_id": run_id, "seq": seq}, status=status, finished_at=now(), **fields)

    def steps(self, run_id: str) -> list[Row]:
        rows = self.query("SELECT * FROM flow_steps WHERE run_id = ? ORDER BY seq", run_id)
        for row in rows:
            row["output"] = json.loads(row["output"]) if row["output"] else None
            row["state"] = json.loads(row["state"]) if row["state"] else None
        return rows

    def children(self, run_id: str) -> list[Row]:
        """The crew runs a flow run started, oldest first."""
        return self.query("SELECT * FROM runs WHERE parent_run = ? ORDER BY started_at", run_id)

    def family_model_calls(self, run_id: str) -> list[Row]:
        """Model calls of a run and of every crew run it started."""
        which, ids = _whose(run_id, family=True)
        return self.query(f"SELECT * FROM model_calls WHERE {which} ORDER BY id", *ids)

    # --- approval gates -----------------------------------------------------------------------
    def request_approval(self, run_id: str, task: str, mode: GateMode, *, content: str,
                         status: ApprovalStatus = ApprovalStatus.PENDING, reason: str | None = None) -> None:
        decided = None if status == ApprovalStatus.PENDING else now()
        self._upsert("approvals", {"run_id": run_id, "task": task, "mode": mode}, status=status, content=content,
                     reason=reason, requested_at=now(), decided_at=decided)

    def decide_approval(self, run_id: str, task: str, mode: GateMode, status: ApprovalStatus,
                        reason: str | None) -> None:
        self._update("approvals", {"run_id": run_id, "task": task, "mode": mode}, status=status, reason=reason,
                     decided_at=now())

    def approvals(self, run_id: str) -> list[Row]:
        return self._rows("approvals", run_id)

    def gate_states(self, run_id: str) -> dict[tuple[str, GateMode], ApprovalStatus]:
        """(task, mode) -> decision so far, for every gate of the run."""
        return {(a["task"], GateMode(a["mode"])): ApprovalStatus(a["status"]) for a in self.approvals(run_id)}

    # --- batches -------------------------------------------------------------------------------
    def create_batch(self, id: str, *, crew: str, source: str, options: dict[str, Any],
                     rows: list[tuple[int, dict[str, Any], str | None]]) -> None:
        """A batch and its rows (number, inputs, the input error that keeps it from running).

        A row's ``failure`` is what stopped its run before the run was recorded (a worker that died)."""
        self._insert("batches", id=id, crew=crew, source=source, options=options, created_at=now())
        for number, inputs, error in rows:
            self._insert("batch_rows", batch_id=id, row=number, inputs=inputs, error=error)

    def set_batch_row(self, batch_id: str, row: int, **fields: Any) -> None:
        self._update("batch_rows", {"batch_id": batch_id, "row": row}, **fields)

    def finish_batch(self, batch_id: str) -> None:
        self._update("batches", {"id": batch_id}, finished_at=now())

    def batch(self, batch_id: str) -> Row | None:
        """The batch with this id, or the only one whose id starts with it."""
        found = self._by_id("batches", batch_id)
        if found is not None:
            found["options"] = json.loads(found["options"])
        return found

    def require_batch(self, batch_id: str) -> Row:
        """Like ``batch``, but a batch that is not there (or a prefix of several) is a ``RunNotFound``."""
        found = self.batch(batch_id)
        if found is not None:
            return found
        from .errors import RunNotFound
        from .problem import Problem
        several = [r["id"] for r in self.query("SELECT id FROM batches WHERE id LIKE ? ORDER BY id", f"{batch_id}%")]
        if several:
            raise RunNotFound(Problem(f"'{batch_id}' starts {len(several)} batch ids: {', '.join(several[:5])}",
                                      hint="give more of the id"))
        raise RunNotFound(Problem(f"no batch '{batch_id}' in {self.path}",
                                  hint="a batch id starts with 'batch-'; `python main.py batch` prints it"))

    def batch_rows(self, batch_id: str) -> list[Row]:
        """Every row with its run's status, output, tokens and cost (None before it has a run)."""
        sql = ("SELECT b.row, b.inputs, b.run_id, b.error AS input_error, b.failure, b.seconds, t.status, t.output, "
               "t.error, t.started_at, t.finished_at, t.calls, t.prompt_tokens, t.completion_tokens, t.tokens, "
               "t.cost, t.unpriced FROM batch_rows b "
               "LEFT JOIN (" + _RUN_TOTALS + "GROUP BY r.id) t ON t.id = b.run_id "
               "WHERE b.batch_id = ? ORDER BY b.row")
        rows = self.query(sql, batch_id)
        for row in rows:
            row["inputs"] = json.loads(row["inputs"])
        return rows

    # --- moving a run between stores (a Ray worker records into its own, the driver keeps it) ---------
    def export_run(self, run_id: str) -> dict[str, list[Row]]:
        return {table: self.query(f"SELECT * FROM {table} WHERE {'id' if table == 'runs' else 'run_id'} = ? "
                                  "ORDER BY rowid", run_id) for table in RUN_TABLES}

    def import_run(self, records: dict[str, list[Row]]) -> None:
        """Add a run exported from another store; a run already here (a retried worker) is replaced."""
        run_id = records["runs"][0]["id"]
        with self._lock:
            self._write("BEGIN", ())
            try:
                for table in reversed(RUN_TABLES):
                    self._write(f"DELETE FROM {table} WHERE {'id' if table == 'runs' else 'run_id'} = ?", (run_id,))
                for table in RUN_TABLES:
                    for row in records.get(table, []):
                        fields = {k: v for k, v in row.items() if not (table in _NUMBERED and k == "id")}
                        self._insert(table, **fields)
                self._write("COMMIT", ())
            except BaseException:
                self._write("ROLLBACK", ())
                raise

    # --- SQL, kept in here ---------------------------------------------------------------------
    def query(self, sql: str, *args: Any) -> list[Row]:
        with self._lock:
            return [dict(row) for row in self._db.execute(sql, args).fetchall()]

    def _by_id(self, table: str, key: str) -> Row | None:
        """The row of ``table`` with this id, or the only one whose id starts with it."""
        rows = self.query(f"SELECT * FROM {table} WHERE id = ?", key)
        if not rows:
            rows = self.query(f"SELECT * FROM {table} WHERE id LIKE ? LIMIT 2", f"{key}%")
        return rows[0] if len(rows) == 1 else None

    def _rows(self, table: str, run_id: str) -> list[Row]:
        return self.query(f"SELECT * FROM {table} WHERE run_id = ? ORDER BY rowid", run_id)

    def _write(self, sql: str, values: tuple[Any, ...]) -> int:
        clean = tuple(self.redact.value(v) for v in values)
        with self._lock:
            cursor = self._db.execute(sql, clean)
            return int(cursor.lastrowid or 0)

    def _insert(self, table: str, **fields: Any) -> int:
        fields = _encoded(fields)
        names = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        return self._write(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(fields.values()))

    def _update(self, table: str, where: dict[str, Any], **fields: Any) -> None:
        fields = _encoded(fields)
        sets = ", ".join(f"{k} = ?" for k in fields)
        cond = " AND ".join(f"{k} = ?" for k in where)
        self._write(f"UPDATE {table} SET {sets} WHERE {cond}", (*fields.values(), *_encoded(where).values()))

    def _upsert(self, table: str, key: dict[str, Any], **fields: Any) -> None:
        fields = _encoded(fields)
        columns = {**_encoded(key), **fields}
        sets = ", ".join(f"{k} = excluded.{k}" for k in fields)
        self._write(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
                    f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}", tuple(columns.values()))


_RUN_TOTALS = ("SELECT r.*, COALESCE(SUM(m.prompt_tokens), 0) AS prompt_tokens, "
               "COALESCE(SUM(m.completion_tokens), 0) AS completion_tokens, "
               "COALESCE(SUM(m.prompt_tokens + m.completion_tokens), 0) AS tokens, SUM(m.cost) AS cost, "
               "COUNT(m.id) AS calls, COUNT(m.id) - COUNT(m.cost) AS unpriced "
               "FROM runs r LEFT JOIN model_calls m ON m.run_id = r.id "
               # a flow run's totals are its crew runs'
               "OR m.run_id IN (SELECT c.id FROM runs c WHERE c.parent_run = r.id) ")


def _whose(run_id: str, family: bool) -> tuple[str, list[str]]:
    """A WHERE clause for a run's rows, with ``family`` those of the crew runs it started too."""
    if family:
        return "run_id = ? OR run_id IN (SELECT id FROM runs WHERE parent_run = ?)", [run_id, run_id]
    return "run_id = ?", [run_id]


def _encoded(fields: dict[str, Any]) -> dict[str, Any]:
    """Mappings and lists are stored as JSON text, statuses as their plain values."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, default=str)
        elif isinstance(value, str):
            value = str(value)  # a StrEnum member as its plain text
        out[key] = value
    return out


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
