"""The API's routes: crews, kickoff, status, approval decisions, runs, reports and live events.

Per crew at ``/crews/{name}/...``; with one crew named on the command line, also at the
root (``/inputs``, ``/kickoff``, ``/status/{id}``, ``/resume``) in the shapes CrewAI's hosted
API uses: ``GET /inputs`` -> ``{"inputs": [names]}``, ``POST /kickoff`` -> ``{"kickoff_id"}``,
``GET /status/{id}`` -> ``{"state": "SUCCESS", "status": "SUCCESS", "result": ...}`` (CrewAI's
own client tool reads ``state``). Store reads and writes run in the thread pool: SQLite blocks.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from ..errors import InputError, RunStateError
from ..flow_approval import decide_run
from ..problem import Problem, did_you_mean
from ..status import ApprovalStatus, RunStatus
from ..store import Row, RunStore
from . import webhooks
from .answers import ApiError, answer, read_json
from .catalog import Catalog, describe, input_schema
from .kickoffs import Kickoffs
from .live import RunWatch

# rolecall's run status -> the `state` CrewAI's hosted API answers with
STATE = {RunStatus.QUEUED: "PENDING", RunStatus.RUNNING: "RUNNING", RunStatus.COMPLETED: "SUCCESS",
         RunStatus.FAILED: "FAILED", RunStatus.STOPPED: "FAILED", RunStatus.REJECTED: "FAILED",
         RunStatus.AWAITING_APPROVAL: "PENDING_APPROVAL", RunStatus.INTERRUPTED: "INTERRUPTED"}
KICKOFF_KEYS = ("inputs", "webhooks", "meta", "taskWebhookUrl", "stepWebhookUrl", "crewWebhookUrl")
RESUME_KEYS = ("execution_id", "task_id", "human_feedback", "is_approve")
STREAM_POLL, HEARTBEAT = 0.15, 15.0  # seconds between looks at the store; between keep-alives
_deciding = threading.Lock()  # one decision at a time: a second decision on a gate must find it decided


def catalog(request: Request) -> Catalog:
    found: Catalog = request.app.state.catalog
    return found


def store(request: Request) -> RunStore:
    found: RunStore = request.app.state.store
    return found


def kickoffs(request: Request) -> Kickoffs:
    found: Kickoffs = request.app.state.kickoffs
    return found


def crew_name(request: Request) -> str:
    name = request.path_params.get("name") or catalog(request).only
    assert name is not None, "root crew routes exist only when one crew is served"
    catalog(request).crew(name)  # unknown or invalid: 404 / 409
    return str(name)


# --- routes -------------------------------------------------------------------------------

async def health(request: Request) -> Response:
    return answer(request, {"status": "ok"})


async def list_crews(request: Request) -> Response:
    found = catalog(request)
    invalid = {name: [p.render() for p in problems] for name, problems in found.broken.items()}
    return answer(request, {"crews": [describe(c) for c in found.crews.values()],
                            "flows": [describe(f) for f in found.flows.values()], "invalid": invalid})


async def crew_inputs(request: Request) -> Response:
    crew = catalog(request).crew(crew_name(request))
    return answer(request, {"inputs": [i.name for i in crew.inputs], "schema": [input_schema(i) for i in crew.inputs]})


async def kickoff(request: Request) -> Response:
    name = crew_name(request)
    body = await read_json(request)
    _only_keys(body, KICKOFF_KEYS, '{"inputs": {...}, "webhooks": {"task": URL, "step": URL, "crew": URL}, '
                                   '"meta": {...}}')
    given = body.get("inputs", {})
    missing = catalog(request).missing(name, given) if isinstance(given, dict) else []
    if missing:
        raise ApiError(422, "missing_inputs", f"missing required inputs: {', '.join(missing)}",
                       hint=f"GET /crews/{name}/inputs lists them", details={"missing_inputs": missing})
    values = catalog(request).bind(name, given)
    try:
        urls = webhooks.parse(body)
    except ValueError as exc:
        raise ApiError(422, "invalid_webhooks", str(exc)) from None
    # on the event loop, not in the thread pool: the write takes about a millisecond (WAL, no fsync, its own
    # connection), and a hop to a thread and back can wait for the GIL longer than that under load
    run_id = kickoffs(request).kickoff(name, values, webhooks=urls, meta=body.get("meta"),
                                       flow=catalog(request).is_flow(name))
    if urls:
        request.app.state.webhooks.follow(run_id)
    return answer(request, {"kickoff_id": run_id})


async def crew_status(request: Request) -> Response:
    name = crew_name(request)
    run = await _run(request, request.path_params["kickoff_id"], crew=name)
    tasks = await run_in_threadpool(store(request).tasks, run["id"])
    gates = await run_in_threadpool(store(request).approvals, run["id"])
    found = status_of(run, tasks, gates)
    if run["kind"] == "flow":  # rolecall's own addition: the steps taken so far, each with its crew run
        steps = await run_in_threadpool(store(request).steps, run["id"])
        found["steps"] = [{"method": s["method"], "round": s["round"], "status": s["status"], "label": s["label"],
                           "crew_run": s["child_run"]} for s in steps]
    return answer(request, found)


async def crew_resume(request: Request) -> Response:
    """An approval gate's decision (CrewAI's human-in-the-loop shape); the run goes on in a worker.

    The gate may be a crew run's, a flow's ``human_feedback`` step (``name`` is the flow's), or a gate
    of a crew run a flow started; then the flow run is what goes on."""
    name = request.path_params.get("name") or catalog(request).only
    body = await read_json(request)
    _only_keys(body, RESUME_KEYS,
               '{"execution_id": ID, "task_id": TASK, "human_feedback": TEXT, "is_approve": true}')
    run_id, approve = body.get("execution_id"), body.get("is_approve")
    if not isinstance(run_id, str) or not run_id:
        raise ApiError(422, "invalid", "'execution_id' (the kickoff id) is required", hint="a string")
    if not isinstance(approve, bool):
        raise ApiError(422, "invalid", "'is_approve' must be true or false")
    task, feedback = body.get("task_id"), body.get("human_feedback")
    if task is not None and not isinstance(task, str) or feedback is not None and not isinstance(feedback, str):
        raise ApiError(422, "invalid", "'task_id' and 'human_feedback' must be strings")
    run = await _run(request, run_id, crew=name)
    if not approve and not (feedback or "").strip():
        raise InputError(Problem("a rejection needs human_feedback",
                                 hint="say what to change; the task is redone with it"))

    # what the run shows now goes to its webhooks first: a task redone after a rejection overwrites its row
    await request.app.state.webhooks.settle(run["id"])

    def decided() -> Any:
        with _deciding:
            return decide_run(store(request), run, approve, (feedback or None), task or None)
    decision = await run_in_threadpool(decided)
    going_on = run if decision.run_id == run["id"] else await _run(request, decision.run_id)
    if not decision.ends_run:
        kickoffs(request).resume(going_on["id"], going_on["crew"])
    # the run goes on, or ends rejected: its webhooks say so
    request.app.state.webhooks.follow(going_on["id"], resuming=not decision.ends_run)
    return answer(request, {"execution_id": run["id"], "task_id": decision.task, "decision": str(decision.status),
                            "status": "rejected" if decision.ends_run else "resumed", "run_id": going_on["id"]})


async def list_runs(request: Request) -> Response:
    crew, status = request.query_params.get("crew"), request.query_params.get("status")
    if status and status not in set(RunStatus):
        raise ApiError(422, "invalid", f"unknown status '{status}'",
                       hint=did_you_mean(status, list(RunStatus)) or f"one of {', '.join(RunStatus)}")
    limit = _limit(request.query_params.get("limit", "50"))
    rows = await run_in_threadpool(lambda: list(store(request).runs(crew, limit, status=status)))
    return answer(request, {"runs": [summary_of(r) for r in rows]})


async def run_record(request: Request) -> Response:
    run = await _run(request, request.path_params["run_id"])
    return answer(request, await run_in_threadpool(record_of, store(request), run))


async def run_resume(request: Request) -> Response:
    """Go on with an interrupted, failed or stopped run (its finished tasks are kept)."""
    run = await _run(request, request.path_params["run_id"])
    if run.get("parent_run"):  # alone it would finish the crew but leave its flow where it stopped
        raise RunStateError(Problem(f"run {run['id']} is a step of flow run {run['parent_run']}",
                                    hint=f"resume the flow: POST /runs/{run['parent_run']}/resume"))
    status = RunStatus(run["status"])
    if status == RunStatus.AWAITING_APPROVAL:
        gates = await run_in_threadpool(store(request).approvals, run["id"])
        if any(g["status"] == ApprovalStatus.PENDING for g in gates):
            raise RunStateError(Problem(f"run {run['id']} waits for an approval",
                                        hint=f"decide it: POST /crews/{run['crew']}/resume"))
    elif not status.resumable or run["id"] in kickoffs(request).active:
        raise RunStateError(Problem(f"run {run['id']} is {status}; there is nothing to resume"))
    kickoffs(request).resume(run["id"], run["crew"])
    request.app.state.webhooks.follow(run["id"], resuming=True)
    return answer(request, {"run_id": run["id"], "status": "resuming"}, 202)


async def run_report(request: Request) -> Response:
    from ..report.data import load_run
    from ..report.page import render_page
    run = await _run(request, request.path_params["run_id"])
    page = await run_in_threadpool(lambda: render_page(load_run(request.app.state.project, run["id"])))
    return HTMLResponse(page)


async def run_events(request: Request) -> Response:
    run = await _run(request, request.path_params["run_id"])
    redactor = request.app.state.redactor

    async def stream() -> AsyncIterator[str]:
        watch, number, quiet_since = RunWatch(store(request), run["id"]), 0, time.monotonic()
        yield "retry: 2000\n\n"
        while True:
            for change in await run_in_threadpool(watch.changes):
                number += 1
                data = redactor.text(json.dumps(change.data, default=str))
                yield f"id: {number}\nevent: {change.kind}\ndata: {data}\n\n"
                quiet_since = time.monotonic()
            if watch.finished:
                yield "event: end\ndata: {}\n\n"
                return
            if time.monotonic() - quiet_since > HEARTBEAT:
                yield ": still here\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(STREAM_POLL)
    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def pending_approvals(request: Request) -> Response:
    rows = await run_in_threadpool(store(request).pending_approvals)
    return answer(request, {"approvals": rows})


# --- shapes ---------------------------------------------------------------------------------

def status_of(run: Row, tasks: list[Row], gates: list[Row]) -> dict[str, Any]:
    state = STATE[RunStatus(run["status"])]
    done = [t for t in tasks if t["status"] == "completed"]
    pending = [g for g in gates if g["status"] == ApprovalStatus.PENDING]
    found: dict[str, Any] = {
        "kickoff_id": run["id"], "state": state, "status": state, "run_status": run["status"],
        "result": run["output"], "error": run["error"],
        "last_executed_task": {"task_id": done[-1]["key"], "output": done[-1]["output"]} if done else None,
        "tasks": [{"task_id": t["key"], "status": t["status"], "agent": t["agent"]} for t in tasks]}
    if pending:
        found["pending_approval"] = {"task_id": pending[0]["task"], "mode": pending[0]["mode"],
                                     "content": pending[0]["content"]}
    return found


def summary_of(row: Row) -> dict[str, Any]:
    keys = ("id", "crew", "status", "profile", "inputs", "started_at", "finished_at", "error", "calls", "tokens",
            "cost")
    return {k: row.get(k) for k in keys}


def record_of(store: RunStore, run: Row) -> dict[str, Any]:
    """The run as the store holds it: every task, call, delegation, approval and event."""
    kickoff = store.kickoff(run["id"])
    return {"run": run, "tasks": store.tasks(run["id"]),
            "model_calls": store.model_calls(run["id"]), "tool_calls": store.tool_calls(run["id"]),
            "delegations": store.delegations(run["id"]), "approvals": store.approvals(run["id"]),
            "events": store.events(run["id"]),
            "kickoff": {"webhooks": kickoff["webhooks"], "meta": kickoff["meta"]} if kickoff else None}


async def _run(request: Request, run_id: str, crew: str | None = None) -> Row:
    row = await run_in_threadpool(store(request).run, run_id)
    if row is None:  # not RunNotFound's message: it names the store's path on this machine
        raise ApiError(404, "unknown_run", f"no run '{run_id}'", hint="GET /runs lists the recent runs")
    if crew is not None and row["crew"] != crew:
        raise ApiError(404, "unknown_run", f"run '{run_id}' is not a run of crew '{crew}'",
                       hint=f"it is a run of '{row['crew']}'")
    return row


def _only_keys(body: dict[str, Any], known: tuple[str, ...], example: str) -> None:
    unknown = [k for k in body if k not in known]
    if unknown:
        hint = did_you_mean(unknown[0], known) or f"the body is {example}"
        raise ApiError(422, "invalid", f"unknown field '{unknown[0]}'", hint=hint)


def _limit(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= 1000:
        raise ApiError(422, "invalid", f"limit must be a whole number from 1 to 1000, not '{text}'")
    return int(text)


def api_routes(one_crew: bool) -> list[Route]:
    routes = [Route("/health", health), Route("/crews", list_crews),
              Route("/crews/{name}/inputs", crew_inputs), Route("/crews/{name}/kickoff", kickoff, methods=["POST"]),
              Route("/crews/{name}/status/{kickoff_id}", crew_status),
              Route("/crews/{name}/resume", crew_resume, methods=["POST"]),
              Route("/runs", list_runs), Route("/runs/{run_id}", run_record),
              Route("/runs/{run_id}/resume", run_resume, methods=["POST"]),
              Route("/runs/{run_id}/report", run_report), Route("/runs/{run_id}/events", run_events),
              Route("/approvals", pending_approvals)]
    if one_crew:  # CrewAI's hosted API serves one crew at the root
        routes += [Route("/inputs", crew_inputs), Route("/kickoff", kickoff, methods=["POST"]),
                   Route("/status/{kickoff_id}", crew_status), Route("/resume", crew_resume, methods=["POST"])]
    return routes
