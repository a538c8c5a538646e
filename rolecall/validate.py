"""Stage 3: check a crew before any model is called, and report every problem at once.

Each problem names its file, line and key path, and offers a fix. The result
is a ``CrewDefinition`` only when there are no errors.
"""
from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from . import embedders, knowledge_files
from .definition import AgentDef, CrewDefinition, TaskDef, ToolUse
from .discover import CrewPackage
from .environment import Environment
from .load import KeyPath, YamlDoc, kind_of, load_yaml, parse_lenient
from .model_refs import ModelProblem, Models
from .problem import Problem, did_you_mean, only_errors
from .project import Project
from .repeats import POLICIES as REPEAT_POLICIES
from .spec import AgentSpec, CrewSpec, InlineSchema, InputSpec, ManagerSpec, ModelSpec, TaskSpec
from .template import from_crewai, placeholders
from .toolbox import Toolbox, is_reference, toolbox_for
from .workspace import CODE_TOOLS, PathRefused, path_args, shaped

TEMPLATED_AGENT_KEYS = ("role", "goal", "backstory")
TEMPLATED_TASK_KEYS = ("description", "expected_output", "output_file")
SCALAR_TYPES = {"str", "int", "float", "bool"}


@dataclass
class Validation:
    """What validating one crew package found: the definition (when there are no errors) and every problem."""

    crew: CrewDefinition | None
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return self.crew is not None


@dataclass(frozen=True)
class CrewFiles:
    """The three YAML files of a package, read with their line numbers.

    ``crewai_style``: the crew has no crew.yaml, so it is read the way CrewAI reads it:
    every placeholder is a required text input, braces that are not placeholders are
    text, a lone agent does every task, and keys CrewAI would drop are warnings.
    """

    agents: YamlDoc
    tasks: YamlDoc
    crew: YamlDoc
    crewai_style: bool = False
    unknown_keys_warn: bool = True  # with crewai_style: CrewAI's YAML loader drops them silently


def validate(project: Project, package: CrewPackage, profiles: Iterable[str],
             env: Mapping[str, str] | None = None, *, overridden: bool = False) -> Validation:
    """Load and check one crew package.

    ``overridden``: the run gives every agent one model (``--llm``), so the crew's own
    models are checked for shape but not for keys.
    """
    env = Environment.current() if env is None else env
    problems: list[Problem] = []
    files = _load_files(package, problems)
    if files is None:
        return Validation(None, problems)
    lenient = files.crewai_style and files.unknown_keys_warn
    agents = _entries(files.agents, AgentSpec, problems, "agent", lenient)
    tasks = _entries(files.tasks, TaskSpec, problems, "task", lenient)
    crew = parse_lenient(files.crew, (), CrewSpec, problems)
    if crew is None or agents is None or tasks is None:
        return Validation(None, problems)
    checker = _Checker(project=project, package=package, files=files, agents=agents, tasks=tasks, crew=crew,
                       profiles=set(profiles), env=env, problems=problems, overridden=overridden)
    definition = checker.run()
    if only_errors(problems):
        return Validation(None, problems)
    definition.warnings = list(problems)
    return Validation(definition, problems)


# --- loading and shapes ----------------------------------------------------

def _load_files(package: CrewPackage, problems: list[Problem]) -> CrewFiles | None:
    if package.layout == "json":
        return _load_json_files(package, problems)
    docs: list[YamlDoc | None] = []
    crewai_style = not package.crew_file.exists()
    for file, what in ((package.agents_file, "agents"), (package.tasks_file, "tasks"), (package.crew_file, "crew")):
        if file == package.crew_file and crewai_style:
            docs.append(YamlDoc(file, {}, {(): 1}))
            continue
        if not file.exists():
            hint = "run `python main.py new NAME` to see a working layout"
            problems.append(Problem(f"missing {file.name}: every crew package needs config/agents.yaml "
                                    f"and config/tasks.yaml", file, hint=hint))
            continue
        doc = load_yaml(file, problems)
        if doc is not None and not isinstance(doc.data, dict):
            problems.append(doc.problem((), f"the top level of {file.name} must be a mapping of "
                                            f"{what} settings, not {kind_of(doc.data)}"))
            doc = None
        docs.append(doc)
    if len(docs) != 3:
        return None
    agents, tasks, crew = docs
    if agents is None or tasks is None or crew is None:
        return None
    # the YAML of a CrewAI project, kept unchanged beside a crew.yaml (`main.py import` writes it)
    crewai_style = crewai_style or crew.data.get("dialect") == "crewai"
    return CrewFiles(agents, tasks, crew, crewai_style)


def _load_json_files(package: CrewPackage, problems: list[Problem]) -> CrewFiles | None:
    """CrewAI's JSON crew (crew.jsonc, agents/<name>.jsonc) read into the three documents' shape.

    Its text means what it means to crewai (braces that are no placeholder are text); its keys
    are checked as strictly as crew.yaml's, since crewai's own JSON loader reports unknown ones.
    """
    from .json_crew import load_json_crew
    found = load_json_crew(package, problems)
    if found is None:
        return None
    return CrewFiles(found.agents, found.tasks, found.crew, crewai_style=True, unknown_keys_warn=False)


def _entries(doc: YamlDoc, model: type[BaseModel], problems: list[Problem], what: str,
             drop_unknown: bool = False) -> dict[str, Any] | None:
    """Each entry of agents.yaml or tasks.yaml; a broken entry is reported and kept as best we can."""
    if not doc.data:
        problems.append(doc.problem((), f"no {what}s defined"))
        return None
    out: dict[str, Any] = {}
    for key, value in doc.data.items():
        if not isinstance(value, dict):
            field = did_you_mean(str(key), model.model_fields)  # `tool:` indented one level too little
            hint = f"a setting of the {what} above? indent it under that {what} ({field})" if field else ""
            article = "an" if what[0] in "aeiou" else "a"
            problems.append(doc.problem((key,), f"{article} {what} must be a mapping of settings, not "
                                                f"{kind_of(value)}", hint))
            continue
        if drop_unknown:
            _drop_unknown(doc, key, value, model, problems)
        parsed = parse_lenient(doc, (key,), model, problems)
        if parsed is not None:
            out[key] = parsed
    return out


def _drop_unknown(doc: YamlDoc, key: Any, value: dict[Any, Any], model: type[BaseModel],
                  problems: list[Problem]) -> None:
    """CrewAI drops keys it does not know without a word; a crew read its way gets a warning for each."""
    for name in [k for k in value if k not in model.model_fields]:
        problems.append(doc.problem((key, name), f"unknown key '{name}' is ignored, as CrewAI ignores it",
                                    did_you_mean(str(name), model.model_fields) or
                                    "remove it; with a crew.yaml this is an error", severity="warning"))
        del value[name]


# --- cross-references and rules ---------------------------------------------

class _Checker:
    """The rules that need all three files at once."""

    def __init__(self, *, project: Project, package: CrewPackage, files: CrewFiles, agents: dict[str, AgentSpec],
                 tasks: dict[str, TaskSpec], crew: CrewSpec, profiles: set[str], env: Mapping[str, str],
                 problems: list[Problem], overridden: bool = False):
        self.project, self.package = project, package
        self.adoc, self.tdoc, self.cdoc = files.agents, files.tasks, files.crew
        self.crewai_style = files.crewai_style
        # a CrewAI project's YAML without its crew.py: what crew.py would bind is missing
        self.yaml_without_crew = files.crewai_style and package.layout != "json" and not package.crew_file.exists()
        self.agents, self.tasks, self.crew = agents, tasks, crew
        self.profiles, self.env, self.problems = profiles, env, problems
        self.models = Models(profiles, env, check_keys=not overridden, bare_is_openai=files.crewai_style)
        self.toolbox: Toolbox = toolbox_for(project, package)
        self.schemas = _schema_names(package.path / "schemas.py")

    def add(self, doc: YamlDoc, path: KeyPath, message: str, hint: str = "", severity: str = "error") -> None:
        self.problems.append(doc.problem(path, message, hint, severity))

    def run(self) -> CrewDefinition:
        if self.crewai_style:
            self.read_text_as_crewai()
        self.order_tasks()
        self.take_crewai_manager_names()
        self.check_binding_targets()
        agent_defs = {key: self.agent_def(key, spec) for key, spec in self.agents.items()}
        task_defs = {key: self.task_def(key, spec) for key, spec in self.tasks.items()}
        self.check_manager(agent_defs, task_defs)
        self.check_tasks(task_defs)
        self.check_placeholders()
        self.resolve_llms(agent_defs)
        self.check_workspace(agent_defs)
        self.check_files(agent_defs, task_defs)
        self.check_memory_and_knowledge(agent_defs)
        self.check_unused_agents(task_defs)
        self.check_task_names()
        return CrewDefinition(self.package, self.crew, agent_defs, task_defs, self.toolbox,
                              models=dict(self.models.specs))

    def read_text_as_crewai(self) -> None:
        """CrewAI leaves braces that are no placeholder alone: in rolecall's syntax they are doubled."""
        def converted(spec: Any, fields: tuple[str, ...]) -> Any:
            return spec.model_copy(update={f: from_crewai(getattr(spec, f)) for f in fields
                                           if isinstance(getattr(spec, f), str)})
        self.agents = {key: converted(spec, TEMPLATED_AGENT_KEYS) for key, spec in self.agents.items()}
        self.tasks = {key: converted(spec, TEMPLATED_TASK_KEYS) for key, spec in self.tasks.items()}

    def order_tasks(self) -> None:
        """crew.yaml's ``task_order`` first (what crew.py runs, in its order), then the rest of tasks.yaml."""
        order = self.crew.task_order
        if order is None:
            return
        listed: list[str] = []
        for i, key in enumerate(order):
            if key not in self.tasks:
                self.add(self.cdoc, ("task_order", i), f"no task '{key}' in config/tasks.yaml",
                         did_you_mean(key, self.tasks))
            elif key in listed:
                self.add(self.cdoc, ("task_order", i), f"'{key}' is listed twice", "name each task once")
            else:
                listed.append(key)
        self.tasks = {key: self.tasks[key] for key in [*listed, *(k for k in self.tasks if k not in listed)]}

    def take_crewai_manager_names(self) -> None:
        """CrewAI's ``manager_agent`` / ``manager_llm`` are rolecall's ``manager: {agent, llm}``."""
        crew = self.crew
        if crew.manager_agent is None and crew.manager_llm is None:
            return
        if crew.manager is not None:
            at = "manager_agent" if crew.manager_agent is not None else "manager_llm"
            self.add(self.cdoc, (at,), f"'{at}' and 'manager' say the same thing", "keep one of them")
            return
        given = "manager_agent" if crew.manager_agent is not None else "manager_llm"
        self.manager_at = {"agent": ("manager_agent",), "llm": ("manager_llm",), "": (given,)}
        self.crew = crew.model_copy(update={"manager": ManagerSpec(agent=crew.manager_agent, llm=crew.manager_llm)})

    def at_manager(self, field: str = "") -> KeyPath:
        """Where the manager's ``field`` was written: under manager, or as CrewAI's manager_agent/manager_llm."""
        return getattr(self, "manager_at", {}).get(field, ("manager", field) if field else ("manager",))

    # crew.yaml's agents/tasks sections must name real entries
    def check_binding_targets(self) -> None:
        for section, known, file in (("agents", self.agents, "agents.yaml"), ("tasks", self.tasks, "tasks.yaml")):
            for key in getattr(self.crew, section):
                if key not in known:
                    self.add(self.cdoc, (section, key), f"no {section[:-1]} '{key}' in config/{file}",
                             did_you_mean(key, known))

    def merge(self, section: str, key: str, spec: Any, binding: Any) -> Any:
        """``spec`` with crew.yaml's binding applied; a key set in both files is an error."""
        if binding is None:
            return spec
        yaml_doc = self.adoc if section == "agents" else self.tdoc
        updates = {}
        for field in sorted(binding.model_fields_set - {"output_schema"}):
            if getattr(spec, field) is not None:
                self.add(self.cdoc, (section, key, field),
                         f"'{field}' is already set in config/{yaml_doc.file.name}:{yaml_doc.line((key, field))}",
                         "bind it in one place only")
            updates[field] = getattr(binding, field)
        return spec.model_copy(update=updates)

    def where(self, section: str, key: str, field: str) -> tuple[YamlDoc, KeyPath]:
        """The file and key path a merged value came from, for error locations."""
        binding = getattr(self.crew, section).get(key)
        if binding is not None and field in binding.model_fields_set:
            return self.cdoc, (section, key, field)
        return (self.adoc if section == "agents" else self.tdoc), (key, field)

    def agent_def(self, key: str, spec: AgentSpec) -> AgentDef:
        merged = self.merge("agents", key, spec, self.crew.agents.get(key))
        doc, at = self.where("agents", key, "tools")
        return AgentDef(key, merged, self.tool_uses(merged.tools or [], doc, at), None)  # llm: resolve_llms

    def task_def(self, key: str, spec: TaskSpec) -> TaskDef:
        binding = self.crew.tasks.get(key)
        merged = self.merge("tasks", key, spec, binding)
        field = "output_pydantic" if spec.output_pydantic else "output_json"
        if spec.output_pydantic and spec.output_json:
            self.add(self.tdoc, (key, "output_json"), "set output_pydantic or output_json, not both")
        crew_schema = binding.output_schema if binding else None
        if (spec.output_pydantic or spec.output_json) and crew_schema is not None:
            self.add(self.cdoc, ("tasks", key, "output_schema"),
                     f"'{field}' is already set in config/tasks.yaml:{self.tdoc.line((key, field))}",
                     "bind it in one place only")
        schema = crew_schema or spec.output_pydantic or spec.output_json
        doc, at = self.where("tasks", key, "tools")
        tools = self.tool_uses(merged.tools or [], doc, at)
        if merged.human_input and merged.approval is None:
            # CrewAI would stop the run for console input; rolecall gates the output for a person's
            # approval instead (a rejection's reason goes back to the agent, as CrewAI's feedback does)
            merged = merged.model_copy(update={"human_input": None, "approval": "required"})
        agent = merged.agent
        if agent is None and self.yaml_without_crew and len(self.agents) == 1 and self.crew.process == "sequential":
            agent = next(iter(self.agents))  # with one agent there is one way to bind it: crew.py would say the same
        task = TaskDef(key, merged, agent, list(merged.context or []), tools,
                       merged.output_file, schema, "json" if spec.output_json and not crew_schema else "pydantic")
        self.check_schema(key, schema, field)
        return task

    def tool_uses(self, refs: list[Any], doc: YamlDoc, at: KeyPath) -> list[ToolUse]:
        uses = []
        for i, ref in enumerate(refs):
            if isinstance(ref, dict) and len(ref) != 1:
                self.add(doc, (*at, i), "a tool with arguments is written {ToolName: {arg: value}}, one per item")
                continue
            use = ToolUse.parse(ref)
            info = self.toolbox.get(use.name)
            if info is None:  # an unknown name, a helper base class, or a module:Class that names no tool
                message, hint = self.toolbox.explain(use.name)
                if self.yaml_without_crew and not is_reference(use.name):
                    hint += "; a CrewAI project may define it in crew.py: `python main.py import PROJECT` copies it"
                self.add(doc, (*at, i), message, hint)
                continue
            if use.repeat is not None and use.repeat not in REPEAT_POLICIES:
                self.add(doc, (*at, i, use.name, "repeat"),
                         f"repeat must be one of {', '.join(REPEAT_POLICIES)}, not {use.repeat!r}",
                         "allow: an identical call runs again; refuse: it is refused and recorded")
            if use.kwargs and info.kind == "function":
                self.add(doc, (*at, i), f"tool '{use.name}' is a @tool function and takes no arguments here")
            self.check_tool_paths(info.name, use, doc, (*at, i))
            for need in info.requirements():
                if need.required and not self.env.get(need.name):
                    self.add(doc, (*at, i), f"tool '{use.name}' needs the environment variable "
                                            f"{need.name}, which is not set", "add it to .env")
            uses.append(use)
        return uses

    def check_tool_paths(self, tool_class: str, use: ToolUse, doc: YamlDoc, at: KeyPath) -> None:
        if tool_class in CODE_TOOLS and not self.crew.workspace.code_execution:
            self.add(doc, at, f"tool '{use.name}' runs code the model writes, and this crew does not allow it",
                     "add workspace: {code_execution: true} to crew.yaml if you mean it")
        for name in path_args(tool_class, use.kwargs):
            try:
                shaped(str(use.kwargs[name]))
            except PathRefused as refused:
                self.add(doc, (*at, use.name, name), f"{refused}",
                         "tools read the crew's folder and the run folder; list more under workspace in crew.yaml")

    def check_workspace(self, agents: dict[str, AgentDef]) -> None:
        spec = self.crew.workspace
        for mode in ("read", "write"):
            for i, folder in enumerate(getattr(spec, mode)):
                try:
                    shaped(folder)
                except PathRefused as refused:
                    self.add(self.cdoc, ("workspace", mode, i), str(refused), "list folders inside the crew's folder")
        if spec.code_execution:
            return
        for key, agent in agents.items():
            if agent.spec.allow_code_execution:
                doc, at = self.where("agents", key, "allow_code_execution")
                self.add(doc, at, "this agent would run code it writes, and the crew does not allow it",
                         "add workspace: {code_execution: true} to crew.yaml if you mean it")

    def check_files(self, agents: dict[str, AgentDef], tasks: dict[str, TaskDef]) -> None:
        """Files a setting names lie inside the crew's folder and exist (``output_log_file``: the run folder)."""
        spots: list[tuple[YamlDoc, KeyPath, str, bool]] = []  # (doc, key path, path, must exist)
        for key, agent in agents.items():
            doc, at = self.where("agents", key, "skills")
            spots += [(doc, (*at, i), folder, True) for i, folder in enumerate(agent.spec.skills or [])]
        for key, task in tasks.items():
            doc, at = self.where("tasks", key, "input_files")
            spots += [(doc, (*at, name), file, True) for name, file in (task.spec.input_files or {}).items()]
        spots += [(self.cdoc, ("skills", i), folder, True) for i, folder in enumerate(self.crew.skills or [])]
        if self.crew.prompt_file:
            spots.append((self.cdoc, ("prompt_file",), self.crew.prompt_file, True))
        if isinstance(self.crew.output_log_file, str):
            spots.append((self.cdoc, ("output_log_file",), self.crew.output_log_file, False))
        for doc, at, text, must_exist in spots:
            try:
                shaped(text)
            except PathRefused as refused:
                self.add(doc, at, str(refused), "name a path inside the crew's folder")
                continue
            if must_exist and not (self.package.path / text).exists():
                self.add(doc, at, f"no file or folder '{text}' in {self.package.shown_origin}",
                         "paths are relative to the crew's folder")

    def check_memory_and_knowledge(self, agents: dict[str, AgentDef]) -> None:
        """``embedder:`` names a provider whose key is set; ``knowledge_sources:`` name files in knowledge/."""
        embedder_spots: list[tuple[YamlDoc, KeyPath, Any]] = [(self.cdoc, ("embedder",), self.crew.embedder)]
        source_spots: list[tuple[YamlDoc, KeyPath, Any]] = [(self.cdoc, ("knowledge_sources",),
                                                            self.crew.knowledge_sources)]
        for key, agent in agents.items():
            embedder_spots.append((*self.where("agents", key, "embedder"), agent.spec.embedder))
            source_spots.append((*self.where("agents", key, "knowledge_sources"), agent.spec.knowledge_sources))
        for doc, at, embedder in embedder_spots:
            for found in embedders.problems(embedder, self.env) if embedder else []:
                self.add(doc, (*at, *found.at), found.message, found.hint)
        for doc, at, entries in source_spots:
            for index, message, hint in knowledge_files.resolve(self.package.path, entries or []).problems:
                self.add(doc, (*at, index), message, hint)

    def check_schema(self, task: str, schema: str | InlineSchema | None, field: str) -> None:
        if isinstance(schema, str) and schema not in self.schemas:
            in_crew = task in self.crew.tasks and self.crew.tasks[task].output_schema is not None
            doc, at = (self.cdoc, ("tasks", task, "output_schema")) if in_crew else (self.tdoc, (task, field))
            where = f"{self.package.shown_origin}/schemas.py"
            self.add(doc, at, f"no pydantic model '{schema}' in {where}",
                     did_you_mean(schema, self.schemas) or "define it there, or give the fields inline")
        elif isinstance(schema, InlineSchema):
            self.check_inline_fields(schema.fields, ("tasks", task, "output_schema", "fields"))

    def check_inline_fields(self, fields: dict[str, Any], at: KeyPath, depth: int = 0) -> None:
        for name, kind in fields.items():
            if depth > 8:
                self.add(self.cdoc, (*at, name), "inline fields are nested too deeply",
                         "define the model in schemas.py instead")
            elif isinstance(kind, dict):
                self.check_inline_fields(kind, (*at, name), depth + 1)
            elif isinstance(kind, list):
                if len(kind) != 1 or not isinstance(kind[0], dict):
                    self.add(self.cdoc, (*at, name), "a list of objects is written as a one-item list "
                                                     "holding the object's fields")
                else:
                    self.check_inline_fields(kind[0], (*at, name, 0), depth + 1)
            elif not _valid_type(kind):
                shown = kind if isinstance(kind, str) else kind_of(kind)
                self.add(self.cdoc, (*at, name), f"unknown field type '{shown}'",
                         (did_you_mean(kind, SCALAR_TYPES) if isinstance(kind, str) else "") or
                         "use str, int, float, bool, list[str], ..., or nested fields")

    def check_manager(self, agents: dict[str, AgentDef], tasks: dict[str, TaskDef]) -> None:
        manager = self.crew.manager
        if self.crew.process == "sequential":
            if manager is not None:
                self.add(self.cdoc, self.at_manager(), "a manager is only used by hierarchical crews",
                         "set process: hierarchical, or remove manager")
            return
        if manager is None or (manager.agent is None and manager.llm is None):
            self.add(self.cdoc, ("manager",) if manager else ("process",),
                     "a hierarchical crew needs a manager",
                     "add manager: {agent: <key in agents.yaml>} or manager: {llm: <profile>}")
            return
        if manager.agent and manager.llm:
            self.add(self.cdoc, self.at_manager(), "give the manager an agent or an llm, not both",
                     "a manager agent's model is set by its own llm")
        if manager.agent is None:
            return
        if manager.agent not in agents:
            self.add(self.cdoc, self.at_manager("agent"), f"no agent '{manager.agent}' in config/agents.yaml",
                     did_you_mean(manager.agent, agents))
            return
        if agents[manager.agent].tools:
            self.add(self.cdoc, self.at_manager("agent"),
                     f"manager agent '{manager.agent}' has tools; CrewAI refuses a manager with tools",
                     "move the tools to a worker agent")
        for task in tasks.values():
            if task.agent == manager.agent:
                doc, at = self.where("tasks", task.key, "agent")
                self.add(doc, at, f"task is bound to the manager '{manager.agent}'; the manager "
                                  f"delegates and does no task itself", "bind it to a worker, or leave it unbound")
        if len(agents) < 2:
            self.add(self.cdoc, self.at_manager("agent"), "the manager has no workers to delegate to",
                     "add another agent to config/agents.yaml")

    def check_tasks(self, tasks: dict[str, TaskDef]) -> None:
        order = list(tasks)
        for index, task in enumerate(tasks.values()):
            if task.agent is not None and task.agent not in self.agents:
                doc, at = self.where("tasks", task.key, "agent")
                self.add(doc, at, f"no agent '{task.agent}' in config/agents.yaml",
                         did_you_mean(task.agent, self.agents))
            elif task.agent is None and self.crew.process == "sequential" and self.yaml_without_crew:
                self.add(self.tdoc, (task.key,), "task has no agent; CrewAI projects bind it in crew.py",
                         f"run `python main.py import PROJECT` on the CrewAI project, or add agent: <key> here "
                         f"or a crew.yaml with tasks.{task.key}.agent")
            elif task.agent is None and self.crew.process == "sequential":
                self.add(self.tdoc, (task.key,), "task has no agent; a sequential crew needs one for every task",
                         f"add agent: <key> here or under tasks.{task.key}.agent in crew.yaml")
            for i, name in enumerate(task.context):
                doc, at = self.where("tasks", task.key, "context")
                if name not in tasks:
                    self.add(doc, (*at, i), f"no task '{name}' in config/tasks.yaml", did_you_mean(name, tasks))
                elif name == task.key:
                    self.add(doc, (*at, i), "a task cannot be its own context")
                elif order.index(name) > index:
                    cycle = _cycle(tasks, task.key)
                    message = f"context cycle: {' -> '.join(cycle)}" if cycle else \
                        f"'{name}' runs after this task, so its output is not available yet"
                    where = "task_order in crew.yaml" if self.crew.task_order is not None else "tasks.yaml"
                    self.add(doc, (*at, i), message, f"tasks run in the order of {where}; move it earlier")
            if task.output_file and (Path(task.output_file).is_absolute() or ".." in Path(task.output_file).parts):
                doc, at = self.where("tasks", task.key, "output_file")
                self.add(doc, at, f"output_file '{task.output_file}' must stay inside the run folder",
                         "use a relative path such as report.md or out/report.md")
            if task.spec.approval and task.spec.async_execution:
                doc, at = self.where("tasks", task.key, "approval")
                self.add(doc, at, "an asynchronous task cannot wait for approval",
                         "make it synchronous, or put the approval on the task that joins it")
        last = list(tasks.values())[-1] if tasks else None
        if last is not None and last.spec.async_execution:
            self.add(self.tdoc, (last.key, "async_execution"),
                     "the last task cannot be asynchronous; CrewAI needs a final task to join on",
                     "add a task that takes the async tasks as context")

    def check_placeholders(self) -> None:
        declared = self.crew.inputs
        used: set[str] = set()
        spots: list[tuple[YamlDoc, KeyPath, str | None]] = []
        for key, agent in self.agents.items():
            spots += [(self.adoc, (key, f), getattr(agent, f)) for f in TEMPLATED_AGENT_KEYS]
        for key, task in self.tasks.items():
            spots += [(self.tdoc, (key, f), getattr(task, f)) for f in TEMPLATED_TASK_KEYS]
        for key, binding in self.crew.tasks.items():
            spots.append((self.cdoc, ("tasks", key, "output_file"), binding.output_file))
        for doc, at, text in spots:
            if not text:
                continue
            names, bad = placeholders(text)
            for brace in bad:
                self.add(doc, at, brace.message, "write '{{' and '}}' for literal braces")
            for name in names:
                used.add(name)
                if name not in declared and self.crewai_style:
                    declared[name] = InputSpec()  # CrewAI asks for every placeholder at kickoff
                elif name not in declared:
                    self.add(doc, at, f"placeholder '{{{name}}}' is not a declared input",
                             did_you_mean(name, declared) or f"declare it in crew.yaml under inputs.{name}")
        for name in declared:
            if name not in used and not self.crewai_style:  # CrewAI ignores inputs nothing uses
                self.add(self.cdoc, ("inputs", name), f"input '{name}' is declared but never used",
                         "use it as {" + name + "} in a role, goal, backstory, description or "
                         "expected_output, or remove it")

    def resolve_llms(self, agents: dict[str, AgentDef]) -> None:
        """Every ``llm:`` value becomes a profile name; a model string gets a profile of its own."""
        crew_updates: dict[str, Any] = {}
        for field in ("llm", "function_calling_llm", "planning_llm"):
            crew_updates[field] = self.model_name(self.cdoc, (field,), getattr(self.crew, field))
        if self.crew.manager is not None and self.crew.manager.llm is not None:
            crew_updates["manager"] = self.crew.manager.model_copy(
                update={"llm": self.model_name(self.cdoc, self.at_manager("llm"), self.crew.manager.llm)})
        self.crew = self.crew.model_copy(update=crew_updates)
        for key, agent in agents.items():
            updates: dict[str, Any] = {}
            for field in ("llm", "function_calling_llm"):
                updates[field] = self.model_name(*self.where("agents", key, field), getattr(agent.spec, field))
            planning = agent.spec.planning_config
            if planning is not None and planning.llm is not None:
                doc, at = self.where("agents", key, "planning_config")
                updates["planning_config"] = planning.model_copy(
                    update={"llm": self.model_name(doc, (*at, "llm"), planning.llm)})
            agent.spec = agent.spec.model_copy(update=updates)
            agent.llm = agent.spec.llm or self.crew.llm  # type: ignore[assignment]

    def model_name(self, doc: YamlDoc, at: KeyPath, ref: str | ModelSpec | None) -> str | None:
        if ref is None:
            return None
        try:
            return self.models.resolve(ref)
        except ModelProblem as bad:
            self.add(doc, at, bad.message, bad.hint)
            return None

    def check_task_names(self) -> None:
        # rolecall names each task by its key (run records, scripts, resume); crewai's `name` would
        # be a second name for the same thing, so it is reported rather than silently dropped
        for key, spec in self.tasks.items():
            if spec.name is not None and spec.name != key:
                doc, at = self.where("tasks", key, "name")
                self.add(doc, at, f"'name' is not used: rolecall names this task by its key '{key}'",
                         f"remove it, or rename the task key to '{spec.name}'", severity="warning")

    def check_unused_agents(self, tasks: dict[str, TaskDef]) -> None:
        if self.crew.process != "sequential":
            return
        used = {t.agent for t in tasks.values()}
        for key in self.agents:
            if key not in used:
                self.add(self.adoc, (key,), f"agent '{key}' is never given a task", severity="warning")


def _cycle(tasks: dict[str, TaskDef], start: str) -> list[str] | None:
    """A context cycle through ``start``, if there is one (depth-first, each task visited once)."""
    seen: set[str] = set()

    def walk(node: str, trail: list[str]) -> list[str] | None:
        for nxt in tasks[node].context if node in tasks else []:
            if nxt == start:
                return [*trail, nxt]
            if nxt not in seen and nxt in tasks:
                seen.add(nxt)  # a task that cannot lead back now never will: do not walk it twice
                found = walk(nxt, [*trail, nxt])
                if found:
                    return found
        return None
    return walk(start, [start])


def _valid_type(kind: Any) -> bool:
    if not isinstance(kind, str):
        return False
    kind = kind.strip().removesuffix(" | None").removesuffix("?")
    if kind.startswith("list[") and kind.endswith("]"):
        return kind[5:-1].strip() in SCALAR_TYPES
    return kind in SCALAR_TYPES


def _schema_names(file: Path) -> list[str]:
    """Class names defined at the top of a crew's schemas.py, read without importing it."""
    if not file.is_file():
        return []
    try:
        tree = ast.parse(file.read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return []  # an unreadable schemas.py: every schema it should hold is reported as missing
    return [n.name for n in tree.body if isinstance(n, ast.ClassDef)]

