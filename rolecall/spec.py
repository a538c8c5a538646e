"""The shape of every YAML file a crew package holds, as pydantic models.

``agents.yaml`` and ``tasks.yaml`` keep CrewAI's own keys (the ones
``crewai create crew --classic`` writes). ``crew.yaml`` holds what CrewAI
projects usually write in ``crew.py``. These models are also the source of the
JSON Schema that ``main.py schema`` publishes for editors.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictBool, StrictFloat, StrictInt, StrictStr


class Strict(BaseModel):
    # defer_build: a model is compiled on first use, so commands pay only for the files they read
    model_config = ConfigDict(extra="forbid", defer_build=True)


# A tool binding: a registry name, or {name: {constructor kwargs}} such as
# {FileReadTool: {file_path: notes.md}}.
ToolRef = StrictStr | dict[StrictStr, dict[StrictStr, Any]]


class ModelSpec(Strict):
    """CrewAI's object form of ``llm:`` (JSON crews write it): a model string plus connection settings."""

    model: StrictStr = Field(description="A CrewAI model string such as openai/gpt-4o or ollama/llama3.2.")
    provider: StrictStr | None = Field(None, description="openai, anthropic, ollama, ...; else read from model.")
    base_url: StrictStr | None = Field(None, description="Endpoint; ${VAR} reads the environment.")
    api_key: StrictStr | None = Field(None, description="Write ${VAR}: a key itself does not belong in a file.")
    api_version: StrictStr | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: StrictInt | None = Field(None, ge=1)
    timeout: float | None = Field(None, gt=0)
    seed: StrictInt | None = None


# ``llm:``: a profile name from config/llm.yaml, a CrewAI model string, or CrewAI's object form.
LlmRef = StrictStr | ModelSpec


class EmbedderSpec(Strict):
    """CrewAI's embedder setting: which embedding model memory and knowledge use."""

    provider: StrictStr = Field(description="rolecall (embedded, offline; the default), openai, ollama, ...")
    config: dict[StrictStr, Any] = Field(default_factory=dict, description="Provider settings, e.g. {model: ...}.")


class KnowledgeConfigSpec(Strict):
    results_limit: StrictInt | None = Field(None, ge=1, description="Passages retrieved per query.")
    score_threshold: float | None = Field(None, ge=0, le=1)


class PlanningSpec(Strict):
    """crewai's PlanningConfig for an agent that plans before acting."""

    reasoning_effort: Literal["low", "medium", "high"] | None = None
    observe_steps: StrictBool | None = None
    max_attempts: StrictInt | None = Field(None, ge=1)
    max_steps: StrictInt | None = Field(None, ge=1)
    max_replans: StrictInt | None = Field(None, ge=0)
    max_step_iterations: StrictInt | None = Field(None, ge=1)
    step_timeout: StrictInt | None = Field(None, ge=1)
    system_prompt: StrictStr | None = None
    plan_prompt: StrictStr | None = None
    refine_prompt: StrictStr | None = None
    llm: LlmRef | None = None


ToolFailurePolicy = Literal["ignore", "warn", "raise"]
# an MCP server: a URL, a crewai-amp: reference, or {command, args, env} / {url, headers} settings
McpRef = StrictStr | dict[StrictStr, Any]


class AgentSettings(Strict):
    """Agent settings that may live in agents.yaml or, as a binding, in crew.yaml (not both)."""

    llm: LlmRef | None = Field(None, description="Model profile from config/llm.yaml, or a CrewAI model string.")
    function_calling_llm: LlmRef | None = Field(None, description="Model used for tool calls.")
    tools: list[ToolRef] | None = Field(None, description="Tool names from the tool registry.")
    tools_first: StrictBool | None = Field(
        None, description="On the embedded local model an agent with tools must call one before its final "
                          "answer (default); false lets it answer straight away.")
    allow_delegation: StrictBool | None = None
    verbose: StrictBool | None = None
    cache: StrictBool | None = None
    max_iter: StrictInt | None = Field(None, ge=1)
    max_rpm: StrictInt | None = Field(None, ge=1)
    max_execution_time: StrictInt | None = Field(None, ge=1)
    max_retry_limit: StrictInt | None = Field(None, ge=0)
    respect_context_window: StrictBool | None = None
    reasoning: StrictBool | None = None
    max_reasoning_attempts: StrictInt | None = Field(None, ge=1)
    inject_date: StrictBool | None = None
    date_format: StrictStr | None = None
    multimodal: StrictBool | None = None
    use_system_prompt: StrictBool | None = None
    system_template: StrictStr | None = None
    prompt_template: StrictStr | None = None
    response_template: StrictStr | None = None
    allow_code_execution: StrictBool | None = Field(
        None, description="Let the agent run code it writes; needs workspace.code_execution in crew.yaml.")
    code_execution_mode: Literal["safe", "unsafe"] | None = None
    max_tokens: StrictInt | None = Field(None, ge=1, description="Cap on each reply's tokens.")
    memory: StrictBool | None = Field(None, description="Give this agent CrewAI's memory (offline by default).")
    knowledge_sources: list[StrictStr] | None = Field(
        None, description="Files under the crew's knowledge/ folder the agent can search.")
    knowledge_config: KnowledgeConfigSpec | None = None
    embedder: EmbedderSpec | None = None
    guardrail: StrictStr | None = Field(None, description="A plain-language check applied to the agent's answers.")
    guardrail_max_retries: StrictInt | None = Field(None, ge=0)
    planning: StrictBool | None = None
    planning_config: PlanningSpec | None = None
    tool_failure_policy: ToolFailurePolicy | None = None
    use_better_compaction: StrictBool | None = None
    mcps: list[McpRef] | None = Field(None, description="MCP servers whose tools the agent gets.")
    apps: list[StrictStr] | None = Field(
        None, description="CrewAI platform apps (needs CREWAI_PLATFORM_INTEGRATION_TOKEN).")
    skills: list[StrictStr] | None = Field(None, description="Skill folders, relative to the crew.")


class AgentSpec(AgentSettings):
    """One entry of config/agents.yaml (CrewAI's keys)."""

    role: StrictStr = Field(description="The agent's job title; placeholders like {topic} are filled at run time.")
    goal: StrictStr = Field(description="What the agent is trying to achieve.")
    backstory: StrictStr = Field(description="Who the agent is; shapes tone and judgement.")


class TaskSettings(Strict):
    """Task settings that may live in tasks.yaml or, as a binding, in crew.yaml (not both)."""

    name: StrictStr | None = None
    agent: StrictStr | None = Field(None, description="Key of the agent in agents.yaml.")
    context: list[StrictStr] | None = Field(None, description="Earlier tasks whose output this task reads.")
    tools: list[ToolRef] | None = None
    output_file: StrictStr | None = Field(None, description="File in the run folder that gets the output.")
    async_execution: StrictBool | None = None
    human_input: StrictBool | None = Field(
        None, description="CrewAI asks on the console; rolecall gates the output for approval (approval: required).")
    create_directory: StrictBool | None = None
    markdown: StrictBool | None = None
    guardrail: StrictStr | None = Field(None, description="A plain-language check CrewAI asks the model to apply.")
    guardrails: list[StrictStr] | None = Field(None, description="Several plain-language checks, applied in order.")
    guardrail_max_retries: StrictInt | None = Field(None, ge=0)
    max_retries: StrictInt | None = Field(None, ge=0, description="CrewAI's older name for guardrail_max_retries.")
    input_files: dict[StrictStr, StrictStr] | None = Field(
        None, description="name -> file relative to the crew, given to a multimodal agent.")
    tool_failure_policy: ToolFailurePolicy | None = None
    allow_crewai_trigger_context: StrictBool | None = None
    approval: Literal["required", "before"] | None = Field(
        None, description="Stop for a person's approval: 'required' before the output is accepted, "
                          "'before' before the task starts. `main.py approve RUN_ID` decides.")


class TaskSpec(TaskSettings):
    """One entry of config/tasks.yaml (CrewAI's keys)."""

    description: StrictStr = Field(description="What to do; placeholders like {topic} are filled at run time.")
    expected_output: StrictStr = Field(description="What a good answer looks like.")
    output_json: StrictStr | None = Field(None, description="Name of a pydantic model in the crew's schemas.py.")
    output_pydantic: StrictStr | None = Field(None, description="Name of a pydantic model in the crew's schemas.py.")


class AgentsFile(RootModel[dict[str, AgentSpec]]):
    """config/agents.yaml: agent key -> agent."""

    model_config = ConfigDict(defer_build=True)  # only `main.py schema` needs it


class TasksFile(RootModel[dict[str, TaskSpec]]):
    """config/tasks.yaml: task key -> task, in execution order."""

    model_config = ConfigDict(defer_build=True)


InputType = Literal["string", "integer", "number", "boolean"]
Scalar = StrictBool | StrictInt | StrictFloat | StrictStr


class InputSpec(Strict):
    description: StrictStr = ""
    type: InputType = "string"
    default: Scalar | None = Field(None, description="Makes the input optional.")


class ManagerSpec(Strict):
    """Who manages a hierarchical crew: one of its agents, or CrewAI's built-in manager on a model."""

    agent: StrictStr | None = Field(None, description="Key in agents.yaml; that agent manages and is not a worker.")
    llm: LlmRef | None = Field(None, description="Model profile or model string for CrewAI's built-in manager.")


# Inline output schema fields: a type name ("str", "int", "float", "bool",
# "list[str]", ...), a nested mapping of fields, or a one-item list holding a
# mapping (a list of objects).
FieldType = StrictStr | dict[StrictStr, Any] | list[dict[StrictStr, Any]]


class InlineSchema(Strict):
    name: StrictStr = Field(description="Class name of the generated pydantic model.")
    fields: dict[StrictStr, FieldType] = Field(description="field name -> type")


class AgentBinding(AgentSettings):
    """crew.yaml agents.<key>: what crew.py usually sets on an agent (tools, llm, ...)."""


class TaskBinding(TaskSettings):
    """crew.yaml tasks.<key>: what crew.py usually sets on a task (agent, context, tools, ...)."""

    output_schema: StrictStr | InlineSchema | None = Field(
        None, description="A pydantic model name in schemas.py, or fields inline; the task gets output_pydantic.")


class Budget(Strict):
    max_cost: float = Field(gt=0, description="USD; the run stops cleanly before a model call would pass it.")


class WorkspaceSpec(Strict):
    """What the crew's tools may touch besides the crew's folder (read) and the run folder (read, write)."""

    read: list[StrictStr] = Field(default_factory=list, description="More folders to read, relative to the crew.")
    write: list[StrictStr] = Field(default_factory=list, description="Folders to write, relative to the crew.")
    code_execution: StrictBool = Field(False, description="Allow tools and agents that run code the model writes.")


class CrewSpec(Strict):
    """crew.yaml: what a CrewAI project usually writes in crew.py."""

    description: StrictStr = Field("", description="One line shown by `main.py list`.")
    dialect: Literal["rolecall", "crewai"] = Field(
        "rolecall", description="How agents.yaml and tasks.yaml are read. crewai: as CrewAI reads them (braces "
                                "that are no placeholder are text, keys CrewAI drops are warnings, placeholders "
                                "are inputs); `main.py import` writes it, as it copies a project's YAML unchanged.")
    process: Literal["sequential", "hierarchical"] = "sequential"
    manager: ManagerSpec | None = None
    inputs: dict[StrictStr, InputSpec] = Field(default_factory=dict)
    agents: dict[StrictStr, AgentBinding] = Field(default_factory=dict)
    tasks: dict[StrictStr, TaskBinding] = Field(default_factory=dict)
    task_order: list[StrictStr] | None = Field(
        None, description="The order the tasks run in, as crew.py defines them (CrewAI runs its @task methods in "
                          "their order, not tasks.yaml's); tasks not named here run after them, in tasks.yaml's "
                          "order. Default: tasks.yaml's order.")
    manager_agent: StrictStr | None = Field(None, description="CrewAI's name for manager: {agent: ...}.")
    manager_llm: LlmRef | None = Field(None, description="CrewAI's name for manager: {llm: ...}.")
    llm: LlmRef | None = Field(None, description="Default model for this crew's agents: a profile or model string.")
    function_calling_llm: LlmRef | None = Field(None, description="Model every agent uses for tool calls.")
    planning: StrictBool | None = Field(None, description="Plan every task before the crew starts.")
    planning_llm: LlmRef | None = None
    memory: StrictBool | None = Field(None, description="CrewAI's memory for the crew (offline by default).")
    knowledge_sources: list[StrictStr] | None = Field(
        None, description="Files under the crew's knowledge/ folder every agent can search.")
    embedder: EmbedderSpec | None = None
    max_rpm: StrictInt | None = Field(None, ge=1)
    cache: StrictBool | None = None
    tool_failure_policy: ToolFailurePolicy | None = None
    output_log_file: StrictBool | StrictStr | None = Field(
        None, description="crewai's execution log, written in the run folder (true: logs.txt).")
    stream: StrictBool | None = Field(None, description="Stream tokens as they come; rolecall shows them live.")
    prompt_file: StrictStr | None = Field(None, description="A JSON file of prompt overrides, relative to the crew.")
    skills: list[StrictStr] | None = None
    budget: Budget | None = None
    workspace: WorkspaceSpec = Field(default_factory=WorkspaceSpec)
    verbose: StrictBool = False


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema for each of the three files, keyed by file name."""
    return {
        "agents.yaml": AgentsFile.model_json_schema(),
        "tasks.yaml": TasksFile.model_json_schema(),
        "crew.yaml": CrewSpec.model_json_schema(),
    }


# Fields of crewai's Agent, Task and Crew that no crew file sets, and why. Every other field
# of theirs is a key above (tests/test_crewai_fields.py compares the two on every upgrade).
_RUNTIME = "runtime state crewai fills in itself"
_CALLBACK = "a Python callable; a crew file holds data only"
NOT_FROM_FILES: dict[str, dict[str, str]] = {
    "Agent": {
        "entity_type": _RUNTIME, "id": _RUNTIME, "agent_executor": _RUNTIME, "i18n": _RUNTIME, "crew": _RUNTIME,
        "cache_handler": _RUNTIME, "tools_handler": _RUNTIME, "tools_results": _RUNTIME, "adapted_agent": _RUNTIME,
        "execution_context": _RUNTIME, "checkpoint_kickoff_event_id": _RUNTIME, "security_config": _RUNTIME,
        "agent_knowledge_context": _RUNTIME, "crew_knowledge_context": _RUNTIME, "knowledge_search_query": _RUNTIME,
        "knowledge": "built from knowledge_sources", "knowledge_storage": "built from knowledge_sources and embedder",
        "config": "crewai's way to pass YAML in; rolecall passes each key itself",
        "callbacks": _CALLBACK, "step_callback": _CALLBACK, "executor_class": _CALLBACK,
        "from_repository": "loads the agent from CrewAI's hosted repository; a rolecall crew is its files",
        "a2a": "remote agent-to-agent servers: a network service rolecall does not run or check",
        "checkpoint": "crewai's checkpoints; rolecall's run store resumes runs (main.py resume)",
    },
    "Task": {
        "used_tools": _RUNTIME, "tools_errors": _RUNTIME, "delegations": _RUNTIME, "prompt_context": _RUNTIME,
        "output": _RUNTIME, "id": _RUNTIME, "processed_by_agents": _RUNTIME, "retry_count": _RUNTIME,
        "start_time": _RUNTIME, "end_time": _RUNTIME, "checkpoint_original_description": _RUNTIME,
        "checkpoint_original_expected_output": _RUNTIME, "security_config": _RUNTIME,
        "config": "crewai's way to pass YAML in; rolecall passes each key itself",
        "callback": _CALLBACK, "converter_cls": _CALLBACK,
        "response_model": "a Python class; name a schema with output_pydantic instead",
    },
    "Crew": {
        "entity_type": _RUNTIME, "id": _RUNTIME, "usage_metrics": _RUNTIME, "token_usage": _RUNTIME,
        "execution_logs": _RUNTIME, "execution_context": _RUNTIME, "security_config": _RUNTIME,
        "checkpoint_inputs": _RUNTIME, "checkpoint_train": _RUNTIME, "checkpoint_kickoff_event_id": _RUNTIME,
        "knowledge": "built from knowledge_sources",
        "tasks": "config/tasks.yaml", "agents": "config/agents.yaml",
        "name": "a crew is named by its folder",
        "config": "crewai's way to pass YAML in; rolecall passes each key itself",
        "step_callback": _CALLBACK, "task_callback": _CALLBACK,
        "before_kickoff_callbacks": _CALLBACK, "after_kickoff_callbacks": _CALLBACK,
        "share_crew": "sends the crew's prompts and outputs to CrewAI; rolecall keeps runs on this machine",
        "tracing": "sends traces to CrewAI's cloud; rolecall records every run itself",
        "chat_llm": "used only by `crewai chat`",
        "trained_agents_file": "written by `crewai train`, which rolecall does not run",
        "task_execution_output_json_files": "written by `crewai replay`; rolecall resumes from its run store",
        "checkpoint": "crewai's checkpoints; rolecall's run store resumes runs (main.py resume)",
    },
}
