"""The ASGI middleware in front of every route: the bearer token (or the console's cookie), and a size cap.

Pure ASGI, not ``BaseHTTPMiddleware``: the run event stream is a long response that must
not be buffered or tied to a middleware task. Only ``/health`` answers without the token.
"""
from __future__ import annotations

import hmac
import json
from http.cookies import SimpleCookie
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from .answers import MAX_BODY

COOKIE = "rolecall_token"
OPEN_PATHS = {"/health", "/console/login"}  # login checks the token itself
OPEN_PREFIX = "/console/static/"  # the console's script and styles hold nothing secret; the login page uses them


class Guard:
    def __init__(self, app: ASGIApp, token: str):
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY:
            await _refuse(send, 413, "too_large", f"the body is larger than {MAX_BODY} bytes", "")
            return
        path = scope["path"]
        if path not in OPEN_PATHS and not path.startswith(OPEN_PREFIX) and not self.allowed(headers):
            console = path.startswith("/console")
            await _refuse(send, 401, "unauthorized", "this server needs its access token",
                          "open /console/login?token=TOKEN once" if console else
                          "send Authorization: Bearer TOKEN (main.py serve prints it at start)")
            return
        await self.app(scope, _capped(receive), send)

    def allowed(self, headers: dict[str, str]) -> bool:
        given = headers.get("authorization", "")
        if given.lower().startswith("bearer "):
            return self.matches(given[7:].strip())
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no credential
            return False
        return COOKIE in cookie and self.matches(cookie[COOKIE].value)

    def matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.token.encode())


def _capped(receive: Receive) -> Receive:
    """A body sent without Content-Length stops being read past the cap (read_json then answers 413)."""
    seen = 0

    async def capped() -> Any:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:  # keep one byte past the cap, so the reader knows, and read no more
                keep = len(message["body"]) - (seen - MAX_BODY - 1)
                return {"type": "http.request", "body": message["body"][:keep], "more_body": False}
        return message
    return capped


async def _refuse(send: Send, status: int, code: str, message: str, hint: str) -> None:
    body = json.dumps({"error": message, "code": code, **({"hint": hint} if hint else {})}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
