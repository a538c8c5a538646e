"""Check a flow file with rolecall's rigour, before anything runs: every problem, located, at once.

Unknown keys (did you mean ...?), ``listen``/``start`` naming neither a method nor a router's
label, methods no run can reach, router labels nobody listens to, ``call: crew`` naming a
crew that does not exist or does not validate (its own problems included, in its own
files), crew inputs the crew does not declare or required inputs not given, and
``${state.x}`` / ``${outputs.m}`` naming undeclared state or unknown methods.
crewai is not imported.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .cache import checked
from .discover import CrewPackage, discover, is_crew_dir
from .flow_graph import FlowCheck, FlowOutline, MethodOutline
from .flow_inline import AGENT_INPUT, agent_document, crew_document, materialize, relocated
from .flow_package import FlowPackage
from .flow_spec import (
    ACTION_KEYS,
    CONFIG_KEYS,
    CREW_STEP_FIELDS,
    EACH_STEP_KEYS,
    FEEDBACK_FIELDS,
    FEEDBACK_KEYS,
    FLOW_KEYS,
    METHOD_KEYS,
    PERSIST_KEYS,
    SCHEMA,
    STATE_KEYS,
    STEP_NAME,
    Reference,
    condition_keys,
    condition_names,
    references,
)
from .load import KeyPath, YamlDoc, load_yaml
from .problem import Problem, did_you_mean, only_errors
from .project import Project

JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


def validate_flow(project: Project, package: FlowPackage) -> FlowCheck:
    problems: list[Problem] = []
    doc = load_yaml(package.file, problems)
    if doc is None:
        return FlowCheck(None, problems)
    if not isinstance(doc.data, dict):
        return FlowCheck(None, [doc.problem((), "a flow file must be a mapping (schema, name, methods, ...)")])
    checker = _Checker(project, package, doc, problems)
    outline = checker.run()
    return FlowCheck(None if only_errors(problems) else outline, problems)


class _Checker:
    def __init__(self, project: Project, package: FlowPackage, doc: YamlDoc, problems: list[Problem]):
        self.project, self.package, self.doc, self.problems = project, package, doc, problems
        self.data: dict[str, Any] = doc.data
        self.crews: dict[str, CrewPackage] = discover(project)[0]
        self.inline_dirs: dict[str, str] = {}  # method -> folder of its inline crew or agent step

    def error(self, path: KeyPath, message: str, hint: str = "") -> None:
        self.problems.append(self.doc.problem(path, message, hint))

    def warn(self, path: KeyPath, message: str, hint: str = "") -> None:
        self.problems.append(self.doc.problem(path, message, hint, severity="warning"))

    def keys(self, value: Any, path: KeyPath, allowed: Iterable[str], what: str) -> bool:
        """Unknown keys of a mapping, each with a did-you-mean; False when ``value`` is no mapping."""
        if not isinstance(value, dict):
            self.error(path, f"{what} must be a mapping, not {type(value).__name__}")
            return False
        names = list(allowed)
        for key in value:
            if key not in names:
                hint = did_you_mean(str(key), names) or f"allowed: {', '.join(names)}"
                self.error((*path, key), f"unknown key '{key}' in {what}", hint)
        return True

    # --- the whole file -------------------------------------------------------------
    def run(self) -> FlowOutline:
        data = self.data
        self.keys(data, (), FLOW_KEYS, "a flow")
        if data.get("schema") != SCHEMA:
            self.error(("schema",), f"schema must be '{SCHEMA}'" + (f", not '{data['schema']}'" if "schema" in data
                                                                    else " (missing)"),
                       f"add `schema: {SCHEMA}` as the first line")
        if not isinstance(data.get("name"), str) or not data.get("name"):
            self.error(("name",), "the flow needs a `name:` (crewai's name for it, used in its events)")
        if isinstance(data.get("config"), dict) or "config" in data:
            self.keys(data.get("config"), ("config",), CONFIG_KEYS, "config")
        if "persist" in data:
            self.keys(data["persist"], ("persist",), PERSIST_KEYS, "persist")
        if isinstance(data.get("conversational"), dict) and data["conversational"].get("enabled", True):
            self.error(("conversational",), "conversational flows are not run by rolecall",
                       "run them with `crewai run`, or remove `conversational`")
        state = self.state()
        methods = self.methods(state)
        return FlowOutline(self.package.name, str(data.get("name") or self.package.name), self.package.file,
                           str(data.get("description") or ""), state, methods, self.package.fingerprint())

    # --- state ----------------------------------------------------------------------
    def state(self) -> dict[str, dict[str, Any]]:
        """Declared state fields -> {type, default, description}; a field reference must name one."""
        state = self.data.get("state")
        if state is None:
            return {}
        if not isinstance(state, dict):
            self.error(("state",), "state must be a mapping (type: dict, default: {...})")
            return {}
        kind = state.get("type", "dict")
        if kind not in STATE_KEYS:
            self.error(("state", "type"), f"unknown state type '{kind}'",
                       did_you_mean(str(kind), STATE_KEYS) or f"one of: {', '.join(STATE_KEYS)}")
            return {}
        self.keys(state, ("state",), STATE_KEYS[kind], f"state of type {kind}")
        fields: dict[str, dict[str, Any]] = {}
        schema = state.get("json_schema")
        if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
            required: list[Any] = schema["required"] if isinstance(schema.get("required"), list) else []
            for name, spec in schema["properties"].items():
                spec = spec if isinstance(spec, dict) else {}
                fields[str(name)] = {"type": JSON_TYPES.get(str(spec.get("type")), "string"), "default": None,
                                     "description": str(spec.get("description") or ""), "required": name in required}
        default = state.get("default") or {}
        if not isinstance(default, dict):
            self.error(("state", "default"), "state.default must be a mapping of field: value")
            default = {}
        for name, value in default.items():
            entry = fields.setdefault(str(name), {"type": _type_of(value), "description": ""})
            entry["default"] = value
        if kind in ("pydantic", "unknown") and not fields:
            fields["*"] = {"type": "string", "default": None, "description": "not known before the run"}
        return fields

    # --- methods --------------------------------------------------------------------
    def methods(self, state: dict[str, dict[str, Any]]) -> dict[str, MethodOutline]:
        raw = self.data.get("methods")
        if not isinstance(raw, dict) or not raw:
            self.error(("methods",), "the flow has no methods", "add one with `start: true` and a `do:` action")
            return {}
        outlines = {}
        for name, method in raw.items():
            path: KeyPath = ("methods", name)
            if not STEP_NAME.fullmatch(str(name)):
                self.error(path, f"method name '{name}' is not a valid name",
                           "letters, digits and _; not a digit first")
            if self.keys(method, path, METHOD_KEYS, f"method '{name}'"):
                outlines[str(name)] = self.method(str(name), method, path)
        labels = {label for m in outlines.values() if m.router for label in m.labels}
        for name, method in raw.items():
            if isinstance(method, dict) and str(name) in outlines:
                self.triggers(str(name), method, outlines, labels)
                self.refs(str(name), method, outlines, state)
        self.graph(outlines, labels)
        return outlines

    def method(self, name: str, method: dict[str, Any], path: KeyPath) -> MethodOutline:
        do = method.get("do")
        call, crew, inputs = self.action(do, (*path, "do"), name) if "do" in method else ("?", None, {})
        if "do" not in method:
            self.error(path, f"method '{name}' has no `do:` action", "e.g. do: {call: crew, from_declaration: crews/x}")
        feedback = method.get("human_feedback")
        labels = [str(x) for x in method.get("emit") or []] if isinstance(method.get("emit"), list) else []
        router = bool(method.get("router"))
        if feedback is not None and self.keys(feedback, (*path, "human_feedback"), FEEDBACK_KEYS, "human_feedback"):
            if not isinstance(feedback.get("message"), str):
                self.error((*path, "human_feedback"), "human_feedback needs a `message:` for the reviewer")
            outcomes = feedback.get("emit")
            if outcomes:  # crewai: a feedback step with outcomes routes like a router
                router, labels = True, [str(x) for x in outcomes]
            default = feedback.get("default_outcome")
            if default is not None and default not in (outcomes or []):
                self.error((*path, "human_feedback", "default_outcome"),
                           f"default_outcome '{default}' is not one of human_feedback.emit",
                           did_you_mean(str(default), outcomes or []) or "add it to emit, or remove it")
        if method.get("emit") and not method.get("router") and not (feedback or {}).get("emit"):
            self.warn((*path, "emit"), "emit is only read for routers", "add `router: true`")
        if router and not labels:
            self.warn((*path, "router"), f"router '{name}' declares no `emit:` labels, so nothing can be checked "
                      "against what it returns", "list them: emit: [a, b]")
        message = feedback.get("message") if isinstance(feedback, dict) else None
        return MethodOutline(name, call, bool(method.get("start")), method.get("listen"), router, labels, crew,
                             self.inline_dirs.get(name), inputs, str(message) if message is not None else None,
                             str(method.get("description") or ""))

    def action(self, do: Any, path: KeyPath, method: str = "") -> tuple[str, str | None, dict[str, Any]]:
        """(call, rolecall crew name or None, crew inputs) of a `do:`; problems for the rest.

        An inline crew or an agent step (of a method, not inside `each`) is written as a crew
        (``flow_inline``): its name is returned and its folder kept in ``self.inline``."""
        if not isinstance(do, dict):
            self.error(path, "do must be a mapping with a `call:`", "e.g. do: {call: crew, from_declaration: crews/x}")
            return "?", None, {}
        call = do.get("call")
        if call not in ACTION_KEYS:
            self.error((*path, "call"), f"unknown call '{call}'",
                       did_you_mean(str(call), ACTION_KEYS) or f"one of: {', '.join(ACTION_KEYS)}")
            return str(call), None, {}
        self.keys(do, path, ACTION_KEYS[call], f"a `call: {call}` action")
        if call == "each":
            self.each(do, path)
        if call == "agent" and method and isinstance(do.get("with"), dict):
            inputs = {AGENT_INPUT: do["with"].get("input")}
            return "agent", self.inline_crew(agent_document(do["with"], method), method, (*path, "with"), inputs), \
                inputs
        if call != "crew":
            for key in ("ref", "expr", "code"):
                if key in ACTION_KEYS[call] and key != "with" and not isinstance(do.get(key), str):
                    self.error((*path, key), f"`call: {call}` needs `{key}:`")
            return str(call), None, {}
        inputs = do.get("inputs") or {}
        if not isinstance(inputs, dict):
            self.error((*path, "inputs"), "inputs must be a mapping of crew input: value")
            inputs = {}
        if bool(do.get("from_declaration")) == ("with" in do):
            self.error(path, "a crew action needs exactly one of from_declaration or with")
            return "crew", None, inputs
        if "with" in do:
            if self.inline(do["with"], (*path, "with")) and method:
                return "crew", self.inline_crew(crew_document(do["with"], method), method, (*path, "with"), inputs), \
                    inputs
            return "crew", None, inputs
        return "crew", self.crew(str(do["from_declaration"]), inputs, path), inputs

    def each(self, do: dict[str, Any], path: KeyPath) -> None:
        steps = do.get("do")
        if not isinstance(steps, list) or not steps:
            self.error((*path, "do"), "each.do must list at least one step")
            return
        for index, step in enumerate(steps):
            if self.keys(step, (*path, "do", index), EACH_STEP_KEYS, "an each step") and "action" in step:
                at = (*path, "do", index, "action")
                self.action(step["action"], at)
                if isinstance(step["action"], dict) and step["action"].get("call") in ("crew", "agent"):
                    # crewai would run it outside rolecall: on its default model, unrecorded
                    self.error((*at, "call"), f"rolecall does not run `call: {step['action']['call']}` inside "
                               "`each` yet", "give the crew its own method, and loop with a router")

    def inline(self, crew: Any, path: KeyPath) -> bool:
        """An inline crew (crewai's CrewDefinition) has agents and tasks; False when it cannot be read."""
        if not isinstance(crew, dict):
            self.error(path, "an inline crew must be a mapping with agents and tasks")
            return False
        if not isinstance(crew.get("agents"), dict) or not crew["agents"]:
            self.error((*path, "agents"), "an inline crew needs agents (name: {role, goal, backstory})")
            return False
        if not isinstance(crew.get("tasks"), list) or not crew["tasks"]:
            self.error((*path, "tasks"), "an inline crew needs a list of tasks")
            return False
        return True

    def inline_crew(self, document: dict[str, Any], method: str, at: KeyPath, inputs: dict[str, Any]) -> str:
        """Write the inline crew (or agent) as a crew, validate it like any crew, located in the flow file."""
        package = materialize(self.project, self.package, method, document)
        result = checked(self.project, package)
        self.problems.extend(relocated(result.problems, package, self.doc, at))
        self.inline_dirs[method] = str(package.path)
        if result.outline is not None:
            declared = {i.name: i for i in result.outline.inputs}
            for name in inputs:
                if name not in declared:
                    self.error((*at[:-1], "inputs", name), f"the inline crew has no input '{name}'",
                               did_you_mean(str(name), declared) or f"its inputs: {', '.join(declared) or 'none'}")
        return package.name

    # --- crews ------------------------------------------------------------------------
    def crew(self, ref: str, inputs: dict[str, Any], path: KeyPath) -> str | None:
        package = self.find_crew(ref)
        at = (*path, "from_declaration")
        if package is None:
            hint = did_you_mean(Path(ref).name, self.crews) or f"known crews: {', '.join(self.crews) or 'none'}"
            self.error(at, f"no crew '{ref}' (looked in crews/ and beside the flow)", hint)
            return None
        result = checked(self.project, package)
        self.problems.extend(result.problems)  # the crew's own problems, in its own files
        if result.outline is None:
            self.error(at, f"crew '{package.name}' does not validate (its problems are listed with its files)",
                       f"python main.py validate {package.name}")
            return package.name
        declared = {i.name: i for i in result.outline.inputs}
        for name in inputs:
            if name not in declared:
                self.error((*path, "inputs", name), f"crew '{package.name}' has no input '{name}'",
                           did_you_mean(str(name), declared) or f"its inputs: {', '.join(declared) or 'none'}")
        for name, spec in declared.items():
            if name not in inputs and spec.default is None:
                self.error((*path, "inputs"), f"crew '{package.name}' needs input '{name}'",
                           f"add `{name}: ${{state.{name}}}` under inputs")
        return package.name

    def find_crew(self, ref: str) -> CrewPackage | None:
        if ref in self.crews:
            return self.crews[ref]
        for base in (self.package.folder, self.project.root):
            folder = (base / ref).resolve()
            folder = folder.parent if folder.is_file() else folder
            if is_crew_dir(folder):
                same = [c for c in self.crews.values() if c.path.resolve() == folder]
                return same[0] if same else CrewPackage(folder.name, folder, str(folder))
        return None

    # --- triggers, references, the graph -------------------------------------------------
    def triggers(self, name: str, method: dict[str, Any], methods: dict[str, MethodOutline], labels: set[str]) -> None:
        known = [*methods, *sorted(labels)]
        for key in ("listen", "start"):
            condition = method.get(key)
            if condition is None or isinstance(condition, bool):
                continue
            if not isinstance(condition, (str, dict)):
                self.error(("methods", name, key), f"{key} must be a method name, a router label, or "
                           "{or: [...]} / {and: [...]}")
                continue
            for bad, sub in condition_keys(condition):
                self.error(("methods", name, key, *sub), f"unknown key '{bad}' in a condition",
                           did_you_mean(bad, ("or", "and")) or "use or: or and:")
            for trigger, sub in condition_names(condition):
                if trigger == name and key == "listen":
                    self.error(("methods", name, key, *sub), f"method '{name}' listens to itself: an endless loop",
                               "listen to another method, or to a router label")
                elif trigger not in methods and trigger not in labels:
                    self.error(("methods", name, key, *sub), f"'{trigger}' is neither a method nor a router label",
                               did_you_mean(trigger, known) or f"methods: {', '.join(methods)}")

    def refs(self, name: str, method: dict[str, Any], methods: dict[str, MethodOutline],
             state: dict[str, dict[str, Any]]) -> None:
        do = method.get("do")
        if not isinstance(do, dict):
            return
        for root, field, member, sub in self._action_refs(do):
            where = ("methods", name, "do", *sub)
            if root == "state" and "*" not in state and field not in state and field != "id":
                self.error(where, f"state has no field '{field}'",
                           did_you_mean(field, state) or "declare it in state.default or state.json_schema")
            elif root == "outputs" and field not in methods:
                self.error(where, f"outputs.{field}: no method '{field}'",
                           did_you_mean(field, methods) or f"methods: {', '.join(methods)}")
            elif root == "outputs" and member is not None:
                self.output_field(where, methods[field], member)

    def output_field(self, where: KeyPath, method: MethodOutline, member: str) -> None:
        """``outputs.m.<member>``: a crew step has StepOutput's fields; after a gate, crewai's feedback result's."""
        known = FEEDBACK_FIELDS if method.feedback is not None else CREW_STEP_FIELDS if method.crew else None
        if known is None or member in known:
            return
        hint = did_you_mean(member, known) or f"it has {', '.join(known)}"
        if method.feedback is not None and member in CREW_STEP_FIELDS:
            hint = f"'{method.name}' has an approval gate: its crew's output is outputs.{method.name}.output.{member}"
        self.error(where, f"outputs.{method.name}.{member}: no field '{member}'", hint)

    def _action_refs(self, do: dict[str, Any]) -> Iterable[Reference]:
        for key in ("expr", "in"):  # CEL
            if isinstance(do.get(key), str):
                yield from ((r, f, m, (key,)) for r, f, m, _ in references(do[key], cel=True))
        for key in ("inputs", "with"):  # templates
            if key in do:
                value = do[key].get("inputs") if key == "with" and do.get("call") == "crew" and \
                    isinstance(do[key], dict) else do[key]
                yield from ((r, f, m, (key, *p)) for r, f, m, p in references(value))
        if do.get("call") == "each" and isinstance(do.get("do"), list):
            for index, step in enumerate(do["do"]):
                if isinstance(step, dict) and isinstance(step.get("action"), dict):
                    names = {s.get("name") for s in do["do"] if isinstance(s, dict)}
                    for r, f, m, p in self._action_refs(step["action"]):
                        if not (r == "outputs" and f in names):  # a step's own earlier steps
                            yield r, f, m, ("do", index, "action", *p)

    def graph(self, methods: dict[str, MethodOutline], labels: set[str]) -> None:
        if methods and not any(m.start for m in methods.values()):
            self.error(("methods",), "no method has `start: true`, so nothing would run")
            return
        outline = FlowOutline("", "", self.package.file, "", {}, methods)
        reachable = outline.reachable()
        for name in methods:
            if name not in reachable:
                self.error(("methods", name), f"method '{name}' is never reached from a start method",
                           "check its listen: condition")
        heard = {n for m in methods.values() for n in m.waits_on}
        for method in methods.values():
            for label in method.labels if method.router else []:
                if label not in heard:
                    self.warn(("methods", method.name, "emit"), f"nobody listens to label '{label}' of router "
                              f"'{method.name}': the flow ends there", f"add a method with `listen: {label}`")


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"
