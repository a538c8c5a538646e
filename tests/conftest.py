"""Shared fixtures: throwaway projects that borrow this repo's tools and settings."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REPO
from rolecall.project import Project


@pytest.fixture
def tmp_project(tmp_path: Path) -> Project:
    """An empty project with this repo's tools/ and config/, and its own crews/ and runs/."""
    root = tmp_path / "project"
    (root / "crews").mkdir(parents=True)
    (root / "tools").symlink_to(REPO / "tools")
    (root / "config").symlink_to(REPO / "config")
    return Project(root)


@pytest.fixture
def repo_project(tmp_path: Path) -> Project:
    """This repository's own crews, with run folders in tmp_path."""
    return Project(REPO, runs=tmp_path / "runs")


@pytest.fixture(autouse=True)
def _no_ambient_model_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their model explicitly; a developer's shell must not leak in."""
    for name in ("ROLECALL_LLM", "ROLECALL_SCRIPT", "ROLECALL_SCRIPTED_DELAY", "ROLECALL_PROJECT", "ROLECALL_RUNS"):
        monkeypatch.delenv(name, raising=False)
