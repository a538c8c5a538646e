"""A batch's rows: one run's inputs each, read from CSV, JSON Lines, YAML or JSON, each knowing its line.

Values stay as written (CSV cells are text); the crew's typed inputs coerce them
(``inputs.bind``), so a bad row is reported with its row number and line and the
other rows still run. An empty CSV cell means "not given": the input's default applies.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError
from .load import load_yaml
from .problem import Problem

FORMATS = (".csv", ".jsonl", ".ndjson", ".yaml", ".yml", ".json")
MAX_ROWS = 100_000  # a batch bigger than this is a mistake (or a job for several batches)


@dataclass(frozen=True)
class DataRow:
    number: int  # 1-based, as a person counts the rows of the file
    values: dict[str, Any]
    line: int | None = None


def read_rows(path: Path) -> list[DataRow]:
    """Every row of ``path``; an unreadable file or a row that is not a mapping is an ``InputError``."""
    if not path.is_file():
        raise InputError(Problem(f"no inputs file {path}", hint="give a .csv, .jsonl or .yaml file of input rows"))
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(Problem(f"{path.name}: unknown inputs format '{suffix or path.name}'",
                                 file=path, hint=f"use one of {', '.join(FORMATS)}"))
    problems: list[Problem] = []
    reader = {".csv": _csv, ".jsonl": _jsonl, ".ndjson": _jsonl}.get(suffix, _yaml)
    rows = reader(path, problems)
    if not rows and not problems:
        problems.append(Problem("the inputs file has no rows", file=path))
    if len(rows) > MAX_ROWS:
        problems.append(Problem(f"{len(rows)} rows; a batch takes at most {MAX_ROWS}", file=path,
                                hint="split the file"))
    if problems:
        raise InputError(problems)
    return rows


def _csv(path: Path, problems: list[Problem]) -> list[DataRow]:
    rows: list[DataRow] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: spreadsheets write a BOM
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            return rows
        blank = [i + 1 for i, name in enumerate(reader.fieldnames) if not (name or "").strip()]
        if blank:
            problems.append(Problem(f"column {blank[0]} has no name", file=path, line=1,
                                    hint="the first line names each column after an input"))
            return rows
        line = 1
        for number, record in enumerate(reader, start=1):
            if None in record:  # more cells than columns
                problems.append(Problem(f"row {number} has more cells than the header has columns",
                                        file=path, line=line + 1, path=f"row {number}"))
            values = {k.strip(): v for k, v in record.items() if k is not None and v not in (None, "")}
            rows.append(DataRow(number, values, line + 1))
            line = reader.line_num
    return rows


def _jsonl(path: Path, problems: list[Problem]) -> list[DataRow]:
    rows: list[DataRow] = []
    number = 0
    for line, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        number += 1
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(f"row {number} is not JSON: {exc.msg}", file=path, line=line,
                                    column=exc.colno, path=f"row {number}"))
            continue
        _add(rows, value, number, line, path, problems)
    return rows


def _yaml(path: Path, problems: list[Problem]) -> list[DataRow]:
    doc = load_yaml(path, problems)  # JSON is YAML; either way every row keeps its line
    if doc is None:
        return []
    data = doc.data.get("rows") if isinstance(doc.data, dict) and "rows" in doc.data else doc.data
    at: tuple[str, ...] = ("rows",) if data is not doc.data else ()
    if not isinstance(data, list):
        problems.append(doc.problem(at, "expected a list of rows (one mapping of inputs each)"))
        return []
    rows: list[DataRow] = []
    for index, value in enumerate(data):
        _add(rows, value, index + 1, doc.line((*at, index)), path, problems)
    return rows


def _add(rows: list[DataRow], value: Any, number: int, line: int | None, path: Path,
         problems: list[Problem]) -> None:
    if not isinstance(value, dict):
        problems.append(Problem(f"row {number} is not a mapping of input names to values", file=path, line=line,
                                path=f"row {number}", hint='for example {"topic": "tides"}'))
        return
    rows.append(DataRow(number, {str(k): v for k, v in value.items()}, line))
