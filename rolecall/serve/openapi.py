"""The OpenAPI 3.1 document, each served crew's inputs as a schema.

The console's /docs page is rendered from it (``console.docs``): every route with a form to
try it, and no script from a CDN, so the docs work offline.
"""
from __future__ import annotations

from typing import Any

from .catalog import Catalog

_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
_ERROR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, *, body: dict[str, Any] | None = None, params: tuple[str, ...] = (),
        errors: tuple[int, ...] = (401,), ok: int = 200) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "security": [{"bearer": []}],
                          "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                                         for p in params],
                          "responses": {str(ok): {"description": "OK"},
                                        **{str(e): {"description": "error", "content": {
                                            "application/json": {"schema": _ERROR}}} for e in errors}}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def inputs_schema(crew: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "properties": {i.name: {"type": _JSON_TYPES.get(i.type, "string"), "description": i.description,
                                    **({"default": i.default} if i.default is not None else {})} for i in crew.inputs},
            "required": [i.name for i in crew.inputs if i.default is None]}


KICKOFF = {"type": "object", "properties": {
    "inputs": {"type": "object"}, "meta": {"description": "echoed back in every webhook"},
    "webhooks": {"type": "object",
                 "properties": {k: {"type": "string", "format": "uri"} for k in ("task", "step", "crew")}},
    **{f"{k}WebhookUrl": {"type": "string", "format": "uri"} for k in ("task", "step", "crew")}}}
RESUME = {"type": "object", "required": ["execution_id", "is_approve"], "properties": {
    "execution_id": {"type": "string"}, "task_id": {"type": "string"}, "human_feedback": {"type": "string"},
    "is_approve": {"type": "boolean"}}}


def openapi_document(catalog: Catalog) -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/health": {"get": {**_op("liveness; needs no token", errors=()), "security": []}},
        "/crews": {"get": _op("every served crew: name, process, description, typed inputs")},
        "/crews/{name}/inputs": {"get": _op("a crew's inputs", params=("name",), errors=(401, 404))},
        "/crews/{name}/kickoff": {"post": _op("start a run; answers {kickoff_id} once it is recorded",
                                              params=("name",), body=KICKOFF, errors=(400, 401, 404, 413, 415, 422))},
        "/crews/{name}/status/{kickoff_id}": {"get": _op("state (PENDING, RUNNING, SUCCESS, FAILED, ...) and result",
                                                         params=("name", "kickoff_id"), errors=(401, 404))},
        "/crews/{name}/resume": {"post": _op("decide an approval gate; a rejection with feedback redoes the task",
                                             params=("name",), body=RESUME, errors=(400, 401, 404, 409, 422))},
        "/runs": {"get": _op("recent runs; ?crew=&status=&limit=")},
        "/runs/{run_id}": {"get": _op("the run record", params=("run_id",), errors=(401, 404))},
        "/runs/{run_id}/resume": {"post": _op("go on with an interrupted or failed run", params=("run_id",),
                                              errors=(401, 404, 409), ok=202)},
        "/runs/{run_id}/report": {"get": _op("the HTML run report", params=("run_id",), errors=(401, 404))},
        "/runs/{run_id}/events": {"get": _op("live changes as server-sent events", params=("run_id",),
                                             errors=(401, 404))},
        "/approvals": {"get": _op("every gate waiting for a decision")},
    }
    if catalog.only:
        for path in ("inputs", "kickoff", "status/{kickoff_id}", "resume"):
            paths[f"/{path}"] = {m: {**op, "parameters": [p for p in op["parameters"] if p["name"] != "name"],
                                     "summary": op["summary"] + f" (crew {catalog.only})"}
                                 for m, op in paths[f"/crews/{{name}}/{path}"].items()}
    served = {**catalog.crews, **catalog.flows}
    return {"openapi": "3.1.0", "info": {"title": "rolecall serve", "version": "1"}, "paths": paths,
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                           "schemas": {"Error": {"type": "object", "required": ["error", "code"], "properties": {
                               "error": {"type": "string"}, "code": {"type": "string"}, "hint": {"type": "string"},
                               "problems": {"type": "array"}, "details": {"type": "object"}}},
                               **{f"{name}.inputs": inputs_schema(c) for name, c in served.items()}}}}
