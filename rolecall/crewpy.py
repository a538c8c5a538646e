"""Read a CrewAI project's ``crew.py`` with ``ast``: never imported, never run.

What ``@CrewBase`` wires up in Python is read as written: each ``@agent`` method's
``Agent(...)`` keywords, each ``@task`` method's ``Task(...)`` keywords, the ``@crew``
method's ``Crew(...)`` keywords, and the module's imports and top-level names (so the
importer can tell crewai_tools classes from the project's own tools and models). Values are
kept as ``Expr`` nodes with their line: deciding what they mean, and saying what could
not be recovered, is ``rolecall.recover``'s job.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .load import read_text
from .problem import Problem

# the decorators crewai.project gives a crew class's methods
MEMBER_KINDS = ("agent", "task", "crew", "llm", "tool", "before_kickoff", "after_kickoff", "callback",
                "output_json", "output_pydantic", "cache_handler")
_BUILDERS = {"agent": "Agent", "task": "Task", "crew": "Crew"}


@dataclass(frozen=True)
class Expr:
    """A value as written in crew.py, with its line."""

    node: ast.expr
    file: Path

    @property
    def line(self) -> int:
        return self.node.lineno

    @property
    def text(self) -> str:
        shown = ast.unparse(self.node)
        return shown if len(shown) <= 80 else shown[:77] + "..."

    def literal(self) -> tuple[bool, Any]:
        """(True, value) when the value is a plain Python literal, else (False, None)."""
        try:
            return True, ast.literal_eval(self.node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False, None


@dataclass
class Call:
    """``Agent(...)``, ``Task(...)`` or ``Crew(...)`` as written: its keywords and anything else passed."""

    kwargs: dict[str, Expr]
    line: int
    others: list[Expr] = field(default_factory=list)  # positional arguments and **spreads


@dataclass
class Member:
    """One decorated method of the crew class."""

    name: str
    kind: str  # one of MEMBER_KINDS, or "method" for an undecorated one
    node: ast.FunctionDef | ast.AsyncFunctionDef
    returned: Expr | None  # what the method returns (the last top-level return)
    local: dict[str, Expr] = field(default_factory=dict)  # simple `name = value` lines in its body
    branches: bool = False  # its body has if/for/with/try: only the final return is read

    @property
    def line(self) -> int:
        return self.node.lineno

    def call(self) -> Call | None:
        """The ``Agent``/``Task``/``Crew`` call the method returns, when it returns one directly."""
        node = self.returned.node if self.returned else None
        if isinstance(node, ast.Name) and node.id in self.local:
            node = self.local[node.id].node
        if not isinstance(node, ast.Call) or self.returned is None:
            return None
        file = self.returned.file
        kwargs = {k.arg: Expr(k.value, file) for k in node.keywords if k.arg}
        others = [Expr(a, file) for a in node.args]
        for spread in (k.value for k in node.keywords if not k.arg):
            config = self._config_entry(spread)
            if config is not None and "config" not in kwargs:  # Agent(**self.agents_config['x']) is config=
                kwargs["config"] = Expr(config, file)
            else:
                others.append(Expr(spread, file))
        return Call(kwargs, node.lineno, others)

    def _config_entry(self, node: ast.expr) -> ast.Subscript | None:
        """``self.agents_config['x']`` behind a ``**`` spread: written there, or through a local copy
        (``config = self.tasks_config['x'].copy()``), as CrewAI projects do to pop a key first."""
        if isinstance(node, ast.Name) and node.id in self.local:
            node = self.local[node.id].node
        if isinstance(node, ast.Call) and not node.args and not node.keywords:
            func = node.func  # ....copy() or dict(...)
            if isinstance(func, ast.Attribute) and func.attr == "copy":
                node = func.value
        elif isinstance(node, ast.Call) and dotted_name(node.func) == "dict" and len(node.args) == 1:
            node = node.args[0]
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and \
                node.value.attr in ("agents_config", "tasks_config"):
            return node
        return None

    def builds(self, kind: str) -> bool:
        """Whether it returns what a ``kind`` method builds (``agent`` -> ``Agent(...)``)."""
        call_node = self.returned.node if self.returned else None
        if isinstance(call_node, ast.Name) and call_node.id in self.local:
            call_node = self.local[call_node.id].node
        return isinstance(call_node, ast.Call) and dotted_name(call_node.func).split(".")[-1] == \
            _BUILDERS.get(kind, "")

    def config_key(self) -> str | None:
        """The YAML key in ``config=self.agents_config['x']``: the truth, whatever the method is called."""
        call = self.call()
        config = call.kwargs.get("config") if call else None
        node = config.node if config else None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and \
                isinstance(node.slice.value, str):
            return node.slice.value
        return None


@dataclass
class CrewClass:
    """A ``@CrewBase`` class: its decorated methods in definition order and its class attributes."""

    name: str
    line: int
    members: dict[str, Member]
    attributes: dict[str, Expr]
    replaced: list[Member] = field(default_factory=list)  # a method defined again later in the class

    def of_kind(self, kind: str) -> list[Member]:
        return [m for m in self.members.values() if m.kind == kind]

    def config_path(self, which: str) -> str:
        """``agents_config = 'config/agents.yaml'`` as written (CrewAI's default when it is not)."""
        ok, value = self.attributes[which].literal() if which in self.attributes else (False, None)
        return value if ok and isinstance(value, str) else f"config/{which.removesuffix('_config')}.yaml"


@dataclass(frozen=True)
class Imported:
    """Where a name in a module comes from: ``from <module> import <name>`` or ``import <module>``."""

    module: str
    name: str | None  # None for `import module`
    level: int  # dots of a relative import
    line: int


@dataclass
class Module:
    """A Python file read statically: its imports and top-level definitions."""

    file: Path
    tree: ast.Module
    imports: dict[str, Imported]
    assigns: dict[str, Expr]  # top-level `name = value`
    defs: dict[str, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef]


@dataclass
class CrewModule(Module):
    classes: list[CrewClass] = field(default_factory=list)


def parse_module(file: Path) -> Module:
    """A Python file's imports and top-level names; a file that cannot be parsed is a ConfigError."""
    problems: list[Problem] = []
    text = read_text(file, problems)
    if text is None:
        raise ConfigError(problems)
    try:
        tree = ast.parse(text, filename=str(file))
    except SyntaxError as exc:
        raise ConfigError(Problem(f"cannot read {file.name} statically: Python syntax error: {exc.msg}", file,
                                  exc.lineno, hint="fix the syntax; `python -m py_compile` shows the same error")
                          ) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ConfigError(Problem(f"cannot read {file.name} statically: {exc}", file)) from None
    return Module(file, tree, _imports(tree), _assigns(tree, file), _defs(tree))


def read_crew_py(file: Path) -> CrewModule:
    """The crew classes of a crew.py; a file without one is a ConfigError."""
    module = parse_module(file)
    classes = [_crew_class(node, file) for node in module.tree.body
               if isinstance(node, ast.ClassDef) and _is_crew_class(node)]
    if not classes:
        raise ConfigError(Problem("no @CrewBase class in this file", file, 1,
                                  hint="import reads a @CrewBase class (methods decorated with @agent, @task, "
                                       "@crew) or a crew.jsonc; a crew built in plain Python is not read"))
    return CrewModule(module.file, module.tree, module.imports, module.assigns, module.defs, classes)


def dotted_name(node: ast.expr) -> str:
    """``a.b.c`` for a name or attribute chain, '' for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def self_call(node: ast.expr) -> str | None:
    """``m`` in ``self.m()`` (or ``self.m`` without the call), else None."""
    if isinstance(node, ast.Call) and not node.args and not node.keywords:
        node = node.func
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None


def decorator_names(node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [dotted_name(d.func if isinstance(d, ast.Call) else d).split(".")[-1] for d in node.decorator_list]


# --- reading --------------------------------------------------------------------

def _is_crew_class(node: ast.ClassDef) -> bool:
    if "CrewBase" in decorator_names(node):
        return True
    # a class without the decorator that still has @agent/@task methods is meant as one
    return any(isinstance(s, ast.FunctionDef) and {"agent", "task"} & set(decorator_names(s)) for s in node.body)


def _crew_class(node: ast.ClassDef, file: Path) -> CrewClass:
    members: dict[str, Member] = {}
    attributes: dict[str, Expr] = {}
    replaced: list[Member] = []
    for stmt in node.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            kinds = [d for d in decorator_names(stmt) if d in MEMBER_KINDS]
            if stmt.name in members:
                replaced.append(members[stmt.name])
            # a second method of the same name replaces the first in Python, but keeps its place
            members[stmt.name] = _member(stmt, kinds[0] if kinds else "method", file)
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            attributes[stmt.targets[0].id] = Expr(stmt.value, file)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            attributes[stmt.target.id] = Expr(stmt.value, file)
    init = members.get("__init__")
    if init is not None:  # `self.llm = LLM(...)` in __init__ is what `llm=self.llm` reads when crew.py runs
        attributes.update({k: v for k, v in _self_assignments(init.node, file).items()
                           if k not in ("agents_config", "tasks_config")})  # CrewBase reads those off the class
    return CrewClass(node.name, node.lineno, members, attributes, replaced)


def _self_assignments(node: ast.FunctionDef | ast.AsyncFunctionDef, file: Path) -> dict[str, Expr]:
    found: dict[str, Expr] = {}
    for stmt in node.body:  # top-level lines only: what an if/try sets depends on the run
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, value = stmt.target, stmt.value
        else:
            continue
        name = self_call(target) if isinstance(target, ast.Attribute) else None
        if name is not None:
            found[name] = Expr(value, file)
    return found


def _member(node: ast.FunctionDef | ast.AsyncFunctionDef, kind: str, file: Path) -> Member:
    returned: Expr | None = None
    local: dict[str, Expr] = {}
    branches = False
    for stmt in node.body:
        if isinstance(stmt, ast.Return) and stmt.value is not None:
            returned = Expr(stmt.value, file)
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            local[stmt.targets[0].id] = Expr(stmt.value, file)
        elif isinstance(stmt, (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.Match)):
            branches = True
    return Member(node.name, kind, node, returned, local, branches)


def _imports(tree: ast.Module) -> dict[str, Imported]:
    out: dict[str, Imported] = {}
    for stmt in ast.walk(tree):  # imports inside try/if blocks count too (optional dependencies)
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                local = alias.asname or alias.name.split(".")[0]
                out[local] = Imported(alias.name if alias.asname else local, None, 0, stmt.lineno)
        elif isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                # `from m import *` is kept under "*" (the last one): a name found nowhere else is taken from it
                out[alias.asname or alias.name] = Imported(stmt.module or "", alias.name, stmt.level, stmt.lineno)
    return out


def _assigns(tree: ast.Module, file: Path) -> dict[str, Expr]:
    out: dict[str, Expr] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = Expr(stmt.value, file)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            out[stmt.target.id] = Expr(stmt.value, file)
    return out


def _defs(tree: ast.Module) -> dict[str, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef]:
    return {s.name: s for s in tree.body if isinstance(s, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))}
