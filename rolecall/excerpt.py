"""Copy chosen definitions out of a project's Python files into one new module, with what they need.

``import`` moves a CrewAI project's own tools into the crew's ``tools.py`` and its output
models into ``schemas.py``. Each wanted class or function is copied as written, after the
top-level definitions it uses (from the same file, or followed through the project's own
imports), and the imports it uses are written once at the top. Three things change, each
reported as a note: imports crewai moved (``from crewai_tools import BaseTool``, LangChain's
``tool``) point at today's crewai; an import of a package that is not installed is
guarded, so the crew still loads and only that tool fails when called; and a ``@tool``
method of a helper class (``SearchTools.search_internet``) becomes a top-level function.
"""
from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from . import packages
from .crewpy import Imported, Module, parse_module
from .errors import ConfigError
from .problem import Problem

# (module, name) -> where crewai has it now; the old homes fail to import on crewai 1.x
MOVED = {
    ("crewai_tools", "BaseTool"): "crewai.tools", ("crewai_tools", "tool"): "crewai.tools",
    ("crewai_tools", "Tool"): "crewai.tools",
    ("langchain.tools", "tool"): "crewai.tools", ("langchain_core.tools", "tool"): "crewai.tools",
    ("langchain.agents", "tool"): "crewai.tools", ("langchain.tools", "BaseTool"): "crewai.tools",
    ("langchain_core.tools", "BaseTool"): "crewai.tools",
}

# whole modules crewai 1.x no longer takes: its tools' args_schema must be a pydantic v2 model
MOVED_MODULES = {"pydantic.v1": "pydantic", "langchain_core.pydantic_v1": "pydantic",
                 "langchain.pydantic_v1": "pydantic"}


@dataclass(frozen=True)
class Wanted:
    """A definition to copy: a top-level name of ``file``, or a ``@tool`` method of class ``owner`` there."""

    name: str
    file: Path
    owner: str | None = None


@dataclass
class Excerpt:
    """A new module being assembled from pieces of the project's files."""

    roots: list[Path]  # where the project's absolute imports are looked up, first match wins
    project: Path  # files outside it are never copied
    notes: list[Problem] = field(default_factory=list)
    _imports: dict[str, list[str]] = field(default_factory=dict)  # module -> "name [as alias]"
    _plain: list[str] = field(default_factory=list)  # `import x` lines
    # imports of packages that are not installed: module -> (name [as alias], local name)
    _guarded: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    _missing: set[str] = field(default_factory=set)  # packages already noted
    # local names that are None when the module loads here: guarded imports and what is computed from them
    _absent: dict[str, str] = field(default_factory=dict)  # local name -> the missing package
    _blocks: list[str] = field(default_factory=list)
    _done: set[tuple[Path, str]] = field(default_factory=set)
    _names: dict[str, Path] = field(default_factory=dict)  # top-level name in the new module -> its source
    _parsed: dict[Path, Module] = field(default_factory=dict)
    _future: bool = False  # a copied file has `from __future__ import annotations`: so must the new module

    def add(self, wanted: Wanted) -> bool:
        """Copy ``wanted`` and what it needs; False (with a note) when it cannot be found."""
        module = self._module(wanted.file)
        if module is None:
            return False
        if wanted.owner is not None:
            return self._method(module, wanted)
        if wanted.name not in module.defs and wanted.name not in module.assigns and wanted.name not in module.imports:
            self.notes.append(Problem(f"'{wanted.name}' is not defined in {wanted.file.name}", wanted.file, 1,
                                      severity="warning"))
            return False
        self._visit(module, wanted.name)
        return True

    def empty(self) -> bool:
        return not self._blocks

    def text(self, docstring: str) -> str:
        lines = [f'"""{docstring}"""', *(["from __future__ import annotations"] if self._future else []), ""]
        lines += self._plain
        lines += [f"from {m} import {', '.join(names)}" for m, names in self._imports.items()]
        for target, names in self._guarded.items():
            plain = target.startswith("import ")
            line = target if plain else f"from {target} import {', '.join(n for n, _ in names)}"
            fallback = " = ".join(local for _, local in names)
            top = target.removeprefix("import ").split(".")[0]
            lines += ["", f"try:  # {top} is not installed here: what uses it fails when called",
                      f"    {line}", "except ImportError:", f"    {fallback} = None"]
        body = "\n\n\n".join(self._blocks)
        return "\n".join(lines).rstrip() + "\n\n\n" + body.rstrip() + "\n"

    # --- following names ----------------------------------------------------------

    def _module(self, file: Path) -> Module | None:
        if file not in self._parsed:
            try:
                self._parsed[file] = parse_module(file)
            except ConfigError as exc:
                self.notes += [Problem(p.message, p.file, p.line, hint=p.hint, severity="warning")
                               for p in exc.problems]
                return None
        return self._parsed[file]

    def _visit(self, module: Module, name: str) -> None:
        key = (module.file, name)
        if key in self._done:
            return
        self._done.add(key)
        stmt = _statement(module, name)
        if stmt is None:
            if name in module.imports:  # a package's __init__.py re-exporting it: follow the import
                self._import(module, name, module.imports[name])
            return
        self._needs(module, stmt, name)
        self._emit(name, module.file, self._guarded_assignment(stmt, _source(module.file, stmt)))
        self._future |= _has_future_annotations(module)

    def _guarded_assignment(self, stmt: ast.stmt, source: str) -> str:
        """A module-level value computed from a package that is not installed (``client = Client(...)``)
        would stop the whole module loading; guarded, only what uses it fails, when called."""
        if not isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            return source
        absent = sorted(_names_used(stmt.value) & self._absent.keys()) if stmt.value is not None else []
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        if not absent or len(names) != len(targets):
            return source
        top = self._absent[absent[0]]
        for target in names:
            self._absent[target] = top
        return "\n".join([f"try:  # {top} is not installed here: what uses this fails when called",
                          textwrap.indent(source, "    "), "except Exception:",
                          f"    {' = '.join(names)} = None"])

    def _needs(self, module: Module, node: ast.AST, own: str) -> None:
        """Copy or import every module-level name ``node`` uses, before it."""
        for used in sorted(_names_used(node)):
            if used == own:
                continue
            if used in module.defs or used in module.assigns:
                self._visit(module, used)
            elif used in module.imports:
                self._import(module, used, module.imports[used])

    def _import(self, module: Module, local: str, imported: Imported) -> None:
        source = project_file(module.file, imported, self.roots, self.project)
        if source is not None and imported.name is not None:
            target = self._module(source)
            if target is not None:
                self._visit(target, imported.name)
                if local != imported.name:
                    self._emit(local, module.file, f"{local} = {imported.name}")
                return
        if imported.level or source is not None:
            self.notes.append(Problem(f"cannot copy '{local}': its import could not be followed", module.file,
                                      imported.line, hint="copy it into the crew's tools.py by hand",
                                      severity="warning"))
            return
        self._external(module, local, imported)

    def _external(self, module: Module, local: str, imported: Imported) -> None:
        name = imported.name
        target = MOVED.get((imported.module, name or ""), MOVED_MODULES.get(imported.module, imported.module))
        if target != imported.module:
            moved = f"'from {imported.module} import {name}'" if name and target == MOVED.get((imported.module, name)) \
                else f"'{imported.module}'"
            shown = f"'from {target} import {name}'" if moved.startswith("'from") else f"'{target}'"
            self.notes.append(Problem(f"{moved} became {shown} (crewai 1.x takes it from there)", module.file,
                                      imported.line, severity="warning"))
        alias = "" if local == (name or target) else f" as {local}"
        line = f"from {target} import {name}{alias}" if name else f"import {target}{alias}"
        top = target.split(".")[0]
        if not installed(top):
            self._guard(top, target, name, alias, local, module, imported)
        elif name is None:
            if line not in self._plain:
                self._plain.append(line)
        else:
            entry = f"{name}{alias}"
            names = self._imports.setdefault(target, [])
            if entry not in names:
                names.append(entry)

    def _guard(self, top: str, target: str, name: str | None, alias: str, local: str, module: Module,
               imported: Imported) -> None:
        """An import of a package that is not installed, kept but guarded so the crew still loads."""
        key = target if name else f"import {target}{alias}"
        entries = self._guarded.setdefault(key, [])
        entry = (f"{name}{alias}" if name else "", local)
        if entry not in entries:
            entries.append(entry)
        self._absent[local] = top
        if top not in self._missing:
            self._missing.add(top)
            self.notes.append(Problem(f"package '{top}' is not installed here; the copied code that uses it fails "
                                      f"when it is called", module.file, imported.line,
                                      hint=f"install the package that provides '{top}'",
                                      severity="warning"))

    def _method(self, module: Module, wanted: Wanted) -> bool:
        owner = module.defs.get(wanted.owner or "")
        method = next((s for s in owner.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                       and s.name == wanted.name), None) if isinstance(owner, ast.ClassDef) else None
        if method is None:
            self.notes.append(Problem(f"no method '{wanted.name}' in class '{wanted.owner}'", wanted.file, 1,
                                      severity="warning"))
            return False
        key = (module.file, f"{wanted.owner}.{wanted.name}")
        if key not in self._done:
            self._done.add(key)
            self._needs(module, method, wanted.name)
            self._emit(wanted.name, module.file, textwrap.dedent(_source(module.file, method)))
            self._future |= _has_future_annotations(module)
            self.notes.append(Problem(f"tool '{wanted.owner}.{wanted.name}' was copied as the function "
                                      f"'{wanted.name}'", wanted.file, method.lineno, severity="warning"))
        return True

    def _emit(self, name: str, file: Path, source: str) -> None:
        earlier = self._names.get(name)
        if earlier is not None and earlier != file:
            self.notes.append(Problem(f"'{name}' is defined in both {earlier.name} and {file.name}; the copy from "
                                      f"{earlier.name} is kept", file, severity="warning"))
            return
        self._names[name] = file
        self._blocks.append(source)


def project_file(importer: Path, imported: Imported, roots: list[Path], project: Path) -> Path | None:
    """The project file an import names (a module or a package's ``__init__.py``), or None."""
    parts = [p for p in imported.module.split(".") if p]
    if imported.level:
        base = importer.parent
        for _ in range(imported.level - 1):
            base = base.parent
        bases = [base]
    else:
        bases = roots
    for base in bases:
        target = base.joinpath(*parts)
        for file in ((target.with_suffix(".py"),) if parts else ()) + (target / "__init__.py",):
            if file.is_file() and file.resolve().is_relative_to(project.resolve()):
                # `from pkg.tools import linkedin` names a submodule, not a definition
                if imported.name and (target / f"{imported.name}.py").is_file() and file.name == "__init__.py":
                    return None
                return file
    return None


# looked up once per import run: a project's files ask about the same few packages again and again
installed = cache(packages.installed)


def _has_future_annotations(module: Module) -> bool:
    return any(isinstance(s, ast.ImportFrom) and s.module == "__future__" and
               any(a.name == "annotations" for a in s.names) for s in module.tree.body)


def _statement(module: Module, name: str) -> ast.stmt | None:
    found: ast.stmt | None = None
    for stmt in module.tree.body:  # the last binding wins, as when Python runs the file
        if isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == name:
            found = stmt
        elif isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
            found = stmt
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name:
            found = stmt
    return found


def _source(file: Path, node: ast.stmt) -> str:
    lines = file.read_text(encoding="utf-8").splitlines()
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno, *(d.lineno for d in decorators)])
    return "\n".join(lines[start - 1:node.end_lineno])


def _names_used(node: ast.AST) -> set[str]:
    used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    # a string annotation ("Optional[Foo]") names things too
    for annotation in _annotations(node):
        for const in ast.walk(annotation):
            if isinstance(const, ast.Constant) and isinstance(const.value, str):
                try:
                    used |= {n.id for n in ast.walk(ast.parse(const.value, mode="eval")) if isinstance(n, ast.Name)}
                except SyntaxError:
                    continue
    return used


def _annotations(node: ast.AST) -> list[ast.expr]:
    out: list[ast.expr] = []
    for child in ast.walk(node):
        if isinstance(child, ast.AnnAssign):
            out.append(child.annotation)
        elif isinstance(child, ast.arg) and child.annotation is not None:
            out.append(child.annotation)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and child.returns is not None:
            out.append(child.returns)
    return out
