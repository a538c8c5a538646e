"""What one run needs from its surroundings, gathered once and passed down.

A ``RunContext`` is built when a run (or resume) starts: the project, a snapshot of
the environment, settings and prices, the model profiles (``config/llm.yaml`` read
once), the redactor and the open run store. Nothing below it reads files or
variables of its own accord. The read side (``runs``, ``show-run``, ``report``)
only needs ``open_store``.
"""
from __future__ import annotations

from dataclasses import dataclass

from .environment import Environment
from .llm.profiles import LlmConfig, load_config
from .project import Project
from .redact import Redactor
from .settings import Settings
from .store import RunStore


def redactor_for(project: Project, env: Environment) -> Redactor:
    return Redactor.from_environment(env, env_file=project.env_file)


def open_store(project: Project, env: Environment | None = None, settings: Settings | None = None) -> RunStore:
    """The project's run store, redacting with the project's secrets."""
    env = env or Environment.current()
    settings = settings or Settings(project)
    return RunStore(settings.store_path, redactor_for(project, env))


def store_exists(project: Project) -> bool:
    """Whether any run was ever recorded (so read-only commands need not create an empty store)."""
    return Settings(project).store_path.exists()


@dataclass(frozen=True)
class RunContext:
    project: Project
    env: Environment
    settings: Settings
    llm_config: LlmConfig
    store: RunStore

    @property
    def redactor(self) -> Redactor:
        return self.store.redact

    @classmethod
    def open(cls, project: Project, env: Environment | None = None) -> RunContext:
        env = env or Environment.current()
        settings = Settings(project)
        return cls(project, env, settings, load_config(project.config_dir, env),
                   open_store(project, env, settings))
