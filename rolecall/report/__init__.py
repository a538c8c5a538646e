"""``report RUN_ID``: one self-contained HTML file per run, read back from the run store.

The page shows the crew as a graph (agents, tasks, who did what, context edges
and the delegations that happened), a timeline with one lane per agent, token
and cost tables, and every task output, error, approval and model event. It
loads nothing from the network, escapes all text and redacts secret values.

    data.py       RunData: the run as the store recorded it, and the crew if it still validates
    graph.py      the crew graph: nodes, edges, column layout, edge paths
    timeline.py   marks, lanes, the time axis with idle gaps cut out
    sections.py   rows of the usage, outputs, errors and events sections
    page.py       the Jinja2 environment, the inlined assets, the CSP, the final redaction
    flow_page.py  a flow run: the flow graph with the path taken, steps linked to their crews' reports
    templates/    page.html.j2 and one partial per section
    assets/       report.css and report.js, inlined into every page
"""
from __future__ import annotations

from pathlib import Path

from ..project import Project
from .data import load_run
from .page import render_page

__all__ = ["write_report"]


def write_report(project: Project, run_id: str, out: Path | None = None) -> Path:
    """Write the report of ``run_id`` (default ``<run_dir>/report.html``) and return its path.

    A flow run's report links each step to its crew run's report, written beside it."""
    from ..context import open_store
    with open_store(project) as store:
        run = store.require_run(run_id)
        if run.get("kind") == "flow":
            from .flow_page import write_flow_report
            return write_flow_report(store, run, out, lambda child: write_report(project, child))
    data = load_run(project, run_id)
    page = render_page(data)
    path = out or Path(data.run.get("run_dir") or project.runs_dir / data.run["id"]) / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
