"""``llm:`` takes CrewAI's values: a profile name, a model string, or CrewAI's object form."""
from __future__ import annotations

import pytest

from fake_openai import FakeOpenAI, fake_openai  # noqa: F401 - fake_openai is a fixture
from helpers import write_files
from rolecall import ConfigError, load_crew
from rolecall.cli import main
from rolecall.llm.providers import NotAModel, parse

AGENTS = "writer: {role: Writer, goal: 'Write about {topic}', backstory: Clear.}\n"
TASKS = "write:\n  description: Write about {topic}.\n  expected_output: A paragraph.\n  agent: writer\n"


def crew_with(project, name: str, crew_yaml: str) -> None:
    write_files(project.crews_dir / name, {"config/agents.yaml": AGENTS, "config/tasks.yaml": TASKS,
                                           "crew.yaml": "inputs:\n  topic: {default: tides}\n" + crew_yaml})


@pytest.mark.parametrize(("text", "provider", "model"), [
    ("openai/gpt-4o", "openai", "gpt-4o"),
    ("gpt-4o-mini", "openai", "gpt-4o-mini"),
    ("o3-mini", "openai", "o3-mini"),
    ("ollama/llama3.2", "ollama", "llama3.2"),
    ("anthropic/claude-3-5-sonnet-20240620", "anthropic", "claude-3-5-sonnet-20240620"),
    ("claude-3-haiku", "anthropic", "claude-3-haiku"),
    ("gemini/gemini-1.5-pro", "gemini", "gemini-1.5-pro"),
    ("groq/llama-3.1-70b-versatile", "groq", "llama-3.1-70b-versatile"),
    ("openrouter/meta-llama/llama-3-70b", "openrouter", "meta-llama/llama-3-70b"),
])
def test_crewai_model_strings_are_read_as_crewai_reads_them(text, provider, model):
    parsed = parse(text)
    assert (parsed.provider, parsed.model) == (provider, model)


def test_a_model_string_that_is_not_one_says_so():
    with pytest.raises(NotAModel, match="unknown model provider 'opnai'") as bad:
        parse("opnai/gpt-4o")
    assert bad.value.hint == "did you mean 'openai'?"
    with pytest.raises(NotAModel, match="neither a model profile nor a model string"):
        parse("my-model")


def test_a_model_string_becomes_a_profile_of_its_own(tmp_project, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    crew_with(tmp_project, "strings", "agents:\n  writer:\n    llm: openai/gpt-4o\nllm: ollama/llama3.2\n")
    crew = load_crew("strings", tmp_project)
    assert crew.agents["writer"].llm == "openai/gpt-4o"
    writer, default = crew.models["openai/gpt-4o"], crew.models["ollama/llama3.2"]
    assert (writer.provider, writer.model, writer.api_key_env) == ("openai", "gpt-4o", "OPENAI_API_KEY")
    assert (default.provider, default.model, default.api_key_env) == ("crewai", "ollama/llama3.2", None)
    assert writer.retries == 2  # through rolecall's retry policy like any remote profile


def test_a_missing_key_is_a_validation_error_unless_the_run_overrides_every_model(tmp_project, monkeypatch,
                                                                                  capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    crew_with(tmp_project, "keyed", "agents:\n  writer:\n    llm: openai/gpt-4o-mini\n")
    with pytest.raises(ConfigError, match="needs the environment variable OPENAI_API_KEY"):
        load_crew("keyed", tmp_project)
    assert main(["validate", "keyed"], project_root=tmp_project.root) == 2
    assert "crew.yaml:5: agents.writer.llm: model 'openai/gpt-4o-mini' needs the environment variable " \
           "OPENAI_API_KEY" in capsys.readouterr().err
    # --llm scripted gives every agent one model, so any public crew runs offline
    assert load_crew("keyed", tmp_project, llm="scripted").agents["writer"].llm == "openai/gpt-4o-mini"
    assert main(["run", "keyed", "--llm", "scripted"], project_root=tmp_project.root) == 0


def test_a_provider_without_its_client_package_is_named(tmp_project, monkeypatch):
    import importlib.util
    if importlib.util.find_spec("anthropic") is not None:
        pytest.skip("the anthropic package is installed here")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    crew_with(tmp_project, "claude", "agents:\n  writer:\n    llm: anthropic/claude-3-5-sonnet\n")
    with pytest.raises(ConfigError, match="needs the Python package 'anthropic', which is not installed"):
        load_crew("claude", tmp_project)


@pytest.mark.crew
def test_the_object_form_runs_through_its_endpoint_and_is_recorded(run_crew, tmp_project, fake_openai,
                                                                  monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "sk-fake")
    monkeypatch.setenv("FAKE_URL", fake_openai.base_url)
    crew_with(tmp_project, "endpoint", "agents:\n  writer:\n    llm: {model: openai/fake-mini, "
                                       "base_url: '${FAKE_URL}', api_key: '${FAKE_KEY}', temperature: 0.1}\n")
    crew = load_crew("endpoint", tmp_project)
    name = crew.agents["writer"].llm
    assert name.startswith("openai/fake-mini@${FAKE_URL}#")
    result = run_crew("endpoint", llm=None, project=tmp_project)  # no --llm: the crew's own model
    assert result.ok, result.error
    assert result.task("write").output.startswith("Fake findings from the fake model.")
    assert [(c.agent, c.model) for c in result.model_calls] == [("writer", "fake-mini")]
    assert [s.model for s in fake_openai.log] == ["fake-mini"]


@pytest.mark.crew
def test_an_openai_compatible_provider_string_goes_through_crewai(run_crew, tmp_project, fake_openai):
    crew_with(tmp_project, "vllm", f"llm: {{model: hosted_vllm/served-model, base_url: '{fake_openai.base_url}'}}\n")
    result = run_crew("vllm", llm=None, project=tmp_project)
    assert result.ok, result.error
    assert [s.model for s in fake_openai.log] == ["served-model"]
    assert result.model_calls[0].agent == "writer"


def test_manager_llm_and_manager_agent_are_crewai_names_for_manager(tmp_project):
    write_files(tmp_project.crews_dir / "managed", {
        "config/agents.yaml": AGENTS + "boss: {role: Boss, goal: Manage, backstory: Calm.}\n",
        "config/tasks.yaml": "write:\n  description: Write about {topic}.\n  expected_output: A paragraph.\n",
        "crew.yaml": "inputs:\n  topic: {default: tides}\nprocess: hierarchical\nmanager_agent: boss\n"})
    crew = load_crew("managed", tmp_project)
    assert crew.manager_agent == "boss" and crew.workers == ["writer"]
    write_files(tmp_project.crews_dir / "managed", {"crew.yaml": "inputs:\n  topic: {default: tides}\n"
                                                                 "process: hierarchical\nmanager_llm: scripted\n"})
    assert load_crew("managed", tmp_project).manager_llm == "scripted"


def test_a_missing_client_package_is_named_as_pip_installs_it(tmp_project, monkeypatch):
    import importlib.util
    try:
        if importlib.util.find_spec("azure.ai.inference") is not None:
            pytest.skip("azure-ai-inference is installed here")
    except ModuleNotFoundError:
        pass
    monkeypatch.setenv("AZURE_API_KEY", "k")
    crew_with(tmp_project, "azure_crew", "agents:\n  writer:\n    llm: azure/gpt-4o\n")
    with pytest.raises(ConfigError) as caught:
        load_crew("azure_crew", tmp_project)
    problem = caught.value.problems[0]
    assert "needs the Python package 'azure-ai-inference', which is not installed" in problem.message
    assert problem.hint.startswith("pip install azure-ai-inference")  # not `pip install azure`
    assert load_crew("azure_crew", tmp_project, llm="scripted")  # a run on another model needs no client
