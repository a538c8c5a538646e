"""A fake OpenAI-compatible server on 127.0.0.1 that injects faults on purpose.

It answers ``POST /v1/chat/completions`` with a valid chat completion whose
content is a ReAct final answer (what crewai's parser accepts) plus token
usage, and ``GET /v1/models``. Faults come from a fixed sequence (consumed one
per chat request, then healthy answers) and/or a seeded probability, so a test
run sees the same faults every time::

    with FakeOpenAI(fault_rate=0.3, seed=7) as fake:
        ... LLM(model="openai/fake", base_url=fake.base_url) ...
    fake.log  # one Served(fault=..., status=...) per chat request

Fault names: ``timeout`` (sleep ``delay`` seconds before answering, longer than
the client's timeout), ``429``, ``500``, ``503``, ``401``, ``malformed`` (HTTP
200 with a truncated JSON body), ``reset`` (TCP reset with no response).
"""
from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

FAULTS = ("timeout", "429", "500", "503", "401", "malformed", "reset")
# What the seeded probability picks from: the transient faults a real provider produces.
TRANSIENT = ("timeout", "429", "500", "503", "malformed", "reset")


@dataclass
class Served:
    """One chat request as the fake handled it."""

    fault: str | None  # None: a healthy answer
    status: int | None  # None: no HTTP response at all (reset, or the client gave up)
    model: str
    started: float


@dataclass
class FakeOpenAI:
    faults: Iterable[str] = ()  # consumed in order, one per chat request
    fault_rate: float = 0.0  # then, with this probability, a random fault from ``pool``
    pool: tuple[str, ...] = TRANSIENT
    seed: int = 0
    delay: float = 1.0  # how long a ``timeout`` fault stalls
    answer: str = "Fake findings from the fake model."
    retry_after: float | None = None  # sent with 429s when set
    # native tool calls to answer with, in order, one per chat request: [(tool name, arguments as sent)];
    # the arguments are a string, so a test can send JSON that does not parse
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    log: list[Served] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # each chat request's body

    def __post_init__(self) -> None:
        self.faults = _known(self.faults)
        _known(self.pool)
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------
    def start(self) -> FakeOpenAI:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True  # a stalled "timeout" reply must not hold up shutdown
        # a short poll keeps shutdown() quick: tests start and stop many servers
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-openai",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake server first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # --- behaviour -----------------------------------------------------------
    def inject(self, *faults: str) -> FakeOpenAI:
        """Queue faults for the next chat requests, in order."""
        with self._lock:
            self.faults.extend(_known(faults))  # type: ignore[union-attr]
        return self

    def next_fault(self) -> str | None:
        with self._lock:
            if self.faults:
                return self.faults.pop(0)  # type: ignore[union-attr]
            if self.fault_rate and self._rng.random() < self.fault_rate:
                return self._rng.choice(self.pool)
            return None

    def record(self, served: Served) -> None:
        with self._lock:
            self.log.append(served)

    @property
    def chat_requests(self) -> int:
        return len(self.log)

    def injected(self) -> list[str]:
        return [s.fault for s in self.log if s.fault]

    def completion(self, request: dict[str, Any]) -> dict[str, Any]:
        prompt = " ".join(str(m.get("content") or "") for m in request.get("messages") or [])
        number = self.chat_requests  # this request is already in the log
        with self._lock:
            self.requests.append(request)
            call = self.tool_calls.pop(0) if self.tool_calls and request.get("tools") else None
        content = f"Thought: I now know the final answer\nFinal Answer: {self.answer} (reply {number})"
        if request.get("tools"):  # crewai calls natively: the answer is plain text, as a real model's
            content = f"{self.answer} (reply {number})"
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if call is not None:  # as OpenAI answers a function call: no content, the arguments as a string
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": f"call_{number}", "type": "function", "function": {"name": call[0], "arguments": call[1]}}]}
        prompt_tokens, completion_tokens = max(1, len(prompt) // 4), max(1, len(content) // 4)
        return {
            "id": f"chatcmpl-fake{number}", "object": "chat.completion", "created": int(time.time()),
            "model": request.get("model") or "fake",
            "choices": [{"index": 0, "finish_reason": "tool_calls" if call else "stop", "message": message}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }


def _known(faults: Iterable[str]) -> list[str]:
    unknown = [name for name in faults if name not in FAULTS]
    if unknown:
        raise ValueError(f"unknown fault {unknown[0]!r}; known: {', '.join(FAULTS)}")
    return list(faults)


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real API: resets then hit pooled connections

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
            pass  # tests read fake.log, not stderr

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._json(200, {"object": "list", "data": [
                    {"id": "fake", "object": "model", "created": 0, "owned_by": "rolecall-tests"}]})
            else:
                self._error(404, f"no route GET {self.path}")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._error(404, f"no route POST {self.path}")
                return
            try:
                request = json.loads(body or b"{}")
            except ValueError:
                self._error(400, "request body is not JSON")
                return
            if request.get("stream"):
                self._error(400, "the fake server does not stream; call without stream=True")
                return
            fault = fake.next_fault()
            served = Served(fault, None, str(request.get("model") or ""), time.monotonic())
            fake.record(served)
            if fault == "reset":
                self._reset()
            elif fault == "timeout":
                time.sleep(fake.delay)
                served.status = self._json(200, fake.completion(request))
            elif fault == "malformed":
                served.status = self._send(200, b'{"id": "chatcmpl-broken", "choices": [{"mess', "application/json")
            elif fault == "429":
                headers = {"Retry-After": str(fake.retry_after)} if fake.retry_after is not None else {}
                served.status = self._error(429, "Rate limit reached (fake)", "rate_limit_exceeded", headers)
            elif fault in ("500", "503", "401"):
                served.status = self._error(int(fault), f"injected {fault}")
            else:
                served.status = self._json(200, fake.completion(request))

        # --- responses -------------------------------------------------------
        def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> int | None:
            return self._send(status, json.dumps(payload).encode(), "application/json", headers)

        def _error(self, status: int, message: str, code: str | None = None,
                   headers: dict[str, str] | None = None) -> int | None:
            return self._json(status, {"error": {"message": message, "type": "fake_error", "code": code}}, headers)

        def _send(self, status: int, body: bytes, content_type: str,
                  headers: dict[str, str] | None = None) -> int | None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                return status
            except OSError:  # the client timed out and hung up first
                self.close_connection = True
                return None

        def _reset(self) -> None:
            # SO_LINGER 0 makes close() send RST instead of FIN: a "connection reset by peer".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

    return Handler


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A healthy fake server; ``inject()`` faults or set ``fault_rate`` before calling it."""
    with FakeOpenAI() as fake:
        yield fake
