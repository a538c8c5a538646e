"""Stage 2: read a crew's YAML files, keeping the line of every key.

CrewAI reads these files with ``yaml.safe_load`` and forgets where things came
from; we compose the node tree ourselves so every later problem can name its
file and line.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, RootModel, ValidationError

from .problem import Problem, did_you_mean

KeyPath = tuple[str | int, ...]


@dataclass
class YamlDoc:
    """A parsed YAML file plus the line of each key path in it."""

    file: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor we know."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def problem(self, path: KeyPath, message: str, hint: str = "", severity: str = "error") -> Problem:
        return Problem(message, self.file, self.line(path), dotted(path), hint, severity)  # type: ignore[arg-type]


def dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_yaml(file: Path, problems: list[Problem]) -> YamlDoc | None:
    """Parse ``file``; on failure append a located problem and return None."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(Problem(f"cannot read file: {exc.strerror}", file))
        return None
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problems.append(Problem(f"YAML syntax error: {exc.problem or exc}", file, line,
                                hint="check indentation and quoting on this line"))
        return None
    doc = YamlDoc(file, None, {(): 1})
    if node is None:
        doc.data = {}
        return doc
    doc.data = _build(node, (), doc, problems)
    return doc


def _build(node: yaml.Node, path: KeyPath, doc: YamlDoc, problems: list[Problem]) -> Any:
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if isinstance(key, (int, float, bool)) or key is None:
                key = str(key_node.value)
            child = (*path, key)
            if key in out:
                problems.append(Problem(f"duplicate key '{key}' (the earlier one would be silently dropped)",
                                        doc.file, key_node.start_mark.line + 1, dotted(child),
                                        "remove one of them"))
            doc.lines[child] = key_node.start_mark.line + 1
            out[key] = _build(value_node, child, doc, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc, problems) for i, item in enumerate(node.value)]
    return _scalar(node)


_CONSTRUCTOR = yaml.SafeLoader("")
# libyaml's parser is ~10x faster and keeps the same line marks; fall back where it is not built in
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _scalar(node: yaml.Node) -> Any:
    """A scalar's Python value, typed the way ``yaml.safe_load`` would type it."""
    if not isinstance(node, yaml.ScalarNode):
        return str(node.value)
    construct = _CONSTRUCTOR.yaml_constructors.get(node.tag)
    return construct(_CONSTRUCTOR, node) if construct else node.value


# --- typed parsing: pydantic models with located, readable errors -------------

def parse_model(doc: YamlDoc, at: KeyPath, model: type[BaseModel], problems: list[Problem]) -> Any:
    """``model`` validated from the data at ``at``; on failure, one located problem per error."""
    data = _get(doc.data, at)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        seen: set[tuple[KeyPath, str]] = set()
        for err in exc.errors():
            path, message, hint = _explain(data, err, model)
            if (path, message) not in seen:
                seen.add((path, message))
                problems.append(doc.problem((*at, *path), message, hint))
        return None


def parse_lenient(doc: YamlDoc, at: KeyPath, model: type[BaseModel], problems: list[Problem]) -> Any:
    """Like ``parse_model``, but on failure also returns a best-effort model without the bad keys,
    so later checks still run and every problem is reported at once, without knock-on noise."""
    parsed = parse_model(doc, at, model, problems)
    data = _get(doc.data, at)
    if parsed is not None or not isinstance(data, dict):
        return parsed
    for cut_deep in (True, False):  # first drop only the bad keys; failing that, their top-level keys
        kept = copy.deepcopy(data)
        try:
            model.model_validate(kept)
        except ValidationError as exc:
            for err in exc.errors():
                path = _real_path(data, tuple(err["loc"]))
                if err["type"] != "missing" and path:
                    _drop(kept, path if cut_deep else path[:1])
        for name, info in model.model_fields.items():
            if info.is_required() and name not in kept:
                kept[name] = ""  # a required text key that is missing or broken: already reported
        try:
            return model.model_validate(kept)
        except ValidationError:
            continue
    return None


def _drop(data: Any, path: KeyPath) -> None:
    for part in path[:-1]:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(data, dict):
        data.pop(path[-1], None)
    elif isinstance(data, list) and isinstance(path[-1], int) and path[-1] < len(data):
        data[path[-1]] = None  # keep indexes of the other items stable


def _explain(data: Any, err: Any, model: type[BaseModel]) -> tuple[KeyPath, str, str]:
    """A pydantic error as (real key path, message, hint) in the user's words."""
    loc = tuple(err["loc"])
    path = _real_path(data, loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(path[-1])
        allowed = _fields_at(model, path[:-1])
        return path, f"unknown key '{key}'", did_you_mean(key, allowed) or (
            f"allowed keys: {', '.join(allowed)}" if allowed else "")
    if kind == "missing":
        return path, f"missing required key '{loc[-1]}'", ""
    value = _get(data, path)
    expected = err["msg"].replace("Input should be ", "must be ")
    return path, f"{expected}, got {kind_of(value)} {value!r}"[:200], ""


def _real_path(data: Any, loc: KeyPath) -> KeyPath:
    """The part of a pydantic location that exists in the data (drops union-branch names)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            continue
        path.append(part)
    return tuple(path)


def _fields_at(model: type[BaseModel], path: KeyPath) -> list[str]:
    """Field names of the model found at ``path`` inside ``model``, for did-you-mean."""
    current: list[Any] = [model]
    for part in path:
        following: list[Any] = []
        for annotation in _unwrap(current):
            origin = get_origin(annotation)
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                if part in annotation.model_fields:
                    following.append(annotation.model_fields[part].annotation)
            elif origin is dict:
                following.append(get_args(annotation)[1])
            elif origin is list and isinstance(part, int):
                following.append(get_args(annotation)[0])
        current = following
    return [name for a in _unwrap(current) if isinstance(a, type) and issubclass(a, BaseModel)
            for name in a.model_fields if name != "root"]


def _unwrap(annotations: list[Any]) -> list[Any]:
    out: list[Any] = []
    for annotation in annotations:
        if get_origin(annotation) in (Union, UnionType):
            out += _unwrap(list(get_args(annotation)))
        elif isinstance(annotation, type) and issubclass(annotation, RootModel):
            out += _unwrap([annotation.model_fields["root"].annotation])
        else:
            out.append(annotation)
    return out


def _get(data: Any, path: KeyPath) -> Any:
    for part in path:
        data = data[part]
    return data


def kind_of(value: Any) -> str:
    """How a YAML value looks to a person: 'a mapping', 'text', ..."""
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__)
