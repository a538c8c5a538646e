"""Webhooks: a POST to the kickoff's URLs on each task, step (model or tool call) and crew completion.

Each body is ``{"kind", "delivery", "kickoff_id", "crew", "data", "meta"}`` with the kickoff's
``meta`` echoed back; ``delivery`` names the change, so a receiver can drop a repeat. A delivery
is retried with exponential backoff; every delivery and every final failure is recorded with
the run (events ``webhook_delivered`` / ``webhook_failed``), so ``GET /runs/{id}`` shows what
the receiver was sent. Deliveries of one run go in the order they are seen (those taken just
before a decision are sent beside the watcher's, not behind it), and each is made once: its key is
recorded with it, so a resumed run or a restarted server (which goes on watching) sends only
what was not sent yet; only a delivery in flight when the server was killed, received but not
yet recorded, is sent again (at least once, never lost).
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool

from ..status import ApprovalStatus, RunStatus
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


ENDS = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.STOPPED, RunStatus.REJECTED)  # the crew webhook's


def deliveries(change: Change) -> list[tuple[str, str, dict[str, Any]]]:
    """(webhook kind, a key naming this delivery, what it carries) for each webhook a change goes to.

    The key makes a delivery happen once, even when a resumed run or a restarted server shows the
    change again. A task's key is its end time: one delivery each time it is done (a task redone
    after a rejection is news), whether the store shows it ``completed`` or, an instant later, its
    output ``awaiting_approval``; the decision itself is no task completion."""
    data = change.data
    if change.kind == "task" and data["status"] in ("completed", "awaiting_approval", "failed"):
        return [("task", f"task:{data['task']}:{data['finished_at']}", data)]
    if change.kind in ("model_call", "tool_call"):
        return [("step", f"step:{change.kind}:{data['id']}", {"type": change.kind, **data})]
    if change.kind == "run" and data["status"] in ENDS:
        return [("crew", f"crew:{data['status']}", data)]
    return []


Post = Callable[[str, dict[str, Any]], Awaitable[int]]


class Webhooks:
    def __init__(self, store: RunStore, post: Post | None = None):
        self.store = store
        self._post = post or _post
        self._following: dict[str, asyncio.Task[None]] = {}
        self._resumed: set[str] = set()
        self._sent: dict[str, set[str]] = {}  # per run: the deliveries made, shared by whoever delivers
        self._locks: dict[str, asyncio.Lock] = {}  # per run: one pass over its changes at a time
        self._settling: set[asyncio.Task[None]] = set()

    def follow(self, run_id: str, *, resuming: bool = False) -> None:
        """Send the run's changes to its webhooks until it ends or pauses (nothing to do for a run without
        any). A paused run (waiting for a person, interrupted) is followed again when it is resumed."""
        if run_id not in self._following:
            self._following[run_id] = asyncio.get_running_loop().create_task(self._run(run_id, resuming))
        elif resuming:  # its watcher may be about to stop at the pause this resume ends
            self._resumed.add(run_id)

    async def recover(self) -> None:
        """Follow again every run that has webhooks and may still change (a restarted server)."""
        for status in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.AWAITING_APPROVAL):
            for run_id in await run_in_threadpool(self.store.runs_with_status, status):
                self.follow(run_id)

    async def settle(self, run_id: str) -> None:
        """Deliver what the run's store shows now and no webhook has carried yet; called before a decision
        lets the run go on. A task redone after a rejection overwrites its row: a watcher that had not
        looked since the task was done would never see that first completion."""
        kickoff = await run_in_threadpool(self.store.kickoff, run_id)
        if kickoff and kickoff["webhooks"]:
            due = await self._due(run_id, kickoff, RunWatch(self.store, run_id))
            if due:  # taken now, sent in the background: a slow receiver must not hold up the decision
                task = asyncio.get_running_loop().create_task(self._send_all(run_id, due))
                self._settling.add(task)
                task.add_done_callback(self._settling.discard)

    async def _send_all(self, run_id: str, due: list[tuple[str, str, str, Any]]) -> None:
        for kind, key, url, body in due:
            await self._deliver(run_id, kind, key, url, body)

    async def stop(self) -> None:
        tasks = [*self._following.values(), *self._settling]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, run_id: str, resuming: bool) -> None:
        kickoff = await run_in_threadpool(self.store.kickoff, run_id)
        if not kickoff or not kickoff["webhooks"]:
            self._following.pop(run_id, None)
            return
        watch = RunWatch(self.store, run_id)
        try:
            while True:
                await self._pass(run_id, kickoff, watch)
                if run_id in self._resumed:
                    self._resumed.discard(run_id)
                    resuming = True
                if resuming and watch.status in (RunStatus.INTERRUPTED, RunStatus.AWAITING_APPROVAL):
                    pass  # a resume was just accepted: the pause it ends is not a pause
                elif watch.finished or await run_in_threadpool(self._paused, run_id, watch.status):
                    return
                else:
                    resuming = False
                await asyncio.sleep(POLL_SECONDS)
        finally:
            self._following.pop(run_id, None)

    async def _pass(self, run_id: str, kickoff: dict[str, Any], watch: RunWatch) -> None:
        """Send each change ``watch`` sees now that no delivery carried yet."""
        await self._send_all(run_id, await self._due(run_id, kickoff, watch))

    async def _due(self, run_id: str, kickoff: dict[str, Any], watch: RunWatch) -> list[tuple[str, str, str, Any]]:
        """What ``watch`` sees now and no delivery carries yet, each marked as carried (by the caller)."""
        urls, due = kickoff["webhooks"], []
        async with self._locks.setdefault(run_id, asyncio.Lock()):  # two lookers never take the same change
            if run_id not in self._sent:
                self._sent[run_id] = await run_in_threadpool(self._delivered, run_id)
            sent = self._sent[run_id]
            for change in await run_in_threadpool(watch.changes):
                for kind, key, data in deliveries(change):
                    if kind in urls and key not in sent:
                        sent.add(key)
                        due.append((kind, key, urls[kind], {
                            "kind": kind, "delivery": key, "kickoff_id": run_id, "crew": kickoff["crew"],
                            "data": data, "meta": kickoff["meta"]}))
        return due

    def _delivered(self, run_id: str) -> set[str]:
        """Keys of the deliveries already made (or given up on) for this run, by this server or an earlier one."""
        return {json.loads(e["detail"]).get("key", "") for e in self.store.events(run_id)
                if e["kind"] in ("webhook_delivered", "webhook_failed") and e["detail"]}

    def _paused(self, run_id: str, status: str | None) -> bool:
        if status == RunStatus.INTERRUPTED:
            return True
        return status == RunStatus.AWAITING_APPROVAL and any(
            a["status"] == ApprovalStatus.PENDING for a in self.store.approvals(run_id))

    async def _deliver(self, run_id: str, kind: str, key: str, url: str, body: dict[str, Any]) -> None:
        body = _redacted(self.store, body)
        wait, error = FIRST_WAIT, ""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                status = await self._post(url, body)
                if status < 300:
                    await run_in_threadpool(self.store.add_event, run_id, "webhook_delivered",
                                            {"kind": kind, "key": key, "url": url, "attempts": attempt,
                                             "status": status})
                    return
                error = f"HTTP {status}"
            except (httpx.HTTPError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            if attempt < ATTEMPTS:
                await asyncio.sleep(wait)
                wait *= 2
        await run_in_threadpool(self.store.add_event, run_id, "webhook_failed",
                                {"kind": kind, "key": key, "url": url, "attempts": ATTEMPTS, "error": error})


def _redacted(store: RunStore, body: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(store.redact.text(json.dumps(body, default=str))))


async def _post(url: str, body: dict[str, Any]) -> int:
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.post(url, json=body)
        return response.status_code
