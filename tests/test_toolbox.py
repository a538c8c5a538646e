"""Binding tools: registry names, ``module:Class`` / ``module:function`` references, and tool
classes that share a base class. Everything is read from source at validation time; only
building a tool imports it."""
from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from helpers import REPO, write_files
from rolecall import toolbox
from rolecall.api import load_crew
from rolecall.discover import find
from rolecall.errors import ConfigError
from rolecall.project import Project
from rolecall.toolbox import EnvRequirement, toolbox_for

AGENTS = """\
researcher:
  role: Researcher
  goal: Find facts about {topic}
  backstory: A careful researcher.
"""
TASKS = """\
research_task:
  description: Research {topic}.
  expected_output: Five facts.
  agent: researcher
"""

# a module under the project folder, outside tools/ and crews/
WEATHER = """\
from crewai.tools import BaseTool, EnvVar


class WeatherTool(BaseTool):
    name: str = "weather"
    description: str = "Today's weather in a city."
    units: str = "metric"
    env_vars: list[EnvVar] = [EnvVar(name="WEATHER_API_KEY", description="weather.example key")]

    def _run(self, city: str) -> str:
        return f"sunny in {city}, 21 degrees ({self.units})"


def forecast(city: str) -> str:
    return "a plain function: not a tool"
"""

# a shared base class in the project: the key it needs is declared once, on the base
KEYED = """\
from crewai.tools import BaseTool, EnvVar


class KeyedTool(BaseTool):
    \"\"\"Not a tool itself: no name, no _run.\"\"\"

    env_vars: list[EnvVar] = [EnvVar(name="QUOTES_API_KEY", description="quotes.example key", required=True)]
"""

CREW_TOOLS = """\
from crewai.tools import tool

from shared.keyed import KeyedTool


class QuoteTool(KeyedTool):
    name: str = "quote"
    description: str = "A stock quote."

    def _run(self, symbol: str) -> str:
        return f"{symbol}: 101.5"


@tool
def lookup(term: str) -> str:
    \"\"\"Look a term up in the glossary.\"\"\"
    return f"{term}: a word"
"""


def make_crew(project: Project, name: str, tools: str, files: dict[str, str] | None = None) -> None:
    """A one-agent crew whose researcher binds ``tools`` (YAML flow text), plus extra project files."""
    write_files(project.root, {
        f"crews/{name}/config/agents.yaml": AGENTS,
        f"crews/{name}/config/tasks.yaml": TASKS,
        f"crews/{name}/crew.yaml": (f"description: {name}\ninputs:\n  topic: {{default: tides}}\n"
                                    f"agents:\n  researcher:\n    tools: {tools}\n"),
        "weather/__init__.py": "",
        "weather/api.py": WEATHER,
        "shared/__init__.py": "",
        "shared/keyed.py": KEYED,
        f"crews/{name}/tools.py": CREW_TOOLS,
        **(files or {}),
    })


def problems(project: Project, name: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_crew(name, project)
    return [p.render(project.root) for p in caught.value.problems]


@pytest.fixture(autouse=True)
def _keys_and_fresh_modules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WEATHER_API_KEY", "w")
    monkeypatch.setenv("QUOTES_API_KEY", "q")
    yield
    for name in [m for m in sys.modules if m.split(".")[0] in ("weather", "shared")]:
        del sys.modules[name]  # each test's project has its own weather/ and shared/


# --- module:Class and module:function ----------------------------------------------------

def test_references_name_classes_and_functions_in_the_project_and_installed_packages(tmp_project):
    make_crew(tmp_project, "refs", "[tools.knowledge:KnowledgeSearchTool, {weather.api:WeatherTool: {units: imperial}},"
                                   " crews.refs.tools:lookup, crewai_tools:FileReadTool]")
    crew = load_crew("refs", tmp_project)
    uses = crew.agents["researcher"].tools
    assert [(u.name, u.kwargs) for u in uses] == [
        ("tools.knowledge:KnowledgeSearchTool", {}), ("weather.api:WeatherTool", {"units": "imperial"}),
        ("crews.refs.tools:lookup", {}), ("crewai_tools:FileReadTool", {})]
    infos = [crew.toolbox.get(u.name) for u in uses]
    assert [(i.kind, i.origin) for i in infos] == [
        ("class", "tools/knowledge.py"), ("class", "weather/api.py"), ("function", "crews/refs/tools.py"),
        ("class", "crewai_tools")]
    assert infos[1].requirements() == (EnvRequirement("WEATHER_API_KEY"),)


def test_validating_a_reference_reads_the_module_and_never_imports_it(tmp_project):
    make_crew(tmp_project, "lazy", "[weather.api:WeatherTool]",
              {"weather/api.py": WEATHER + "\nraise RuntimeError('imported during validation')\n"})
    assert "weather" not in sys.modules
    load_crew("lazy", tmp_project)
    assert "weather.api" not in sys.modules and "weather" not in sys.modules


def test_building_a_reference_imports_the_module_and_takes_the_yaml_arguments(tmp_project, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # mount() puts the project folder on it
    make_crew(tmp_project, "built", "[{weather.api:WeatherTool: {units: imperial}}, crews.built.tools:lookup, "
                                    "tools.knowledge:KnowledgeSearchTool]")
    crew = load_crew("built", tmp_project)
    toolbox.mount(tmp_project, crew.package)
    weather, lookup, knowledge = (toolbox.build(crew.toolbox.get(u.name), u.kwargs, crew.package.path)
                                  for u in crew.agents["researcher"].tools)
    assert weather.run(city="Lisbon") == "sunny in Lisbon, 21 degrees (imperial)"
    assert lookup.name == "lookup" and lookup.run(term="tide") == "tide: a word"  # the @tool object itself
    assert knowledge.crew_dir == str(crew.package.path)  # rolecall's crew_dir, as for registry names
    # tools/ and crews/ modules are imported under rolecall's stable names, so a reference and a
    # registry name bind one and the same class
    assert type(knowledge) is type(toolbox.build(crew.toolbox.get("KnowledgeSearchTool"), {}, crew.package.path))


def test_trip_planner_tools_by_reference_are_the_registry_tools(repo_project):
    box = toolbox_for(repo_project, find(repo_project, "trip_planner"))
    by_ref = box.get("crews.trip_planner.tools:FlightSearchTool")
    assert by_ref == box.get("FlightSearchTool")


# --- located problems --------------------------------------------------------------------

@pytest.mark.parametrize("ref, expected", [
    ("tools.knowlege:KnowledgeSearchTool",
     "tool 'tools.knowlege:KnowledgeSearchTool': no module 'tools.knowlege' in the project or installed packages "
     "(did you mean 'tools.knowledge'?)"),
    ("tools.knowledge:KnowledgeSerchTool",
     "tool 'tools.knowledge:KnowledgeSerchTool': tools/knowledge.py has no 'KnowledgeSerchTool' "
     "(did you mean 'KnowledgeSearchTool'?)"),
    ("weather.api:Forecast",
     "tool 'weather.api:Forecast': weather/api.py has no 'Forecast' (tools in weather/api.py: WeatherTool)"),
    ("tools.knowledge:KnowledgeQuery",
     "tool 'tools.knowledge:KnowledgeQuery' is not a tool: class KnowledgeQuery (tools/knowledge.py:15) does not "
     "subclass crewai's BaseTool (tools in tools/knowledge.py: KnowledgeSearchTool)"),
    ("weather.api:forecast",
     "tool 'weather.api:forecast' is not a tool: forecast (weather/api.py:14) is a plain function "
     "(decorate it with @tool from crewai.tools)"),
    ("crewai_tools:FileRedTool",
     "tool 'crewai_tools:FileRedTool': crewai_tools exports no tool 'FileRedTool' (did you mean 'FileReadTool'?)"),
    ("weather.api:", "'weather.api:' is not a tool reference "
                     "(write module:Class or module:function, e.g. tools.knowledge:KnowledgeSearchTool)"),
])
def test_a_bad_reference_says_what_is_wrong_where(tmp_project, ref, expected):
    make_crew(tmp_project, "bad", f"['{ref}']")
    assert problems(tmp_project, "bad") == [f"crews/bad/crew.yaml:6: agents.researcher.tools[0]: {expected}"]


def test_a_referenced_class_needs_its_environment_variables(tmp_project, monkeypatch):
    monkeypatch.delenv("WEATHER_API_KEY")
    make_crew(tmp_project, "nokey", "[weather.api:WeatherTool]")
    assert problems(tmp_project, "nokey") == [
        "crews/nokey/crew.yaml:6: agents.researcher.tools[0]: tool 'weather.api:WeatherTool' needs the environment "
        "variable WEATHER_API_KEY, which is not set (add it to .env)"]


# --- tool classes built on a shared base -----------------------------------------------------

@pytest.mark.parametrize("base_import", ["from shared.keyed import KeyedTool", "from .base import KeyedTool"])
def test_env_vars_are_inherited_from_a_base_class_in_another_project_module(tmp_project, monkeypatch, base_import):
    make_crew(tmp_project, "quotes", "[QuoteTool]", {
        "crews/quotes/tools.py": CREW_TOOLS.replace("from shared.keyed import KeyedTool", base_import),
        "crews/quotes/base.py": KEYED})
    box = toolbox_for(tmp_project, find(tmp_project, "quotes"))
    assert box.get("QuoteTool").requirements() == (EnvRequirement("QUOTES_API_KEY", required=True),)
    monkeypatch.delenv("QUOTES_API_KEY")
    assert problems(tmp_project, "quotes") == [
        "crews/quotes/crew.yaml:6: agents.researcher.tools[0]: tool 'QuoteTool' needs the environment variable "
        "QUOTES_API_KEY, which is not set (add it to .env)"]


def test_a_helper_base_class_is_not_offered_as_a_tool(tmp_project):
    make_crew(tmp_project, "helper", "[KeyedTool]", {"crews/helper/tools.py": KEYED + """

class QuoteTool(KeyedTool):
    name: str = "quote"

    def _run(self, symbol: str) -> str:
        return symbol
"""})
    box = toolbox_for(tmp_project, find(tmp_project, "helper"))
    assert "KeyedTool" not in box.names() and "QuoteTool" in box.names()
    assert problems(tmp_project, "helper") == [
        "crews/helper/crew.yaml:6: agents.researcher.tools[0]: tool 'KeyedTool' is a base class for tools, not a "
        "tool: class KeyedTool (crews/helper/tools.py:4) has no `name` default and no `_run` "
        "(bind a tool built on it: QuoteTool)"]


def test_a_base_class_can_be_overridden_and_its_defaults_reach_subclasses(tmp_project):
    make_crew(tmp_project, "chain", "[CachedQuoteTool]", {"crews/chain/tools.py": """\
from shared.keyed import KeyedTool as KeyedTool


class KeyedTool(KeyedTool):  # extends the imported class of the same name
    name: str = "keyed"

    def _run(self) -> str:
        return "ok"


class CachedQuoteTool(KeyedTool):
    description: str = "name and _run come from the base"
"""})
    box = toolbox_for(tmp_project, find(tmp_project, "chain"))
    assert {"KeyedTool", "CachedQuoteTool"} <= set(box.names())
    assert box.get("CachedQuoteTool").requirements() == (EnvRequirement("QUOTES_API_KEY"),)


def test_import_cycles_between_bases_end_the_walk(tmp_project):
    make_crew(tmp_project, "cycle", "[lookup]", {
        "crews/cycle/a.py": "from .b import B\n\n\nclass A(B):\n    pass\n",
        "crews/cycle/b.py": "from .a import A\n\n\nclass B(A):\n    pass\n",
        "crews/cycle/tools.py": CREW_TOOLS + "\nfrom .a import A\n\n\nclass Looped(A):\n    name: str = 'x'\n",
    })
    box = toolbox_for(tmp_project, find(tmp_project, "cycle"))
    assert "Looped" not in box.names() and "lookup" in box.names()


def test_trip_planners_shared_travel_tool_is_not_bindable(repo_project):
    box = toolbox_for(repo_project, find(repo_project, "trip_planner"))
    assert "TravelTool" not in box.names()
    assert {"FlightSearchTool", "HotelSearchTool"} <= set(box.names())
    travel_env = (EnvRequirement("TRAVEL_API_URL", required=False), EnvRequirement("TRAVEL_API_KEY", required=False))
    assert box.get("FlightSearchTool").requirements() == travel_env  # declared once, on TravelTool
    assert box.get("HotelSearchTool").requirements() == travel_env
    message, hint = box.explain("TravelTool")
    assert message.startswith("tool 'TravelTool' is a base class for tools, not a tool")
    assert hint == "bind a tool built on it: FlightSearchTool, HotelSearchTool"


def test_the_trip_planner_source_declares_the_travel_settings_once():
    source = (REPO / "crews" / "trip_planner" / "tools.py").read_text()
    assert source.count("env_vars: list[EnvVar]") == 1 and "class TravelTool(BaseTool)" in source
    assert "class FlightSearchTool(TravelTool)" in source and "class HotelSearchTool(TravelTool)" in source
