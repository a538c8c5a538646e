"""The web console: crews (a form per crew from its typed inputs), runs, a run's live view, approvals,
and /docs (every route of the OpenAPI document, each with a form to try it).

Server-rendered Jinja2 pages (autoescaped) with one script and one stylesheet served from
``console/static``: no build step, nothing from a CDN. The live view follows the run's
server-sent events. The browser proves it holds the token once, at ``/console/login?token=``,
which sets an HttpOnly, SameSite=Strict cookie; the script never sees the token, and a page of
another site cannot send it (nor a JSON POST, which needs a CORS preflight this server refuses).
"""
from __future__ import annotations

import hmac
import json
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
    return page(request, "crews.html.j2", crews=[*catalog.crews.values(), *catalog.flows.values()],
                broken=catalog.broken)


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
    if run["kind"] == "flow":  # a flow's page lists its steps, each linked to the crew run it started
        steps = await run_in_threadpool(store.steps, run["id"])
        return page(request, "run.html.j2", run=run, tasks=[], steps=steps)
    crew = request.app.state.catalog.crews.get(run["crew"])
    stored = {t["key"]: t for t in await run_in_threadpool(store.tasks, run["id"])}
    keys = [t.key for t in crew.tasks] if crew else list(stored)
    # as the store has them now; the event stream moves them on from here
    tasks = [(key, _shown(stored[key]["status"]) if key in stored else "waiting",
              stored[key]["agent"] if key in stored else None) for key in keys]
    return page(request, "run.html.j2", run=run, tasks=tasks, steps=None)


def _shown(status: str) -> str:
    return "waiting" if status == "pending" else status


async def approvals(request: Request) -> Response:
    rows = await run_in_threadpool(request.app.state.store.pending_approvals)
    return page(request, "approvals.html.j2", approvals=rows)


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The OpenAPI document's routes as the /docs page lists them, each with an example body."""
    found = []
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            fields = list(schema.get("properties", {})) if schema else None
            example = json.dumps({"inputs": {}} if "kickoff" in path else
                                 {"execution_id": "", "is_approve": True} if path.endswith("resume") and fields
                                 else {})
            found.append({"method": method.upper(), "path": path, "summary": op["summary"], "body": fields,
                          "example": example if fields is not None or method == "post" else None,
                          "codes": ", ".join(op["responses"]), "stream": path.endswith("/events")})
    return found


async def docs(request: Request) -> Response:
    """The API's routes from the OpenAPI document, each with a form to try it (the cookie is the token)."""
    from .openapi import openapi_document
    document = openapi_document(request.app.state.catalog)
    crews = [(name.removesuffix(".inputs"), list(schema["properties"]))
             for name, schema in document["components"]["schemas"].items() if name.endswith(".inputs")]
    return page(request, "docs.html.j2", operations=operations(document), crews=crews)


def console_routes() -> list[Route | Mount]:
    # full paths, not a Mount: a Mount would answer /console with a redirect to /console/
    return [Route("/console", crews), Route("/console/login", login), Route("/console/runs", runs),
            Route("/console/runs/{run_id}", run_view), Route("/console/approvals", approvals), Route("/docs", docs),
            Mount("/console/static", StaticFiles(directory=HERE / "static"), name="static")]
