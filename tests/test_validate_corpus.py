"""Every validation rule, one bad crew each: tests/fixtures/bad/<case>.yaml.

A case overrides files of ``_base.yaml`` (a valid crew) and lists the exact
problems ``validate`` must report, rendered as the user sees them.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import load_case, write_files
from rolecall.discover import find
from rolecall.llm.profiles import load_config
from rolecall.validate import validate

CORPUS = Path(__file__).parent / "fixtures" / "bad"
CASES = sorted(p.stem for p in CORPUS.glob("*.yaml") if not p.name.startswith("_"))


def materialize(project, name: str, files: dict) -> None:
    base = load_case(CORPUS / "_base.yaml")
    merged = {**base, **files}
    write_files(project.crews_dir / name, {k: v for k, v in merged.items() if v is not None})


def test_the_base_crew_is_valid(tmp_project):
    materialize(tmp_project, "base", {})
    result = validate(tmp_project, find(tmp_project, "base"), load_config(tmp_project.config_dir).profiles)
    assert result.problems == [] and result.ok


@pytest.mark.parametrize("case", CASES)
def test_bad_config_is_reported_with_file_line_and_key(tmp_project, case):
    spec = load_case(CORPUS / f"{case}.yaml")
    materialize(tmp_project, case, spec["files"])
    env = spec.get("env", {"SERPER_API_KEY": "x"})
    result = validate(tmp_project, find(tmp_project, case), load_config(tmp_project.config_dir).profiles, env)
    rendered = sorted(p.render(tmp_project.root) for p in result.problems)
    assert rendered == sorted(spec["expect"])
    assert not result.ok


def test_corpus_covers_the_rules_the_issue_names():
    needed = {"unknown_key", "wrong_type", "dangling_agent", "dangling_context", "unknown_tool", "unknown_schema",
              "manager_unknown_agent", "hierarchical_without_manager", "manager_with_tools", "context_cycle",
              "forward_context", "undeclared_placeholder", "unused_input", "stray_brace", "double_binding",
              "tool_missing_env"}
    assert needed <= set(CASES)
