"""The page: Jinja2 templates (autoescaped) filled from the run, with the CSS and script inlined.

The one script is allowed by its sha256 in a Content-Security-Policy that forbids
every other request, so the file works offline and loads nothing. Secret values
are redacted from the finished page as the last step.
"""
from __future__ import annotations

import base64
import hashlib
import html
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from .. import format as fmt
from ..redact import Redactor
from ..repeats import outcome
from ..usage import Usage
from .data import RunData
from .graph import build_graph
from .sections import as_text, errors, event_rows, task_outputs, usage_tables
from .timeline import build_timeline

HERE = Path(__file__).parent
TEMPLATES, ASSETS = HERE / "templates", HERE / "assets"
# how durations, costs, token counts and times read: the same as in `runs` and `show-run`
FILTERS = {"when": fmt.when, "between": fmt.between, "seconds": fmt.seconds, "short_seconds": fmt.short_seconds,
           "cost": fmt.cost, "tokens": fmt.tokens, "utc": fmt.utc, "clip": fmt.clip,
           "outcome": outcome}


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The templates' environment, built once: every ``*.html.j2`` is autoescaped."""
    env = Environment(loader=FileSystemLoader(TEMPLATES),
                      autoescape=select_autoescape(enabled_extensions=("html.j2",), default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                      finalize=_blank)
    env.filters.update(FILTERS, px=px)
    return env


def _blank(value: Any) -> Any:
    """A missing value (NULL in the store) prints as nothing, not as ``None``."""
    return "" if value is None else value


def px(value: float) -> str:
    """An SVG coordinate, to a tenth of a pixel."""
    return f"{value:.1f}"


@dataclass(frozen=True)
class Assets:
    """Our own files, inlined as they are (escaping would break them), and the policy that allows them."""

    css: Markup
    script: Markup
    policy: Markup


@lru_cache(maxsize=1)
def assets() -> Assets:
    script = (ASSETS / "report.js").read_text(encoding="utf-8")
    return Assets(Markup((ASSETS / "report.css").read_text(encoding="utf-8")), Markup(script),
                  Markup(content_security_policy(script)))


def content_security_policy(script: str) -> str:
    """No request of any kind; inline styles, and only this exact script."""
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; img-src data:"


def render_page(data: RunData, written_at: datetime | None = None) -> str:
    graph = build_graph(data)
    managers = [n.key for n in graph.managers]
    page = environment().get_template("page.html.j2").render(
        run=data.run, note=data.crew_note, inputs=[(k, as_text(v)) for k, v in data.run["inputs"].items()],
        usage=Usage.of(data.model_calls), graph=graph, timeline=build_timeline(data, graph.lanes, managers),
        usage_tables=usage_tables(data, graph.lanes), outputs=task_outputs(data), errors=errors(data),
        delegations=data.delegations, tool_calls=data.tool_calls, approvals=data.approvals,
        events=event_rows(data), assets=assets(),
        written_at=(written_at or datetime.now(UTC)).isoformat())
    return _redacted(_stdlib_quotes(page), data.redactor)


def _stdlib_quotes(page: str) -> str:
    """Quotes as ``html.escape`` writes them (markupsafe writes ``&#34;`` and ``&#39;``), so text escaped
    with the standard library, a secret in particular, is found in the page as it is.

    Only escaping puts these entities in the page: an ``&`` of any value comes out as ``&amp;``.
    """
    return page.replace("&#34;", "&quot;").replace("&#39;", "&#x27;")


def _redacted(page: str, redactor: Redactor) -> str:
    """Secret values, raw or as escaped in the page, become ``[redacted:NAME]``."""
    return redactor.also_escaped(html.escape).text(page)
