"""Where a rolecall project keeps its crews, settings, shared tools and runs."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .environment import Environment


@dataclass(frozen=True)
class Project:
    root: Path
    runs: Path | None = None  # where run folders go; default <root>/runs

    @classmethod
    def at(cls, root: str | os.PathLike[str] | None = None, env: Environment | None = None) -> Project:
        """The project at ``root``, else $ROLECALL_PROJECT, else the current folder."""
        env = env or Environment.current()
        chosen = root or env.project or Path.cwd()
        return cls(Path(chosen).resolve(), Path(env.runs).resolve() if env.runs else None)

    @property
    def crews_dir(self) -> Path:
        return self.root / "crews"

    @property
    def flows_dir(self) -> Path:
        return self.root / "flows"

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def tools_dir(self) -> Path:
        return self.root / "tools"

    @property
    def runs_dir(self) -> Path:
        return self.runs or self.root / "runs"

    @property
    def env_file(self) -> Path:
        return self.root / ".env"
