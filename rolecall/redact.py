"""Keep secrets out of the run store, run folders, reports and logs.

Every value of a secret-looking environment variable, and every value in the
project's .env, is replaced by ``[redacted:NAME]`` wherever rolecall writes text.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.I)
_MIN_LENGTH = 6  # shorter values ("1", "true") would redact ordinary words


@dataclass
class Redactor:
    secrets: dict[str, str] = field(default_factory=dict)  # value -> variable name

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None, env_file: Path | None = None) -> "Redactor":
        env = os.environ if env is None else env
        names = [name for name in env if _SECRET_NAME.search(name)]
        names += _dotenv_names(env_file)
        return cls({env[n]: n for n in names if n in env and len(env[n] or "") >= _MIN_LENGTH})

    def add(self, names: Iterable[str], env: Mapping[str, str]) -> None:
        for name in names:
            if len(env.get(name) or "") >= _MIN_LENGTH:
                self.secrets[env[name]] = name

    def text(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):  # longest first: one may contain another
            if secret in text:
                text = text.replace(secret, f"[redacted:{self.secrets[secret]}]")
        return text

    def value(self, value: Any) -> Any:
        return self.text(value) if isinstance(value, str) else value


def _dotenv_names(env_file: Path | None) -> list[str]:
    if env_file is None or not env_file.exists():
        return []
    names = []
    for line in env_file.read_text(encoding="utf-8").splitlines():
        key, sep, _ = line.strip().removeprefix("export ").partition("=")
        if sep and key and not key.startswith("#"):
            names.append(key.strip())
    return names
