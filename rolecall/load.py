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
    text = read_text(file, problems)
    if text is None:
        return None
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problems.append(Problem(f"YAML syntax error: {exc.problem or exc}", file,
                                _line(text, mark.index) if mark else None,
                                hint="check indentation and quoting on this line"))
        return None
    except yaml.YAMLError as exc:  # the reader refuses a character before any parsing
        position = getattr(exc, "position", None)
        character = getattr(exc, "character", None)
        code = ord(character) if isinstance(character, str) else character
        shown = f"U+{code:04X}" if isinstance(code, int) else repr(character)
        problems.append(Problem(f"the file holds a character YAML does not allow ({shown})", file,
                                _line(text, position) if isinstance(position, int) else None,
                                hint="remove it, or write it as an escape in a double-quoted string"))
        return None
    except RecursionError:
        problems.append(Problem("the YAML is nested too deeply to read", file,
                                hint=f"keep it under {MAX_DEPTH} levels"))
        return None
    doc = YamlDoc(file, {}, {(): 1})
    if node is not None:
        doc.data = _Builder(text, doc, problems).build(node)
    return doc


def read_text(file: Path, problems: list[Problem]) -> str | None:
    """The file as UTF-8 text; an unreadable or non-UTF-8 file is a located problem."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        problems.append(Problem(f"cannot read file: {exc.strerror or exc}", file))
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problems.append(Problem(f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                                file, line, hint="save it as UTF-8"))
        return None


def _line(text: str, index: int) -> int:
    # YAML also counts U+2028, U+2029 and U+0085 as line breaks, editors do not: count newlines
    return text.count("\n", 0, index) + 1


MAX_DEPTH = 64  # no crew file needs more; deeper is a mistake or an attack
MAX_VALUES = 100_000  # after aliases are expanded: an "alias bomb" would reach billions


class _Builder:
    """Turns a composed node tree into plain data, recording the line of every key path.

    Aliases are shared nodes: a recursive one, or so many that the expanded document would
    be huge (9 levels of 10 aliases is 10^9 values), is reported instead of expanded.
    """

    def __init__(self, text: str, doc: YamlDoc, problems: list[Problem]):
        self.text, self.doc, self.problems = text, doc, problems
        self.sizes: dict[int, int] = {}  # node id -> values it expands to

    def build(self, root: yaml.Node) -> Any:
        if self._too_big(root):
            return {}
        return self._value(root, (), ())

    def _too_big(self, root: yaml.Node) -> bool:
        size = self._size(root, ())
        if size is None:
            return True
        if size > MAX_VALUES:
            self.problems.append(Problem(f"the YAML expands to more than {MAX_VALUES:,} values through its aliases",
                                         self.doc.file, 1, hint="write the values out, or use fewer aliases (*name)"))
            return True
        return False

    def _size(self, node: yaml.Node, stack: tuple[int, ...]) -> int | None:
        key = id(node)
        if key in stack:
            self.problems.append(Problem("an alias refers to the value it is part of (a recursive anchor)",
                                         self.doc.file, self.line(node), hint="an alias (*name) must not point "
                                         "at an anchor (&name) that contains it"))
            return None
        if len(stack) > MAX_DEPTH:
            self.problems.append(Problem(f"the YAML is nested more than {MAX_DEPTH} levels deep", self.doc.file,
                                         self.line(node), hint="flatten this value"))
            return None
        if key not in self.sizes:
            children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else \
                node.value if isinstance(node, yaml.SequenceNode) else []
            total = 1
            for child in children:
                size = self._size(child, (*stack, key))
                if size is None:
                    return None
                total = min(total + size, MAX_VALUES + 1)
            self.sizes[key] = total
        return self.sizes[key]

    def line(self, node: yaml.Node) -> int:
        return _line(self.text, node.start_mark.index)

    def _value(self, node: yaml.Node, path: KeyPath, stack: tuple[int, ...]) -> Any:
        self.doc.lines.setdefault(path, self.line(node))
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                # a key YAML reads as a number, date, bool or null is still a name to a person
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else self._text(key_node)
                child = (*path, key)
                if key in out:
                    self.problems.append(Problem(f"duplicate key '{key}' (the earlier one would be silently "
                                                 f"dropped)", self.doc.file, self.line(key_node), dotted(child),
                                                 "remove one of them"))
                self.doc.lines[child] = self.line(key_node)
                out[key] = self._value(value_node, child, (*stack, id(node)))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._value(item, (*path, i), stack) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _text(self, node: yaml.Node) -> str:
        # a mapping or list used as a key: shown as written, so the error names it
        return self.text[node.start_mark.index:node.end_mark.index]

    def _scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        """A scalar's Python value, typed the way ``yaml.safe_load`` would type it."""
        construct = _CONSTRUCTOR.yaml_constructors.get(node.tag)
        if construct is None:
            return node.value
        try:
            return construct(_CONSTRUCTOR, node)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError,
                yaml.constructor.ConstructorError):
            kind = _TAG_NAMES.get(node.tag, node.tag.rsplit(":", 1)[-1])
            implicit = node.style in (None, "") and _CONSTRUCTOR.resolve(yaml.ScalarNode, node.value,
                                                                         (True, False)) == node.tag
            self.problems.append(self.doc.problem(
                path, f"'{node.value}' is not a valid {kind}" + (" (YAML reads it as one)" if implicit else ""),
                "quote it to keep it as text" if implicit else f"remove the {node.tag} tag to keep it as text"))
            return node.value


_TAG_NAMES = {"tag:yaml.org,2002:timestamp": "date", "tag:yaml.org,2002:int": "whole number",
              "tag:yaml.org,2002:float": "number", "tag:yaml.org,2002:bool": "true/false value",
              "tag:yaml.org,2002:binary": "base64 value", "tag:yaml.org,2002:null": "null"}


_CONSTRUCTOR = yaml.SafeLoader("")
# libyaml's parser is ~10x faster and keeps the same marks; fall back where it is not built in
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
