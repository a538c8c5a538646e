"""The inputs a CrewAI project passes to ``kickoff``, read from its ``main.py`` with ``ast``.

CrewAI projects keep their sample inputs in ``main.py``'s ``run()``: ``inputs = {...}`` then
``Crew().crew().kickoff(inputs=inputs)``. Each becomes an input's default in crew.yaml.
Every placeholder the YAML uses is declared, with a default only when main.py gives a
literal one; what main.py computes when it runs (``sys.argv[1]``, a file read) is a note.
"""
from __future__ import annotations

import ast
import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .crewpy import Expr, Imported, Module, dotted_name, parse_module
from .errors import ConfigError
from .problem import Problem
from .template import placeholders

_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}
TEMPLATED = {"agents": ("role", "goal", "backstory"), "tasks": ("description", "expected_output", "output_file")}
# what a date read off the clock may be built from: str(datetime.now().year), date.today().isoformat(), ...
_CLOCK_ATTRS = {"now", "today", "utcnow", "year", "month", "day", "strftime", "isoformat", "date", "datetime"}


@dataclass(frozen=True)
class Given:
    """One value main.py passes to kickoff: as written, and its value when import can know it."""

    expr: Expr
    known: bool
    value: Any = None
    clock: bool = False  # read off the clock at import time (the project computes it at each run)
    state: bool = False  # what a flow's code sets self.state.<field> to


def kickoff_inputs(files: list[Path]) -> tuple[dict[str, Given], Path | None, list[Problem]]:
    """The keys and values of the first kickoff's ``inputs`` dict found in ``files`` (run() first),
    and the file they are in."""
    notes: list[Problem] = []
    for file in files:
        if not file.is_file():
            continue
        try:
            module = parse_module(file)
        except ConfigError as exc:
            notes += [Problem(p.message, p.file, p.line, hint="inputs were not read from it", severity="warning")
                      for p in exc.problems]
            continue
        found = _from_tree(module.tree, file)
        if found is not None:
            return {name: _given(expr, module) for name, expr in found.items()}, file, notes
    return {}, None, notes


def declared_inputs(yaml_data: dict[str, dict[str, Any]], output_files: list[str], given: dict[str, Given],
                    source: Path | None, crew_py: Path) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    """crew.yaml's ``inputs``: every placeholder used, with main.py's literal value as its default.
    ``source`` is the file the kickoff inputs came from (None: no kickoff found)."""
    used = _used_placeholders(yaml_data, output_files)
    inputs: dict[str, dict[str, Any]] = {}
    notes: list[Problem] = []
    missing = [name for name in used if name not in given]
    if missing:
        where = f"{source.name}'s kickoff inputs" if source else "any kickoff(inputs=...) call of the project"
        shown = ", ".join(f"'{n}'" for n in missing)
        notes.append(Problem(f"input{'s' if len(missing) > 1 else ''} {shown} {'have' if len(missing) > 1 else 'has'} "
                             f"no value in {where}, so every run must give {'them' if len(missing) > 1 else 'it'}",
                             source or crew_py, None, hint=" ".join(f"--input {n}=..." for n in missing),
                             severity="warning"))
    for name in used:
        found = given.get(name)
        if found is None:
            inputs[name] = {}
            continue
        expr, value = found.expr, found.value
        kind = _TYPES.get(type(value)) if found.known else None
        if kind is None:
            notes.append(Problem(f"input '{name}' is {expr.text} in {expr.file.name}, computed when it runs; "
                                 f"no default recovered", expr.file, expr.line,
                                 hint=f"set inputs.{name}.default in crew.yaml", severity="warning"))
            inputs[name] = {}
            continue
        if found.state:
            notes.append(Problem(f"input '{name}' is {expr.text} in {expr.file.name}; the flow sets it to "
                                 f"{value!r}, which is the default", expr.file, expr.line,
                                 hint="the flow's own steps are not imported, only this crew", severity="warning"))
        if found.clock:
            notes.append(Problem(f"input '{name}' is {expr.text} in {expr.file.name}, read off the clock at each run; "
                                 f"its value today ({value!r}) is the default", expr.file, expr.line,
                                 hint="pass --input to use another", severity="warning"))
        inputs[name] = {"default": value} if kind == "string" else {"type": kind, "default": value}
    for name, unused in given.items():
        if name not in used:
            notes.append(Problem(f"{unused.expr.file.name} passes '{name}', which no agent or task uses; left out",
                                 unused.expr.file, unused.expr.line, severity="warning"))
    return inputs, notes


def _used_placeholders(yaml_data: dict[str, dict[str, Any]], output_files: list[str]) -> list[str]:
    names: list[str] = []
    texts = [entry.get(f) for section, keys in TEMPLATED.items() for entry in yaml_data[section].values()
             if isinstance(entry, dict) for f in keys]
    for text in [*texts, *output_files]:
        if isinstance(text, str):
            names += placeholders(text)[0]
    return list(dict.fromkeys(names))


def _from_tree(tree: ast.Module, file: Path) -> dict[str, Expr] | None:
    scopes: list[ast.AST] = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    scopes.sort(key=lambda n: getattr(n, "name", "") != "run")  # run() is what `crewai run` calls
    # a crew's kickoff (`X().crew().kickoff(...)`) first: a flow's main.py also kicks off the flow
    for crew_only in (True, False):
        for scope in [*scopes, tree]:
            for call in (n for n in ast.walk(scope) if isinstance(n, ast.Call)):
                if _is_kickoff(call, crew_only):
                    found = _dict_of(_inputs_arg(call), scope, call.lineno, file)
                    if found is not None:
                        return found
    return None


def _is_kickoff(call: ast.Call, of_crew: bool) -> bool:
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in ("kickoff", "kickoff_async")):
        return False
    receiver = func.value
    return not of_crew or (isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute)
                           and receiver.func.attr == "crew")


def _inputs_arg(call: ast.Call) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "inputs":
            return keyword.value
    return call.args[0] if call.args else None


def _dict_of(node: ast.expr | None, scope: ast.AST, before: int, file: Path) -> dict[str, Expr] | None:
    if isinstance(node, ast.Name):  # inputs = {...} earlier in the same function
        assigned = [s.value for s in ast.walk(scope) if isinstance(s, ast.Assign) and s.lineno < before
                    and any(isinstance(t, ast.Name) and t.id == node.id for t in s.targets)]
        node = assigned[-1] if assigned else None
    if not isinstance(node, ast.Dict):
        return None
    return {k.value: Expr(v, file) for k, v in zip(node.keys, node.values, strict=True)
            if isinstance(k, ast.Constant) and isinstance(k.value, str)}


def _given(expr: Expr, module: Module) -> Given:
    known, value = expr.literal()
    if known:
        return Given(expr, True, value)
    value = _clock_value(expr.node, module.imports)
    if value is not None:
        return Given(expr, True, value, clock=True)
    known, value = _flow_state(expr.node, module.tree)
    return Given(expr, known, value, state=known)


def _flow_state(node: ast.expr, tree: ast.Module) -> tuple[bool, Any]:
    """What a flow sets ``self.state.<field>`` to (a literal assigned in the file, else the state
    model's default), for ``kickoff(inputs={"topic": self.state.topic})`` in a flow's main.py."""
    if not (isinstance(node, ast.Attribute) and dotted_name(node.value) == "self.state"):
        return False, None
    field = node.attr
    for stmt in ast.walk(tree):
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == field and
                                                dotted_name(t.value) == "self.state" for t in stmt.targets):
            known, value = Expr(stmt.value, Path()).literal()
            if known and value not in ("", None):
                return True, value
    for stmt in ast.walk(tree):
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == field \
                and stmt.value is not None:
            known, value = Expr(stmt.value, Path()).literal()
            if known:
                return True, value
    return False, None


def _clock_value(node: ast.expr, imports: dict[str, Imported]) -> Any:
    """A date or year built from ``datetime`` (``str(datetime.now().year)``), evaluated now; else None.

    Only calls, attributes in _CLOCK_ATTRS, string constants and the names ``str``/``int`` and
    what main.py imports from ``datetime`` are allowed, so nothing else of the project runs."""
    clock = {local: getattr(datetime, i.name) if i.name else datetime for local, i in imports.items()
             if i.module == "datetime" and (i.name is None or i.name in ("datetime", "date"))}
    names = {"str": str, "int": int, **clock}
    for part in ast.walk(node):
        allowed = isinstance(part, (ast.Call, ast.Load)) or \
            (isinstance(part, ast.Attribute) and part.attr in _CLOCK_ATTRS) or \
            (isinstance(part, ast.Name) and part.id in names) or \
            (isinstance(part, ast.Constant) and isinstance(part.value, str))
        if not allowed:
            return None
    if not any(isinstance(p, ast.Name) and p.id in clock for p in ast.walk(node)):
        return None
    try:
        # strftime imports `time` itself, so __import__ is the one builtin left; the expression cannot name it
        scope = {"__builtins__": {"__import__": __import__}}
        value = eval(compile(ast.Expression(node), "<main.py>", "eval"), scope, names)  # noqa: S307
    except Exception:  # noqa: BLE001 - a wrong format string or the like: no default
        return None
    return value if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
