"""Bad YAML never gets a traceback: the shipped crews' files, mutated, validated as `main.py validate` does.

A structure-aware fuzzer (hypothesis): it takes a real crew, picks a file and mutates it
the ways people and attackers do: a value replaced by a hostile scalar (impossible dates,
explicit tags, control and line-separator characters, huge or non-ASCII text), a key
renamed or duplicated, a recursive alias or an alias bomb, deep nesting, bytes that are
not UTF-8, a context graph that forks at every task. Every case must end in a
``Validation`` (never an exception), within a second, with every error located.
``ROLECALL_FUZZ_EXAMPLES=10000`` runs a long campaign; the suite runs a short one.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import REPO
from rolecall.discover import find
from rolecall.llm.profiles import load_config
from rolecall.project import Project
from rolecall.validate import validate

CREWS = sorted(p.name for p in (REPO / "crews").iterdir() if (p / "crew.yaml").exists())
FILES = ("config/agents.yaml", "config/tasks.yaml", "crew.yaml")
EXAMPLES = int(os.environ.get("ROLECALL_FUZZ_EXAMPLES") or 150)

HOSTILE_SCALARS = [
    "2026-06-31", "!!int xx", "!!bool maybe", "!!timestamp junk", "!!binary ZZ", "!!float nope", "!!null x",
    "!!python/object/apply:os.system ['echo pwned']", '"x\u009by"', '"x\u2028y\u2029z"', '"a\u0085b"',
    "~", "null", "[]", "{}", "[1, [2, [3]]]", "{a: {b: {c: d}}}", "0x1F", "1e999", "-.inf", ".nan",
    "yes", "no", "on", "2026-01-01T10:00:00", "'{unclosed'", '"}}{{"', "'{topic'", "'{ topic }'",
    "'" + "x" * 5000 + "'", "'日本語のテキスト'", "'\U0001F600 emoji'", "&anchor value", "*missing_alias",
    "!!str", "|\n  block\n  text", ">\n  folded", "- a\n- b", "? complex\n: key", "!!set {a, b}",
]
HOSTILE_KEYS = ["2026-01-01", "true", "null", "1", "3.5", "'日本語キー'", "x" * 300, "backstroy", "agnet",
                "contxt", "tools", "llm", "name", "role", "[a, b]", "{k: v}", "''", "'a.b'", "'a b'"]


def _nest(depth: int) -> str:
    return "[" * depth + "]" * depth


def _alias_bomb(levels: int) -> str:
    lines = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _fork_tasks(count: int) -> str:
    """Tasks each reading the next two: a cycle search without memory walks Fibonacci-many paths."""
    out = []
    for i in range(count):
        nxt = [f"t{j}" for j in (i + 1, i + 2) if j < count]
        out.append(f"t{i}:\n  description: d\n  expected_output: e\n  agent: a\n  context: [{', '.join(nxt)}]\n")
    return "".join(out)


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, str, bytes]:
    crew = draw(st.sampled_from(CREWS))
    file = draw(st.sampled_from(FILES))
    text = (REPO / "crews" / crew / file).read_text(encoding="utf-8")
    lines = text.splitlines()
    kind = draw(st.sampled_from(["value", "key", "duplicate", "insert", "recursive", "bomb", "deep", "bytes",
                                 "truncate", "forks", "indent"]))
    keyed = [i for i, line in enumerate(lines) if ":" in line and not line.lstrip().startswith("#")] or [0]
    at = draw(st.sampled_from(keyed))
    line = lines[at] if lines else ""
    indent = line[: len(line) - len(line.lstrip())]
    key = line.split(":", 1)[0].strip() or "k"
    if kind == "value":
        lines[at] = f"{indent}{key}: {draw(st.sampled_from(HOSTILE_SCALARS))}"
    elif kind == "key":
        lines[at] = f"{indent}{draw(st.sampled_from(HOSTILE_KEYS))}:{line.split(':', 1)[1] if ':' in line else ''}"
    elif kind == "duplicate":
        lines.insert(at + 1, line)
    elif kind == "insert":
        lines.insert(at + 1, f"{indent}{draw(st.sampled_from(HOSTILE_KEYS))}: {draw(st.sampled_from(HOSTILE_SCALARS))}")
    elif kind == "recursive":
        lines[at] = f"{indent}{key}: &r {{self: *r}}"
    elif kind == "bomb":
        lines = _alias_bomb(draw(st.integers(2, 9))).splitlines() + lines
    elif kind == "deep":
        lines[at] = f"{indent}{key}: {_nest(draw(st.integers(10, 3000)))}"
    elif kind == "truncate":
        lines = lines[: draw(st.integers(0, len(lines)))]
    elif kind == "forks":
        file, lines = "config/tasks.yaml", _fork_tasks(draw(st.integers(5, 40))).splitlines()
    elif kind == "indent":
        lines[at] = draw(st.sampled_from(["\t", "  ", "      "])) + line.lstrip()
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if kind == "bytes":
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.sampled_from([b"\xff", b"\xe9", b"\x00", b"\xc3\x28", b"\r", b"\x1b[31m"])) \
            + data[cut:]
    return crew, file, data


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "tools").symlink_to(REPO / "tools")
    (root / "config").symlink_to(REPO / "config")
    shutil.copytree(REPO / "crews", root / "crews", ignore=shutil.ignore_patterns("__pycache__", "data"))
    return Project(root)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
@given(case=mutation())
def test_mutated_crews_get_located_errors_never_a_traceback(workspace: Project, case: tuple[str, str, bytes]) -> None:
    crew, file, data = case
    target = workspace.crews_dir / crew / file
    original = (REPO / "crews" / crew / file).read_bytes()
    target.write_bytes(data)
    try:
        started = time.perf_counter()
        result = validate(workspace, find(workspace, crew), PROFILES, {"SERPER_API_KEY": "x"})
        took = time.perf_counter() - started
    finally:
        target.write_bytes(original)
    assert took < 1.0, f"validating took {took:.2f} s"
    for problem in result.problems:
        assert problem.file is not None and (problem.line or problem.path), problem.render()
        assert problem.render(workspace.root)


PROFILES = list(load_config(REPO / "config").profiles)


def test_the_safe_loader_never_runs_anything(workspace: Project, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    target = workspace.crews_dir / "research_report" / "crew.yaml"
    original = target.read_bytes()
    target.write_text(f"description: !!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8")
    try:
        result = validate(workspace, find(workspace, "research_report"), PROFILES, {})
    finally:
        target.write_bytes(original)
    assert not marker.exists() and not result.ok
    assert yaml.safe_load("a: 1") == {"a": 1}


HAZARDS = {
    "schemas.py is a folder": lambda crew: (crew / "schemas.py").mkdir(),
    "schemas.py is not UTF-8": lambda crew: (crew / "schemas.py").write_bytes(b"class Report:\n    x = '\xff'\n"),
    "schemas.py nests too deep": lambda crew: (crew / "schemas.py").write_text("x = " + "(" * 5000 + ")" * 5000),
    "tools.py nests too deep": lambda crew: (crew / "tools.py").write_text("x = " + "[" * 5000 + "]" * 5000),
    "tools.py is not UTF-8": lambda crew: (crew / "tools.py").write_bytes(b"def f():\n    return '\xe9'\n"),
    "crew.yaml is a folder": lambda crew: ((crew / "crew.yaml").unlink(), (crew / "crew.yaml").mkdir()),
    "agents.yaml is empty": lambda crew: (crew / "config" / "agents.yaml").write_text(""),
    "tasks.yaml is a list": lambda crew: (crew / "config" / "tasks.yaml").write_text("- a\n- b\n"),
}


@pytest.mark.parametrize("hazard", sorted(HAZARDS))
def test_broken_files_around_the_yaml_are_reported_not_raised(tmp_project: Project, hazard: str) -> None:
    crew = tmp_project.crews_dir / "research_report"
    shutil.copytree(REPO / "crews" / "research_report", crew, ignore=shutil.ignore_patterns("__pycache__"))
    HAZARDS[hazard](crew)
    result = validate(tmp_project, find(tmp_project, "research_report"), PROFILES, {})
    for problem in result.problems:
        assert problem.file is not None, problem.render()
