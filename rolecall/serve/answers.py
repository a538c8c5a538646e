"""JSON answers: every body redacted as the store is, every error a clear object, never a traceback.

An error answer is ``{"error": what went wrong, "code": a stable word, "hint": how to fix it,
"problems": [...], "details": {...}}``; a kickoff missing inputs carries
``details.missing_inputs`` as CrewAI's hosted API does.
"""
from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..errors import ConfigError, InputError, RolecallError, RunNotFound, RunStateError
from ..problem import Problem
from ..redact import Redactor
from .catalog import CrewInvalid, CrewUnknown

MAX_BODY = 256 * 1024  # bytes of a request body: inputs and meta, never a dataset


class ApiError(Exception):
    """An answer other than success, raised anywhere below a route and rendered by ``error_answer``."""

    def __init__(self, status: int, code: str, message: str, *, hint: str = "",
                 problems: list[Problem] | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint
        self.problems, self.details = problems or [], details or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message, "code": self.code}
        if self.hint:
            body["hint"] = self.hint
        if self.problems:
            body["problems"] = [{"message": p.message, **({"hint": p.hint} if p.hint else {}),
                                 **({"path": p.path} if p.path else {})} for p in self.problems]
        if self.details:
            body["details"] = self.details
        return body


def from_rolecall(exc: RolecallError) -> ApiError:
    """The HTTP status that says what the caller can do about a ``RolecallError``."""
    status, code = 422, "invalid"
    if isinstance(exc, CrewUnknown):
        status, code = 404, "unknown_crew"
    elif isinstance(exc, CrewInvalid):
        status, code = 409, "crew_invalid"
    elif isinstance(exc, RunNotFound):
        status, code = 404, "unknown_run"
    elif isinstance(exc, RunStateError):
        status, code = 409, "conflict"
    elif isinstance(exc, InputError):
        status, code = 422, "invalid_inputs"
    elif isinstance(exc, ConfigError):
        status, code = 422, "invalid"
    first = exc.problems[0] if exc.problems else Problem(str(exc))
    message = first.message if len(exc.problems) == 1 else "; ".join(p.message for p in exc.problems)
    return ApiError(status, code, message, hint=first.hint if len(exc.problems) == 1 else "",
                    problems=exc.problems)


def redactor_of(request: Request) -> Redactor:
    found: Redactor = request.app.state.redactor
    return found


def answer(request: Request, data: Any, status: int = 200) -> Response:
    """``data`` as JSON, with every secret the store would redact replaced."""
    text = json.dumps(data, default=str, ensure_ascii=False)
    return Response(redactor_of(request).text(text), status_code=status, media_type="application/json")


def error_answer(request: Request, error: ApiError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    response = answer(request, error.body(), error.status)
    if headers:
        response.headers.update(headers)
    return response


async def read_json(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; 400, 413 or 415 with what to send instead."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiError(415, "unsupported_media_type", f"the body must be JSON, not '{kind or 'unspecified'}'",
                       hint="send Content-Type: application/json")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ApiError(413, "too_large", f"the body is larger than {MAX_BODY} bytes")
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", f"the body is not valid JSON: {exc}",
                       hint='for example {"inputs": {"topic": "tides"}}') from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", f"the body must be a JSON object, not {type(data).__name__}")
    return data
