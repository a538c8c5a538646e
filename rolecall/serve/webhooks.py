"""Webhooks: a POST to the kickoff's URLs on each task, step (model or tool call) and crew completion.

Each body is ``{"kind", "kickoff_id", "crew", "data", "meta"}`` with the kickoff's ``meta``
echoed back. A delivery is retried with exponential backoff; every delivery and every final
failure is recorded with the run (events ``webhook_delivered`` / ``webhook_failed``), so
``GET /runs/{id}`` shows what the receiver was sent. Deliveries of one run go in order.
A server restarted mid-run goes on watching; what changed while it was down is sent as one
change per task and the crew's end, not replayed step by step.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool

from ..status import RunStatus
from ..store import RunStore
from .live import Change, RunWatch

KINDS = ("task", "step", "crew")
ATTEMPTS = 4
FIRST_WAIT = 0.5  # seconds before the second attempt; doubled each time after
POLL_SECONDS = 0.25


def parse(body: dict[str, Any]) -> dict[str, str]:
    """The kickoff's webhook URLs by kind, from ``webhooks: {task, step, crew}`` or CrewAI's
    ``taskWebhookUrl`` / ``stepWebhookUrl`` / ``crewWebhookUrl``; ``ValueError`` says what is wrong."""
    given = body.get("webhooks") or {}
    if not isinstance(given, dict):
        raise ValueError("'webhooks' must be an object: {\"task\": URL, \"step\": URL, \"crew\": URL}")
    urls = dict(given)
    for kind in KINDS:
        if body.get(f"{kind}WebhookUrl"):
            urls[kind] = body[f"{kind}WebhookUrl"]
    for kind, url in urls.items():
        if kind not in KINDS:
            raise ValueError(f"unknown webhook '{kind}' (known: {', '.join(KINDS)})")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 2000:
            raise ValueError(f"webhook '{kind}' must be an http:// or https:// URL")
    return urls


def deliveries(change: Change) -> list[tuple[str, dict[str, Any]]]:
    """The webhook kinds a change is sent to, with what they carry."""
    if change.kind == "task" and change.data["status"] in ("completed", "awaiting_approval", "failed"):
        return [("task", change.data)]
    if change.kind in ("model_call", "tool_call"):
        return [("step", {"type": change.kind, **change.data})]
    if change.kind == "run" and RunStatus(change.data["status"]).finished:
        return [("crew", change.data)]
    return []


Post = Callable[[str, dict[str, Any]], Awaitable[int]]


class Webhooks:
    def __init__(self, store: RunStore, post: Post | None = None):
        self.store = store
        self._post = post or _post
        self._following: dict[str, asyncio.Task[None]] = {}

    def follow(self, run_id: str) -> None:
        """Start sending the run's changes to its webhooks (nothing to do for a run without any)."""
        if run_id not in self._following:
            self._following[run_id] = asyncio.get_running_loop().create_task(self._run(run_id))

    async def recover(self) -> None:
        """Follow again every unfinished run that has webhooks (a restarted server)."""
        for status in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.AWAITING_APPROVAL, RunStatus.INTERRUPTED):
            for run_id in await run_in_threadpool(self.store.runs_with_status, status):
                self.follow(run_id)

    async def stop(self) -> None:
        for task in self._following.values():
            task.cancel()
        await asyncio.gather(*self._following.values(), return_exceptions=True)

    async def _run(self, run_id: str) -> None:
        kickoff = await run_in_threadpool(self.store.kickoff, run_id)
        if not kickoff or not kickoff["webhooks"]:
            self._following.pop(run_id, None)
            return
        urls, watch = kickoff["webhooks"], RunWatch(self.store, run_id)
        try:
            while True:
                for change in await run_in_threadpool(watch.changes):
                    for kind, data in deliveries(change):
                        if kind in urls:
                            await self._deliver(run_id, kind, urls[kind], {
                                "kind": kind, "kickoff_id": run_id, "crew": kickoff["crew"], "data": data,
                                "meta": kickoff["meta"]})
                if watch.finished:
                    return
                await asyncio.sleep(POLL_SECONDS)
        finally:
            self._following.pop(run_id, None)

    async def _deliver(self, run_id: str, kind: str, url: str, body: dict[str, Any]) -> None:
        body = _redacted(self.store, body)
        wait, error = FIRST_WAIT, ""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                status = await self._post(url, body)
                if status < 300:
                    await run_in_threadpool(self.store.add_event, run_id, "webhook_delivered",
                                            {"kind": kind, "url": url, "attempts": attempt, "status": status})
                    return
                error = f"HTTP {status}"
            except (httpx.HTTPError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            if attempt < ATTEMPTS:
                await asyncio.sleep(wait)
                wait *= 2
        await run_in_threadpool(self.store.add_event, run_id, "webhook_failed",
                                {"kind": kind, "url": url, "attempts": ATTEMPTS, "error": error})


def _redacted(store: RunStore, body: dict[str, Any]) -> dict[str, Any]:
    import json
    return dict(json.loads(store.redact.text(json.dumps(body, default=str))))


async def _post(url: str, body: dict[str, Any]) -> int:
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.post(url, json=body)
        return response.status_code
