"""CrewAI 1.15's JSON crews, read into the three documents validation checks.

``crewai create crew NAME`` writes ``crew.jsonc`` (agents by name, tasks in order, process,
inputs with default values, crew settings) and ``agents/<name>.jsonc`` (role, goal,
backstory, llm, tools, and ``settings`` that are agent keys too). This module turns them
into what a YAML crew's files hold: an agents mapping, a tasks mapping keyed by task name
and a ``crew.yaml``-shaped mapping. Every key path remembers the JSON file, line, column
and key path it came from, so a problem found later names the spot the user wrote.

Where the two differ, the meaning is crewai's and the rigour rolecall's: a key written both
at the top of an agent file and in its ``settings`` is an error (crewai lets settings win
silently); a task without a name gets the name ``crewai create crew`` would give it; every
``{placeholder}`` is an input, whose default comes from ``inputs`` and which is required
otherwise (``crewai run`` would prompt for it).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .discover import JSON_SUFFIXES, CrewPackage, json_crew_file
from .jsonc import JsoncError, KeyPath, Parsed, Spot, parse
from .load import YamlDoc, dotted, kind_of, read_text
from .problem import Problem, did_you_mean
from .template import placeholders


@dataclass(frozen=True)
class Origin:
    """Where a value was written: a file, a position, and its key path in that file."""

    file: Path
    spot: Spot
    path: KeyPath


@dataclass
class JsonDoc(YamlDoc):
    """A document assembled from JSON files; every key path knows its file, line and column."""

    origins: dict[KeyPath, Origin] = field(default_factory=dict)

    def origin(self, path: KeyPath) -> tuple[Origin, KeyPath]:
        """The nearest known origin of ``path`` and the rest of the path below it."""
        tail: KeyPath = ()
        while path and path not in self.origins:
            path, tail = path[:-1], (path[-1], *tail)
        return self.origins.get(path) or Origin(self.file, Spot(1, 1), ()), tail

    def line(self, path: KeyPath) -> int | None:
        return self.origin(path)[0].spot.line

    def problem(self, path: KeyPath, message: str, hint: str = "", severity: str = "error") -> Problem:
        origin, tail = self.origin(path)
        crew = self.file.name
        return Problem(in_json_terms(message, crew), origin.file, origin.spot.line, dotted((*origin.path, *tail)),
                       in_json_terms(hint, crew), severity, origin.spot.column)  # type: ignore[arg-type]

    def graft(self, file: Path, spots: Iterable[tuple[KeyPath, Spot]],
              route: Callable[[KeyPath], Iterable[KeyPath]]) -> None:
        """Take the origins of key paths in ``file``, each under the path(s) ``route`` gives."""
        for path, spot in spots:
            for target in route(path):
                self.origins[target] = Origin(file, spot, path)


# Validation's messages speak of the YAML layout; a JSON crew's problems say the same in its terms.
_JSON_TERMS = [(re.compile(pattern), replacement) for pattern, replacement in (
    (r"add agent: <key> here or under tasks\.\S+ in crew\.yaml", 'add "agent": "<agent name>" to this task'),
    (r"add manager: \{agent: <key in agents\.yaml>\} or manager: \{llm: <profile>\}",
     'add "manager_agent": "<agent name>" or "manager_llm": "<model>"'),
    (r"set process: hierarchical, or remove manager$", 'set "process": "hierarchical", or remove the manager'),
    (r"add workspace: \{code_execution: true\} to crew\.yaml", 'add "workspace": {"code_execution": true} to {crew}'),
    # the files themselves, only where validation names them (not in quoted user text)
    (r"\b(in|to|of) (config/)?agents\.yaml\b", r"\1 {crew}'s agents"),
    (r"\b(in|to|of) (config/)?tasks\.yaml\b", r"\1 {crew}'s tasks"),
    (r"\b(in|to) crew\.yaml\b", r"\1 {crew}"),
)]


def in_json_terms(text: str, crew_file: str) -> str:
    """``text`` with the YAML layout's names for things replaced by the JSON layout's."""
    for pattern, replacement in _JSON_TERMS:
        text = pattern.sub(replacement.replace("{crew}", crew_file), text)
    return text


@dataclass(frozen=True)
class JsonCrewFiles:
    agents: JsonDoc
    tasks: JsonDoc
    crew: JsonDoc


# keys of crew.jsonc that are not crew settings: read into the other documents
_STRUCTURE = ("name", "agents", "tasks", "inputs", "manager_agent", "manager_llm")
_AGENT_TYPES = {"agent", "Agent", "crewai.Agent", "crewai.agent.core.Agent"}
_TASK_TYPES = {"task", "Task", "crewai.Task", "crewai.task.Task"}
# crewai settings that name Python code or services rolecall does not run from a file
_UNSUPPORTED = {
    "agent": ("from_repository", "step_callback", "callbacks", "security_config", "a2a", "executor_class",
              "agent_executor", "i18n", "knowledge_storage"),
    "task": ("condition", "callback", "converter_cls", "response_model", "security_config"),
    "crew": ("before_kickoff_callbacks", "after_kickoff_callbacks", "step_callback", "task_callback",
             "security_config", "checkpoint", "chat_llm", "tracing"),
}
# ... of which these change nothing a run does here: dropped with a warning
_HARMLESS = {"chat_llm": "it is the model of `crewai chat`, which rolecall does not run",
             "tracing": "rolecall keeps crewai's tracing off; its own run record replaces it"}
_AGENT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_TEMPLATED = {"agent": ("role", "goal", "backstory"), "task": ("description", "expected_output", "output_file")}
_INPUT_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def load_json_crew(package: CrewPackage, problems: list[Problem]) -> JsonCrewFiles | None:
    """The crew's three documents, or None when crew.jsonc cannot be read at all."""
    file = json_crew_file(package.path)
    if file is None:
        problems.append(Problem("no crew.jsonc or crew.json", package.path / "crew.jsonc",
                                hint="run `crewai create crew NAME` to see a working layout"))
        return None
    parsed = read_jsonc(file, problems)
    if parsed is None:
        return None
    if not isinstance(parsed.data, dict):
        problems.append(Problem(f"the top level of {file.name} must be an object of crew settings, "
                                f"not {kind_of(parsed.data)}", file, 1, hint="write { ... }", column=1))
        return None
    return _Reader(package, file, parsed, problems).read()


def read_jsonc(file: Path, problems: list[Problem]) -> Parsed | None:
    """A JSONC file parsed; a syntax error or a duplicate key is a located problem."""
    text = read_text(file, problems)
    if text is None:
        return None
    try:
        parsed = parse(text)
    except JsoncError as error:
        problems.append(Problem(f"JSON syntax error: {error.message}", file, error.spot.line, hint=error.hint,
                                column=error.spot.column))
        return None
    for path, spot in parsed.duplicates:
        problems.append(Problem(f"duplicate key '{path[-1]}' (the earlier one would be silently dropped)",
                                file, spot.line, dotted(path), "remove one of them", column=spot.column))
    return parsed


class _Reader:
    """Builds the three documents from crew.jsonc and the agent files it names."""

    def __init__(self, package: CrewPackage, file: Path, parsed: Parsed, problems: list[Problem]):
        self.package, self.file, self.parsed, self.problems = package, file, parsed, problems
        self.data: dict[str, Any] = parsed.data
        self.agents = JsonDoc(file, {})
        self.tasks = JsonDoc(file, {})
        self.crew = JsonDoc(file, {})
        for doc in (self.agents, self.tasks, self.crew):
            doc.origins[()] = Origin(file, parsed.spots[()], ())
        # the key paths below each agents/tasks entry, found once: grafting scans only its own
        self.items: dict[KeyPath, list[tuple[KeyPath, Spot]]] = {}
        for path, spot in parsed.spots.items():
            if len(path) > 2 and path[0] in ("agents", "tasks"):
                self.items.setdefault(path[:2], []).append((path, spot))

    def read(self) -> JsonCrewFiles | None:
        self.read_crew()
        self.read_agents()
        self.read_tasks()
        if not self.agents.data or not self.tasks.data:
            return None  # reported; checking a crew with no agents or no tasks would only add noise
        self.declare_placeholders()
        return JsonCrewFiles(self.agents, self.tasks, self.crew)

    def add(self, path: KeyPath, message: str, hint: str = "", severity: str = "error") -> None:
        """A problem at ``path`` in crew.jsonc."""
        spot = self.parsed.spots.get(path) or self.parsed.spots[()]
        self.problems.append(Problem(message, self.file, spot.line, dotted(path), hint, severity,  # type: ignore[arg-type]
                                     spot.column))

    # --- crew.jsonc's own settings -----------------------------------------------

    def read_crew(self) -> None:
        data = self.data
        crew = {key: value for key, value in data.items() if key not in _STRUCTURE}
        self.check_supported("crew", crew, ())
        if not isinstance(data.get("name", ""), str):
            self.add(("name",), f"'name' must be text, got {kind_of(data['name'])}")
        manager = {}
        if "manager_agent" in data:
            manager["agent"] = data["manager_agent"]
        if "manager_llm" in data:
            manager["llm"] = data["manager_llm"]
        if manager and "manager" in data:
            self.add(("manager",), "write manager_agent or manager_llm (CrewAI's keys), or manager, not both")
        elif manager:
            crew["manager"] = manager
        crew["inputs"] = self.inputs(data.get("inputs", {}))
        self.crew.data = crew
        self.crew.graft(self.file, self.parsed.spots.items(), _crew_route)

    def inputs(self, given: Any) -> Any:
        """crewai's ``inputs`` (name -> default value) as crew.yaml's (name -> {type, default})."""
        if not isinstance(given, dict):
            return given  # CrewSpec reports the wrong type at inputs
        return {name: {"default": value, "type": _INPUT_TYPES.get(type(value), "string")}
                if value is not None else {} for name, value in given.items()}

    def check_supported(self, what: str, data: dict[str, Any], at: KeyPath, origin: JsonDoc | None = None) -> None:
        """Drop the crewai settings rolecall cannot honour, each reported where it is written."""
        for key in [k for k in _UNSUPPORTED[what] if k in data]:
            del data[key]
            message = f"'{key}' is a CrewAI setting rolecall does not take from a crew file"
            hint = "remove it; `python main.py schema` lists the settings rolecall reads"
            severity = "warning" if key in _HARMLESS else "error"
            if key in _HARMLESS:
                message, hint = f"'{key}' is ignored: {_HARMLESS[key]}", "remove it to silence this"
            if origin is None:
                self.add((*at, key), message, hint, severity)
            else:
                self.problems.append(origin.problem((*at, key), message, hint, severity))

    # --- agents ------------------------------------------------------------------

    def read_agents(self) -> None:
        refs = self.data.get("agents")
        manager = self.data.get("manager_agent")
        if isinstance(refs, dict) and refs:  # crewai's inline form: name -> agent (the manager may be one)
            for name, body in refs.items():
                self.inline_agent(str(name), body, ("agents", name))
        elif not isinstance(refs, list) or not refs:
            self.add(("agents",) if "agents" in self.data else (),
                     "'agents' must be a non-empty list of agent names" if refs is not None else
                     "missing required key 'agents'", 'for example "agents": ["researcher"], '
                     "each defined in agents/<name>.jsonc")
            return
        for i, ref in enumerate(refs if isinstance(refs, list) else []):
            if isinstance(ref, str) and ref == manager:
                self.add(("agents", i), f"'{ref}' is the manager_agent; CrewAI keeps the manager out of agents",
                         "remove it from agents")
            else:
                self.agent_ref(ref, ("agents", i))
        if isinstance(manager, str) and manager not in self.agents.data:
            self.agent_ref(manager, ("manager_agent",))

    def agent_ref(self, ref: Any, at: KeyPath) -> None:
        """One entry of ``agents``: a name with a file in agents/, or an agent written inline."""
        if isinstance(ref, dict):
            if isinstance(ref.get("name"), str):
                self.inline_agent(ref["name"], {k: v for k, v in ref.items() if k != "name"}, at)
            elif len(ref) == 1:
                ((name, body),) = ref.items()
                self.inline_agent(name, body, (*at, name))
            else:
                self.add(at, 'an inline agent needs a "name", or is written {"name": {agent settings}}')
            return
        if not isinstance(ref, str) or not _AGENT_NAME.fullmatch(ref):
            self.add(at, f"an agent reference must be the name of a file in agents/, got {kind_of(ref)} {ref!r}"[:200],
                     'for example "researcher" for agents/researcher.jsonc')
            return
        if ref in self.agents.data:
            self.add(at, f"agent '{ref}' is listed twice", "list each agent once")
            return
        file = self.agent_file(ref, at)
        parsed = read_jsonc(file, self.problems) if file is not None else None
        if parsed is None or file is None:
            self.agents.data[ref] = dict(_STUB)  # reported; a stub keeps tasks that name it from piling on errors
            return
        if not isinstance(parsed.data, dict):
            self.problems.append(Problem(f"an agent file must hold an object of agent settings, not "
                                         f"{kind_of(parsed.data)}", file, 1, hint="write { ... }", column=1))
            self.agents.data[ref] = dict(_STUB)
            return
        self.agents.graft(file, parsed.spots.items(), lambda path: [(ref, *path)])
        self.agents.data[ref] = self.agent_body(ref, parsed.data)

    def inline_agent(self, name: str, body: Any, at: KeyPath) -> None:
        """An agent written in crew.jsonc itself, its settings at ``at``."""
        if name in self.agents.data:
            self.add(at, f"agent '{name}' is defined twice", "define each agent once")
            return
        self.agents.graft(self.file, self.items.get(at[:2], []),
                          lambda path: [(name, *path[len(at):])] if path[:len(at)] == at and path[len(at):] != ("name",)
                          else [])
        self.agents.origins[(name,)] = Origin(self.file, self.parsed.spots[at], at)
        self.agents.data[name] = self.agent_body(name, body) if isinstance(body, dict) else body

    def agent_file(self, name: str, at: KeyPath) -> Path | None:
        folder = self.package.path / "agents"
        found = [folder / f"{name}{suffix}" for suffix in JSON_SUFFIXES if (folder / f"{name}{suffix}").is_file()]
        if len(found) > 1:
            self.add(at, f"agents/{found[1].name} is ignored: agents/{found[0].name} comes first",
                     "remove one of them", "warning")
        if found:
            return found[0]
        try:
            known = sorted({f.stem for f in folder.iterdir() if f.suffix in JSON_SUFFIXES}) if folder.is_dir() else []
        except OSError:  # an unreadable agents/: the hint is all that is lost
            known = []
        self.add(at, f"no agents/{name}.jsonc (or .json) for agent '{name}'",
                 did_you_mean(name, known) or f"create agents/{name}.jsonc with role, goal and backstory")
        return None

    def agent_body(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """An agent's keys as agents.yaml holds them: ``settings`` lifted, crewai's ``type`` checked."""
        agent = dict(body)
        settings = agent.pop("settings", None)
        if isinstance(settings, dict):
            for key, value in settings.items():
                if key in agent:
                    self.problems.append(self.agents.problem((name, "settings", key),
                                                             f"'{key}' is set here and at the top of the file",
                                                             "keep one; crewai lets settings win"))
                agent[key] = value
                lifted = (name, "settings", key)
                for path, origin in list(self.agents.origins.items()):  # the key and what it holds (settings.llm.model)
                    if path[:3] == lifted:
                        self.agents.origins[(name, key, *path[3:])] = origin
        elif settings is not None:
            self.problems.append(self.agents.problem((name, "settings"),
                                                     f"'settings' must be an object, got {kind_of(settings)}"))
        self.check_type(agent, (name,), _AGENT_TYPES, "Agent", self.agents)
        self.check_supported("agent", agent, (name,), self.agents)
        return agent

    def check_type(self, data: dict[str, Any], at: KeyPath, aliases: set[str], builds: str, doc: JsonDoc) -> None:
        kind = data.pop("type", None)
        if kind is not None and not (isinstance(kind, str) and kind in aliases):
            self.problems.append(doc.problem((*at, "type"), f"rolecall builds crewai's {builds}; a custom or "
                                                            f"conditional type is not supported", "remove 'type'"))

    # --- tasks -----------------------------------------------------------------

    def read_tasks(self) -> None:
        tasks = self.data.get("tasks")
        if not isinstance(tasks, list) or not tasks:
            self.add(("tasks",) if "tasks" in self.data else (),
                     "'tasks' must be a non-empty list of tasks" if tasks is not None else
                     "missing required key 'tasks'",
                     'for example "tasks": [{"name": "research", "description": ..., "expected_output": ..., '
                     '"agent": "researcher"}]')
            return
        for i, task in enumerate(tasks):
            if not isinstance(task, dict):
                self.add(("tasks", i), f"a task must be an object of task settings, not {kind_of(task)}")
                continue
            key = self.task_key(task, i)
            if key is None:
                continue
            body = {k: v for k, v in task.items() if k != "name"}
            self.check_type(body, (key,), _TASK_TYPES, "Task", self.tasks)
            self.check_supported("task", body, (key,), self.tasks)
            self.tasks.data[key] = body

    def task_key(self, task: dict[str, Any], i: int) -> str | None:
        """The task's name (context refers to it), or the name `crewai create crew` would give it."""
        name = task.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            self.add(("tasks", i, "name"), f"a task name must be non-empty text, got {kind_of(name)} {name!r}"[:200])
            return None
        key = name if name is not None else _generated_name(task.get("description"), i, self.tasks.data)
        if key in self.tasks.data:
            first = self.tasks.origin((key,))[0].path
            self.add(("tasks", i, "name"), f"two tasks are named '{key}' ({dotted(first)} and tasks[{i}])",
                     "give each task its own name: context refers to tasks by name")
            return None
        self.tasks.graft(self.file, self.items.get(("tasks", i), []),
                         lambda path: [(key, *path[2:])] if path[2] != "name" else [])
        self.tasks.origins[(key,)] = Origin(self.file, self.parsed.spots[("tasks", i)], ("tasks", i))
        return key

    # --- inputs ------------------------------------------------------------------

    def declare_placeholders(self) -> None:
        """Every {placeholder} is an input; one without a default in ``inputs`` is required."""
        inputs = self.crew.data.get("inputs")
        if not isinstance(inputs, dict):
            return
        for doc, what in ((self.agents, "agent"), (self.tasks, "task")):
            for key, body in doc.data.items():
                for field_name in _TEMPLATED[what]:
                    text = body.get(field_name) if isinstance(body, dict) else None
                    for name in placeholders(text)[0] if isinstance(text, str) else []:
                        if name not in inputs:
                            inputs[name] = {}
                            origin, _ = doc.origin((key, field_name))
                            self.crew.origins[("inputs", name)] = origin


_STUB = {"role": "", "goal": "", "backstory": ""}


def _crew_route(path: KeyPath) -> list[KeyPath]:
    """Where a crew.jsonc key path lands in the crew.yaml-shaped document."""
    if not path or path[0] in ("agents", "tasks", "name"):
        return []
    if path[0] in ("manager_agent", "manager_llm"):
        return [("manager", path[0].removeprefix("manager_"), *path[1:]), *([("manager",)] if len(path) == 1 else [])]
    if path[0] == "inputs" and len(path) >= 2:
        return [path, ("inputs", path[1], "default", *path[2:])]
    return [path]


def _generated_name(description: Any, index: int, taken: dict[str, Any]) -> str:
    """crewai's wizard names a task by the first four words of its description (create_json_crew.py)."""
    words = description.lower().split()[:4] if isinstance(description, str) else []
    base = re.sub(r"[^a-z0-9_]", "", "_".join(words))
    name = f"{base}_task" if base else f"task_{index + 1}"
    while name in taken:
        name += "_2"
    return name
