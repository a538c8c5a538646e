"""The inputs a CrewAI project passes to ``kickoff``, read from its ``main.py`` with ``ast``.

CrewAI projects keep their sample inputs in ``main.py``'s ``run()``: ``inputs = {...}`` then
``Crew().crew().kickoff(inputs=inputs)``. Each becomes an input's default in crew.yaml.
Every placeholder the YAML uses is declared, with a default only when main.py gives a
literal one; what main.py computes when it runs (``sys.argv[1]``, a file read) is a note.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from .crewpy import Expr, parse_module
from .errors import ConfigError
from .problem import Problem
from .template import placeholders

_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}
TEMPLATED = {"agents": ("role", "goal", "backstory"), "tasks": ("description", "expected_output", "output_file")}


def kickoff_inputs(files: list[Path]) -> tuple[dict[str, Expr], list[Problem]]:
    """The keys and values of the first kickoff's ``inputs`` dict found in ``files`` (run() first)."""
    notes: list[Problem] = []
    for file in files:
        if not file.is_file():
            continue
        try:
            tree = parse_module(file).tree
        except ConfigError as exc:
            notes += [Problem(p.message, p.file, p.line, hint="inputs were not read from it", severity="warning")
                      for p in exc.problems]
            continue
        found = _from_tree(tree, file)
        if found is not None:
            return found, notes
    return {}, notes


def declared_inputs(yaml_data: dict[str, dict[str, Any]], output_files: list[str], given: dict[str, Expr],
                    source: Path | None) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    """crew.yaml's ``inputs``: every placeholder used, with main.py's literal value as its default."""
    used = _used_placeholders(yaml_data, output_files)
    inputs: dict[str, dict[str, Any]] = {}
    notes: list[Problem] = []
    for name in used:
        expr = given.get(name)
        if expr is None:
            notes.append(Problem(f"input '{name}' has no value in main.py's kickoff; it has no default, so every "
                                 f"run must give it", source, None, hint=f"--input {name}=...", severity="warning"))
            inputs[name] = {}
            continue
        ok, value = expr.literal()
        kind = _TYPES.get(type(value)) if ok else None
        if kind is None:
            notes.append(Problem(f"input '{name}' is {expr.text} in {expr.file.name}, computed when it runs; "
                                 f"no default recovered", expr.file, expr.line,
                                 hint=f"set inputs.{name}.default in crew.yaml", severity="warning"))
            inputs[name] = {}
            continue
        inputs[name] = {"default": value} if kind == "string" else {"type": kind, "default": value}
    for name, expr in given.items():
        if name not in used:
            notes.append(Problem(f"{expr.file.name} passes '{name}', which no agent or task uses; left out", expr.file,
                                 expr.line, severity="warning"))
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
    for scope in [*scopes, tree]:
        for call in (n for n in ast.walk(scope) if isinstance(n, ast.Call)):
            if isinstance(call.func, ast.Attribute) and call.func.attr in ("kickoff", "kickoff_async"):
                found = _dict_of(_inputs_arg(call), scope, call.lineno, file)
                if found is not None:
                    return found
    return None


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
