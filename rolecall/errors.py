"""The errors rolecall raises for people to read, all in one family.

    RolecallError          anything rolecall reports to a person: bad input, never a bug (exit 2)
    ├── ConfigError        a crew's files, config/*.yaml or .env are wrong: fix the file named
    │   └── InputError     a run's inputs are missing, unknown or of the wrong type: fix the call
    ├── ModelUnavailable   no model can answer: a key, a model file, llama-cpp, or every fallback
    ├── RunNotFound        no run with that id in the run store: check `main.py runs`
    └── RunStateError      the run cannot do that now: nothing to resume, no approval pending

Each carries a list of located ``Problem``s (file, line, key path, hint); ``str()``
gives them one per line.
"""
from __future__ import annotations

from collections.abc import Iterable

from .problem import Problem


class RolecallError(Exception):
    """Bad input or configuration: exit code 2, never a traceback."""

    def __init__(self, problems: Problem | Iterable[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(p.render() for p in self.problems))


class ConfigError(RolecallError):
    """A crew's YAML, a project settings file or a model profile is wrong."""


class InputError(ConfigError):
    """A run's inputs do not match what the crew declares."""


class ModelUnavailable(RolecallError):
    """No model can answer: a missing API key or model file, or every profile in a chain failed."""


class RunNotFound(RolecallError):
    """No run with the given id (or id prefix) is in the run store."""


class RunStateError(RolecallError):
    """The run is not in a state that allows this (resume a completed run, decide no pending gate)."""
