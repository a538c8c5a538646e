"""Project settings (``config/settings.yaml``) and model prices (``config/prices.yaml``)."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, StrictStr

from .errors import ConfigError
from .load import load_yaml, parse_model
from .problem import Problem
from .project import Project
from .spec import Strict


class SettingsSpec(Strict):
    run_store: StrictStr | None = Field(None, description="SQLite run store; default runs/rolecall.db")
    prices: StrictStr = Field("config/prices.yaml", description="Model prices file")


class Price(Strict):
    input: float = Field(ge=0, description="USD per million prompt tokens")
    output: float = Field(ge=0, description="USD per million completion tokens")


class PricesSpec(Strict):
    models: dict[StrictStr, Price] = Field(default_factory=dict)


def _read(file: Path, model: type[Strict]) -> Strict:
    if not file.exists():
        return model()
    problems: list[Problem] = []
    doc = load_yaml(file, problems)
    parsed = parse_model(doc, (), model, problems) if doc else None
    if parsed is None:
        raise ConfigError(problems)
    return parsed


class Settings:
    """config/settings.yaml and the prices it points at; built once per run (see ``context``)."""

    def __init__(self, project: Project):
        self.project = project
        self.spec: SettingsSpec = _read(project.config_dir / "settings.yaml", SettingsSpec)  # type: ignore[assignment]

    @property
    def store_path(self) -> Path:
        # a project that redirects its run folders (tests, CI) keeps its store with them
        if self.spec.run_store is None or self.project.runs is not None:
            return self.project.runs_dir / "rolecall.db"
        return self.project.root / self.spec.run_store

    @cached_property
    def prices(self) -> PricesSpec:
        return _read(self.project.root / self.spec.prices, PricesSpec)  # type: ignore[return-value]

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        """USD for one call, or None when the model has no price."""
        name = model.split("/", 1)[-1]
        price = self.prices.models.get(name)
        if price is None:
            return None
        return (prompt_tokens * price.input + completion_tokens * price.output) / 1_000_000
