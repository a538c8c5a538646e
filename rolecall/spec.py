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


class AgentSettings(Strict):
    """Agent settings that may live in agents.yaml or, as a binding, in crew.yaml (not both)."""

    llm: StrictStr | None = Field(None, description="Model profile from config/llm.yaml.")
    function_calling_llm: StrictStr | None = Field(None, description="Model profile used for tool calls.")
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
    human_input: StrictBool | None = None
    create_directory: StrictBool | None = None
    markdown: StrictBool | None = None
    guardrail: StrictStr | None = Field(None, description="A plain-language check CrewAI asks the model to apply.")
    guardrail_max_retries: StrictInt | None = Field(None, ge=0)
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
    llm: StrictStr | None = Field(None, description="Model profile for CrewAI's built-in manager.")


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
    process: Literal["sequential", "hierarchical"] = "sequential"
    manager: ManagerSpec | None = None
    inputs: dict[StrictStr, InputSpec] = Field(default_factory=dict)
    agents: dict[StrictStr, AgentBinding] = Field(default_factory=dict)
    tasks: dict[StrictStr, TaskBinding] = Field(default_factory=dict)
    llm: StrictStr | None = Field(None, description="Default model profile for this crew's agents.")
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
