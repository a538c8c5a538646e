"""The web console: crews (a form per crew from its typed inputs), runs, a run's live view, approvals.

Server-rendered Jinja2 pages (autoescaped) with one script and one stylesheet served from
``console/static``: no build step, nothing from a CDN. The live view follows the run's
server-sent events. The browser proves it holds the token once, at ``/console/login?token=``,
which sets an HttpOnly, SameSite=Strict cookie; the script never sees the token, and a page of
another site cannot send it (nor a JSON POST, which needs a CORS preflight this server refuses).
"""
from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..status import RunStatus
from .guard import COOKIE

HERE = Path(__file__).parent / "console"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["j2", "html"]))


def page(request: Request, template: str, code: int = 200, **values: Any) -> Response:
    html = _templates.get_template(template).render(**values, nav=template.split(".")[0])
    return HTMLResponse(request.app.state.redactor.text(html), status_code=code,
                        headers={"Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
                                 "Referrer-Policy": "no-referrer"})


async def login(request: Request) -> Response:
    given = request.query_params.get("token", "")
    if not hmac.compare_digest(given.encode(), request.app.state.token.encode()):
        return page(request, "login.html.j2", 401)
    response = RedirectResponse("/console", status_code=303)  # the token leaves the address bar
    response.set_cookie(COOKIE, given, httponly=True, samesite="strict", path="/")
    return response


async def crews(request: Request) -> Response:
    catalog = request.app.state.catalog
    return page(request, "crews.html.j2", crews=list(catalog.crews.values()), broken=catalog.broken)


async def runs(request: Request) -> Response:
    crew, status = request.query_params.get("crew") or None, request.query_params.get("status") or None
    store = request.app.state.store
    rows = await run_in_threadpool(lambda: list(store.runs(crew, 200, status=status)))
    return page(request, "runs.html.j2", runs=rows, crew=crew, status=status,
                crews=list(request.app.state.catalog.crews), statuses=list(RunStatus))


async def run_view(request: Request) -> Response:
    store = request.app.state.store
    run = await run_in_threadpool(store.run, request.path_params["run_id"])
    if run is None:
        return page(request, "missing.html.j2", 404, run_id=request.path_params["run_id"])
    crew = request.app.state.catalog.crews.get(run["crew"])
    tasks = [t.key for t in crew.tasks] if crew else [t["key"] for t in await run_in_threadpool(store.tasks, run["id"])]
    return page(request, "run.html.j2", run=run, tasks=tasks)


async def approvals(request: Request) -> Response:
    rows = await run_in_threadpool(request.app.state.store.pending_approvals)
    return page(request, "approvals.html.j2", approvals=rows)


def console_routes() -> list[Route | Mount]:
    # full paths, not a Mount: a Mount would answer /console with a redirect to /console/
    return [Route("/console", crews), Route("/console/login", login), Route("/console/runs", runs),
            Route("/console/runs/{run_id}", run_view), Route("/console/approvals", approvals),
            Mount("/console/static", StaticFiles(directory=HERE / "static"), name="static")]
