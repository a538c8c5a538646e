"""The Starlette app ``main.py serve`` runs on uvicorn: routes, errors as JSON, the guard, the lifespan.

The lifespan opens the run store, starts the kickoff queue (and its worker processes) and
follows the webhooks of unfinished runs; on shutdown it stops the workers, leaving the runs
they were in ``interrupted`` for resume.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..context import open_store
from ..environment import Environment
from ..errors import RolecallError
from ..project import Project
from .answers import ApiError, error_answer, from_rolecall
from .catalog import Catalog
from .console import console_routes
from .guard import Guard
from .kickoffs import Kickoffs
from .openapi import openapi_document
from .routes import api_routes
from .webhooks import Webhooks


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    llm: str | None = None
    crew: str | None = None  # one crew, served at the root paths too


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(project: Project, options: ServeOptions, token: str, env: Environment | None = None) -> Guard:
    """The whole server as one ASGI app; nothing starts until uvicorn runs its lifespan."""
    env = env or Environment.current()
    catalog = Catalog.load(project, options.crew)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store, queue_store = open_store(project, env), open_store(project, env)
        for opened in (store, queue_store):
            opened.redact.add_value(token, "ROLECALL_SERVE_TOKEN")
        app.state.store, app.state.redactor = store, store.redact
        # the queue writes kickoffs on the event loop through a connection of its own, so a long read
        # in the thread pool (GET /runs) never holds the lock a kickoff waits on
        app.state.kickoffs = Kickoffs(project, queue_store, options.workers, options.llm)
        app.state.webhooks = Webhooks(store)
        app.state.kickoffs.start()
        await app.state.webhooks.recover()
        try:
            yield
        finally:
            await app.state.webhooks.stop()
            app.state.kickoffs.stop()
            store.close()
            queue_store.close()

    routes = [*api_routes(options.crew is not None), Route("/openapi.json", _openapi), *console_routes()]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        ApiError: _api_error, RolecallError: _rolecall_error, HTTPException: _http_error, Exception: _crash})
    app.state.catalog, app.state.project, app.state.token = catalog, project, token
    from ..redact import Redactor
    app.state.redactor = Redactor.from_environment(env)  # until the lifespan opens the store
    app.state.redactor.add_value(token, "ROLECALL_SERVE_TOKEN")
    return Guard(app, token)


async def _openapi(request: Request) -> Response:
    from .answers import answer
    return answer(request, openapi_document(request.app.state.catalog))


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_answer(request, exc)


async def _rolecall_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RolecallError)
    return error_answer(request, from_rolecall(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    hint = "GET /openapi.json lists every route" if exc.status_code in (404, 405) else ""
    return error_answer(request, ApiError(exc.status_code, code, f"{request.method} {request.url.path}: "
                                          f"{exc.detail}", hint=hint))


async def _crash(request: Request, exc: Exception) -> Response:
    # a bug: say so without a traceback (the details stay in the server's own log)
    return error_answer(request, ApiError(500, "internal", f"the server failed on this request ({type(exc).__name__})",
                                          hint="this is a rolecall bug; the server log has the details"))


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one (the caller prints which)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(project: Project, options: ServeOptions, token: str, sock: socket.socket) -> None:
    import uvicorn
    config = uvicorn.Config(create_app(project, options, token), log_level="warning", access_log=False,
                            timeout_graceful_shutdown=5, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
