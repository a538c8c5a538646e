"""``crews/<name>/evals.yaml``: a crew's eval cases, read and checked against the crew before any run.

    description: What these cases show        # optional
    judge: openai                              # optional: the profile that judges rubrics
    cases:
      billing_refund:
        inputs: {message: I was charged twice}  # the crew's declared inputs only
        script: {...}                           # optional: what the scripted model replays
        checks:
          - contains: refund                    # the final output, or `task: <key>`'s output
          - tool: billing_policy
          - rubric: The reply apologises.

Every problem is located (file, line, key path) with a did-you-mean, the same way
``validate`` reports crew.yaml; nothing here imports crewai.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, StrictFloat, StrictInt, StrictStr

from .definition import CrewDefinition
from .errors import ConfigError
from .inputs import bind
from .load import KeyPath, YamlDoc, kind_of, load_yaml, parse_lenient, parse_model
from .problem import Problem, did_you_mean, only_errors
from .spec import InlineSchema, Strict

FILE_NAME = "evals.yaml"


# --- the file's shape -------------------------------------------------------------

class CaseSpec(Strict):
    description: StrictStr | None = None
    inputs: dict[StrictStr, Any] = Field(default_factory=dict, description="Values for the crew's declared inputs.")
    script: dict[StrictStr, Any] | None = Field(
        None, description="Replies the scripted model replays for this case (see rolecall.llm.scripted); "
                          "other models ignore it. A `judge:` list scripts the scripted judge's verdicts.")
    checks: list[dict[StrictStr, Any]] = Field(description="What must hold after the run.")


class EvalFileSpec(Strict):
    description: StrictStr | None = None
    judge: StrictStr | None = Field(None, description="Profile that judges rubric checks (default: the run's).")
    cases: dict[StrictStr, CaseSpec]


# --- check kinds: one model each, told apart by their one kind key --------------------

class CheckBase(Strict):
    kind: ClassVar[str] = ""  # the key that names the check kind in YAML
    task: StrictStr | None = Field(None, description="The task whose output (or calls) is checked.")

    def label(self) -> str:
        """How the check reads in the table: ``contains 'refund' @handle_message``."""
        return f"{self.kind} {self.shown()}" + (f" @{self.task}" if self.task else "")

    def shown(self) -> str:
        return str(getattr(self, self.kind))


class Contains(CheckBase):
    kind: ClassVar[str] = "contains"
    contains: StrictStr = Field(min_length=1)

    def shown(self) -> str:
        return repr(self.contains)


class Matches(CheckBase):
    kind: ClassVar[str] = "matches"
    matches: StrictStr = Field(min_length=1)

    def shown(self) -> str:
        return f"/{self.matches}/"


class SchemaFields(CheckBase):
    kind: ClassVar[str] = "schema"
    # field -> expected value; a dotted path reaches inside (partners.0.name); {} only parses
    fields: dict[StrictStr, Any] = Field(alias="schema")

    def shown(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.fields.items()) or "parses"


class ToolCalled(CheckBase):
    kind: ClassVar[str] = "tool"
    tool: StrictStr


class DelegatedTo(CheckBase):
    kind: ClassVar[str] = "delegated_to"
    delegated_to: StrictStr


class DoneBy(CheckBase):
    kind: ClassVar[str] = "done_by"
    done_by: StrictStr


class MaxTokens(CheckBase):
    kind: ClassVar[str] = "max_tokens"
    max_tokens: StrictInt = Field(ge=1)


class MaxCost(CheckBase):
    kind: ClassVar[str] = "max_cost"
    max_cost: StrictFloat | StrictInt = Field(ge=0)


class Rubric(CheckBase):
    kind: ClassVar[str] = "rubric"
    rubric: StrictStr = Field(min_length=1)
    judge: StrictStr | None = Field(None, description="Profile that judges this rubric.")

    def shown(self) -> str:
        words = self.rubric.split()
        return repr(" ".join(words[:6]) + (" ..." if len(words) > 6 else ""))


Check = Contains | Matches | SchemaFields | ToolCalled | DelegatedTo | DoneBy | MaxTokens | MaxCost | Rubric

# the one key that says which kind a check is -> its model
KINDS: dict[str, type[CheckBase]] = {model.kind: model for model in (
    Contains, Matches, SchemaFields, ToolCalled, DelegatedTo, DoneBy, MaxTokens, MaxCost, Rubric)}
EXTRA_KEYS: dict[str, tuple[str, ...]] = {"rubric": ("task", "judge")}  # keys a kind takes besides its own


def allowed_keys(kind: str) -> tuple[str, ...]:
    return (kind, *EXTRA_KEYS.get(kind, ("task",)))


# --- what validation makes of the file ---------------------------------------------------

@dataclass(frozen=True)
class EvalCase:
    name: str
    description: str | None
    inputs: dict[str, Any]  # as written; ``api.run`` coerces them
    script: dict[str, Any] | None
    checks: list[Any]  # Check instances, in file order


@dataclass(frozen=True)
class EvalSuite:
    crew: str
    file: Path
    description: str | None
    judge: str | None
    cases: list[EvalCase] = field(default_factory=list)

    def case(self, name: str) -> EvalCase:
        return next(c for c in self.cases if c.name == name)

    def only(self, names: list[str]) -> EvalSuite:
        """The suite cut to the cases named (``--case``); an unknown name is bad input."""
        known = [c.name for c in self.cases]
        wrong = [Problem(f"no case '{n}' in {self.file.name}", self.file,
                         hint=did_you_mean(n, known) or f"cases: {', '.join(known)}") for n in names if n not in known]
        if wrong:
            raise ConfigError(wrong)
        return replace(self, cases=[c for c in self.cases if c.name in names])


def evals_file(crew: CrewDefinition) -> Path:
    return crew.package.path / FILE_NAME


def load_suite(crew: CrewDefinition, profiles: set[str], file: Path | None = None) -> EvalSuite:
    """The crew's eval cases, checked against the crew; ``ConfigError`` lists every problem, located."""
    problems: list[Problem] = []
    file = file or evals_file(crew)
    if not file.is_file():
        raise ConfigError(Problem(f"crew '{crew.name}' has no {FILE_NAME}", file,
                                  hint="write one: see 'Evaluate a crew' in README.md"))
    doc = load_yaml(file, problems)
    if doc is not None and not isinstance(doc.data, dict):
        problems.append(doc.problem((), f"the top level of {FILE_NAME} must be a mapping, not {kind_of(doc.data)}"))
        doc = None
    spec = parse_lenient(doc, (), EvalFileSpec, problems) if doc is not None else None
    if doc is None or spec is None:
        raise ConfigError(problems)
    suite = _Checker(crew, doc, profiles, problems).suite(spec)
    if only_errors(problems):
        raise ConfigError(problems)
    return suite


class _Checker:
    """Checks every case against the crew: inputs, tasks, tools, agents, schemas, judges."""

    def __init__(self, crew: CrewDefinition, doc: YamlDoc, profiles: set[str], problems: list[Problem]):
        self.crew, self.doc, self.profiles, self.problems = crew, doc, profiles, problems
        self.final_task = list(crew.tasks)[-1]

    def add(self, path: KeyPath, message: str, hint: str = "") -> None:
        self.problems.append(self.doc.problem(path, message, hint))

    def suite(self, spec: EvalFileSpec) -> EvalSuite:
        if spec.judge is not None:
            self.check_profile(("judge",), spec.judge)
        if not spec.cases:
            self.add(("cases",), "no cases", "add one: cases: {NAME: {inputs: {...}, checks: [...]}}")
        cases = [self.case(name, case) for name, case in spec.cases.items()]
        return EvalSuite(self.crew.name, self.doc.file, spec.description, spec.judge, cases)

    def case(self, name: str, spec: CaseSpec) -> EvalCase:
        at: KeyPath = ("cases", name)
        self.check_inputs((*at, "inputs"), spec.inputs)
        if not spec.checks:
            self.add((*at, "checks"), "a case needs at least one check", _kinds_hint())
        checks = [self.check((*at, "checks", i), raw) for i, raw in enumerate(spec.checks)]
        return EvalCase(name, spec.description, dict(spec.inputs), spec.script,
                        [c for c in checks if c is not None])

    def check_inputs(self, at: KeyPath, given: dict[str, Any]) -> None:
        _, problems = bind(self.crew.inputs, given)
        for problem in problems:  # bind's problems name no place: put them at the input they are about
            named = re.search(r"input '([^']+)'", problem.message)
            path = (*at, named.group(1)) if named and named.group(1) in given else at
            self.add(path, problem.message, problem.hint if not problem.hint.startswith("pass --input") else
                     f"add it under inputs: ({problem.hint.removeprefix('pass --input ')})")

    def check(self, at: KeyPath, raw: dict[str, Any]) -> Any:
        kinds = [key for key in raw if key in KINDS]
        if len(kinds) != 1:
            unknown = [key for key in raw if key not in {*KINDS, "task", "judge"}]
            for key in unknown:
                self.add((*at, key), f"unknown key '{key}'", did_you_mean(key, KINDS) or _kinds_hint())
            if not unknown:
                what = f"{' and '.join(kinds)} are separate checks" if kinds else "no check kind"
                self.add(at, f"{what}: a check has exactly one kind key", _kinds_hint())
            return None
        kind = kinds[0]
        extra = [key for key in raw if key not in allowed_keys(kind)]
        for key in extra:
            self.add((*at, key), f"unknown key '{key}' for a {kind} check",
                     did_you_mean(key, allowed_keys(kind)) or f"allowed keys: {', '.join(allowed_keys(kind))}")
        parsed = None if extra else parse_model(self.doc, at, KINDS[kind], self.problems)
        if parsed is not None:
            self.check_targets(at, parsed)
        return parsed

    def check_targets(self, at: KeyPath, check: Any) -> None:
        if check.task is not None and check.task not in self.crew.tasks:
            self.add((*at, "task"), f"no task '{check.task}' in crew '{self.crew.name}'",
                     did_you_mean(check.task, self.crew.tasks) or f"tasks: {', '.join(self.crew.tasks)}")
            return
        target = getattr(self, f"target_{check.kind}", None)
        if target is not None:
            target(at, check)

    def target_matches(self, at: KeyPath, check: Matches) -> None:
        try:
            re.compile(check.matches)
        except re.error as exc:
            self.add((*at, "matches"), f"not a regular expression: {exc}", "Python `re` syntax")

    def target_tool(self, at: KeyPath, check: ToolCalled) -> None:
        names = tool_names(self.crew)
        if check.tool not in names:
            self.add((*at, "tool"), f"no agent or task of crew '{self.crew.name}' has a tool '{check.tool}'",
                     did_you_mean(check.tool, names) or f"tools: {', '.join(sorted(names)) or 'none'}")

    def target_delegated_to(self, at: KeyPath, check: DelegatedTo) -> None:
        self.check_agent((*at, "delegated_to"), check.delegated_to)

    def target_done_by(self, at: KeyPath, check: DoneBy) -> None:
        self.check_agent((*at, "done_by"), check.done_by)

    def target_schema(self, at: KeyPath, check: SchemaFields) -> None:
        key = check.task or self.final_task
        schema = self.crew.tasks[key].output_schema
        if schema is None:
            with_schema = [k for k, t in self.crew.tasks.items() if t.output_schema is not None]
            which = f"task '{key}'" if check.task else f"the final task '{key}'"
            self.add((*at, "schema"), f"{which} has no output schema (output_pydantic, output_json or "
                                      f"output_schema)", f"name a task that has one: {', '.join(with_schema)}"
                     if with_schema else "no task of this crew has one")
        elif isinstance(schema, InlineSchema):  # a schemas.py class is read only when the run imports it
            for name in (path.split(".")[0] for path in check.fields):
                if name not in schema.fields:
                    self.add((*at, "schema", name), f"schema '{schema.name}' has no field '{name}'",
                             did_you_mean(name, schema.fields) or f"fields: {', '.join(schema.fields)}")

    def target_rubric(self, at: KeyPath, check: Rubric) -> None:
        if check.judge is not None:
            self.check_profile((*at, "judge"), check.judge)

    def check_agent(self, at: KeyPath, agent: str) -> None:
        if agent not in self.crew.agents:
            self.add(at, f"no agent '{agent}' in crew '{self.crew.name}'",
                     did_you_mean(agent, self.crew.agents) or f"agents: {', '.join(self.crew.agents)}")

    def check_profile(self, at: KeyPath, name: str) -> None:
        if name not in self.profiles:
            self.add(at, f"no model profile '{name}'",
                     did_you_mean(name, self.profiles) or f"profiles: {', '.join(sorted(self.profiles))}")


def tool_names(crew: CrewDefinition) -> set[str]:
    """Names a ``tool:`` check may use: each binding's registry name (KnowledgeSearchTool), and the name
    the model calls it by: the binding's ``name:``, else the tool's own (search_knowledge)."""
    names: set[str] = set()
    for use in [u for a in crew.agents.values() for u in a.tools] + [u for t in crew.tasks.values() for u in t.tools]:
        info = crew.toolbox.get(use.name)
        called = use.kwargs.get("name") or (info.tool_name if info else None)
        names |= {use.name, str(called)} if called else {use.name}
    return names


def _kinds_hint() -> str:
    return f"check kinds: {', '.join(KINDS)}"
