"""support_desk: the supervisor routes a message to one specialist, who may read only its own policy."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from helpers import REPO

pytestmark = pytest.mark.crew

CREW = REPO / "crews" / "support_desk"
DELEGATE = "Delegate work to coworker"
CASES = {
    "billing": ("Billing Specialist", "billing_specialist", "I was charged twice for Lumio Plus this month.",
                "duplicate charge refund", "charges_and_refunds.md", "refund the duplicate in full"),
    "technical": ("Technical Specialist", "technical_specialist", "My hub light is blinking amber and it shows offline.",
                  "hub offline blinking amber", "hub_and_camera.md", "blinking amber means no internet"),
    "returns": ("Returns Specialist", "returns_specialist", "My new camera arrived with a cracked lens.",
                "damaged item arrived", "damaged_items_and_warranty.md", "We ship a replacement at once"),
}


def _policy_tool(folder: str) -> Any:
    from tools.knowledge import KnowledgeSearchTool
    return KnowledgeSearchTool(crew_dir=str(CREW), directory=f"knowledge/{folder}")


@pytest.fixture(autouse=True)
def _repo_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO))  # tools/ is importable for the direct tool checks


@pytest.mark.parametrize("route", CASES)
def test_the_supervisor_routes_each_message_to_one_specialist(run_crew, repo_project, route):
    role, specialist, message, query, _, policy = CASES[route]
    reply = f"Hi Sam, per our policy: {policy}."
    script = {"agents": {
        "supervisor": [{"delegate": role, "task": f"Customer Sam wrote: {message}", "context": "Reply politely."},
                       f"Routed to: {route}\n\n{reply}"],
        specialist: [{"tool": f"{route}_policy", "input": {"query": query}}, reply],
    }}
    result = run_crew("support_desk", inputs={"customer": "Sam", "message": message}, script=script,
                      project=repo_project)
    assert result.ok, result.error
    assert [(d.task, d.manager, d.coworker, d.kind) for d in result.delegations] == [
        ("handle_message", "supervisor", specialist, "delegate")]
    assert [(t.key, t.agent) for t in result.tasks] == [("handle_message", specialist)]
    lookups = [c for c in result.tool_calls if c.tool != DELEGATE]
    assert [(c.tool, c.agent, c.task, c.arguments) for c in lookups] == [
        (f"{route}_policy", specialist, "handle_message", {"query": query})]
    # the lookup read that specialist's own folder: same answer as searching it directly
    assert lookups[0].output_chars == len(_policy_tool(route).run(query=query))
    assert result.output.splitlines()[0] == f"Routed to: {route}"
    assert {c.agent for c in result.model_calls} == {"supervisor", specialist}


@pytest.mark.parametrize("route", CASES)
def test_each_policy_folder_answers_its_own_questions(route):
    _, _, _, query, source, policy = CASES[route]
    hits = _policy_tool(route).run(query=query)
    top = hits.split("\n\n")[0]
    assert top.startswith(f"[{source}]") and policy in top


def test_specialists_hold_only_their_own_lookup(repo_project):
    assembly = _assembled(repo_project)
    assert assembly.manager is assembly.agents["supervisor"] and assembly.manager.tools == []
    for route, (_, specialist, *_) in CASES.items():
        [tool] = assembly.agents[specialist].tools
        assert (type(tool).__name__, tool.name, tool.directory) == \
            ("KnowledgeSearchTool", f"{route}_policy", f"knowledge/{route}")
        assert Path(tool.crew_dir) == CREW and not assembly.agents[specialist].allow_delegation
        # what that lookup can read: its own folder and nothing else
        sources = set(re.findall(r"^\[([^\]]+)\]", tool.run(query="refund warranty password charge return"), re.M))
        assert sources and sources <= {p.name for p in (CREW / "knowledge" / route).glob("*.md")}
    from rolecall import load_crew
    from rolecall.describe import show
    shown = show(load_crew("support_desk", repo_project))
    assert "supervisor [manager]: Support Supervisor\n    tools: none" in shown
    for route in CASES:
        assert f"    tools: KnowledgeSearchTool(directory=knowledge/{route}, name={route}_policy," in shown


def test_defaults_run_with_no_inputs(run_crew, repo_project):
    result = run_crew("support_desk", project=repo_project)  # what `main.py run support_desk` does
    assert result.ok, result.error
    [delegation] = result.delegations
    assert delegation.manager == "supervisor" and delegation.coworker in {s for _, s, *_ in CASES.values()}
    assert "I was charged twice for Lumio Plus" in delegation.request


def _assembled(project: Any) -> Any:
    from rolecall import load_crew
    from rolecall.assemble import assemble
    from rolecall.context import RunContext
    from rolecall.inputs import bind
    from rolecall.llm.factory import LlmPool
    crew = load_crew("support_desk", project)
    problems = crew.warnings
    assert problems == []
    values, _ = bind(crew.inputs, {})
    return assemble(project, crew, values, LlmPool(RunContext.open(project), "scripted"), "scripted")
