"""The one place rolecall reads environment variables (and the project's ``.env``).

Everything else receives an ``Environment``: a snapshot taken when a command or a
run starts, so one run sees one consistent set of values, and tests can hand in
their own mapping instead of patching ``os.environ``.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# crewai phones home (telemetry, tracing prompts, version checks) unless told not to;
# a run must never wait on the network. Users opt back in by setting these themselves.
QUIET_CREWAI = {"OTEL_SDK_DISABLED": "true", "CREWAI_DISABLE_TELEMETRY": "true",
                "CREWAI_DISABLE_TRACKING": "true", "CREWAI_DISABLE_VERSION_CHECK": "true",
                "CREWAI_TRACING_ENABLED": "false",
                # onnxruntime (the embedded embedder) keeps a device id and a usage database in
                # ~/.cache/Microsoft/DeveloperTools unless this is set when it is first imported
                "ORT_DISABLE_TELEMETRY": "1"}

_YES = ("1", "true", "yes")


def quiet_crewai() -> None:
    for name, value in QUIET_CREWAI.items():
        os.environ.setdefault(name, value)


_storage_set: list[str] = []  # the CREWAI_STORAGE_DIR values rolecall set, so a user's own one is kept


def keep_crewai_storage(folder: Path) -> None:
    """crewai writes a database of task outputs (and its default memory) under the user's home,
    in a folder named after the working directory, on every kickoff; a run keeps them here."""
    current = os.environ.get("CREWAI_STORAGE_DIR")
    if current is None or current in _storage_set:
        value = str(folder.resolve())
        os.environ["CREWAI_STORAGE_DIR"] = value
        _storage_set.append(value)


def own_crewai_storage(folder: Path) -> None:
    """A worker process's own crewai scratch folder, kept by every run it does: crewai rewrites one
    SQLite file of task outputs on every kickoff, and workers sharing it waited on its lock (runs
    took up to four times as long in a batch of eight)."""
    os.environ["CREWAI_STORAGE_DIR"] = str(folder.resolve())


@contextmanager
def temporarily(name: str, value: str) -> Iterator[None]:
    """``name=value`` in the process environment for the block, then as it was before
    (an eval case's script: the scripted model reads ROLECALL_SCRIPT when a run builds it)."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def ray_on_loopback() -> None:
    """Ray's own switch for "no cluster beyond this machine": every Ray server binds 127.0.0.1 only,
    and 127.0.0.1 is not swapped for the machine's address. Ray reads it when it is imported."""
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def load_dotenv(env_file: Path) -> None:
    """Read ``.env`` into the process environment; values already set win."""
    if env_file.exists():
        from dotenv import dotenv_values
        for key, value in dotenv_values(env_file).items():
            if value is not None:
                os.environ.setdefault(key, value)


def dotenv_names(env_file: Path | None) -> list[str]:
    """Variable names the project's ``.env`` defines (their values are secrets to redact)."""
    if env_file is None or not env_file.exists():
        return []
    from dotenv import dotenv_values
    return list(dotenv_values(env_file))


@dataclass(frozen=True)
class Environment(Mapping[str, str]):
    """A read-only snapshot of environment variables, with rolecall's own ones by name."""

    variables: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def current(cls) -> Environment:
        return cls(dict(os.environ))

    @classmethod
    def of(cls, env: Mapping[str, str] | None) -> Environment:
        """``env`` as an Environment (a plain mapping wrapped), or the current one for None."""
        if env is None:
            return cls.current()
        return env if isinstance(env, Environment) else cls(env)

    # --- Mapping: any variable by name (API keys named in profiles, ${VAR} in llm.yaml) ----
    def __getitem__(self, name: str) -> str:
        return self.variables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.variables)

    def __len__(self) -> int:
        return len(self.variables)

    def __hash__(self) -> int:
        return id(self)

    # --- rolecall's own variables ---------------------------------------------------------
    @property
    def project(self) -> str | None:
        """ROLECALL_PROJECT: the project folder when main.py is not run from it."""
        return self.get("ROLECALL_PROJECT") or None

    @property
    def runs(self) -> str | None:
        """ROLECALL_RUNS: run folders and store elsewhere (tests, CI, shared disks)."""
        return self.get("ROLECALL_RUNS") or None

    @property
    def llm(self) -> str | None:
        """ROLECALL_LLM: the model profile for every run, like --llm."""
        return self.get("ROLECALL_LLM") or None

    @property
    def script(self) -> str | None:
        """ROLECALL_SCRIPT: a script file for the scripted model."""
        return self.get("ROLECALL_SCRIPT") or None

    @property
    def scripted_delay(self) -> float:
        """ROLECALL_SCRIPTED_DELAY: seconds the scripted model waits per call (timing tests)."""
        return float(self.get("ROLECALL_SCRIPTED_DELAY") or 0)

    @property
    def local_model(self) -> str | None:
        """ROLECALL_LOCAL_MODEL: a GGUF file every local profile uses instead of its own."""
        return self.get("ROLECALL_LOCAL_MODEL") or None

    @property
    def cache_dir(self) -> Path:
        """ROLECALL_CACHE, else $XDG_CACHE_HOME/rolecall, else ~/.cache/rolecall."""
        if self.get("ROLECALL_CACHE"):
            return Path(self["ROLECALL_CACHE"]).expanduser()
        base = Path(self["XDG_CACHE_HOME"]).expanduser() if self.get("XDG_CACHE_HOME") else Path.home() / ".cache"
        return base / "rolecall"

    @property
    def offline(self) -> bool:
        """ROLECALL_OFFLINE or HF_HUB_OFFLINE: never download a model."""
        return any((self.get(v) or "").lower() in _YES for v in ("ROLECALL_OFFLINE", "HF_HUB_OFFLINE"))

    @property
    def hub_endpoint(self) -> str | None:
        """HF_ENDPOINT: the Hugging Face Hub's own variable for mirrors (tests use a local one)."""
        return self.get("HF_ENDPOINT") or None

    @property
    def serve_token(self) -> str | None:
        """ROLECALL_SERVE_TOKEN: the bearer token ``main.py serve`` asks of every request."""
        return self.get("ROLECALL_SERVE_TOKEN") or None

    @property
    def cores(self) -> int:
        """The cores this process may use (its CPU affinity), for default worker counts."""
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            return os.cpu_count() or 1
