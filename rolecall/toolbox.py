"""The tool registry: tools a crew may bind, found by reading source, never by importing it.

A crew names a tool in one of two ways:

* a registry name, searched in this order: the crew's own ``tools.py``, the project's
  ``tools/`` package, and the classes ``crewai_tools`` exports. A class-based tool is
  named by its class name (as crewai-tools are); a function decorated with crewai's
  ``@tool`` by its function name;
* a reference ``module:Class`` or ``module:function``, as crewai's declarative crews allow
  (``crewai_tools:FileReadTool``, ``tools.knowledge:KnowledgeSearchTool``). The module is
  looked up under the project folder first, then among installed packages;
* ``custom:<name>``, as crewai's JSON crews write it: the tool class in the crew's own
  ``tools/<name>.py`` (the first by name, as crewai takes it).

Validation must stay fast and crewai-free, so everything here is read with ``ast``;
only ``build()`` imports anything, at assembly time.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
import types
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from .discover import CrewPackage
from .problem import did_you_mean
from .project import Project

_UNKNOWN_HINT = "define it in tools/ or the crew's tools.py, name a crewai_tools class, or write module:Class"


@dataclass(frozen=True)
class EnvRequirement:
    name: str
    required: bool = True


@dataclass(frozen=True)
class ToolInfo:
    name: str  # the class or function build() takes from ``module``
    kind: str  # "class" or "function"
    module: str  # import path used by build()
    origin: str  # where a user finds it: "crews/x/tools.py", "tools/search.py", "crewai_tools"
    env: tuple[EnvRequirement, ...] = ()
    # (module, class) of an installed class whose env_vars apply (crewai_tools and their
    # subclasses): read only when asked, so listing tools parses none of crewai_tools' files
    env_from: tuple[str, str] | None = None
    # the name the model calls it by, when the file says so literally (``name: str = "search_knowledge"``,
    # ``@tool("lookup")``): what a run records, so an eval's ``tool:`` check may use it
    tool_name: str | None = None

    def requirements(self) -> tuple[EnvRequirement, ...]:
        """Environment variables the tool needs, e.g. SERPER_API_KEY."""
        return _installed_env(*self.env_from) if self.env_from else self.env


@dataclass(frozen=True)
class RefProblem:
    """Why a ``module:Class`` reference names no tool: a message and a hint, for a located problem."""

    message: str
    hint: str = ""


@dataclass
class Toolbox:
    """Every tool a crew can name, without importing any of them."""

    tools: dict[str, ToolInfo] = field(default_factory=dict)
    crewai_tools_file: Path | None = None
    root: Path | None = None  # the project folder, where module:Class references are looked up first
    crew: CrewPackage | None = None  # whose tools/<name>.py a custom:<name> tool is
    bases: dict[str, RefProblem] = field(default_factory=dict)  # helper base classes, not bindable: why not
    _refs: dict[str, ToolInfo | RefProblem] = field(default_factory=dict, init=False, repr=False)

    def get(self, name: str) -> ToolInfo | None:
        if name.startswith(CUSTOM):
            found = self.custom(name)
            return found if isinstance(found, ToolInfo) else None
        if is_reference(name):
            found = self.reference(name)
            return found if isinstance(found, ToolInfo) else None
        if name in self.tools:
            return self.tools[name]
        if self.crewai_tools_file is not None:
            return _crewai_tools_index(str(self.crewai_tools_file)).get(name)
        return None

    def names(self) -> list[str]:
        extra = list(_crewai_tools_index(str(self.crewai_tools_file))) if self.crewai_tools_file else []
        return [*self.tools, *extra]

    def add(self, scan: _Scan) -> None:
        """A scanned file's tools and helper bases; a later file wins (the crew's over tools/)."""
        self.tools.update(scan.tools)
        self.bases.update(scan.bases)
        for name in scan.tools:
            self.bases.pop(name, None)

    def reference(self, ref: str) -> ToolInfo | RefProblem:
        """The tool a ``module:Class`` reference names, or why it names none (resolved once per box)."""
        if ref not in self._refs:
            self._refs[ref] = _resolve_reference(ref, str(self.root or ""), self.crewai_tools_file)
        return self._refs[ref]

    def custom(self, ref: str) -> ToolInfo | RefProblem:
        """The tool a ``custom:<name>`` reference names, or why it names none."""
        if ref not in self._refs:
            self._refs[ref] = _resolve_custom(ref, self.crew, str(self.root or "")) if self.crew else \
                RefProblem(f"tool '{ref}' needs a crew folder to look in")
        return self._refs[ref]

    def explain(self, name: str) -> tuple[str, str]:
        """Why ``get(name)`` found nothing, as (message, hint)."""
        if name.startswith(CUSTOM):
            custom = self.custom(name)
            return (custom.message, custom.hint) if isinstance(custom, RefProblem) else (f"unknown tool '{name}'", "")
        if name.startswith(PLATFORM):
            return (f"tool '{name}' is a CrewAI platform integration, which rolecall does not run",
                    f"give the agent apps: [{name.removeprefix(PLATFORM) or '<app>'}] instead")
        found = self.reference(name) if is_reference(name) else self.bases.get(name)
        if isinstance(found, RefProblem):
            return found.message, found.hint
        return f"unknown tool '{name}'", did_you_mean(name, self.names()) or _UNKNOWN_HINT


CUSTOM, PLATFORM = "custom:", "platform:"  # crewai's JSON crews: tools/<name>.py; a CrewAI AMP app


def is_reference(name: str) -> bool:
    """``module:Class`` rather than a registry name (no class or function name holds a colon)."""
    return ":" in name and not name.startswith((CUSTOM, PLATFORM))


def toolbox_for(project: Project, crew: CrewPackage) -> Toolbox:
    root = str(project.root)
    box = Toolbox(crewai_tools_file=_crewai_tools_init(), root=project.root, crew=crew)
    if project.tools_dir.is_dir():
        for file in sorted(project.tools_dir.glob("*.py")):
            module = f"{_PROJECT_TOOLS}.{file.stem}" if file.stem != "__init__" else _PROJECT_TOOLS
            box.add(_scan_file(file, module, f"tools/{file.name}", "", root))
    crew_tools = crew.path / "tools.py"
    if crew_tools.exists():
        home = crew.module.split(".")[0] if crew.module else ""  # a distribution's crew reads its own package
        box.add(_scan_file(crew_tools, f"{crew_package(crew)}.tools", f"crews/{crew.name}/tools.py", home, root))
    return box


# --- static reading: which classes are tools ------------------------------------
#
# A class is a tool when its ancestry, read from source, reaches crewai's ``BaseTool`` (by
# that name) or a class crewai_tools exports. Bases are followed through the same file and
# through imports that stay in the project folder (``from .base import X``, ``from tools.x
# import X``) or, for an installed file, in its own package; at most _MAX_HOPS steps, and a
# class already on the path ends the walk, so import cycles are safe. Anything else
# (pydantic's BaseModel, ABC) is not read and adds nothing.
#
# A tool class is offered for binding only when its ancestry also gives ``name`` a default
# and defines a concrete (not @abstractmethod) ``_run``: crewai can build no tool without a
# name, and one without ``_run`` cannot be called, so such a class is a shared base for other
# tools (trip_planner's TravelTool), not a tool a user would bind.
#
# ``env_vars`` is inherited: a class's own literal list wins, else its first base's that has
# one, left to right (Python's MRO for the single-chain hierarchies tools use).

_MAX_HOPS = 8


@dataclass(frozen=True)
class _Def:
    """A top-level statement binding a name, in the file it was read from."""

    file: Path
    node: ast.stmt
    home: str  # "" for a file in the project; else the installed top-level package it belongs to


@dataclass(frozen=True)
class _Ancestry:
    """What a class has once its bases are counted."""

    is_tool: bool = False  # reaches BaseTool
    named: bool = False  # some class on the way gives ``name`` a default
    runs: bool = False  # some class on the way defines a concrete ``_run``
    env: tuple[EnvRequirement, ...] | None = None  # the nearest literal env_vars; None: none written
    env_from: tuple[str, str] | None = None  # or an installed class's, read when asked

    @property
    def bindable(self) -> bool:
        return self.is_tool and self.named and self.runs

    def inherit(self, base: _Ancestry) -> _Ancestry:
        own_env = self.env is not None or self.env_from is not None
        return _Ancestry(self.is_tool or base.is_tool, self.named or base.named, self.runs or base.runs,
                         self.env if own_env else base.env, self.env_from if own_env else base.env_from)


@dataclass(frozen=True)
class _Scan:
    """One file's bindable tools, and its helper base classes with why they are not tools."""

    tools: dict[str, ToolInfo]
    bases: dict[str, RefProblem]


@cache
def _scan_file(file: Path, module: str, origin: str, home: str, root: str) -> _Scan:
    tree = _parse(str(file))
    scan = _Scan({}, {})
    for node in tree.body if tree is not None else []:
        if isinstance(node, ast.ClassDef):
            defn = _Def(file, node, home)
            facts = _class_facts(defn, root)
            if facts.bindable:
                scan.tools[node.name] = _class_info(node.name, module, origin, facts, node)
            elif facts.is_tool:
                scan.bases[node.name] = _not_a_tool_class(node.name, defn, origin, facts, root)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _has_tool_decorator(node):
            scan.tools[node.name] = ToolInfo(node.name, "function", module, origin, tool_name=_function_name(node))
    return scan


def _class_info(name: str, module: str, origin: str, facts: _Ancestry, node: ast.ClassDef) -> ToolInfo:
    return ToolInfo(name, "class", module, origin, facts.env or (), facts.env_from, _literal_name(node))


def _literal_name(node: ast.ClassDef) -> str | None:
    value = _assigned(node, "name")
    if isinstance(value, ast.Call):  # Field("x") or Field(default="x")
        value = next((k.value for k in value.keywords if k.arg == "default"), value.args[0] if value.args else None)
    return value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else None


def _function_name(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """crewai's ``@tool`` names a tool by its string argument, else by the function's name."""
    for deco in node.decorator_list:
        if isinstance(deco, ast.Call) and _decorator_name(deco) == "tool" and deco.args:
            first = deco.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                return first.value
    return node.name


@cache
def _parse(file: str) -> ast.Module | None:
    try:
        return ast.parse(Path(file).read_text(encoding="utf-8"), filename=file)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None


@cache
def _class_facts(defn: _Def, root: str) -> _Ancestry:
    return _ancestry(defn, root, ())


def _ancestry(defn: _Def, root: str, trail: tuple[tuple[str, str], ...]) -> _Ancestry:
    node = defn.node
    assert isinstance(node, ast.ClassDef)
    facts = _Ancestry(named=_gives_name(node), runs=_defines_run(node), env=_env_literal(node))
    trail = (*trail, (str(defn.file), node.name))
    for base in node.bases:
        facts = facts.inherit(_base_ancestry(defn, base, root, trail))
    return facts


def _base_ancestry(child: _Def, base: ast.expr, root: str, trail: tuple[tuple[str, str], ...]) -> _Ancestry:
    if isinstance(base, ast.Attribute):  # crewai.tools.BaseTool, crewai_tools.SerperDevTool
        root_name = base.value
        while isinstance(root_name, ast.Attribute):
            root_name = root_name.value
        from_crewai_tools = isinstance(root_name, ast.Name) and root_name.id == "crewai_tools"
        return _named_base(base.attr, from_crewai_tools)
    if not isinstance(base, ast.Name):
        return _Ancestry()
    if base.id == "BaseTool" or len(trail) >= _MAX_HOPS:
        return _named_base(base.id, False)
    found = _resolve(child.file, base.id, child.home, root, before=child.node)
    if found is not None and isinstance(found.node, ast.ClassDef):
        if (str(found.file), found.node.name) in trail:
            return _Ancestry()  # an import cycle, which only broken code has
        return _ancestry(found, root, trail)
    if found is not None and isinstance(found.node, ast.ImportFrom):  # from outside: known by name only
        original = next(a.name for a in found.node.names if (a.asname or a.name) == base.id)
        return _named_base(original, (found.node.module or "").startswith("crewai_tools"))
    return _Ancestry()


def _named_base(name: str, from_crewai_tools: bool) -> _Ancestry:
    """A base known by name only: crewai's BaseTool, or a class crewai_tools exports (which
    is not walked: its exports are tools, and reading them would cost every validation)."""
    if name == "BaseTool":
        return _Ancestry(is_tool=True)
    exported = _crewai_exports().get(name) if from_crewai_tools else None
    if exported is None:
        return _Ancestry()
    return _Ancestry(is_tool=True, named=True, runs=True, env_from=exported.env_from)


def _resolve(file: Path, name: str, home: str, root: str, before: ast.stmt | None = None,
             hops: int = 0) -> _Def | None:
    """The statement that binds ``name`` at the top of ``file``, through re-exports.

    With ``before``, only bindings above that statement count (``class Base(Base)`` extends
    the imported Base). An import that cannot be followed is returned as it is."""
    tree = _parse(str(file))
    stmt = _binding(tree, name, before) if tree is not None else None
    if stmt is None:
        return None
    if isinstance(stmt, ast.ImportFrom) and hops < _MAX_HOPS:
        source = _import_source(file, stmt, home, root)
        original = next(a.name for a in stmt.names if (a.asname or a.name) == name)
        if source is not None:
            followed = _resolve(source[0], original, source[1], root, hops=hops + 1)
            if followed is not None:
                return followed
    return _Def(file, stmt, home)


def _binding(tree: ast.Module, name: str, before: ast.stmt | None) -> ast.stmt | None:
    found = None
    for stmt in tree.body:
        if stmt is before:
            break
        if _binds(stmt, name):
            found = stmt  # the last binding wins, as when Python runs the module
    return found


def _binds(stmt: ast.stmt, name: str) -> bool:
    if isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return stmt.name == name
    if isinstance(stmt, ast.ImportFrom):
        return any((a.asname or a.name) == name for a in stmt.names)
    if isinstance(stmt, ast.Import):
        return any((a.asname or a.name.split(".")[0]) == name for a in stmt.names)
    if isinstance(stmt, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets)
    if isinstance(stmt, ast.AnnAssign):
        return isinstance(stmt.target, ast.Name) and stmt.target.id == name and stmt.value is not None
    return False


def _import_source(file: Path, stmt: ast.ImportFrom, home: str, root: str) -> tuple[Path, str] | None:
    """The file a ``from ... import`` reads from, when it stays in the project or in ``home``."""
    parts = stmt.module.split(".") if stmt.module else []
    if stmt.level:
        package = file.parent
        for _ in range(stmt.level - 1):
            package = package.parent
        found = _module_file([package], parts)
        return (found, home) if found else None
    return _find_module(stmt.module or "", root, installed=bool(home) and parts[0] == home)


def _assigned(node: ast.ClassDef, name: str) -> ast.expr | None:
    """The default a class body gives a field: ``name: T = value`` or ``name = value``."""
    value = None
    for stmt in node.body:
        if isinstance(stmt, (ast.AnnAssign, ast.Assign)):
            targets = [stmt.target] if isinstance(stmt, ast.AnnAssign) else stmt.targets
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                value = stmt.value
    return value


def _gives_name(node: ast.ClassDef) -> bool:
    return _literal_name(node) is not None  # Field(...) has no default


def _defines_run(node: ast.ClassDef) -> bool:
    for stmt in node.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == "_run":
            return not any(_decorator_name(d) == "abstractmethod" for d in stmt.decorator_list)
    return False


def _decorator_name(deco: ast.expr) -> str:
    target = deco.func if isinstance(deco, ast.Call) else deco
    return target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) else ""


def _has_tool_decorator(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(_decorator_name(deco) == "tool" for deco in node.decorator_list)


def _env_literal(node: ast.ClassDef) -> tuple[EnvRequirement, ...] | None:
    """Literal ``EnvVar(name=..., required=...)`` entries in the class's ``env_vars`` default."""
    value = _assigned(node, "env_vars")
    return None if value is None else tuple(_env_calls(value))


def _env_calls(tree: ast.AST) -> list[EnvRequirement]:
    out = []
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", getattr(call.func, "attr", "")) == "EnvVar":
            kw = {k.arg: k.value for k in call.keywords}
            name = kw.get("name")
            required = kw.get("required")
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                req = not (isinstance(required, ast.Constant) and required.value is False)
                out.append(EnvRequirement(name.value, req))
    return out


@cache
def _installed_env(module: str, name: str) -> tuple[EnvRequirement, ...]:
    """env_vars of an installed class (a crewai_tools one), through its bases in its package."""
    located = _find_module(module, "", installed=True)
    found = _resolve(located[0], name, located[1], "") if located else None
    if found is None or not isinstance(found.node, ast.ClassDef):
        return ()
    facts = _class_facts(found, "")
    if facts.env is None and facts.env_from and facts.env_from != (module, name):
        return _installed_env(*facts.env_from)
    return facts.env or ()


# --- finding modules on disk, without importing them --------------------------------

def _find_module(module: str, root: str, installed: bool) -> tuple[Path, str] | None:
    """The source file of ``module`` and its home: under the project folder, else (if
    ``installed``) in an installed package. ``find_spec`` is asked for the top-level
    package only, because asking it for ``a.b`` imports ``a``."""
    parts = module.split(".")
    if root:
        found = _module_file([Path(root)], parts)
        if found is not None:
            return found, ""
    if not installed:
        return None
    origin, locations = _installed_package(parts[0])
    if len(parts) == 1:
        return (Path(origin), parts[0]) if origin else None
    found = _module_file([Path(p) for p in locations], parts[1:])
    return (found, parts[0]) if found else None


def _module_file(dirs: list[Path], parts: list[str]) -> Path | None:
    """``a/b/__init__.py`` or ``a/b.py`` in the first folder that has it (a package wins, as in
    Python); no parts: the folder's own ``__init__.py`` (``from . import X``)."""
    for folder in dirs:
        base = folder.joinpath(*parts)
        candidates = [base / "__init__.py"] + ([base.parent / f"{base.name}.py"] if parts else [])
        for candidate in candidates:
            if candidate.is_file():
                return candidate
    return None


@cache
def _installed_package(top: str) -> tuple[str | None, tuple[str, ...]]:
    """(source file, package folders) of an installed top-level module."""
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):  # ValueError: a module in sys.modules without a spec
        return None, ()
    if spec is None:
        return None, ()
    origin = spec.origin if spec.origin and spec.origin.endswith(".py") else None
    return origin, tuple(spec.submodule_search_locations or ())


def _module_hint(module: str, root: str) -> str:
    """'did you mean ...?' over the modules next to the one that is missing (only on error)."""
    parts = module.split(".")
    for depth in range(len(parts) - 1, 0, -1):
        folders = _package_folders(parts[:depth], root)
        if folders:
            prefix = ".".join(parts[:depth])
            siblings = _submodules(folders)
            import difflib  # only when a reference is wrong
            close = difflib.get_close_matches(parts[depth], siblings, n=1, cutoff=0.6)
            if close:
                return f"did you mean '{prefix}.{close[0]}'?"
            if siblings:
                return f"modules in {prefix}: {_some(siblings)}"
            break
    import difflib
    import pkgutil
    tops = _submodules([Path(root)] if root else []) + [m.name for m in pkgutil.iter_modules()]
    close = difflib.get_close_matches(parts[0], tops, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{'.'.join([close[0], *parts[1:]])}'?"
    return "modules are looked up in the project folder, then among installed packages"


def _some(names: list[str], most: int = 8) -> str:
    return ", ".join(names[:most]) + (", ..." if len(names) > most else "")


def _package_folders(parts: list[str], root: str) -> list[Path]:
    folders = [Path(root).joinpath(*parts)] if root else []
    folders += [Path(p).joinpath(*parts[1:]) for p in _installed_package(parts[0])[1]]
    return [f for f in folders if f.is_dir()]


def _submodules(folders: list[Path]) -> list[str]:
    names = set()
    for folder in folders:
        for entry in folder.iterdir():
            stem = entry.stem if entry.suffix == ".py" else entry.name
            if stem.isidentifier() and stem != "__init__" and (
                    entry.suffix == ".py" or (entry.is_dir() and any(entry.glob("*.py")))):
                names.add(stem)
    return sorted(names)


# --- module:Class references ---------------------------------------------------------
#
# crewai's declarative crews (crewai.utilities.declarative_refs) read ``module:qualname``:
# the text before the first colon is imported, the rest is looked up in it, must be a
# BaseTool subclass, and is instantiated with no arguments. rolecall reads the same refs
# without importing, so the qualname must be a top-level class or a @tool function (a
# crewai extension: crewai itself takes classes only); a class gets the arguments written
# in YAML ({module:Class: {arg: value}}), none by default, exactly as crewai does.

def _resolve_reference(ref: str, root: str, crewai_tools_file: Path | None) -> ToolInfo | RefProblem:
    module, _, attr = (part.strip() for part in ref.partition(":"))
    if not all(p.isidentifier() for p in module.split(".")) or not attr.isidentifier():
        nested = attr and all(p.isidentifier() for p in attr.split("."))
        return RefProblem(f"tool '{ref}' names a nested attribute; rolecall binds top-level classes and "
                          f"@tool functions" if nested else f"'{ref}' is not a tool reference",
                          "write module:Class or module:function, e.g. tools.knowledge:KnowledgeSearchTool")
    if module == "crewai_tools" and crewai_tools_file is not None:
        return _crewai_reference(ref, attr, crewai_tools_file)
    located = _find_module(module, root, installed=True)
    if located is None:
        return RefProblem(f"tool '{ref}': no module '{module}' in the project or installed packages",
                          _module_hint(module, root))
    file, home = located
    shown = _shown(file, root, home)
    found = _resolve(file, attr, home, root)
    if found is None:
        tools = _tool_names(file, home, root)
        listing = f"tools in {shown}: {_some(tools)}" if tools else f"{shown} defines no tools"
        return RefProblem(f"tool '{ref}': {shown} has no '{attr}'", did_you_mean(attr, tools) or listing)
    return _reference_info(ref, found, module, attr, root)


_CUSTOM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # crewai's own rule: tools/<name>.py, nothing outside


def _resolve_custom(ref: str, crew: CrewPackage, root: str) -> ToolInfo | RefProblem:
    name = ref.removeprefix(CUSTOM)
    folder = crew.path / "tools"
    if not _CUSTOM_NAME.fullmatch(name):
        return RefProblem(f"'{ref}' is not a custom tool name", "write custom:<name> for the crew's tools/<name>.py, "
                                                                "with <name> a Python identifier")
    file = folder / f"{name}.py"
    shown = f"{crew.shown_origin}/tools/{name}.py"
    if not file.is_file():
        others = [f"{CUSTOM}{f.stem}" for f in sorted(folder.glob("*.py"))] if folder.is_dir() else []
        return RefProblem(f"custom tool '{ref}': no {shown}", did_you_mean(ref, others) or
                          "create it with a class that subclasses crewai.tools.BaseTool")
    home = crew.module.split(".")[0] if crew.module else ""
    module = f"{crew_package(crew)}.tools.{name}"
    tools = {k: t for k, t in _scan_file(file, module, shown, home, root).tools.items() if t.kind == "class"}
    if not tools:  # crewai takes BaseTool subclasses only, not @tool functions
        return RefProblem(f"custom tool '{ref}': {shown} defines no tool class",
                          "define a class that subclasses crewai.tools.BaseTool, sets `name` and defines `_run`")
    return tools[min(tools)]  # crewai takes the first in dir() order, which is by name


def _crewai_reference(ref: str, attr: str, init_file: Path) -> ToolInfo | RefProblem:
    index = _crewai_tools_index(str(init_file))
    if attr in index:
        return index[attr]
    return RefProblem(f"tool '{ref}': crewai_tools exports no tool '{attr}'",
                      did_you_mean(attr, index) or "see the list in crewai_tools/__init__.py")


def _reference_info(ref: str, found: _Def, module: str, attr: str, root: str) -> ToolInfo | RefProblem:
    node, shown = found.node, _shown(found.file, root, found.home)
    import_name = _import_name(module, found.home)
    if isinstance(node, ast.ClassDef):
        facts = _class_facts(found, root)
        if facts.bindable:
            return _class_info(attr, import_name, shown, facts, node)
        return _not_a_tool_class(ref, found, shown, facts, root)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        if _has_tool_decorator(node):
            return ToolInfo(attr, "function", import_name, shown, tool_name=_function_name(node))
        return RefProblem(f"tool '{ref}' is not a tool: {node.name} ({shown}:{node.lineno}) is a plain function",
                          "decorate it with @tool from crewai.tools")
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        original = next(a.name for a in node.names if (a.asname or a.name) == attr)
        exported = _crewai_exports().get(original) if node.module.startswith("crewai_tools") else None
        if exported is not None:  # a crewai_tools class that a project module imports
            return ToolInfo(attr, "class", import_name, shown, env_from=exported.env_from)
        return RefProblem(f"tool '{ref}': {shown}:{node.lineno} only imports '{attr}' from {node.module}",
                          f"refer to it where it is defined: {node.module}:{original}")
    return RefProblem(f"tool '{ref}' is not a tool: '{attr}' ({shown}:{node.lineno}) is not a class or "
                      f"@tool function", "refer to the module that defines the tool")


def _not_a_tool_class(ref: str, found: _Def, shown: str, facts: _Ancestry, root: str) -> RefProblem:
    node = found.node
    assert isinstance(node, ast.ClassDef)
    where = f"class {node.name} ({shown}:{node.lineno})"
    if not facts.is_tool:
        tools = _tool_names(found.file, found.home, root)
        return RefProblem(f"tool '{ref}' is not a tool: {where} does not subclass crewai's BaseTool",
                          f"tools in {shown}: {_some(tools)}" if tools else
                          "a tool subclasses crewai.tools.BaseTool, or is a function decorated with @tool")
    missing = [what for what, has in (("no `name` default", facts.named), ("no `_run`", facts.runs)) if not has]
    children = [name for name, c in _tool_classes(found.file, found.home, root).items()
                if any(isinstance(b, ast.Name) and b.id == node.name for b in c.bases)]
    return RefProblem(f"tool '{ref}' is a base class for tools, not a tool: {where} has {' and '.join(missing)}",
                      f"bind a tool built on it: {', '.join(children)}" if children else
                      "bind a subclass that sets `name` and defines `_run`")


def _tool_names(file: Path, home: str, root: str) -> list[str]:
    """The tools (classes and @tool functions) a file defines, for hints."""
    return list(_scan_file(file, "", "", home, root).tools)


def _tool_classes(file: Path, home: str, root: str) -> dict[str, ast.ClassDef]:
    """The bindable tool classes defined in a file, for hints."""
    tree = _parse(str(file))
    return {node.name: node for node in (tree.body if tree is not None else [])
            if isinstance(node, ast.ClassDef) and _class_facts(_Def(file, node, home), root).bindable}


def _shown(file: Path, root: str, home: str) -> str:
    """A file as a person finds it: relative to the project, or to the installed package's folder."""
    bases = [Path(root)] if root and not home else [Path(p).parent for p in _installed_package(home)[1]]
    for base in bases:
        try:
            return file.relative_to(base).as_posix()
        except ValueError:
            continue
    return str(file)


def _import_name(module: str, home: str) -> str:
    """What build() imports for ``module``: tools/ and crews/ under rolecall's stable names (see
    mount), so a reference and a registry name bind the very same class."""
    top, _, rest = module.partition(".")
    if home or not rest or top not in ("tools", "crews"):
        return module  # other project modules import from the project folder, which mount() puts on sys.path
    return f"{_PROJECT_TOOLS if top == 'tools' else _CREWS}.{rest}"


# --- crewai_tools ---------------------------------------------------------------------

@lru_cache(maxsize=1)
def _crewai_tools_init() -> Path | None:
    origin, _ = _installed_package("crewai_tools")
    return Path(origin) if origin else None


def _crewai_exports() -> dict[str, ToolInfo]:
    init = _crewai_tools_init()
    return _crewai_tools_index(str(init)) if init else {}


@lru_cache(maxsize=4)
def _crewai_tools_index(init_file: str) -> dict[str, ToolInfo]:
    """Class names ``crewai_tools`` exports, read from its ``__init__.py``."""
    tree = _parse(init_file)
    if tree is None:
        return {}
    index: dict[str, ToolInfo] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("crewai_tools"):
            for alias in node.names:
                name = alias.asname or alias.name
                if name.endswith("Tool"):
                    index[name] = ToolInfo(name, "class", node.module, "crewai_tools",
                                           env_from=(node.module, alias.name))
    return index


# --- importing, at assembly time only --------------------------------------

_PROJECT_TOOLS = "rolecall_project_tools"
_CREWS = "rolecall_crews"


def crew_package(crew: CrewPackage) -> str:
    """The import name of a crew's package (a synthetic one for crews in crews/)."""
    return crew.module or f"{_CREWS}.{crew.name}"


def mount(project: Project, crew: CrewPackage) -> None:
    """Make the project's tools/ and crews/ importable under stable names (crews/x is
    rolecall_crews.x, also for a ``crews.x.tools:Class`` reference), and the crew's folder.

    The project folder goes first on sys.path, so ``from tools.x import Base`` or a
    ``shared.keys:Tool`` reference import what the scanner read: the project's module first."""
    root = str(project.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    _ensure_package(_PROJECT_TOOLS, project.tools_dir)
    _ensure_package(_CREWS, project.crews_dir)
    if crew.module is None:
        _ensure_package(f"{_CREWS}.{crew.name}", crew.path)


def _ensure_package(name: str, path: Path) -> None:
    existing = sys.modules.get(name)
    if existing is not None and list(getattr(existing, "__path__", [])) == [str(path)]:
        return
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]  # a different project or crew folder took this name before
    module = types.ModuleType(name)
    module.__path__ = [str(path)]
    module.__package__ = name
    sys.modules[name] = module


def build(info: ToolInfo, kwargs: dict[str, Any], crew_dir: Path, base_dir: str | None = None) -> Any:
    """A fresh crewai tool object for one agent or task.

    ``base_dir`` goes to tools that have one (crewai_tools' file tools anchor their own sandbox
    there, else at the working directory), unless the crew set it.
    """
    target = getattr(importlib.import_module(info.module), info.name)
    if info.kind == "function":
        return target.model_copy()  # @tool made one shared Tool instance; each binding gets its own
    kwargs = dict(kwargs)
    fields = getattr(target, "model_fields", {})
    if "crew_dir" in fields and "crew_dir" not in kwargs:
        kwargs["crew_dir"] = str(crew_dir)  # tools that read the crew's own files ask for its folder
    if base_dir is not None and "base_dir" in fields and "base_dir" not in kwargs:
        kwargs["base_dir"] = base_dir
    return target(**kwargs)

