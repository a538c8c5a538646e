"""JSONC as people write it, read with the line and column of every key.

CrewAI 1.15's JSON crews allow ``//`` and ``/* */`` comments and trailing commas. crewai
strips them and hands the rest to ``json.loads``, so its errors point into a text the user
never saw. This reader parses the file as written: a mistake is located where it is, with
a plain hint, and every key path keeps its position for later checks. Standard library only.
"""
from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

KeyPath = tuple[str | int, ...]

MAX_DEPTH = 64  # no crew file needs more; deeper is a mistake or an attack
MAX_VALUES = 100_000  # as for YAML: about a second to read; no crew file comes near


@dataclass(frozen=True)
class Spot:
    """A position in a file, both counted from 1."""

    line: int
    column: int


@dataclass
class Parsed:
    """A JSONC document: its data, where each key path is written, and keys written twice."""

    data: Any
    spots: dict[KeyPath, Spot] = field(default_factory=dict)
    duplicates: list[tuple[KeyPath, Spot]] = field(default_factory=list)  # the later key counts, as in JSON


class JsoncError(ValueError):
    """A syntax error: what is wrong, where, and how to fix it."""

    def __init__(self, message: str, spot: Spot, hint: str = ""):
        super().__init__(message)
        self.message, self.spot, self.hint = message, spot, hint


def parse(text: str) -> Parsed:
    """The document in ``text``; raises ``JsoncError`` at the first syntax error."""
    return _Reader(text).document()


# spaces and complete comments, in one match; what stops it (an open /*, a lone /) is checked after
_GAP = re.compile(r"(?:[ \t\r\n]+|//[^\n]*|/\*.*?\*/)*", re.S)
_PLAIN = re.compile(r'"[^"\\\x00-\x1f]*"')  # most strings: no escapes, so no decoding
# a string on one line: JSON has no line breaks inside strings, so an unclosed quote stops at the line end
_STRING = re.compile(r'"(?:[^"\\\n\r]|\\[^\n\r])*"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_NUMBERISH = re.compile(r"[-+\w.]+")
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}
_NOT_JSON = {"True": "true", "False": "false", "None": "null", "TRUE": "true", "FALSE": "false",
             "NULL": "null", "Null": "null"}


class _Reader:
    def __init__(self, text: str):
        self.text = text[1:] if text.startswith("\ufeff") else text  # a BOM: editors hide it, so do columns
        self.end = len(self.text)
        self.starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        self.parsed = Parsed(None)
        self.values = 0

    def spot(self, i: int) -> Spot:
        line = bisect_right(self.starts, i)
        return Spot(line, i - self.starts[line - 1] + 1)

    def fail(self, i: int, message: str, hint: str = "") -> JsoncError:
        return JsoncError(message, self.spot(i), hint)

    # --- the document ---------------------------------------------------------

    def document(self) -> Parsed:
        i = self.skip(0)
        if i >= self.end:
            raise self.fail(i, "the file holds no JSON value", "write the settings as an object: { ... }")
        self.parsed.spots[()] = self.spot(i)
        self.parsed.data, i = self.value(i, (), 0)
        i = self.skip(i)
        if i < self.end:
            raise self.fail(i, f"unexpected {self.shown(i)} after the end of the document",
                            "a file holds one object; is a ',' or a bracket missing before this?")
        return self.parsed

    def skip(self, i: int) -> int:
        """The index of the next token after spaces and comments."""
        i = _GAP.match(self.text, i).end()  # type: ignore[union-attr]  # matches the empty string at worst
        if self.text.startswith("/*", i):
            raise self.fail(i, "this /* comment is never closed", "end it with */")
        if self.text.startswith("/", i):
            raise self.fail(i, "'/' does not start a comment", "write // for a line comment or /* ... */")
        return i

    def value(self, i: int, path: KeyPath, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise self.fail(i, f"the document is nested more than {MAX_DEPTH} levels deep", "flatten this value")
        self.values += 1
        if self.values > MAX_VALUES:
            raise self.fail(i, f"the file holds more than {MAX_VALUES:,} values", "split it, or keep data out of it")
        char = self.text[i:i + 1]
        if char == "{":
            return self.object(i, path, depth)
        if char == "[":
            return self.array(i, path, depth)
        if char == '"':
            return self.string(i)
        if char == "-" or char.isdigit():
            return self.number(i)
        return self.literal(i)

    def object(self, start: int, path: KeyPath, depth: int) -> tuple[dict[str, Any], int]:
        out: dict[str, Any] = {}
        i = self.skip(start + 1)
        while self.text[i:i + 1] != "}":
            if i >= self.end:
                raise self.unclosed(start, "}")
            key_at = i
            key, i = self.key(i)
            i = self.skip(i)
            if self.text[i:i + 1] != ":":
                raise self.fail(i, f"expected ':' after the key \"{key}\", found {self.shown(i)}",
                                'write "key": value')
            child = (*path, key)
            if key in out:
                self.parsed.duplicates.append((child, self.spot(key_at)))
            self.parsed.spots[child] = self.spot(key_at)
            out[key], i = self.value(self.skip(i + 1), child, depth + 1)
            i = self.after_item(i, start, "}", f'the value of "{key}"')
        return out, i + 1

    def array(self, start: int, path: KeyPath, depth: int) -> tuple[list[Any], int]:
        out: list[Any] = []
        i = self.skip(start + 1)
        while self.text[i:i + 1] != "]":
            if i >= self.end:
                raise self.unclosed(start, "]")
            if self.text[i] == ",":
                raise self.fail(i, "a ',' with no value before it", "remove it")
            child = (*path, len(out))
            self.parsed.spots[child] = self.spot(i)
            item, i = self.value(i, child, depth + 1)
            out.append(item)
            i = self.after_item(i, start, "]", f"item {len(out) - 1}")
        return out, i + 1

    def after_item(self, i: int, start: int, close: str, what: str) -> int:
        """Past the comma after an item (a trailing comma is fine), or at the closing bracket."""
        end_of_value = i
        i = self.skip(i)
        char = self.text[i:i + 1]
        if char == ",":
            return self.skip(i + 1)
        if char == close:
            return i
        if not char:
            raise self.unclosed(start, close)
        if char in "]}":
            at = self.spot(start)
            raise self.fail(i, f"'{char}' cannot close the '{self.text[start]}' opened at {at.line}:{at.column}",
                            f"write '{close}' here, or open a '{'[' if char == ']' else '{'}' to match")
        raise self.fail(end_of_value, f"missing ',' after {what} (the next one starts at "
                                      f"{self.spot(i).line}:{self.spot(i).column})",
                        f"add a comma here, or close with '{close}'")

    def unclosed(self, start: int, close: str) -> JsoncError:
        opened = self.text[start]
        return self.fail(start, f"this '{opened}' is never closed", f"add a '{close}' where it should end")

    def key(self, i: int) -> tuple[str, int]:
        char = self.text[i]
        if char == '"':
            return self.string(i)
        if char == ",":
            raise self.fail(i, "a ',' with no value before it", "remove it")
        if char == "'":
            raise self.fail(i, "keys take double quotes in JSON", "write \"key\", not 'key'")
        word = _WORD.match(self.text, i)
        if word:
            raise self.fail(i, f"the key {word.group()} needs double quotes", f'write "{word.group()}"')
        raise self.fail(i, f"expected a key in double quotes or '}}', found {self.shown(i)}")

    def string(self, i: int) -> tuple[str, int]:
        plain = _PLAIN.match(self.text, i)
        if plain is not None:
            return plain.group()[1:-1], plain.end()
        match = _STRING.match(self.text, i)
        if match is None:
            raise self.fail(i, "this string is never closed: it has no closing \" on its line",
                            'end it with ", and write a line break inside it as \\n')
        try:
            return json.loads(match.group()), match.end()
        except json.JSONDecodeError as exc:  # a bad escape or a raw control character
            inner = match.group()[exc.pos:exc.pos + 1]
            if inner and ord(inner) < 0x20:
                raise self.fail(i + exc.pos, f"a raw control character (U+{ord(inner):04X}) inside a string",
                                "write a tab as \\t; other control characters as \\uXXXX") from None
            raise self.fail(i + exc.pos, "this backslash starts no valid escape",
                            'write a backslash as \\\\; escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX') from None

    def number(self, i: int) -> tuple[int | float, int]:
        match = _NUMBER.match(self.text, i)
        following = self.text[match.end():match.end() + 1] if match else ""
        if match is None or following.isalnum() or following in (".", "_"):  # 01, 1.5.2, 3px, .5
            word = _NUMBERISH.match(self.text, i)
            shown = word.group() if word else self.text[i]
            raise self.fail(i, f"'{shown}' is not a JSON number",
                            f'write it as a number like 3 or 0.5, or as text "{shown}"')
        token = match.group()
        try:
            number: int | float = int(token) if re.fullmatch(r"-?[0-9]+", token) else float(token)
        except ValueError:  # Python refuses to read an integer of more than 4300 digits
            raise self.fail(i, f"the number has {len(token)} digits, too many to read",
                            "write it as text if you mean it") from None
        if isinstance(number, float) and not math.isfinite(number):
            raise self.fail(i, f"the number {token[:30]} is too large", "write it as text if you mean it")
        return number, match.end()

    def literal(self, i: int) -> tuple[Any, int]:
        word = _WORD.match(self.text, i)
        if word is None:
            char = self.text[i:i + 1]
            if not char:
                raise self.fail(i, "the file ends where a value should be",
                                "finish the value, or remove the ':' or ','")
            if char == "'":
                raise self.fail(i, "strings take double quotes in JSON", "write \"text\", not 'text'")
            raise self.fail(i, f"expected a value, found {self.shown(i)}",
                            'a value is "text", a number, true, false, null, [ ... ] or { ... }')
        name = word.group()
        if name in _LITERALS:
            return _LITERALS[name], word.end()
        if name in _NOT_JSON:
            raise self.fail(i, f"'{name}' is not JSON", f"write {_NOT_JSON[name]}")
        if name in ("NaN", "Infinity"):
            raise self.fail(i, f"JSON has no {name}", "write a number, or null")
        raise self.fail(i, f"text must be in double quotes: {name}", f'write "{name}"')

    def shown(self, i: int) -> str:
        char = self.text[i:i + 1]
        if not char:
            return "the end of the file"
        return f"'{char}'" if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"
