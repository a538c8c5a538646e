"""The tool registry: tool names a crew may bind, found by reading source, not importing it.

Three places, searched in this order: the crew's own ``tools.py``, the
project's ``tools/`` package, and the classes ``crewai_tools`` exports. A
class-based tool is named by its class name (as crewai-tools are); a function
decorated with crewai's ``@tool`` by its function name. Validation must stay
fast and crewai-free, so everything here is read with ``ast``; only
``build()`` imports anything, at assembly time.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
import types
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .discover import CrewPackage
from .project import Project


@dataclass(frozen=True)
class EnvRequirement:
    name: str
    required: bool = True


@dataclass(frozen=True)
class ToolInfo:
    name: str
    kind: str  # "class" or "function"
    module: str  # import path used by build()
    origin: str  # where a user finds it: "crews/x/tools.py", "tools/search.py", "crewai_tools"
    env: tuple[EnvRequirement, ...] = ()
    site: str = ""  # set for crewai_tools classes, whose env vars are read only when asked

    def requirements(self) -> tuple[EnvRequirement, ...]:
        """Environment variables the tool needs, e.g. SERPER_API_KEY."""
        return _crewai_tool_env(self.site, self.module, self.name) if self.site else self.env


@dataclass
class Toolbox:
    """Every tool a crew can name, without importing any of them."""

    tools: dict[str, ToolInfo] = field(default_factory=dict)
    crewai_tools_file: Path | None = None

    def get(self, name: str) -> ToolInfo | None:
        if name in self.tools:
            return self.tools[name]
        if self.crewai_tools_file is not None:
            return _crewai_tools_index(str(self.crewai_tools_file)).get(name)
        return None

    def names(self) -> list[str]:
        extra = list(_crewai_tools_index(str(self.crewai_tools_file))) if self.crewai_tools_file else []
        return [*self.tools, *extra]


def toolbox_for(project: Project, crew: CrewPackage) -> Toolbox:
    box = Toolbox(crewai_tools_file=_crewai_tools_init())
    if project.tools_dir.is_dir():
        for file in sorted(project.tools_dir.glob("*.py")):
            module = f"{_PROJECT_TOOLS}.{file.stem}" if file.stem != "__init__" else _PROJECT_TOOLS
            box.tools.update(_scan_file(file, module, f"tools/{file.name}"))
    crew_tools = crew.path / "tools.py"
    if crew_tools.exists():
        box.tools.update(_scan_file(crew_tools, f"{crew_package(crew)}.tools",
                                    f"crews/{crew.name}/tools.py"))
    return box


# --- static reading ---------------------------------------------------------

def _scan_file(file: Path, module: str, origin: str) -> dict[str, ToolInfo]:
    tree = _parse(str(file))
    if tree is None:
        return {}
    found: dict[str, ToolInfo] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and _looks_like_tool_class(node):
            found[node.name] = ToolInfo(node.name, "class", module, origin, _env_of_class(node))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _has_tool_decorator(node):
            found[node.name] = ToolInfo(node.name, "function", module, origin)
    return found


@lru_cache(maxsize=None)
def _parse(file: str) -> ast.Module | None:
    try:
        return ast.parse(Path(file).read_text(encoding="utf-8"), filename=file)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def _base_names(node: ast.ClassDef) -> list[str]:
    names = []
    for base in node.bases:
        if isinstance(base, ast.Name):
            names.append(base.id)
        elif isinstance(base, ast.Attribute):
            names.append(base.attr)
    return names


def _looks_like_tool_class(node: ast.ClassDef) -> bool:
    return any(name.endswith("Tool") for name in _base_names(node))


def _has_tool_decorator(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if (isinstance(target, ast.Name) and target.id == "tool") or \
                (isinstance(target, ast.Attribute) and target.attr == "tool"):
            return True
    return False


def _env_of_class(node: ast.ClassDef) -> tuple[EnvRequirement, ...]:
    """Literal ``EnvVar(name=..., required=...)`` entries in the class's ``env_vars`` default."""
    for stmt in node.body:
        target = stmt.target if isinstance(stmt, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id == "env_vars" and stmt.value is not None:
            return tuple(_env_calls(stmt.value))
    return ()


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


def _crewai_tools_init() -> Path | None:
    try:
        spec = importlib.util.find_spec("crewai_tools")
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec and spec.origin else None


@lru_cache(maxsize=4)
def _crewai_tools_index(init_file: str) -> dict[str, ToolInfo]:
    """Class names ``crewai_tools`` exports, read from its ``__init__.py``."""
    tree = _parse(init_file)
    if tree is None:
        return {}
    root = Path(init_file).parent.parent
    index: dict[str, ToolInfo] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("crewai_tools"):
            for alias in node.names:
                name = alias.asname or alias.name
                if name.endswith("Tool"):
                    index[name] = ToolInfo(name, "class", node.module, "crewai_tools", site=str(root))
    return index


@lru_cache(maxsize=None)
def _crewai_tool_env(site: str, module: str, name: str, depth: int = 0) -> tuple[EnvRequirement, ...]:
    file = _module_file(site, module)
    tree = _parse(str(file)) if file else None
    if tree is None or depth > 3:
        return ()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            env = _env_of_class(node)
            if env:
                return env
            for base in _base_names(node):  # env_vars inherited from a base class
                base_module = _imported_from(tree, base) or module
                inherited = _crewai_tool_env(site, base_module, base, depth + 1)
                if inherited:
                    return inherited
    return ()


def _module_file(site: str, module: str) -> Path | None:
    base = Path(site).joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imported_from(tree: ast.Module, name: str) -> str | None:
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and any(
                (a.asname or a.name) == name for a in node.names):
            return node.module
    return None


# --- importing, at assembly time only --------------------------------------

_PROJECT_TOOLS = "rolecall_project_tools"
_CREWS = "rolecall_crews"


def crew_package(crew: CrewPackage) -> str:
    """The import name of a crew's package (a synthetic one for crews in crews/)."""
    return crew.module or f"{_CREWS}.{crew.name}"


def mount(project: Project, crew: CrewPackage) -> None:
    """Make the project's tools/ and the crew's folder importable under stable names."""
    _ensure_package(_PROJECT_TOOLS, project.tools_dir)
    if crew.module is None:
        _ensure_package(_CREWS, project.crews_dir)
        _ensure_package(f"{_CREWS}.{crew.name}", crew.path)


def _ensure_package(name: str, path: Path) -> None:
    existing = sys.modules.get(name)
    if existing is not None and list(getattr(existing, "__path__", [])) == [str(path)]:
        return
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]  # a different project or crew folder took this name before
    module = types.ModuleType(name)
    module.__path__ = [str(path)]  # type: ignore[attr-defined]
    module.__package__ = name
    sys.modules[name] = module


def build(info: ToolInfo, kwargs: dict[str, Any], crew_dir: Path) -> Any:
    """A fresh crewai tool object for one agent or task."""
    target = getattr(importlib.import_module(info.module), info.name)
    if info.kind == "function":
        return target  # @tool already returned a crewai Tool instance
    kwargs = dict(kwargs)
    if "crew_dir" in getattr(target, "model_fields", {}) and "crew_dir" not in kwargs:
        kwargs["crew_dir"] = str(crew_dir)  # tools that read the crew's own files ask for its folder
    return target(**kwargs)
