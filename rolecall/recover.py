"""Turn what ``crew.py`` wires up in Python into rolecall's ``crew.yaml`` bindings.

``rolecall.crewpy`` reads the file; this decides what each value means: which YAML key an
``@agent`` method configures (``config=self.agents_config['x']``, whatever the method is
called), which agent a task is bound to, which tools are crewai_tools classes (a tool
reference) and which are the project's own (copied into ``tools.py``), which pydantic models
go to ``schemas.py``, and the crew's process and manager. Anything it cannot read as data
becomes a located note (a warning), never a silent drop.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .crewpy import CrewModule, Expr, Imported, Member, dotted_name, self_call
from .excerpt import Wanted, installed, project_file
from .problem import Problem
from .spec import AgentSettings, CrewSpec, ModelSpec, TaskSettings

# LangChain chat-model classes whose model maps onto a CrewAI model string
_PROVIDERS = {"ChatOpenAI": "openai", "OpenAI": "openai", "AzureChatOpenAI": "azure", "ChatAnthropic": "anthropic",
              "Ollama": "ollama", "ChatOllama": "ollama", "OllamaLLM": "ollama", "ChatGroq": "groq",
              "ChatGoogleGenerativeAI": "gemini", "ChatMistralAI": "mistral"}
_CREW_LLMS = ("manager_llm", "planning_llm", "function_calling_llm")


@dataclass(frozen=True)
class ToolAt:
    """A tool binding and the crew.py line it came from (so a tool that turns out unknown is located)."""

    ref: str | dict[str, dict[str, Any]]
    file: Path
    line: int

    @property
    def name(self) -> str:
        return self.ref if isinstance(self.ref, str) else next(iter(self.ref))


@dataclass
class Recovered:
    """crew.yaml's data, the definitions to copy, and every note."""

    crew: dict[str, Any]
    agents: dict[str, dict[str, Any]]
    tasks: dict[str, dict[str, Any]]
    tools: list[Wanted] = field(default_factory=list)
    schemas: list[Wanted] = field(default_factory=list)
    # knowledge files named in crew.py: (agent key, or None for the crew; file; line)
    knowledge: list[tuple[str | None, str, int]] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)


class Recovery:
    """One pass over a crew module against its agents.yaml and tasks.yaml data."""

    def __init__(self, module: CrewModule, agents_yaml: dict[str, Any], tasks_yaml: dict[str, Any],
                 roots: list[Path], project: Path):
        self.module, self.agents_yaml, self.tasks_yaml = module, agents_yaml, tasks_yaml
        self.roots, self.project = roots, project
        self.out = Recovered({}, {}, {})
        self.members: dict[str, Member] = {}
        for cls in module.classes:
            for name, member in cls.members.items():
                self.members.setdefault(name, member)
        self.attributes = {k: v for cls in module.classes for k, v in cls.attributes.items()}
        # method name -> the YAML key it configures: usually equal, not always
        self.keys = {m.name: key for m in self.members.values() if (key := m.config_key())}
        self._stored: dict[tuple[str, str], str] = {}  # (section, YAML key) -> the method that configured it

    def note(self, message: str, line: int | None, hint: str = "", file: Path | None = None) -> None:
        self.out.notes.append(Problem(message, file or self.module.file, line, hint=hint, severity="warning"))

    def run(self) -> Recovered:
        if len(self.module.classes) > 1:
            names = ", ".join(c.name for c in self.module.classes)
            self.note(f"crew.py defines {len(self.module.classes)} crew classes ({names}); they are imported as "
                      f"one crew that runs every task in tasks.yaml, in its order", self.module.classes[1].line,
                      "give each crew its own YAML files to keep them apart")
        for cls in self.module.classes:
            for gone in cls.replaced:
                self.note(f"method '{gone.name}' is defined again later in {cls.name}; as in Python, the later one "
                          f"is used", gone.line)
        for kind in ("before_kickoff", "after_kickoff", "callback", "cache_handler"):
            for member in self._of_kind(kind):
                self.note(f"@{kind} method '{member.name}' is Python that CrewAI runs around the crew; rolecall does "
                          f"not run it", member.line, "move what it does into a tool, or into the inputs you pass")
        for member in self._of_kind("agent"):
            self.agent(member)
        for member in self._of_kind("task"):
            self.task(member)
        self.check_coverage()
        crews = self._of_kind("crew")
        if crews:
            self.crew(crews[0])
        else:
            self.note("no @crew method: the crew runs sequentially with CrewAI's defaults", 1)
        return self.out

    def _of_kind(self, kind: str) -> list[Member]:
        return [m for cls in self.module.classes for m in cls.of_kind(kind)]

    # --- agents and tasks ---------------------------------------------------------

    def agent(self, member: Member) -> None:
        key = self._keyed(member, "agents", self.agents_yaml)
        call = member.call()
        if key is None or call is None:
            return
        binding: dict[str, Any] = {}
        self._others("Agent", call.others)
        for name, expr in call.kwargs.items():
            if name == "config":
                continue
            value = self.agent_setting(name, expr, member, key)
            if value is not None:
                binding[name] = value
        self._store("agents", key, binding, self.agents_yaml.get(key) or {}, member)

    def agent_setting(self, name: str, expr: Expr, member: Member, key: str) -> Any:
        if name == "knowledge_sources":
            self.knowledge(expr, member, key)  # the files are copied, then bound, by the importer
            return None
        if name == "tools":
            return self.tools(expr, member) or None
        if name in ("llm", "function_calling_llm"):
            return self.llm(expr, member)
        if name == "verbose":
            return self._verbose(expr, member)
        if name in AgentSettings.model_fields:
            return self.setting(AgentSettings, name, expr, member)
        self.note(f"Agent({name}=...) has no rolecall equivalent; not recovered", expr.line)
        return None

    def task(self, member: Member) -> None:
        key = self._keyed(member, "tasks", self.tasks_yaml)
        call = member.call()
        if key is None or call is None:
            return
        binding: dict[str, Any] = {}
        self._others("Task", call.others)
        for name, expr in call.kwargs.items():
            if name == "config":
                continue
            value = self.task_setting(name, expr, member, key)
            if value is not None:
                binding["output_schema" if name in ("output_json", "output_pydantic") else name] = value
        yaml_entry = self.tasks_yaml.get(key) or {}
        if "output_schema" in binding and ("output_json" in yaml_entry or "output_pydantic" in yaml_entry):
            self.note("tasks.yaml already names this task's output model; the one in crew.py is not used",
                      call.line)
            binding.pop("output_schema")
        if "agent" not in binding and "agent" not in yaml_entry:
            self.note(f"task '{key}' is bound to no agent in crew.py or tasks.yaml", call.line,
                      f"add agent: <key> under tasks.{key} in crew.yaml; a sequential crew needs one")
        self._store("tasks", key, binding, yaml_entry, member)

    def task_setting(self, name: str, expr: Expr, member: Member, key: str) -> Any:
        if name == "agent":
            return self._agent_ref(expr, member)
        if name == "context":
            return self._context(expr, member)
        if name == "tools":
            return self.tools(expr, member) or None
        if name in ("output_json", "output_pydantic"):
            return self.schema(expr)
        if name in ("guardrail", "guardrails"):
            ok, value = self.resolve(expr, member).literal()
            if ok and (isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
                return value
            self.note(f"{name}={expr.text} is Python code; rolecall takes plain-language guardrails; not recovered",
                      expr.line, f"write {name}: <the check, in words> under tasks.{key} in crew.yaml")
            return None
        if name in TaskSettings.model_fields and name not in ("name",):
            return self.setting(TaskSettings, name, expr, member)
        self.note(f"Task({name}=...) has no rolecall equivalent; not recovered", expr.line)
        return None

    def _others(self, builder: str, others: list[Expr]) -> None:
        for other in others:
            self.note(f"{builder}(...) is also given {other.text} (a positional argument or **mapping), which "
                      f"cannot be read statically; not recovered", other.line, "write its settings in crew.yaml")

    def _keyed(self, member: Member, section: str, yaml_data: dict[str, Any]) -> str | None:
        """The YAML key an @agent/@task method configures, or None (with a note)."""
        what = section[:-1]
        if not member.builds(what):
            self.note(f"@{what} method '{member.name}' does not return {what.capitalize()}(...) directly; "
                      f"not recovered", member.line, "return the call itself so it can be read without running it")
            return None
        key = member.config_key()
        if key is None:
            self.note(f"@{what} method '{member.name}' is defined in Python (no config=self.{section}_config[...]); "
                      f"not recovered", member.line, f"move it into config/{section}.yaml and use config=")
            return None
        if key not in yaml_data:
            self.note(f"@{what} method '{member.name}' reads '{key}', which config/{section}.yaml does not define",
                      member.line)
            return None
        if member.branches:
            self.note(f"@{what} method '{member.name}' has if/for/with/try: only its final return was read",
                      member.line)
        return key

    def _store(self, section: str, key: str, binding: dict[str, Any], yaml_entry: dict[str, Any],
               member: Member) -> None:
        target = getattr(self.out, section)
        for name in list(binding):
            if name not in yaml_entry:
                continue
            if yaml_entry[name] != _plain(binding[name]):
                self.note(f"{name} is set in crew.py and in config/{section}.yaml; crew.py's value wins in CrewAI, "
                          f"rolecall keeps config/{section}.yaml's", member.line,
                          f"change it in config/{section}.yaml if crew.py's value is the one you mean")
            del binding[name]
        first = self._stored.setdefault((section, key), member.name)
        if first != member.name:
            same = "the same way" if _plain(target[key]) == _plain(binding) else "differently; the first is kept"
            self.note(f"methods '{first}' and '{member.name}' both configure {section[:-1]} '{key}' {same}; CrewAI "
                      f"makes two {section} of it, rolecall one", member.line)
            return
        target[key] = binding

    def _agent_ref(self, expr: Expr, member: Member) -> str | None:
        method = self_call(self.resolve(expr, member).node)
        key = self.keys.get(method or "")
        if key is None or key not in self.agents_yaml:
            self.note(f"agent={expr.text} names no agent configured from agents.yaml; not recovered", expr.line)
            return None
        return key

    def _context(self, expr: Expr, member: Member) -> list[str] | None:
        node = self.resolve(expr, member).node
        if not isinstance(node, (ast.List, ast.Tuple)):
            self.note(f"context={expr.text} is not a list of self.<task>() calls; not recovered", expr.line)
            return None
        keys = []
        for item in node.elts:
            method = self_call(item)
            key = self.members[method].config_key() if method in self.members else None
            if key is None or key not in self.tasks_yaml:
                self.note(f"context item {ast.unparse(item)} names no task in tasks.yaml; left out", item.lineno)
                continue
            keys.append(key)
        return keys

    def check_coverage(self) -> None:
        """CrewAI runs only what the class defines, in its order; rolecall runs tasks.yaml as written."""
        used_tasks = [self.keys.get(m.name) for m in self._of_kind("task")]
        order = [k for k in used_tasks if k in self.tasks_yaml]
        for key in self.tasks_yaml:
            if key not in order:
                self.note(f"task '{key}' in tasks.yaml has no @task method, so CrewAI would not run it; rolecall "
                          f"runs every task in tasks.yaml", 1, "remove it from tasks.yaml if it is not meant to run")
        yaml_order = [k for k in self.tasks_yaml if k in order]
        unique = list(dict.fromkeys(order))
        if unique != yaml_order:  # tasks.yaml is copied unchanged, so crew.yaml keeps CrewAI's order
            self.out.crew["task_order"] = unique
        self._yaml_names_of_methods()
        agents = {self.keys.get(m.name) for m in self._of_kind("agent")}
        for key in self.agents_yaml:
            if key not in agents:
                self.note(f"agent '{key}' in agents.yaml has no @agent method, so CrewAI would not create it", 1)

    def _yaml_names_of_methods(self) -> None:
        """CrewAI reads `tools: [x]` and `llm: x` in the YAML as the crew class's @tool/@llm methods."""
        for section, data in (("agents", self.agents_yaml), ("tasks", self.tasks_yaml)):
            for key, entry in data.items():
                if not isinstance(entry, dict):
                    continue
                named = [t for t in entry.get("tools") or [] if isinstance(t, str)]
                named += [entry[f] for f in ("llm", "function_calling_llm") if isinstance(entry.get(f), str)]
                for name in named:
                    method = self.members.get(name)
                    if method is not None and method.kind in ("tool", "llm"):
                        self.note(f"config/{section}.yaml's {key} names '{name}', the @{method.kind} method here; "
                                  f"rolecall reads that name from its tool registry or model profiles instead",
                                  method.line, f"name the {'tool class' if method.kind == 'tool' else 'model'} "
                                               f"it returns in config/{section}.yaml")

    # --- the crew -------------------------------------------------------------------

    def crew(self, member: Member) -> None:
        call = member.call()
        if call is None:
            self.note(f"@crew method '{member.name}' does not return Crew(...) directly; not recovered", member.line)
            return
        self._others("Crew", call.others)
        for name, expr in call.kwargs.items():
            self.crew_setting(name, expr, member)

    def crew_setting(self, name: str, expr: Expr, member: Member) -> None:
        crew = self.out.crew
        if name == "tasks" and (listed := self._task_list(expr)) is not None:
            if listed == list(self.tasks_yaml):
                crew.pop("task_order", None)  # tasks.yaml's own order: nothing to say
            else:
                crew["task_order"] = listed
            for key in (k for k in self.tasks_yaml if k not in listed):
                self.note(f"task '{key}' is not in Crew(tasks=...), so CrewAI would not run it; rolecall runs it "
                          f"after the listed tasks", expr.line, "remove it from tasks.yaml if it is not meant to run")
        elif name in ("agents", "tasks"):
            if self_call(expr.node) != name:
                self.note(f"Crew({name}={expr.text}): rolecall runs every {name[:-1]} in {name}.yaml", expr.line)
        elif name == "process":
            process = dotted_name(expr.node).split(".")[-1] or str(self.resolve(expr, member).literal()[1])
            if process in ("sequential", "hierarchical"):
                crew["process"] = process
            else:
                self.note(f"process={expr.text} cannot be read statically; not recovered", expr.line)
        elif name == "manager_agent":
            self.manager_agent(expr)
        elif name == "manager_llm":
            value = self.llm(expr, member)
            if value is not None:
                crew.setdefault("manager", {})["llm"] = value
        elif name in _CREW_LLMS:
            model = self.llm(expr, member)
            if model is not None:
                crew[name] = model
        elif name == "knowledge_sources":
            self.knowledge(expr, member, None)
        elif name == "verbose":
            verbose = self._verbose(expr, member)
            if verbose is not None:
                crew[name] = verbose
        elif name in CrewSpec.model_fields and name not in ("agents", "tasks", "inputs", "manager"):
            value = self.setting(CrewSpec, name, expr, member)
            if value is not None:
                crew[name] = value
        else:
            self.note(f"Crew({name}=...) has no rolecall equivalent; not recovered", expr.line)

    def _task_list(self, expr: Expr) -> list[str] | None:
        """``Crew(tasks=[self.b(), self.a()])``: the YAML keys, in the order CrewAI runs them."""
        if not isinstance(expr.node, (ast.List, ast.Tuple)):
            return None
        keys = [self.keys.get(self_call(item) or "") for item in expr.node.elts]
        if not keys or not all(k in self.tasks_yaml for k in keys):
            return None
        return [k for k in keys if k is not None]

    def manager_agent(self, expr: Expr) -> None:
        manager = self.members.get(self_call(expr.node) or "")
        key = manager.config_key() if manager else None
        if manager is None or key is None or key not in self.agents_yaml:
            self.note(f"manager_agent={expr.text} is not an agent configured from agents.yaml; not recovered",
                      expr.line, "add the manager to config/agents.yaml and set manager: {agent: <key>}")
            return
        self.out.crew.setdefault("manager", {})["agent"] = key
        if manager.kind != "agent":  # a plain method, not an @agent one: its settings are read here
            self.agent(manager)

    def knowledge(self, expr: Expr, member: Member, owner: str | None) -> None:
        files: list[tuple[str | None, str, int]] = []
        for item in self._flatten(expr, member):
            call = self.resolve(item, member).node
            paths = next((k.value for k in call.keywords if k.arg == "file_paths"), None) \
                if isinstance(call, ast.Call) else None
            ok, value = Expr(paths, item.file).literal() if paths is not None else (False, None)
            if ok and isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                files += [(owner, v, item.line) for v in value]
            else:
                self.note(f"knowledge source {item.text} is not a file source rolecall can read; not recovered",
                          item.line, "put its files under the crew's knowledge/ folder and list them in "
                                     "knowledge_sources")
        if files:
            self.out.knowledge += files

    # --- values -----------------------------------------------------------------------

    def resolve(self, expr: Expr, member: Member | None, depth: int = 0) -> Expr:
        """Follow a bare name to what it was set to (in the method, then the module), and self.x to the class."""
        node = expr.node
        if depth > 8:
            return expr
        if isinstance(node, ast.Name):
            found = (member.local.get(node.id) if member else None) or self.module.assigns.get(node.id)
            if found is not None and found.node is not node:
                return self.resolve(found, member if member and node.id in member.local else None, depth + 1)
        attr = self_call(node) if isinstance(node, ast.Attribute) else None
        if attr in self.attributes:
            return self.resolve(self.attributes[attr], None, depth + 1)
        return expr

    def setting(self, model: type[BaseModel], name: str, expr: Expr, member: Member) -> Any:
        ok, value = self.resolve(expr, member).literal()
        if not ok:
            self.note(f"{name}={expr.text} is computed when crew.py runs; not recovered", expr.line,
                      f"write the value as {name}: in crew.yaml")
            return None
        try:
            model.model_validate({name: value})
        except ValidationError:
            self.note(f"{name}={expr.text} is not a value rolecall's {name} takes; not recovered", expr.line)
            return None
        return value

    def _verbose(self, expr: Expr, member: Member) -> bool | None:
        ok, value = self.resolve(expr, member).literal()
        if ok and isinstance(value, (bool, int)):
            return bool(value)  # older CrewAI took verbose levels (verbose=2)
        self.note(f"verbose={expr.text} cannot be read statically; not recovered", expr.line)
        return None

    def llm(self, expr: Expr, member: Member | None) -> str | dict[str, Any] | None:
        resolved = self.resolve(expr, member)
        node = resolved.node
        method = self_call(node) if isinstance(node, ast.Call) else None
        if method in self.members and self.members[method].returned is not None:
            target = self.members[method]
            return self.llm(target.returned, target)  # type: ignore[arg-type]
        ok, value = resolved.literal()
        if ok and isinstance(value, str):
            return value
        read = env_read(node)
        if read is not None and isinstance(read[1], str):  # os.getenv("MODEL", "gemini/...")
            self.note(f"llm {resolved.text} became its default '{read[1]}' (rolecall does not read {read[0]} for it)",
                      resolved.line, "set llm: in crew.yaml to choose another model")
            return read[1]
        if isinstance(node, ast.Call):
            return self._llm_call(node, resolved, expr)
        self.note(f"llm {expr.text} cannot be read statically; not recovered", expr.line,
                  "set llm: in crew.yaml to a profile from config/llm.yaml or a model string like openai/gpt-4o")
        return None

    def _api_key(self, node: ast.expr, settings: dict[str, Any]) -> None:
        """``api_key=os.getenv("NAME")`` is ``${NAME}``; a key written in crew.py is never copied into the crew
        (often a placeholder such as "dummy" for a local server, which needs none)."""
        read = env_read(node)
        if read is not None:
            settings["api_key"] = f"${{{read[0]}}}"
            return
        self.note(f"llm setting api_key={ast.unparse(node)[:40]} is written in crew.py; not copied", node.lineno,
                  "keep the key in .env and write api_key: ${NAME} under the agent's llm in crew.yaml")

    def _llm_call(self, node: ast.Call, resolved: Expr, expr: Expr) -> str | dict[str, Any] | None:
        cls = dotted_name(node.func).split(".")[-1]
        provider = _PROVIDERS.get(cls)
        if cls != "LLM" and provider is None:
            # located at the model's own line: agents sharing one model get one note
            self.note(f"llm {resolved.text}: {cls} is not a model rolecall can name; not recovered", resolved.line,
                      "set llm: in crew.yaml to a profile from config/llm.yaml or a model string like openai/gpt-4o")
            return None
        settings: dict[str, Any] = {}
        for keyword in node.keywords:
            if keyword.arg == "api_key":
                self._api_key(keyword.value, settings)
                continue
            ok, value = Expr(keyword.value, resolved.file).literal()
            name = "model" if keyword.arg == "model_name" else keyword.arg
            if not ok or name not in ModelSpec.model_fields:
                self.note(f"llm setting {keyword.arg}={ast.unparse(keyword.value)} not recovered", keyword.value.lineno)
                continue
            settings[name] = value
        if "model" not in settings and node.args and isinstance(node.args[0], ast.Constant):
            settings["model"] = node.args[0].value
        model = settings.get("model")
        if not isinstance(model, str):
            self.note(f"llm {resolved.text}: its model cannot be read statically; not recovered", resolved.line)
            return None
        if provider and "/" not in model:
            settings["model"] = f"{provider}/{model}"
            self.note(f"llm {resolved.text} became the CrewAI model string '{settings['model']}'", resolved.line)
        return settings["model"] if len(settings) == 1 else settings

    def schema(self, expr: Expr) -> str | None:
        node = expr.node
        name = node.id if isinstance(node, ast.Name) else None
        if name in self.module.defs and isinstance(self.module.defs[name], ast.ClassDef):
            self.out.schemas.append(Wanted(name, self.module.file))
            return name
        imported = self.module.imports.get(name or "")
        source = project_file(self.module.file, imported, self.roots, self.project) if imported else None
        if imported and imported.name and source:
            self.out.schemas.append(Wanted(imported.name, source))
            return imported.name
        self.note(f"output model {expr.text} is not a class defined in the project; not recovered", expr.line,
                  "define it in the crew's schemas.py and set output_schema: <Name> in crew.yaml")
        return None

    # --- tools ------------------------------------------------------------------------

    def tools(self, expr: Expr, member: Member) -> list[ToolAt]:
        out = []
        for item in self._flatten(expr, member):
            ref = self.tool(item, member)
            if ref is not None:
                out.append(ToolAt(ref, item.file, item.line))
        return out

    def _flatten(self, expr: Expr, member: Member | None) -> list[Expr]:
        """The items of a list of tools, through `a + b`, names and class attributes."""
        resolved = self.resolve(expr, member)
        node = resolved.node
        if isinstance(node, (ast.List, ast.Tuple)):
            items = []
            for element in node.elts:
                if isinstance(element, ast.Starred):
                    items += self._flatten(Expr(element.value, resolved.file), member)
                else:
                    items.append(Expr(element, resolved.file))
            return items
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._flatten(Expr(node.left, resolved.file), member) + \
                self._flatten(Expr(node.right, resolved.file), member)
        if isinstance(node, ast.Call) and dotted_name(node.func) in ("list", "tuple") and len(node.args) == 1:
            return self._flatten(Expr(node.args[0], resolved.file), member)
        helper = self.members.get(self_call(node) or "")
        if helper is not None and helper.returned is not None and helper.kind == "method":  # self.search_tools()
            return self._flatten(helper.returned, helper)
        if not self._single_tool(node):
            self.note(f"{expr.text} cannot be read statically (a list built when crew.py runs); not recovered",
                      expr.line, "list the tools in crew.yaml")
            return []
        return [resolved]

    def _single_tool(self, node: ast.expr) -> bool:
        """A single tool written where a list is expected (``tools=my_tool``), not a list computed at run time."""
        if isinstance(node, ast.Call):
            name = dotted_name(node.func).split(".")[-1]
            # SerperDevTool(), self.search_tool(): a class or a crew method; get_tools(): a computed list
            return name[:1].isupper() or name in self.members or name in self.module.defs
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            return node.attr in self.members
        return isinstance(node, (ast.Name, ast.Attribute))

    def tool(self, item: Expr, member: Member | None) -> str | dict[str, dict[str, Any]] | None:
        resolved = self.resolve(item, member)
        node = resolved.node
        method = self_call(node)
        if method is not None and method in self.members and self.members[method].returned is not None:
            target = self.members[method]
            return self.tool(target.returned, target)  # type: ignore[arg-type]
        if isinstance(node, ast.Call) and dotted_name(node.func):
            return self._tool_class(node, resolved)
        if isinstance(node, ast.Name):
            return self._tool_name(node.id, resolved)
        if isinstance(node, ast.Attribute) and dotted_name(node.value) == "self":
            self.note(f"tool {item.text} is set when crew.py runs; not recovered", item.line,
                      "list it in crew.yaml by its class name")
            return None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return self._tool_method(node.value.id, node.attr, resolved)
        self.note(f"tool {item.text} cannot be read statically; not recovered", item.line,
                  "list it in crew.yaml by its class name")
        return None

    def _tool_class(self, node: ast.Call, expr: Expr) -> str | dict[str, dict[str, Any]] | None:
        chain = dotted_name(node.func)
        kwargs: dict[str, Any] = {}
        for keyword in node.keywords:
            ok, value = Expr(keyword.value, expr.file).literal()
            if ok and keyword.arg:
                kwargs[keyword.arg] = value
            else:
                self.note(f"argument {ast.unparse(keyword)} of {chain}() is computed when crew.py runs; left out",
                          keyword.value.lineno, f"write it under {{{chain.split('.')[-1]}: {{...}}}} in crew.yaml")
        if node.args:
            self.note(f"{chain}() takes positional arguments ({', '.join(ast.unparse(a) for a in node.args)}); "
                      f"tool references pass keywords only, so they were left out", node.lineno,
                      f"write them as {{{chain.split('.')[-1]}: {{name: value}}}} in crew.yaml")
        name = self._tool_name(chain, expr)
        if name is None:
            return None
        return {name: kwargs} if kwargs else name

    def _tool_name(self, chain: str, expr: Expr) -> str | None:
        """The registry name (or module:Class reference) for a class or @tool function named in crew.py."""
        head, _, rest = chain.partition(".")
        defined = self.module.defs.get(chain)
        if defined is not None:
            self.out.tools.append(Wanted(chain, self.module.file))
            return chain
        imported = self.module.imports.get(head)
        star = self.module.imports.get("*")
        if imported is None and star is not None and not rest:  # from crewai_tools import *
            imported = Imported(star.module, chain, star.level, star.line)
        if imported is None:
            self.note(f"tool '{chain}' is neither defined nor imported in crew.py; left out", expr.line)
            return None
        module = imported.module if imported.name is None else imported.module
        name = rest if imported.name is None else imported.name
        if imported.name is None and not rest:
            self.note(f"tool {expr.text} is a module, not a tool; left out", expr.line)
            return None
        if imported.name is None and "." in rest:
            module, _, name = f"{module}.{rest}".rpartition(".")
        if module == "crewai_tools" or module.startswith("crewai_tools."):
            return name
        where = Imported(module, name, imported.level, imported.line)
        source = project_file(self.module.file, where, self.roots, self.project)
        if source is not None:
            self.out.tools.append(Wanted(name, source))
            return name
        if not imported.level and installed(module.split(".")[0]):
            return f"{module}:{name}"
        self.note(f"tool '{chain}' cannot be found: module '{'.' * imported.level}{module}' is neither in the "
                  f"project nor installed; left out", expr.line,
                  "install the package, or copy the tool into the crew's tools.py and list it in crew.yaml")
        return None

    def _tool_method(self, owner: str, name: str, expr: Expr) -> str | None:
        """``SearchTools.search_internet``: a @tool method of a helper class, copied as a function."""
        if owner in self.module.defs:
            source: Path | None = self.module.file
            original = owner
        else:
            imported = self.module.imports.get(owner)
            source = project_file(self.module.file, imported, self.roots, self.project) if imported else None
            original = imported.name if imported and imported.name else owner
        if source is None:
            self.note(f"tool {expr.text} cannot be found in the project; left out", expr.line)
            return None
        self.out.tools.append(Wanted(name, source, original))
        return name


def _plain(value: Any) -> Any:
    """A binding as YAML data (tool bindings as their references), to compare with what a file holds."""
    if isinstance(value, ToolAt):
        return value.ref
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def env_read(node: ast.expr) -> tuple[str, Any] | None:
    """``os.getenv("NAME", default)`` / ``os.environ.get(...)`` / ``os.environ["NAME"]``: (NAME, the default
    as a literal, or None)."""
    if isinstance(node, ast.Subscript) and dotted_name(node.value).endswith("environ") and \
            isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        return node.slice.value, None
    if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
        return None
    if dotted_name(node.func).split(".")[-1] != "getenv" and not dotted_name(node.func).endswith("environ.get"):
        return None
    name = node.args[0].value
    default = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "default"),
                                                          None)
    try:
        value = ast.literal_eval(default) if default is not None else None
    except ValueError:
        value = None
    return (name, value) if isinstance(name, str) else None
