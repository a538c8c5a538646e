"""Where a rolecall project keeps its crews, settings, shared tools and runs."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Project:
    root: Path
    runs: Path | None = None  # where run folders go; default <root>/runs

    @classmethod
    def at(cls, root: str | os.PathLike[str] | None = None) -> "Project":
        chosen = root or os.environ.get("ROLECALL_PROJECT") or Path.cwd()
        runs = os.environ.get("ROLECALL_RUNS")  # run folders and store elsewhere (tests, CI, shared disks)
        return cls(Path(chosen).resolve(), Path(runs).resolve() if runs else None)

    @property
    def crews_dir(self) -> Path:
        return self.root / "crews"

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
