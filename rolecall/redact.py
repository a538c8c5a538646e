"""Keep secrets out of the run store, run folders, reports and logs: the project's one redactor.

Every value of a secret-looking environment variable, and every value in the
project's .env, is replaced by ``[redacted:NAME]`` wherever rolecall writes text;
anything shaped like an API key or a bearer token that slipped through (an SDK
echoing a header in an error) becomes ``[redacted]``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .environment import dotenv_names

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.I)
_MIN_LENGTH = 6  # shorter values ("1", "true") would redact ordinary words
_KEY_SHAPED = re.compile(r"\bsk-[A-Za-z0-9_\-]{12,}|\bBearer\s+[A-Za-z0-9._~+/=\-]{16,}")  # long: not prose


@dataclass
class Redactor:
    secrets: dict[str, str] = field(default_factory=dict)  # value -> variable name

    @classmethod
    def from_environment(cls, env: Mapping[str, str], env_file: Path | None = None) -> Redactor:
        names = [name for name in env if _SECRET_NAME.search(name)] + dotenv_names(env_file)
        redactor = cls()
        redactor.add(names, env)
        return redactor

    def add(self, names: Iterable[str], env: Mapping[str, str]) -> None:
        for name in names:
            self.add_value(env.get(name), name)

    def add_value(self, value: str | None, name: str) -> None:
        if value and len(value) >= _MIN_LENGTH:
            self.secrets[value] = name

    def text(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):  # longest first: one may contain another
            if secret in text:
                text = text.replace(secret, f"[redacted:{self.secrets[secret]}]")
        return _KEY_SHAPED.sub("[redacted]", text)

    def value(self, value: Any) -> Any:
        return self.text(value) if isinstance(value, str) else value

    def also_escaped(self, escape: Any) -> Redactor:
        """A redactor that also finds each secret as ``escape`` writes it (HTML-escaped, say)."""
        return Redactor({**{escape(s): n for s, n in self.secrets.items()}, **self.secrets})
