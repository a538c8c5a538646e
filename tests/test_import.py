"""`main.py import`: an existing CrewAI project becomes a rolecall crew, read statically and never run.

The ten whole projects in ``../shared/compat/crewai-projects/`` (crew.py with @CrewBase, YAML,
main.py, tools/) must import with their YAML unchanged, validate, and run on the scripted
model with each task done by the agent crew.py binds it to. Small made-up projects show the
edge cases: what cannot be read statically is a located note or problem, never a traceback.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import REPO, SHARED, write_files
from rolecall import api
from rolecall.cli import main
from rolecall.errors import ConfigError
from rolecall.importer import ImportReport
from rolecall.problem import only_errors

PROJECTS = SHARED / "compat" / "crewai-projects"
FAKE_ENV = {"SERPER_API_KEY": "test-serper", "OPENAI_API_KEY": "test-openai"}


# What each project's crew.py binds (read off the files by hand): the crew name import picks
# (the package under src/), task -> agent (YAML keys, which are not always the method names),
# each agent's tools, each task's output model, and inputs main.py gives no literal value for.
EXPECTED: dict[str, dict[str, Any]] = {
    "game-builder-crew": {
        "crew": "game_builder_crew",
        "agents": {"code_task": "senior_engineer_agent", "review_task": "qa_engineer_agent",
                   "evaluate_task": "chief_qa_engineer_agent"},
        "tools": {}, "schemas": {}, "given": {"game": "a snake game"}},
    "job-posting": {
        "crew": "job_posting",
        "agents": {"research_company_culture_task": "research_agent",
                   "research_role_requirements_task": "research_agent", "draft_job_posting_task": "writer_agent",
                   "review_and_edit_job_posting_task": "review_agent", "industry_analysis_task": "research_agent"},
        "tools": {"research_agent": ["WebsiteSearchTool", "SerperDevTool"],
                  "writer_agent": ["WebsiteSearchTool", "SerperDevTool", "FileReadTool"],
                  "review_agent": ["WebsiteSearchTool", "SerperDevTool", "FileReadTool"]},
        "schemas": {"research_role_requirements_task": "ResearchRoleRequirements"}, "given": {}},
    "landing_page_generator": {
        "crew": "landing_page_generator",
        "agents": {"expand_idea_task": "senior_idea_analyst", "refine_idea_task": "senior_strategist",
                   "choose_template_task": "senior_react_engineer", "update_page_task": "senior_react_engineer",
                   "component_content_task": "senior_content_editor",
                   "update_component_task": "senior_content_editor", "qa_component_task": "senior_content_editor"},
        "tools": {"senior_idea_analyst": ["search_internet", "scrape_and_summarize_website"],
                  "senior_strategist": ["search_internet", "scrape_and_summarize_website"],
                  "senior_react_engineer": ["search_internet", "scrape_and_summarize_website",
                                            "learn_landing_page_options",
                                            "copy_landing_page_template_to_project_folder", "write_file"]},
        "schemas": {},
        "given": {"idea": "a bakery", "component": "Hero.jsx", "expanded_idea": "x", "file_content": "<div/>"}},
    "markdown_validator": {
        "crew": "markdown_validator",
        "agents": {"syntax_review_task": "Requirements_Manager"},
        "tools": {"Requirements_Manager": ["markdown_validation_tool"]}, "schemas": {},
        "given": {"filename": "README.md"}},
    "marketing_strategy": {
        "crew": "marketing_posts",
        "agents": {"research_task": "lead_market_analyst", "project_understanding_task": "chief_marketing_strategist",
                   "marketing_strategy_task": "chief_marketing_strategist",
                   "campaign_idea_task": "creative_content_creator", "copy_creation_task": "creative_content_creator"},
        "tools": {"lead_market_analyst": ["SerperDevTool", "ScrapeWebsiteTool"],
                  "chief_marketing_strategist": ["SerperDevTool", "ScrapeWebsiteTool"]},
        "schemas": {"marketing_strategy_task": "MarketStrategy", "campaign_idea_task": "CampaignIdea",
                    "copy_creation_task": "Copy"}, "given": {}},
    "match_profile_to_positions": {
        "crew": "match_to_proposal",
        "agents": {"read_cv_task": "cv_reader", "match_cv_task": "matcher"},
        "tools": {"cv_reader": ["FileReadTool"], "matcher": ["FileReadTool", "CSVSearchTool"]},
        "schemas": {}, "given": {}},
    "meta_quest_knowledge": {
        "crew": "meta_quest_knowledge",
        "agents": {"answer_question_task": "meta_quest_expert"}, "tools": {}, "schemas": {}, "given": {}},
    "recruitment": {
        "crew": "recruitment",
        "agents": {"research_candidates_task": "researcher", "match_and_score_candidates_task": "matcher",
                   "outreach_strategy_task": "communicator", "report_candidates_task": "reporter"},
        "tools": {"researcher": ["SerperDevTool", "ScrapeWebsiteTool", "LinkedInTool"],
                  "matcher": ["SerperDevTool", "ScrapeWebsiteTool"],
                  "communicator": ["SerperDevTool", "ScrapeWebsiteTool"]},
        "schemas": {}, "given": {}},
    "stock_analysis": {
        "crew": "stock_analysis",
        "agents": {"financial_analysis": "financial_analyst", "research": "research_analyst",
                   "filings_analysis": "financial_analyst", "recommend": "investment_advisor"},
        "tools": {"financial_analyst": ["ScrapeWebsiteTool", "WebsiteSearchTool", "CalculatorTool", "SEC10QTool",
                                        "SEC10KTool"],
                  "research_analyst": ["ScrapeWebsiteTool", "SEC10QTool", "SEC10KTool"],
                  "investment_advisor": ["ScrapeWebsiteTool", "WebsiteSearchTool", "CalculatorTool"]},
        "schemas": {}, "given": {}},
    "surprise_trip": {
        "crew": "surprise_travel",
        "agents": {"personalized_activity_planning_task": "personalized_activity_planner",
                   "restaurant_scenic_location_scout_task": "restaurant_scout",
                   "itinerary_compilation_task": "itinerary_compiler"},
        "tools": {"personalized_activity_planner": ["SerperDevTool", "ScrapeWebsiteTool"],
                  "restaurant_scout": ["SerperDevTool", "ScrapeWebsiteTool"], "itinerary_compiler": ["SerperDevTool"]},
        "schemas": {"itinerary_compilation_task": "Itinerary"}, "given": {}},
}

needs_projects = pytest.mark.skipif(not PROJECTS.exists(), reason="../shared/compat is not present")


@pytest.fixture
def fake_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in FAKE_ENV.items():
        monkeypatch.setenv(key, value)


def crew_yaml(report: ImportReport) -> dict[str, Any]:
    return yaml.safe_load((report.folder / "crew.yaml").read_text(encoding="utf-8"))


def tool_names(binding: dict[str, Any]) -> list[str]:
    return [t if isinstance(t, str) else next(iter(t)) for t in binding.get("tools", [])]


# --- the ten projects -------------------------------------------------------------

@needs_projects
@pytest.mark.crew
@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_crewai_project_imports_unchanged_validates_and_runs(folder, tmp_project, fake_keys):
    expected = EXPECTED[folder]
    report = api.import_project(PROJECTS / folder, project=tmp_project)

    assert report.crew == expected["crew"] and report.folder == tmp_project.crews_dir / expected["crew"]
    source = next((PROJECTS / folder / "src").glob("*/config"))
    for file in ("agents.yaml", "tasks.yaml"):  # people keep editing these: byte for byte
        assert (report.folder / "config" / file).read_bytes() == (source / file).read_bytes()
    crew = crew_yaml(report)
    assert crew["process"] == "sequential"
    tasks_yaml = yaml.safe_load((source / "tasks.yaml").read_text(encoding="utf-8"))
    bound = {key: (crew.get("tasks", {}).get(key, {}).get("agent") or entry.get("agent"))
             for key, entry in tasks_yaml.items()}
    assert bound == expected["agents"]
    assert {key: tool_names(b) for key, b in crew.get("agents", {}).items() if b.get("tools")} == expected["tools"]
    schemas = {key: b["output_schema"] for key, b in crew.get("tasks", {}).items() if "output_schema" in b}
    assert schemas == expected["schemas"]
    for name in schemas.values():
        assert f"class {name}(BaseModel)" in (report.folder / "schemas.py").read_text(encoding="utf-8")
    if folder == "stock_analysis":  # crew.py's langchain Ollama(model="llama3.1"), as a CrewAI model string
        assert {b.get("llm") for b in crew["agents"].values()} == {"ollama/llama3.1"}
    assert report.ok, "\n".join(p.render(tmp_project.root) for p in report.problems)

    result = api.run(report.crew, expected["given"], llm="scripted", approve_all=True, project=tmp_project)
    assert result.status == "completed", result.error
    assert {t.key: t.agent for t in result.tasks} == expected["agents"]
    for task in expected["schemas"]:
        assert result.task(task).structured, f"{task} should have structured output"


@needs_projects
def test_inputs_come_from_main_py_kickoff_and_what_is_computed_is_named(tmp_project):
    report = api.import_project(PROJECTS / "surprise_trip", project=tmp_project)
    inputs = crew_yaml(report)["inputs"]
    assert inputs["origin"] == {"default": "São Paulo, GRU"}
    assert inputs["age"] == {"type": "integer", "default": 31}

    report = api.import_project(PROJECTS / "markdown_validator", project=tmp_project)
    assert crew_yaml(report)["inputs"]["filename"] == {}  # sys.argv[1] ...: no default, so required
    shown = [n.render(report.source) for n in report.notes]
    assert any(s.startswith("src/markdown_validator/main.py:28: ") and "input 'filename'" in s for s in shown)
    assert any("main.py passes 'query', which no agent or task uses" in s for s in shown)


@needs_projects
def test_own_tools_are_copied_with_their_imports_and_old_imports_are_moved(tmp_project):
    report = api.import_project(PROJECTS / "recruitment", project=tmp_project)
    tools = (report.folder / "tools.py").read_text(encoding="utf-8")
    assert "from crewai.tools import BaseTool" in tools  # was `from crewai_tools import BaseTool`
    # LinkedInTool needs Client (tools/client.py, imported `as LinkedinClient`) which needs Driver
    assert tools.index("class Driver") < tools.index("class Client") < tools.index("class LinkedInTool")
    assert "LinkedinClient = Client" in tools
    assert "except ImportError:\n    webdriver = None" in tools  # selenium is not installed here
    shown = [n.render(report.source) for n in report.notes]
    assert any("package 'selenium' is not installed" in s and "provides 'selenium'" in s for s in shown)
    compile(tools, "tools.py", "exec")

    report = api.import_project(PROJECTS / "landing_page_generator", project=tmp_project)
    tools = (report.folder / "tools.py").read_text(encoding="utf-8")
    assert '@tool("Search the internet")\ndef search_internet(query):' in tools  # lifted out of SearchTools
    assert "from langchain" not in tools
    assert any("self.toolkit.get_tools() cannot be read statically" in n.message for n in report.notes)
    assert any("3 crew classes" in n.message for n in report.notes)


@needs_projects
def test_what_python_does_that_yaml_cannot_say_is_listed_with_its_line(tmp_project):
    report = api.import_project(PROJECTS / "stock_analysis", project=tmp_project)
    shown = [n.render(report.source) for n in report.notes]
    assert "src/stock_analysis/crew.py:37: warning: method 'financial_analysis' is defined again later in " \
           "StockAnalysisCrew; as in Python, the later one is used" in shown
    assert any(s.startswith("src/stock_analysis/crew.py:66: warning: methods 'financial_agent' and "
                            "'financial_analyst_agent' both configure agent 'financial_analyst'") for s in shown)
    assert any(s.startswith("src/stock_analysis/crew.py:31: warning: SEC10QTool() takes positional arguments "
                            "('AMZN')") for s in shown)
    assert "src/stock_analysis/crew.py:14: warning: llm Ollama(model='llama3.1') became the CrewAI model string " \
           "'ollama/llama3.1'" in shown  # noted once, though four agents use it
    assert "src/stock_analysis/tools/sec_tools.py:3: warning: 'pydantic.v1' became 'pydantic' (crewai 1.x takes " \
           "it from there)" in shown


@needs_projects
def test_an_existing_crew_is_kept_unless_forced(tmp_project):
    api.import_project(PROJECTS / "job-posting", name="jobs", project=tmp_project)
    marker = tmp_project.crews_dir / "jobs" / "NOTES.md"
    marker.write_text("mine")
    with pytest.raises(ConfigError, match="already exists"):
        api.import_project(PROJECTS / "recruitment", name="jobs", project=tmp_project)
    assert marker.read_text() == "mine"
    report = api.import_project(PROJECTS / "recruitment", name="jobs", project=tmp_project, force=True)
    assert not marker.exists() and "researcher" in crew_yaml(report)["agents"]
    assert [p.name for p in tmp_project.crews_dir.iterdir()] == ["jobs"]  # no staging folder left behind


def crewai_template_project(root: Path) -> Path:
    """What `crewai create crew --classic latest_ai_development` writes, from the installed template."""
    import crewai_cli
    template = Path(crewai_cli.__file__).parent / "templates" / "crew"
    package = root / "src" / "latest_ai_development"
    for file in template.rglob("*"):
        if file.is_file() and "__pycache__" not in file.parts and file.suffix in (".py", ".yaml", ".toml", ".txt"):
            relative = file.relative_to(template)
            top = relative.parts[0] in ("pyproject.toml", "knowledge")
            text = file.read_text(encoding="utf-8").replace("{{crew_name}}", "LatestAiDevelopment")
            text = text.replace("{{folder_name}}", "latest_ai_development").replace("{{name}}", "latest")
            write_files(root if top else package, {str(relative): text})
    return root


@pytest.mark.crew
def test_the_project_crewai_create_crew_writes_imports_and_runs(tmp_project, tmp_path, fake_keys):
    source = crewai_template_project(tmp_path / "latest")
    crew_py = source / "src/latest_ai_development/crew.py"
    crew_py.write_text(crew_py.read_text().replace(
        "from crewai.agents.agent_builder.base_agent import BaseAgent",
        "from crewai.agents.agent_builder.base_agent import BaseAgent\nfrom crewai_tools import SerperDevTool\n"
        "from latest_ai_development.tools.custom_tool import MyCustomTool").replace(
        "config=self.agents_config['researcher'], # type: ignore[index]",
        "config=self.agents_config['researcher'], # type: ignore[index]\n            "
        "tools=[SerperDevTool(n_results=3), MyCustomTool()],"))
    report = api.import_project(source, project=tmp_project)
    assert report.crew == "latest_ai_development" and report.ok, [p.render() for p in report.problems]
    crew = crew_yaml(report)
    assert crew["inputs"]["topic"] == {"default": "AI LLMs"}
    assert crew["agents"]["researcher"]["tools"] == [{"SerperDevTool": {"n_results": 3}}, "MyCustomTool"]
    assert crew["tasks"]["reporting_task"] == {"output_file": "report.md"}
    tools = (report.folder / "tools.py").read_text(encoding="utf-8")
    assert tools.index("class MyCustomToolInput") < tools.index("class MyCustomTool(BaseTool)")

    result = api.run(report.crew, {}, llm="scripted", approve_all=True, project=tmp_project)
    assert result.status == "completed", result.error
    assert {t.key: t.agent for t in result.tasks} == {"research_task": "researcher",
                                                      "reporting_task": "reporting_analyst"}


@pytest.mark.crew
def test_a_crew_of_a_flow_project_imports_with_the_input_the_flow_gives_it(tmp_project, tmp_path):
    import crewai_cli
    template = Path(crewai_cli.__file__).parent / "templates" / "flow"
    package = tmp_path / "blog" / "src" / "blog"
    shutil.copytree(template, package, ignore=shutil.ignore_patterns("__pycache__"))
    main_py = package / "main.py"
    main_py.write_text(main_py.read_text(encoding="utf-8").replace("{{folder_name}}", "blog"), encoding="utf-8")

    report = api.import_project(tmp_path / "blog", project=tmp_project)  # crews/content_crew/content_crew.py
    assert report.crew == "content_crew" and report.ok, [p.render() for p in report.problems]
    assert crew_yaml(report)["inputs"] == {"topic": {"default": "AI Agents"}}  # self.state.topic = "AI Agents"
    result = api.run(report.crew, {}, llm="scripted", approve_all=True, project=tmp_project)
    assert result.status == "completed", result.error
    assert [t.agent for t in result.tasks] == ["planner", "writer", "editor"]


# --- reading crew.py statically: the edge cases -------------------------------------

AGENTS = """\
researcher:
  role: Researcher
  goal: Find facts about {topic}
  backstory: Careful.
writer:
  role: Writer
  goal: Write about {topic}
  backstory: Clear.
lead:
  role: Lead
  goal: Get a good report
  backstory: Delegates well.
"""
TASKS = """\
research_task:
  description: Research {topic}.
  expected_output: Five facts.
write_task:
  description: Write a report on {topic}.
  expected_output: A short report.
"""
HEAD = """\
import os
from crewai import Agent, Crew, Process, Task
from crewai.project import CrewBase, agent, crew, task
"""


def project_with(root: Path, crew_py: str, main_py: str | None = None, tasks: str = TASKS) -> Path:
    write_files(root, {"pyproject.toml": "[project]\nname = 'demo'\n",
                       "src/demo/config/agents.yaml": AGENTS, "src/demo/config/tasks.yaml": tasks,
                       "src/demo/crew.py": crew_py, "src/demo/main.py": main_py})
    return root


def crew_class(agents: str, tasks: str, crew_kwargs: str = "process=Process.sequential") -> str:
    return HEAD + f"""

@CrewBase
class Demo:
    agents_config = 'config/agents.yaml'
    tasks_config = 'config/tasks.yaml'
{agents}
{tasks}
    @crew
    def crew(self) -> Crew:
        return Crew(agents=self.agents, tasks=self.tasks, {crew_kwargs})
"""


TWO_AGENTS = """
    @agent
    def researcher(self) -> Agent:
        return Agent(config=self.agents_config['researcher'])

    @agent
    def writer(self) -> Agent:
        return Agent(config=self.agents_config['writer'])
"""
TWO_TASKS = """
    @task
    def research_task(self) -> Task:
        return Task(config=self.tasks_config['research_task'], agent=self.researcher())

    @task
    def write_task(self) -> Task:
        return Task(config=self.tasks_config['write_task'], agent=self.writer(), context=[self.research_task()])
"""


def test_a_crew_py_with_a_syntax_error_is_a_located_problem_and_nothing_is_written(tmp_project, tmp_path):
    source = project_with(tmp_path / "demo", HEAD + "\n@CrewBase\nclass Demo:\n    def broken(self:\n")
    with pytest.raises(ConfigError) as caught:
        api.import_project(source, project=tmp_project)
    problem = caught.value.problems[0]
    assert problem.file == source / "src/demo/crew.py" and problem.line == 7
    assert "cannot read crew.py statically: Python syntax error" in problem.message
    assert list(tmp_project.crews_dir.iterdir()) == []
    write_files(tmp_project.crews_dir / "demo", {"crew.yaml": "description: mine\n"})
    with pytest.raises(ConfigError):  # even when asked to replace it, a crew is kept when the input is bad
        api.import_project(source, project=tmp_project, force=True)
    assert (tmp_project.crews_dir / "demo" / "crew.yaml").read_text() == "description: mine\n"


def test_a_tool_from_a_module_that_is_nowhere_is_a_located_note_and_left_out(tmp_project, tmp_path):
    agents = TWO_AGENTS.replace("config=self.agents_config['researcher'])",
                                "config=self.agents_config['researcher'], tools=[MagicSearch(depth=2)])")
    agents = agents.replace("config=self.agents_config['writer'])",
                            "config=self.agents_config['writer'], tools=[ScrapeWebsiteTool()])")
    crew_py = crew_class(agents, TWO_TASKS).replace("import os\n", "import os\nfrom nowhere_pkg.tools import "
                                                                   "MagicSearch\nfrom crewai_tools import *\n")
    report = api.import_project(project_with(tmp_path / "demo", crew_py), project=tmp_project)
    note = next(n for n in report.notes if "MagicSearch" in n.message)
    assert note.render(report.source) == (
        "src/demo/crew.py:15: warning: tool 'MagicSearch' cannot be found: module 'nowhere_pkg.tools' is neither "
        "in the project nor installed; left out (install the package, or copy the tool into the crew's tools.py "
        "and list it in crew.yaml)")
    assert "tools" not in crew_yaml(report).get("agents", {}).get("researcher", {})
    assert crew_yaml(report)["agents"]["writer"] == {"tools": ["ScrapeWebsiteTool"]}  # from crewai_tools import *
    assert report.ok


def test_a_value_computed_at_run_time_is_a_located_note(tmp_project, tmp_path):
    agents = TWO_AGENTS.replace("config=self.agents_config['writer'])",
                                "config=self.agents_config['writer'], max_iter=int(os.getenv('ITER', '5')), "
                                "allow_delegation=False, **self.extra)")
    report = api.import_project(project_with(tmp_path / "demo", crew_class(agents, TWO_TASKS)), project=tmp_project)
    note = next(n for n in report.notes if "max_iter" in n.message)
    assert (note.line, note.file.name) == (17, "crew.py")
    assert "is computed when crew.py runs; not recovered" in note.message
    assert crew_yaml(report)["agents"]["writer"] == {"allow_delegation": False}  # the literal one is kept
    spread = next(n for n in report.notes if "self.extra" in n.message)
    assert spread.line == 17 and "(a positional argument or **mapping)" in spread.message
    assert crew_yaml(report)["tasks"]["write_task"] == {"agent": "writer", "context": ["research_task"]}


def test_manager_agent_as_a_method_becomes_the_crews_manager(tmp_project, tmp_path):
    manager = TWO_AGENTS + """
    def lead(self) -> Agent:
        return Agent(config=self.agents_config['lead'], allow_delegation=True)
"""
    tasks = TWO_TASKS.replace(", agent=self.researcher()", "").replace(", agent=self.writer()", "")
    crew_py = crew_class(manager, tasks, "process=Process.hierarchical, manager_agent=self.lead()")
    main_py = "def run():\n    inputs = {'topic': 'tides'}\n    Demo().crew().kickoff(inputs=inputs)\n"
    report = api.import_project(project_with(tmp_path / "demo", crew_py, main_py), project=tmp_project)
    crew = crew_yaml(report)
    assert crew["process"] == "hierarchical" and crew["manager"] == {"agent": "lead"}
    assert crew["inputs"] == {"topic": {"default": "tides"}}
    assert crew["agents"]["lead"] == {"allow_delegation": True}
    assert report.ok, [p.render() for p in report.problems]


def test_main_py_inputs_read_off_the_clock_default_to_todays_value(tmp_project, tmp_path):
    tasks = TASKS.replace("Write a report on {topic}.", "Write a report on {topic} as of {current_year}.")
    main_py = ("import sys\nfrom datetime import datetime\n\n\ndef run():\n    inputs = {\n        'topic': sys.argv[1],\n"
               "        'current_year': str(datetime.now().year),\n    }\n    try:\n"
               "        Demo().crew().kickoff(inputs=inputs)\n    except Exception as e:\n        raise\n")
    source = project_with(tmp_path / "demo", crew_class(TWO_AGENTS, TWO_TASKS), main_py, tasks)
    report = api.import_project(source, project=tmp_project)
    import datetime
    assert crew_yaml(report)["inputs"] == {"topic": {}, "current_year": {"default": str(datetime.date.today().year)}}
    shown = [n.render(report.source) for n in report.notes]
    assert any(s.startswith("src/demo/main.py:7: warning: input 'topic' is sys.argv[1]") for s in shown)
    assert any(s.startswith("src/demo/main.py:8: warning: input 'current_year' is str(datetime.now().year) in "
                            "main.py, read off the clock at each run") for s in shown)


def test_manager_llm_becomes_the_built_in_managers_model(tmp_project, tmp_path, fake_keys):
    tasks = TWO_TASKS.replace(", agent=self.researcher()", "").replace(", agent=self.writer()", "")
    crew_py = crew_class(TWO_AGENTS, tasks, "process=Process.hierarchical, manager_llm=ChatOpenAI(model='gpt-4o'), "
                                            "memory=False, planning=True")
    crew_py = crew_py.replace("import os\n", "import os\nfrom langchain_openai import ChatOpenAI\n")
    report = api.import_project(project_with(tmp_path / "demo", crew_py), project=tmp_project)
    crew = crew_yaml(report)
    assert (crew["process"], crew["manager"]) == ("hierarchical", {"llm": "openai/gpt-4o"})
    assert (crew["memory"], crew["planning"]) == (False, True)
    assert report.ok, [p.render() for p in report.problems]


def test_a_task_bound_to_no_agent_is_noted_and_left_to_validation(tmp_project, tmp_path):
    tasks = TWO_TASKS.replace(", agent=self.writer()", "")
    report = api.import_project(project_with(tmp_path / "demo", crew_class(TWO_AGENTS, tasks)), project=tmp_project)
    note = next(n for n in report.notes if "bound to no agent" in n.message)
    assert note.render(report.source).startswith("src/demo/crew.py:26: warning: task 'write_task' is bound to "
                                                 "no agent in crew.py or tasks.yaml")
    assert not report.ok
    assert [p.message for p in only_errors(report.problems)] == [
        "task has no agent; a sequential crew needs one for every task"]
    assert (report.folder / "crew.yaml").exists()  # written all the same, so it can be fixed by hand


def test_method_names_need_not_match_yaml_keys_and_models_go_to_schemas(tmp_project, tmp_path, fake_keys):
    crew_py = "from __future__ import annotations\n" + HEAD + """from crewai import LLM
from pydantic import BaseModel
from typing import List


class Fact(BaseModel):
    text: str


class Facts(BaseModel):
    items: List[Fact]


@CrewBase
class Demo:
    @agent
    def fact_finder(self) -> Agent:
        return Agent(config=self.agents_config['researcher'], llm="scripted")

    @agent
    def author(self) -> Agent:
        return Agent(config=self.agents_config['writer'], llm=LLM(model="openai/gpt-4o-mini", temperature=0.2))

    @task
    def find(self) -> Task:
        return Task(config=self.tasks_config['research_task'], agent=self.fact_finder(), output_pydantic=Facts,
                    async_execution=False, output_file='facts.json', guardrail='Five facts, each with a source')

    @task
    def write(self) -> Task:
        return Task(config=self.tasks_config['write_task'], agent=self.author())
"""
    report = api.import_project(project_with(tmp_path / "demo", crew_py), project=tmp_project)
    crew = crew_yaml(report)
    assert crew["agents"] == {"researcher": {"llm": "scripted"},
                              "writer": {"llm": {"model": "openai/gpt-4o-mini", "temperature": 0.2}}}
    assert crew["tasks"]["research_task"] == {"agent": "researcher", "output_schema": "Facts",
                                              "async_execution": False, "output_file": "facts.json",
                                              "guardrail": "Five facts, each with a source"}
    schemas = (report.folder / "schemas.py").read_text(encoding="utf-8")
    assert schemas.index("class Fact(BaseModel)") < schemas.index("class Facts(BaseModel)")
    assert "from pydantic import BaseModel" in schemas and "from typing import List" in schemas
    assert schemas.splitlines()[1] == "from __future__ import annotations"  # as in crew.py, and still first
    compile(schemas, "schemas.py", "exec")
    assert any("no @crew method" in n.message for n in report.notes)
    assert report.ok, [p.render() for p in report.problems]


def test_crew_classes_with_their_own_yaml_are_separate_crews_picked_with_path_colon_class(tmp_project, tmp_path):
    second = """
@CrewBase
class Review:
    agents_config = 'config/review_agents.yaml'
    tasks_config = 'config/review_tasks.yaml'

    @agent
    def critic(self) -> Agent:
        return Agent(config=self.agents_config['critic'], tools=self.toolkit.get_tools())

    @task
    def critique(self) -> Task:
        return Task(config=self.tasks_config['critique'], agent=self.critic())
"""
    source = project_with(tmp_path / "demo", crew_class(TWO_AGENTS, TWO_TASKS) + second)
    write_files(source / "src/demo/config", {
        "review_agents.yaml": "critic:\n  role: Critic\n  goal: Judge {draft}\n  backstory: Fair.\n",
        "review_tasks.yaml": "critique:\n  description: Critique {draft}.\n  expected_output: Notes.\n"})

    report = api.import_project(source, project=tmp_project)  # the first class
    assert report.crew == "demo" and sorted(crew_yaml(report)["tasks"]) == ["research_task", "write_task"]
    assert "config/review_agents.yaml" not in report.written  # another crew's YAML stays out
    note = next(n for n in report.notes if "crew class Review" in n.message)
    assert note.line == 33 and note.hint == f"python main.py import {source / 'src/demo/crew.py'}:Review"

    report = api.import_project(f"{source / 'src/demo/crew.py'}:Review", project=tmp_project)
    assert report.crew == "review" and report.ok, [p.render() for p in report.problems]
    assert (report.folder / "config/agents.yaml").read_bytes() == \
        (source / "src/demo/config/review_agents.yaml").read_bytes()
    assert any(n.message == "review_agents.yaml is copied unchanged as the crew's config/agents.yaml"
               for n in report.notes)
    assert any(n.message.startswith("self.toolkit.get_tools() cannot be read statically") for n in report.notes)
    with pytest.raises(ConfigError, match="no crew class 'Reveiw'"):
        api.import_project(f"{source / 'src/demo/crew.py'}:Reveiw", project=tmp_project)


def test_yaml_naming_a_crew_method_as_its_tool_is_noted(tmp_project, tmp_path, fake_keys):
    agents = AGENTS.replace("  backstory: Careful.\n", "  backstory: Careful.\n  tools: [search]\n")
    crew_py = crew_class(TWO_AGENTS + """
    @tool
    def search(self):
        return SerperDevTool()
""", TWO_TASKS).replace("import os\n", "import os\nfrom crewai.project import tool\nfrom crewai_tools import "
                                        "SerperDevTool\n")
    source = project_with(tmp_path / "demo", crew_py)
    (source / "src/demo/config/agents.yaml").write_text(agents, encoding="utf-8")
    report = api.import_project(source, project=tmp_project)
    note = next(n for n in report.notes if "names 'search'" in n.message)
    assert note.message == ("config/agents.yaml's researcher names 'search', the @tool method here; rolecall reads "
                            "that name from its tool registry or model profiles instead")
    assert note.line == 22 and not report.ok  # validation: unknown tool 'search'


def test_file_knowledge_sources_are_copied_and_bound(tmp_project, tmp_path):
    agents = TWO_AGENTS.replace("config=self.agents_config['researcher'])",
                                "config=self.agents_config['researcher'], knowledge_sources=[notes])")
    crew_py = crew_class(agents, TWO_TASKS, "process=Process.sequential, knowledge_sources=[facts, "
                                            "StringKnowledgeSource(content='x')]")
    crew_py = crew_py.replace("import os\n", "import os\nfrom crewai.knowledge.source.text_file_knowledge_source "
                                            "import TextFileKnowledgeSource\n"
                                            "notes = TextFileKnowledgeSource(file_paths=['notes.txt'])\n"
                                            "facts = TextFileKnowledgeSource(file_paths=['facts.txt', 'gone.txt'])\n")
    source = project_with(tmp_path / "demo", crew_py)
    write_files(source / "knowledge", {"notes.txt": "tides\n", "facts.txt": "moon\n"})
    report = api.import_project(source, project=tmp_project)
    crew = crew_yaml(report)
    assert crew["knowledge_sources"] == ["facts.txt"] and crew["agents"]["researcher"] == {
        "knowledge_sources": ["notes.txt"]}
    assert (report.folder / "knowledge/notes.txt").read_text() == "tides\n"
    messages = [n.message for n in report.notes]
    assert "knowledge file 'gone.txt' is not in the project's knowledge/ folder; left out" in messages
    assert any(m.startswith("knowledge source StringKnowledgeSource(content='x') is not a file source") for m in messages)


def test_a_json_crew_is_copied_unchanged(tmp_project, tmp_path):
    files = {"crew.jsonc": '{\n  // the crew\n  "name": "Demo",\n  "agents": ["researcher"]\n}\n',
             "agents/researcher.jsonc": '{"role": "Researcher", "goal": "Find", "backstory": "Careful"}\n',
             "tools/search.py": "from crewai.tools import tool\n",
             "knowledge/notes.txt": "facts\n", "pyproject.toml": "[project]\nname = 'demo'\n"}
    write_files(tmp_path / "json_demo", files)
    report = api.import_project(tmp_path / "json_demo", project=tmp_project)
    assert report.crew == "json_demo"
    for relative, text in files.items():
        if relative != "pyproject.toml":
            assert (report.folder / relative).read_text(encoding="utf-8") == text
    assert not (report.folder / "pyproject.toml").exists()


# --- the command line ---------------------------------------------------------------

def cli(capsys, *argv, root):
    code = main(list(argv), project_root=root)
    out, err = capsys.readouterr()
    return code, out, err


@needs_projects
def test_cli_import_prints_what_it_wrote_and_exits_0_when_the_crew_validates(capsys, tmp_project, fake_keys):
    code, out, err = cli(capsys, "import", str(PROJECTS / "job-posting"), "--name", "jobs", root=tmp_project.root)
    assert code == 0, err
    assert "as crews/jobs/" in out and "wrote: config/agents.yaml, config/tasks.yaml, crew.yaml, schemas.py" in out
    assert out.rstrip().endswith("jobs: ok")
    code, _, err = cli(capsys, "import", str(PROJECTS / "job-posting"), "--name", "jobs", root=tmp_project.root)
    assert code == 2 and "crews/jobs already exists; nothing was written" in err


@needs_projects
def test_cli_import_exits_2_listing_what_is_left_to_fix(capsys, tmp_project, monkeypatch):
    monkeypatch.delenv("SERPER_API_KEY", raising=False)
    code, out, err = cli(capsys, "import", str(PROJECTS / "surprise_trip"), root=tmp_project.root)
    assert code == 2 and "surprise_travel: INVALID" in out
    assert "crews/surprise_travel/crew.yaml:" in err and "SERPER_API_KEY" in err and "Traceback" not in err


def test_cli_import_of_bad_input_is_one_plain_message(capsys, tmp_project, tmp_path):
    code, _, err = cli(capsys, "import", str(tmp_path / "missing"), root=tmp_project.root)
    assert code == 2 and "no such file or folder" in err and "Traceback" not in err
    write_files(tmp_path / "empty", {"README.md": "nothing here\n"})
    code, _, err = cli(capsys, "import", str(tmp_path / "empty"), root=tmp_project.root)
    assert code == 2 and "no crew.py and no crew.jsonc" in err
    code, _, err = cli(capsys, "import", str(tmp_path / "empty"), "--name", "Bad-Name", root=tmp_project.root)
    assert code == 2
    two = crew_class(TWO_AGENTS, TWO_TASKS)
    write_files(tmp_path / "flow", {"src/flow/crews/a/a_crew.py": two, "src/flow/crews/b/b_crew.py": two})
    code, _, err = cli(capsys, "import", str(tmp_path / "flow"), root=tmp_project.root)
    assert code == 2 and "2 crew files in" in err and "src/flow/crews/a/a_crew.py, src/flow/crews/b/b_crew.py" in err
    assert "(give the path of the one to import)" in err


def test_import_is_part_of_the_public_api():
    import rolecall
    assert rolecall.import_project is api.import_project and rolecall.ImportReport is ImportReport
    assert {"import_project", "ImportReport"} <= set(rolecall.__all__)


@needs_projects
def test_import_never_imports_crewai(tmp_path):
    root = tmp_path / "project"
    (root / "crews").mkdir(parents=True)
    (root / "config").symlink_to(REPO / "config")
    code = (f"import sys; from pathlib import Path; from rolecall.cli import main; "
            f"rc = main(['import', {str(PROJECTS / 'stock_analysis')!r}], project_root=Path({str(root)!r})); "
            f"print('CREWAI' if 'crewai' in sys.modules else 'CLEAN')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO).stdout
    assert out.strip().splitlines()[-1] == "CLEAN"


def test_a_module_level_value_built_from_a_missing_package_does_not_stop_the_tools_loading(tmp_project, tmp_path):
    # tools/vision.py builds a client at import time from a package that is not installed here
    vision = ('import os\nfrom crewai.tools import tool\nfrom nowhere_vision import Credentials, Model\n\n'
              'credentials = Credentials(api_key=os.environ.get("VISION_KEY"))\n'
              'model = Model(credentials=credentials)\nREGION = "eu"\n\n'
              '@tool("Describe image")\ndef describe_image(path: str) -> str:\n'
              '    """Describe the image at path."""\n    return model.describe(path, REGION)\n')
    agents = TWO_AGENTS.replace("config=self.agents_config['researcher'])",
                                "config=self.agents_config['researcher'], tools=[describe_image])")
    crew_py = crew_class(agents, TWO_TASKS).replace("import os\n", "import os\nfrom demo.tools.vision import "
                                                                   "describe_image\n")
    source = project_with(tmp_path / "demo", crew_py)
    write_files(source / "src/demo/tools", {"__init__.py": "", "vision.py": vision})
    report = api.import_project(source, project=tmp_project)
    tools = (report.folder / "tools.py").read_text(encoding="utf-8")
    assert "except Exception:\n    credentials = None" in tools
    assert "except Exception:\n    model = None" in tools  # computed from a guarded value: guarded too
    assert '\nREGION = "eu"' in tools  # what needs no missing package is copied as written
    namespace: dict[str, Any] = {}
    exec(compile(tools, "tools.py", "exec"), namespace)  # the module loads; only the tool fails, when called
    assert namespace["credentials"] is None and report.ok


def test_crew_py_task_order_is_kept_in_crew_yaml_when_tasks_yaml_lists_them_otherwise(tmp_project, tmp_path):
    # CrewAI runs @task methods in their order; here crew.py defines write_task's input first
    swapped = "write_task:\n" + TASKS.split("write_task:\n")[1] + TASKS.split("write_task:\n")[0]
    report = api.import_project(project_with(tmp_path / "demo", crew_class(TWO_AGENTS, TWO_TASKS), tasks=swapped),
                                project=tmp_project)
    assert (report.folder / "config/tasks.yaml").read_text(encoding="utf-8") == swapped  # copied unchanged
    assert crew_yaml(report)["task_order"] == ["research_task", "write_task"]
    assert report.ok  # write_task's context (research_task) runs before it, as in CrewAI
    assert list(api.load_crew("demo", tmp_project).tasks) == ["research_task", "write_task"]


def test_an_explicit_crew_task_list_gives_the_order_and_what_it_leaves_out_is_noted(tmp_project, tmp_path):
    crew_py = crew_class(TWO_AGENTS, TWO_TASKS, "tasks=[self.research_task()], process=Process.sequential")
    report = api.import_project(project_with(tmp_path / "demo", crew_py), project=tmp_project)
    assert crew_yaml(report)["task_order"] == ["research_task"]
    assert any("task 'write_task' is not in Crew(tasks=...), so CrewAI would not run it" in n.message
               for n in report.notes)


def test_config_spread_with_double_star_binds_like_config_equals(tmp_project, tmp_path):
    # `Agent(**self.agents_config['x'])`, and a local copy with a key popped before `Task(**config)`
    agents = TWO_AGENTS.replace("Agent(config=self.agents_config['researcher'])",
                                "Agent(**self.agents_config['researcher'], allow_delegation=False)")
    tasks = TWO_TASKS.replace("""        return Task(config=self.tasks_config['write_task'], agent=self.writer(),""",
                              """        config = self.tasks_config['write_task'].copy()
        config.pop('agent', None)
        return Task(**config, agent=self.writer(),""")
    report = api.import_project(project_with(tmp_path / "demo", crew_class(agents, tasks)), project=tmp_project)
    crew = crew_yaml(report)
    assert crew["agents"]["researcher"] == {"allow_delegation": False}
    assert crew["tasks"]["write_task"] == {"agent": "writer", "context": ["research_task"]}
    assert not any("no config=" in n.message or "**mapping" in n.message for n in report.notes)
    assert report.ok, [p.render() for p in report.problems]


def test_model_settings_read_from_the_environment_are_recovered_and_keys_never_copied(tmp_project, tmp_path,
                                                                                       monkeypatch):
    monkeypatch.setenv("GROQ_KEY", "k")
    head = ("from crewai import LLM\nMODEL = os.getenv('WRITER_MODEL', 'openai/gpt-4o-mini')\n"
            "local = LLM(model='ollama/llama3.2', base_url='http://localhost:11434', api_key='dummy')\n"
            "hosted = LLM(model='openai/gpt-4o', api_key=os.environ['GROQ_KEY'])\n")
    agents = TWO_AGENTS.replace("config=self.agents_config['writer'])", "config=self.agents_config['writer'], "
                                                                        "llm=MODEL)")
    agents = agents.replace("config=self.agents_config['researcher'])", "config=self.agents_config['researcher'], "
                                                                        "llm=local)")
    crew_py = crew_class(agents, TWO_TASKS, "process=Process.sequential, manager_llm=hosted").replace(
        "import os\n", "import os\n" + head)
    report = api.import_project(project_with(tmp_path / "demo", crew_py), project=tmp_project)
    crew = crew_yaml(report)
    assert crew["agents"]["writer"]["llm"] == "openai/gpt-4o-mini"  # the default os.getenv falls back to
    assert crew["agents"]["researcher"]["llm"] == {"model": "ollama/llama3.2", "base_url": "http://localhost:11434"}
    assert crew["manager"]["llm"] == {"model": "openai/gpt-4o", "api_key": "${GROQ_KEY}"}
    shown = [n.render(report.source) for n in report.notes]
    assert any("api_key='dummy' is written in crew.py; not copied" in s for s in shown)
    assert any("became its default 'openai/gpt-4o-mini' (rolecall does not read WRITER_MODEL" in s for s in shown)
    assert "dummy" not in (report.folder / "crew.yaml").read_text(encoding="utf-8")


def test_a_model_set_on_self_in_init_is_what_the_agents_llm_reads(tmp_project, tmp_path):
    init = """
    def __init__(self):
        self.llm = LLM(model='openai/gpt-4o-mini', temperature=0.2)
"""
    agents = init + TWO_AGENTS.replace("config=self.agents_config['writer'])",
                                       "config=self.agents_config['writer'], llm=self.llm)")
    crew_py = crew_class(agents, TWO_TASKS).replace("import os\n", "import os\nfrom crewai import LLM\n")
    report = api.import_project(project_with(tmp_path / "demo", crew_py), project=tmp_project)
    assert crew_yaml(report)["agents"]["writer"]["llm"] == {"model": "openai/gpt-4o-mini", "temperature": 0.2}
    assert not any("self.llm cannot be read statically" in n.message for n in report.notes)
