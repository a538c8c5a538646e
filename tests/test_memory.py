"""Memory and knowledge offline: real crewai objects, the scripted model, the embedded embedder.

Every run here has no API key in its environment and no network: a socket may only connect
to loopback, so anything reaching for OpenAI, Hugging Face or a telemetry host fails the test.
"""
from __future__ import annotations

import socket
from typing import Any

import pytest

from helpers import write_files
from rolecall.llm.scripted import ScriptedLLM

pytestmark = pytest.mark.crew

KEYS = ("OPENAI_API_KEY", "EMBEDDINGS_OPENAI_API_KEY", "ANTHROPIC_API_KEY", "COHERE_API_KEY", "GOOGLE_API_KEY",
        "GEMINI_API_KEY", "HF_TOKEN", "HUGGINGFACE_API_KEY", "VOYAGEAI_API_KEY", "JINA_API_KEY")
MEMORY_HEADING = "# Memories from past conversations:"  # crewai's i18n slice "memory"
KNOWLEDGE_HEADING = "Additional Information:"  # crewai's extract_knowledge_context


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """No API keys and no network but loopback; returns the addresses something tried to reach."""
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ROLECALL_CACHE", str(tmp_path_factory.getbasetemp() / "model-cache"))
    tried: list[Any] = []
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(str(host)):
            tried.append(address)
            raise ConnectionRefusedError(f"test is offline: no connection to {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", lambda self, address: connect(self, address) or 0)
    return tried


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


@pytest.fixture
def prompts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """Every (task, role, messages) the scripted model is called with."""
    seen: list[tuple[str, str, list[dict[str, Any]]]] = []
    original = ScriptedLLM.complete

    def complete(self: ScriptedLLM, ctx: Any) -> Any:
        seen.append((ctx.task_name, ctx.role, [dict(m) for m in ctx.messages]))
        return original(self, ctx)

    monkeypatch.setattr(ScriptedLLM, "complete", complete)
    return seen


def first_prompt(prompts: list[tuple[str, str, list[dict[str, Any]]]], task: str) -> str:
    messages = next(m for t, _, m in prompts if t == task)
    return "\n".join(str(m.get("content") or "") for m in messages)


# --- memory ---------------------------------------------------------------------
VAULT = {
    "config/agents.yaml": (
        "keeper: {role: Vault Keeper, goal: Guard the vaults, backstory: Careful.}\n"
        "forecaster: {role: Forecaster, goal: Describe the weather, backstory: Observant.}\n"
        "writer: {role: Writer, goal: Write short notes, backstory: Clear.}\n"),
    "config/tasks.yaml": (
        "set_code:\n  description: Choose the access code for the north vault.\n"
        "  expected_output: The code.\n  agent: keeper\n"
        "forecast:\n  description: Describe the weather in Lisbon today.\n"
        "  expected_output: One sentence.\n  agent: forecaster\n"
        "note:\n  description: Write a note giving the access code for the north vault.\n"
        "  expected_output: One sentence with the code.\n  agent: writer\n  context: [forecast]\n"),
}
VAULT_SCRIPT = {"tasks": {"set_code": ["The north vault access code is 4417."],
                          "forecast": ["Lisbon is sunny and warm today."]}}


def test_a_later_task_recalls_an_earlier_tasks_fact_through_memory(run_crew, tmp_project, offline, prompts):
    write_files(tmp_project.crews_dir / "vault", {**VAULT, "crew.yaml": "memory: true\n"})
    result = run_crew("vault", script=VAULT_SCRIPT, project=tmp_project)
    assert result.ok, result.error
    note = first_prompt(prompts, "note")
    # `note` reads only `forecast` as context: the code can reach it through memory alone
    assert MEMORY_HEADING in note
    recalled = note.split(MEMORY_HEADING, 1)[1]
    assert "4417" in recalled and "4417" not in note.split(MEMORY_HEADING, 1)[0]
    assert "Lisbon is sunny" in note.split(MEMORY_HEADING, 1)[0]  # the context it was given
    # memory's own model calls (extracting, analysing) ran on the run's model and are recorded
    assert any(call.agent is None for call in result.model_calls)
    stored = tmp_project.root / ".rolecall-cache" / "memory" / "vault" / "all-minilm-l6-v2-int8"
    assert any(stored.iterdir()), "memory is stored inside the project"
    assert offline == []


def test_memory_and_knowledge_write_nothing_in_the_home_folder(run_crew, tmp_project, offline, monkeypatch,
                                                               tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    files = {**VAULT, "knowledge/codes.md": "Vault codes change every Monday.\n",
             "crew.yaml": "memory: true\nknowledge_sources: [codes.md]\n"}
    write_files(tmp_project.crews_dir / "vault", files)
    assert run_crew("vault", script=VAULT_SCRIPT, project=tmp_project).ok
    # crewai keeps its last kickoff's task outputs beside the run store, not in the home folder
    assert [p.name for p in home.rglob("*") if p.is_file()] == []
    assert (tmp_project.root / ".rolecall-cache" / "crewai" / "latest_kickoff_task_outputs.db").is_file()


def test_without_memory_the_fact_does_not_reach_the_later_task(run_crew, tmp_project, offline, prompts):
    write_files(tmp_project.crews_dir / "vault", {**VAULT, "crew.yaml": "memory: false\n"})
    result = run_crew("vault", script=VAULT_SCRIPT, project=tmp_project)
    assert result.ok, result.error
    note = first_prompt(prompts, "note")
    assert MEMORY_HEADING not in note and "4417" not in note
    assert not (tmp_project.root / ".rolecall-cache" / "memory").exists()


def test_memory_carries_over_to_the_crews_next_run(run_crew, tmp_project, offline, prompts):
    write_files(tmp_project.crews_dir / "vault", {**VAULT, "crew.yaml": "memory: true\n"})
    assert run_crew("vault", script=VAULT_SCRIPT, project=tmp_project).ok
    prompts.clear()
    later = {"tasks": {"set_code": ["I will not repeat codes."], "forecast": ["Rain in Porto."]}}
    assert run_crew("vault", script=later, project=tmp_project).ok
    assert "4417" in first_prompt(prompts, "note").split(MEMORY_HEADING, 1)[1]


def test_a_resumed_run_recalls_what_it_remembered_before_it_stopped(run_crew, tmp_project, offline, prompts):
    from rolecall import api
    tasks = VAULT["config/tasks.yaml"].replace("  agent: keeper\n", "  agent: keeper\n  approval: required\n")
    write_files(tmp_project.crews_dir / "vault", {**VAULT, "config/tasks.yaml": tasks, "crew.yaml": "memory: true\n"})
    stopped = run_crew("vault", script=VAULT_SCRIPT, project=tmp_project)
    assert stopped.status == "awaiting_approval" and not any(t == "note" for t, _, _ in prompts)
    api.decide(stopped.run_id, project=tmp_project)
    resumed = api.resume(stopped.run_id, project=tmp_project)  # a new attempt: crewai objects built anew
    assert resumed.ok, resumed.error
    assert "4417" in first_prompt(prompts, "note").split(MEMORY_HEADING, 1)[1]


def test_an_agents_own_memory_is_its_own(run_crew, tmp_project, offline, prompts):
    agents = VAULT["config/agents.yaml"].replace("writer: {role: Writer,", "writer: {memory: true, role: Writer,")
    write_files(tmp_project.crews_dir / "vault", {**VAULT, "config/agents.yaml": agents, "crew.yaml": ""})
    result = run_crew("vault", script=VAULT_SCRIPT, project=tmp_project)
    assert result.ok, result.error
    # the keeper has no memory, so its code was never stored where the writer looks
    assert "4417" not in first_prompt(prompts, "note")


# --- knowledge --------------------------------------------------------------------
LIBRARY = {
    "config/agents.yaml": "clerk: {role: Clerk, goal: Answer questions, backstory: Helpful.}\n",
    "config/tasks.yaml": "answer:\n  description: '{question}'\n  expected_output: A short answer.\n  agent: clerk\n",
    "knowledge/bank.md": ("# Kestrel Bank fees\n\nAn arranged overdraft at Kestrel Bank costs 35 euros a month; "
                          "unarranged overdrafts are refused.\n"),
    "knowledge/lighthouse.md": ("# Aldgate lighthouse\n\nThe Aldgate lighthouse keeper feeds the harbour cats "
                                "at six in the evening, after lighting the lamp.\n"),
    "knowledge/data/trains.csv": "line,first_train\nNorthern,05:40\nCoastal,06:15\n",
}


@pytest.mark.parametrize("where", ["agent", "crew"])
def test_knowledge_puts_the_right_passage_in_the_prompt(run_crew, tmp_project, offline, prompts, where):
    sources = "knowledge_sources: [bank.md, lighthouse.md, 'data/*.csv']"
    crew_yaml = "inputs:\n  question: {default: x}\n" + (
        f"agents:\n  clerk:\n    {sources}\n" if where == "agent" else f"{sources}\n")
    write_files(tmp_project.crews_dir / "library", {**LIBRARY, "crew.yaml": crew_yaml})
    result = run_crew("library", inputs={"question": "How much does an overdraft cost at Kestrel Bank?"},
                      project=tmp_project)
    assert result.ok, result.error
    prompt = first_prompt(prompts, "answer")
    assert KNOWLEDGE_HEADING in prompt
    found = prompt.split(KNOWLEDGE_HEADING, 1)[1]
    assert "35 euros a month" in found
    assert "harbour cats" not in found
    assert offline == []


def test_knowledge_search_ranks_the_answer_first(tmp_path, offline):
    from rolecall.knowledge_files import resolve
    from rolecall.knowledge_store import knowledge
    from rolecall.llm.embedder import LocalEmbedder
    write_files(tmp_path, LIBRARY)
    base = knowledge("test", resolve(tmp_path, ["*.md", "data/trains.csv"]), LocalEmbedder())
    questions = {"When does the lighthouse keeper feed the cats?": "harbour cats",
                 "What does an overdraft cost?": "35 euros",
                 "When is the first Coastal train?": "06:15"}
    for question, answer in questions.items():
        [best, *_] = base.query([question], results_limit=3, score_threshold=0.0)
        assert answer in best["content"], (question, best)


# --- validation -------------------------------------------------------------------
def validate(tmp_project, files: dict[str, str], env: dict[str, str] | None = None) -> list[Any]:
    from rolecall.discover import discover
    from rolecall.validate import validate as check
    write_files(tmp_project.crews_dir / "shelf", {
        "config/agents.yaml": "clerk: {role: Clerk, goal: Answer, backstory: Helpful.}\n",
        "config/tasks.yaml": "answer:\n  description: Answer.\n  expected_output: An answer.\n  agent: clerk\n",
        "knowledge/bank.md": "Fees.\n", **files})
    package = discover(tmp_project)[0]["shelf"]
    return [p for p in check(tmp_project, package, ["scripted"], env=env or {}).problems if p.severity == "error"]


def test_a_missing_knowledge_file_is_a_located_error_with_a_suggestion(tmp_project):
    [problem] = validate(tmp_project, {"crew.yaml": "memory: true\nknowledge_sources: [bank.md, bnak.md]\n"})
    assert problem.file.name == "crew.yaml" and problem.line == 2 and problem.path == "knowledge_sources[1]"
    assert "no file 'bnak.md' in knowledge/" in problem.message and "did you mean 'bank.md'" in problem.hint


def test_knowledge_paths_stay_inside_the_knowledge_folder(tmp_project):
    problems = validate(tmp_project, {"crew.yaml": "knowledge_sources: [../crew.yaml, /etc/passwd, 'x/*.md']\n"})
    assert [p.path for p in problems] == ["knowledge_sources[0]", "knowledge_sources[1]", "knowledge_sources[2]"]
    assert "climbs out" in problems[0].message and "absolute" in problems[1].message
    assert "nothing matches 'x/*.md'" in problems[2].message


def test_an_agents_knowledge_file_error_points_at_agents_yaml(tmp_project):
    agents = "clerk: {role: Clerk, goal: Answer, backstory: Helpful., knowledge_sources: [bank.txt]}\n"
    [problem] = validate(tmp_project, {"config/agents.yaml": agents, "crew.yaml": ""})
    assert problem.file.name == "agents.yaml" and problem.path == "clerk.knowledge_sources[0]"


def test_a_keyed_embedder_without_its_key_names_the_variable(tmp_project):
    crew_yaml = "memory: true\nembedder:\n  provider: openai\n  config: {model: text-embedding-3-small}\n"
    [problem] = validate(tmp_project, {"crew.yaml": crew_yaml})
    assert problem.path == "embedder.provider" and problem.line == 3
    assert "OPENAI_API_KEY" in problem.message
    assert validate(tmp_project, {"crew.yaml": crew_yaml}, env={"OPENAI_API_KEY": "sk-test"}) == []


def test_an_embedder_key_written_as_a_variable_must_be_set(tmp_project):
    crew_yaml = "embedder: {provider: jina, config: {api_key: '${MY_JINA}'}}\n"
    [problem] = validate(tmp_project, {"crew.yaml": crew_yaml})
    assert problem.path == "embedder.config.api_key" and "${MY_JINA} is not set" in problem.message
    assert validate(tmp_project, {"crew.yaml": crew_yaml}, env={"MY_JINA": "k"}) == []


def test_an_unknown_embedder_provider_suggests_crewais_names(tmp_project):
    [problem] = validate(tmp_project, {"crew.yaml": "embedder: {provider: olama}\n"})
    assert problem.path == "embedder.provider" and "unknown embedder provider 'olama'" in problem.message
    assert "did you mean 'ollama'" in problem.hint
    assert validate(tmp_project, {"crew.yaml": "embedder: {provider: jina, config: {api_key: k}}\n"}) == []


def test_rolecalls_provider_list_is_crewais():
    from crewai.rag.embeddings.factory import PROVIDER_PATHS

    from rolecall.embedders import CREWAI_PROVIDERS
    assert sorted(CREWAI_PROVIDERS) == sorted(PROVIDER_PATHS)


# --- the embedded model -------------------------------------------------------------
def test_the_embedded_model_is_checked_into_the_cache_once(tmp_path):
    from rolecall.llm.embedding_model import MINILM, locate_embedding_model
    env = {"ROLECALL_CACHE": str(tmp_path)}
    first = locate_embedding_model(env=env, progress=lambda _: None)
    assert first.origin.name == "PYPI_PARTS" and first.model.stat().st_size == MINILM.onnx.size
    assert locate_embedding_model(env=env).origin.name == "CACHE"


def test_a_corrupted_package_file_never_enters_the_cache(tmp_path, monkeypatch):
    from rolecall.errors import ModelUnavailable
    from rolecall.llm import embedding_model
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\0" * embedding_model.MINILM.onnx.size)
    real = embedding_model.installed
    monkeypatch.setattr(embedding_model, "installed", lambda pinned: bad if pinned.member.endswith(".onnx")
                        else real(pinned))
    with pytest.raises(ModelUnavailable, match="does not match its pin"):
        embedding_model.locate_embedding_model(env={"ROLECALL_CACHE": str(tmp_path / "cache")},
                                               progress=lambda _: None)
    assert not list((tmp_path / "cache").rglob("model.onnx"))


def test_a_provider_whose_package_is_missing_says_which(tmp_project):
    import importlib.util
    if importlib.util.find_spec("ollama") is not None:
        pytest.skip("ollama is installed here")
    [problem] = validate(tmp_project, {"crew.yaml": "embedder: {provider: ollama, config: {model_name: nomic}}\n"})
    assert "needs the Python package ollama" in problem.message and "pip install ollama" in problem.hint


def test_a_named_provider_is_built_by_crewais_own_factory():
    from rolecall.retrieval import _build_embedder
    from rolecall.spec import EmbedderSpec
    spec = EmbedderSpec(provider="openai", config={"api_key": "${MY_KEY}", "model_name": "text-embedding-3-small"})
    built = _build_embedder(spec, {"MY_KEY": "sk-test"})
    assert type(built).__name__ == "OpenAIEmbeddingFunction"
    assert built.model_name == "text-embedding-3-small" and built.api_key == "sk-test"


# --- crewai's own prompts -------------------------------------------------------------
def test_crewais_memory_prompts_are_recognised_and_answered_in_their_schemas():
    import json

    from crewai.memory import analyze
    from crewai.utilities.i18n import I18N_DEFAULT

    from rolecall.llm import chores
    content = "Task: Pick a code.\nAgent: Keeper\nExpected result: A code.\nResult: Thought: done\n" \
              "Final Answer: The code is 4417. It opens the north vault."
    cases = {
        "extract_memories": (analyze.ExtractedMemories, {"content": content}),
        "save": (analyze.MemoryAnalysis, {"content": "x", "existing_scopes": ["/"], "existing_categories": []}),
        "consolidation": (analyze.ConsolidationPlan, {"new_content": "x", "records_summary": "- id=1"}),
        "query": (analyze.QueryAnalysis, {"query": "the vault code", "available_scopes": ["/"], "scope_desc": ""}),
    }
    for key, (model, values) in cases.items():
        messages = [{"role": "system", "content": I18N_DEFAULT.memory(f"{key}_system")},
                    {"role": "user", "content": I18N_DEFAULT.memory(f"{key}_user").format(**values)}]
        parsed = model.model_validate(json.loads(chores.reply(messages)))  # the scripted model's reply
        assert chores.structured_reply(messages) == parsed, key  # the local model's
        if key == "extract_memories":
            assert parsed.memories == ["The code is 4417.", "It opens the north vault."]
        if key == "query":
            assert parsed.recall_queries == ["the vault code"]
    rewrite = [{"role": "system", "content": I18N_DEFAULT.slice("knowledge_search_query_system_prompt")},
               {"role": "user", "content": I18N_DEFAULT.slice("knowledge_search_query").format(
                   task_prompt="What does an overdraft cost?")}]
    assert chores.reply(rewrite) == "What does an overdraft cost?"
    assert chores.reply([{"role": "system", "content": "You are Clerk."}]) is None


def test_a_knowledge_file_whose_reader_is_not_installed_says_what_to_install(tmp_project):
    import importlib.util
    if importlib.util.find_spec("pandas") is not None:
        pytest.skip("pandas is installed here")
    [problem] = validate(tmp_project, {"knowledge/prices.xlsx": "x", "crew.yaml": "knowledge_sources: [prices.xlsx]\n"})
    assert "needs the Python package pandas" in problem.message and problem.hint.startswith("pip install pandas")


def test_the_local_model_answers_memory_analysis_by_rule_and_never_calls_memory_tools(monkeypatch):
    from types import SimpleNamespace

    from crewai.memory.analyze import ExtractedMemories
    from crewai.tools.memory_tools import create_memory_tools
    from crewai.utilities.i18n import I18N_DEFAULT

    from rolecall.llm.base import CallContext
    from rolecall.llm.local import LocalLLM
    llm = LocalLLM(model="local", model_path="/nowhere/model.gguf")  # never loaded: no call generates
    extract = [{"role": "system", "content": I18N_DEFAULT.memory("extract_memories_system")},
               {"role": "user", "content": I18N_DEFAULT.memory("extract_memories_user").format(
                   content="Task: t\nResult: Final Answer: The code is 4417.")}]
    done = llm.complete(CallContext(extract))
    assert isinstance(done.text, ExtractedMemories) and done.text.memories == ["The code is 4417."]
    assert (done.prompt_tokens, done.completion_tokens) == (0, 0)

    grammars: list[str | None] = []
    monkeypatch.setattr(LocalLLM, "generate", lambda self, messages, grammar=None, **kw: grammars.append(grammar)
                        or SimpleNamespace(text="Thought: done\nFinal Answer: ok", prompt_tokens=1, completion_tokens=1))
    writer = SimpleNamespace(role="Writer", tools=create_memory_tools(SimpleNamespace(read_only=False)))
    llm.complete(CallContext([{"role": "user", "content": "Write a note."}], agent=writer))
    [grammar] = grammars
    assert grammar is not None and "Final Answer" in grammar  # still held to crewai's protocol
    assert "memory" not in grammar.lower()  # but offered neither memory tool
