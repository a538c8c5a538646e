"""CrewAI's own example crews, their YAML unchanged, run by rolecall.

``../shared/compat/crewai-examples/MANIFEST.yaml`` records what each example's
crew.py binds in Python; here that becomes a crew.yaml. Each crew must validate
and run on the scripted model.
"""
from __future__ import annotations

import re
import shutil
from typing import Any

import pytest
import yaml

from helpers import SHARED
from rolecall.discover import find
from rolecall.llm.profiles import load_config
from rolecall.validate import validate

EXAMPLES = SHARED / "compat" / "crewai-examples"
MANIFEST: dict[str, Any] = yaml.safe_load((EXAMPLES / "MANIFEST.yaml").read_text()) if EXAMPLES.exists() else {}

# What those crew.py files define as pydantic models; a rolecall crew keeps them in schemas.py.
SCHEMAS = '''\
from pydantic import BaseModel


class MarketStrategy(BaseModel):
    name: str
    tactics: list[str]
    channels: list[str]
    KPIs: list[str]


class CampaignIdea(BaseModel):
    name: str
    description: str
    audience: str
    channel: str


class Copy(BaseModel):
    title: str
    body: str
'''


def tool_ref(text: str) -> Any:
    """'FileReadTool(file_path=x.md)' -> {'FileReadTool': {'file_path': 'x.md'}}."""
    match = re.fullmatch(r"(\w+)\((.*)\)", text)
    if not match:
        return text
    args = dict(part.split("=", 1) for part in match.group(2).split(",") if part)
    return {match.group(1): {k.strip(): v.strip() for k, v in args.items()}}


def inline_schema(text: str) -> Any:
    """'Name(a, b: list[str])' -> inline fields; a bare 'Name' refers to schemas.py."""
    match = re.fullmatch(r"(\w+)\((.*)\)", text)
    if not match:
        return text
    name, body = match.groups()
    fields: dict[str, Any] = {}
    pending: list[str] = []
    for part in re.split(r",\s*(?![^\[]*\])(?![^(]*\))", body):
        field, _, kind = part.partition(":")
        pending.append(field.strip())
        if kind:
            kind = kind.strip()
            nested = re.fullmatch(r"list\[(\w+)(?:\((.*)\))?\]", kind)
            if nested and nested.group(1) not in ("str", "int", "float", "bool"):
                inner = nested.group(2) or "name, details"
                value: Any = [{f.strip(): "str" for f in inner.split(",")}]
            else:
                value = kind
            for f in pending:
                fields[f] = value
            pending = []
    for f in pending:
        fields[f] = "str"
    return {"name": name, "fields": fields}


def crew_yaml(name: str, entry: dict[str, Any], tasks_yaml: dict[str, Any]) -> dict[str, Any]:
    crew: dict[str, Any] = {"description": f"crewAI-examples: {name}", "process": entry["process"]}
    raw_inputs = entry.get("inputs") or []
    inputs: dict[str, Any] = {}
    for item in (raw_inputs.items() if isinstance(raw_inputs, dict) else ((i, "") for i in raw_inputs)):
        key, note = item
        key = key.split()[0]
        inputs[key] = {"description": note or key, "default": f"sample {key}"}
        if "int" in (key if isinstance(item, tuple) else "") or "(int" in str(item):
            inputs[key] = {"type": "integer", "default": 31}
    crew["inputs"] = inputs
    agents: dict[str, Any] = {}
    for agent, tools in (entry.get("tools") or {}).items():
        agents.setdefault(agent, {})["tools"] = [tool_ref(t) for t in tools]
    for agent, settings in (entry.get("agent_overrides") or {}).items():
        agents.setdefault(agent, {}).update(settings)
    if entry.get("llm"):
        crew["llm"] = "openai"  # the example pins an OpenAI model in code
    tasks: dict[str, Any] = {}
    for task, agent in (entry.get("task_agent") or {}).items():
        if "agent" not in tasks_yaml.get(task, {}):
            tasks.setdefault(task, {})["agent"] = agent
    for task, context in (entry.get("context") or {}).items():
        tasks.setdefault(task, {})["context"] = context
    for task, outputs in (entry.get("outputs") or {}).items():
        schema = outputs.get("output_json") or outputs.get("output_pydantic")
        tasks.setdefault(task, {})["output_schema"] = inline_schema(schema)
    crew["agents"], crew["tasks"] = agents, tasks
    return crew


def build(project, name: str) -> None:
    source, target = EXAMPLES / name, project.crews_dir / name
    (target / "config").mkdir(parents=True)
    for file in ("agents.yaml", "tasks.yaml"):
        shutil.copyfile(source / file, target / "config" / file)  # unchanged, byte for byte
    tasks_yaml = yaml.safe_load((source / "tasks.yaml").read_text())
    (target / "crew.yaml").write_text(yaml.safe_dump(crew_yaml(name, MANIFEST[name], tasks_yaml), sort_keys=False))
    (target / "schemas.py").write_text(SCHEMAS)


FAKE_ENV = {"SERPER_API_KEY": "test-serper", "OPENAI_API_KEY": "test-openai"}


@pytest.mark.skipif(not MANIFEST, reason="../shared/compat is not present")
@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_example_validates_and_runs_unchanged(name, tmp_project, run_crew, monkeypatch):
    build(tmp_project, name)
    for key, value in FAKE_ENV.items():
        monkeypatch.setenv(key, value)
    ref = find(tmp_project, name)
    result = validate(tmp_project, ref, load_config(tmp_project.config_dir).profiles)
    assert result.ok, "\n".join(p.render(tmp_project.root) for p in result.problems)
    assert (ref.agents_file.read_bytes(), ref.tasks_file.read_bytes()) == (
        (EXAMPLES / name / "agents.yaml").read_bytes(), (EXAMPLES / name / "tasks.yaml").read_bytes())

    run = run_crew(name, project=tmp_project)
    assert run.ok, run.error
    expected_agents = dict(MANIFEST[name]["task_agent"])
    assert {t.key: t.agent for t in run.tasks} == expected_agents
    for task in MANIFEST[name].get("outputs") or {}:
        assert run.task(task).structured, f"{task} should have structured output"


@pytest.mark.skipif(not MANIFEST, reason="../shared/compat is not present")
def test_missing_tool_key_is_named_before_any_model_call(tmp_project, monkeypatch):
    build(tmp_project, "surprise_trip")
    monkeypatch.delenv("SERPER_API_KEY", raising=False)
    result = validate(tmp_project, find(tmp_project, "surprise_trip"), load_config(tmp_project.config_dir).profiles)
    messages = [p.message for p in result.problems]
    assert not result.ok
    assert messages and all("SERPER_API_KEY" in m for m in messages)
