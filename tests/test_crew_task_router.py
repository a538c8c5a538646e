"""task_router: the router hands a request to exactly one specialist, and the run shows which."""
from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.crew

DELEGATE = "Delegate work to coworker"
ROUTES = {
    "research": ("Research Analyst", "research_agent", "developer_agent",
                 "Compare the battery range of the three best-selling electric cars in Europe.",
                 "- Tesla Model Y: about 530 km WLTP\n- VW ID.3: about 420 km\n- Skoda Enyaq: about 540 km"),
    "developer": ("Software Developer", "developer_agent", "research_agent",
                  "Fix this function so it handles an empty list: def mean(xs): return sum(xs) / len(xs)",
                  "def mean(xs):\n    return sum(xs) / len(xs) if xs else 0.0"),
}


@pytest.mark.parametrize("route", ROUTES)
def test_the_router_sends_each_kind_of_request_to_its_specialist(run_crew, repo_project, route):
    role, chosen, other, request, answer = ROUTES[route]
    script = {"agents": {
        "router": [{"delegate": role, "task": request, "context": "The user asked this directly."},
                   f"Route: {route}\n\n{answer}"],
        chosen: [answer],
    }}
    result = run_crew("task_router", inputs={"request": request}, script=script, project=repo_project)
    assert result.ok, result.error
    [delegation] = result.delegations
    assert (delegation.task, delegation.manager, delegation.coworker, delegation.kind, delegation.request) == \
        ("route_request", "router", chosen, "delegate", request)
    assert [(t.key, t.agent, t.delegated_to) for t in result.tasks] == [("route_request", chosen, [chosen])]
    assert result.output.splitlines()[0] == f"Route: {route}" and result.output.endswith(answer)
    # the other specialist never ran, and nobody but the router used a tool
    assert {c.agent for c in result.model_calls} == {"router", chosen}
    assert other not in {c.agent for c in result.model_calls}
    assert [(c.tool, c.agent) for c in result.tool_calls] == [(DELEGATE, "router")]


def test_the_route_is_in_the_run_record(run_crew, repo_project):
    from rolecall.context import open_store
    role, chosen, _, request, answer = ROUTES["developer"]
    script = {"agents": {"router": [{"delegate": role, "task": request, "context": ""}, f"Route: developer\n\n{answer}"],
                         chosen: [answer]}}
    result = run_crew("task_router", inputs={"request": request}, script=script, project=repo_project)
    stored = open_store(repo_project).delegations(result.run_id)
    assert [(d["task"], d["manager"], d["coworker"]) for d in stored] == [("route_request", "router", chosen)]


def test_defaults_run_and_go_to_exactly_one_specialist(run_crew, repo_project):
    result = run_crew("task_router", project=repo_project)  # defaults only, as `main.py run task_router`
    assert result.ok, result.error
    assert [(d.manager, d.coworker) for d in result.delegations] in (
        [("router", "developer_agent")], [("router", "research_agent")])
    assert result.output


def test_only_the_router_can_delegate_and_no_one_has_other_tools(repo_project):
    assembly = _assembled(repo_project, {"request": "What is the tallest building in Europe?"})
    assert {key: [t.name for t in agent.tools] for key, agent in assembly.agents.items()} == {
        "router": [], "research_agent": [], "developer_agent": []}
    assert assembly.manager is assembly.agents["router"]
    assert not any(agent.allow_delegation for key, agent in assembly.agents.items() if key != "router")
    task = assembly.tasks["route_request"]
    assert task.agent is None  # unbound: the router decides, crewai does not narrow its choice
    assert 'Request: "What is the tallest building in Europe?"' in task.description


def _assembled(project: Any, inputs: dict[str, Any]) -> Any:
    from rolecall import load_crew
    from rolecall.assemble import assemble
    from rolecall.context import RunContext
    from rolecall.inputs import bind
    from rolecall.llm.factory import LlmPool
    crew = load_crew("task_router", project)
    problems = crew.warnings
    assert problems == []
    values, _ = bind(crew.inputs, inputs)
    return assemble(project, crew, values, LlmPool(RunContext.open(project), "scripted"), "scripted")
