"""What the report is drawn from: one run as the store recorded it, and the crew if it still validates."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..context import open_store
from ..environment import Environment
from ..errors import RolecallError
from ..project import Project
from ..redact import Redactor
from ..template import fill

if TYPE_CHECKING:
    from ..definition import CrewDefinition

Row = dict[str, Any]


@dataclass
class RunData:
    """Everything the store knows about one run, plus the crew definition when it still validates."""

    run: Row
    tasks: list[Row]
    model_calls: list[Row]
    tool_calls: list[Row]
    delegations: list[Row]
    approvals: list[Row]
    events: list[Row]
    crew: CrewDefinition | None
    crew_note: str  # why the graph is, or is not, drawn from the crew definition
    redactor: Redactor

    def task(self, key: str) -> Row | None:
        return next((t for t in self.tasks if t["key"] == key), None)

    def role(self, agent: str) -> str:
        """The agent's role as the run saw it (filled), else from the definition."""
        for task in self.tasks:
            if task["agent"] == agent and task["role"]:
                return str(task["role"]).strip()
        if self.crew and agent in self.crew.agents:
            try:
                return fill(self.crew.agents[agent].spec.role, self.run["inputs"]).strip()
            except (KeyError, ValueError, IndexError):
                return self.crew.agents[agent].spec.role.strip()
        return ""


def load_run(project: Project, run_id: str, env: Environment | None = None) -> RunData:
    """Read one run (``run_id`` may be a unique prefix) back from the project's run store."""
    env = env or Environment.current()
    with open_store(project, env) as store:
        run = store.require_run(run_id)
        key = run["id"]
        data = RunData(run, store.tasks(key), store.model_calls(key), store.tool_calls(key),
                       store.delegations(key), store.approvals(key), store.events(key), None, "", store.redact)
    data.crew, data.crew_note = _crew_definition(project, run)
    return data


def _crew_definition(project: Project, run: Row) -> tuple[CrewDefinition | None, str]:
    # late: no import cycle, and importing the report stays light
    from ..api import load_crew
    try:
        crew = load_crew(run["crew"], project)
    except RolecallError as exc:  # the report still works from the store alone
        first = exc.problems[0].message if exc.problems else str(exc)
        return None, (f"crew '{run['crew']}' does not validate now ({first}); "
                      "the graph shows what the run store recorded")
    if crew.package.fingerprint() != run["crew_hash"]:
        return crew, "the crew's files changed since this run; the graph shows the current definition"
    return crew, ""
