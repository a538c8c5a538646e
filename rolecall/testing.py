"""A pytest plugin for crew authors: run any crew on the scripted model in a test.

Installed with rolecall (entry point ``pytest11``), so in any project::

    def test_my_crew(run_crew):
        result = run_crew("my_crew", inputs={"topic": "tides"})
        assert result.ok
        assert result.task("research_task").agent == "researcher"

A script (see ``rolecall.llm.scripted``) can be passed as a dict to replay
exact replies and tool calls. Run folders go to pytest's tmp_path.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import api
from .environment import Environment
from .project import Project
from .result import RunResult


@pytest.fixture
def rolecall_project(request: pytest.FixtureRequest, tmp_path: Path) -> Project:
    """The project under test: $ROLECALL_PROJECT, else pytest's root folder; runs go to tmp_path."""
    root = Environment.current().project or str(request.config.rootpath)
    return Project(Path(root).resolve(), runs=tmp_path / "runs")


@pytest.fixture
def run_crew(rolecall_project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., RunResult]:
    """``run_crew(name, inputs=None, script=None, llm="scripted", project=None) -> RunResult``."""

    def runner(name: str, inputs: dict[str, Any] | None = None, script: dict[str, Any] | None = None,
               llm: str = "scripted", project: Project | None = None) -> RunResult:
        if script is not None:
            file = tmp_path / f"script-{name}.yaml"
            file.write_text(yaml.safe_dump(script), encoding="utf-8")
            monkeypatch.setenv("ROLECALL_SCRIPT", str(file))
        return api.run(name, inputs, llm=llm, project=project or rolecall_project)

    return runner
