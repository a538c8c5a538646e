"""A problem found in a crew's files or a command's input, located as precisely as we can."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a crew, located as precisely as we can."""

    message: str
    file: Path | None = None
    line: int | None = None
    path: str = ""
    hint: str = ""
    severity: Severity = "error"
    column: int | None = None  # known for JSON files, whose values share lines

    def render(self, root: Path | None = None) -> str:
        where = ""
        if self.file is not None:
            shown = self.file
            if root is not None:
                try:
                    shown = self.file.relative_to(root)
                except ValueError:
                    pass
            where = f"{shown}: "
            if self.line:
                where = f"{shown}:{self.line}:{self.column}: " if self.column else f"{shown}:{self.line}: "
        key = f"{self.path}: " if self.path else ""
        tail = f" ({self.hint})" if self.hint else ""
        tag = "warning: " if self.severity == "warning" else ""
        return f"{where}{key}{tag}{self.message}{tail}"



def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A 'did you mean ...?' hint, or '' when nothing is close."""
    if not isinstance(word, str):
        return ""
    names = [c for c in choices if isinstance(c, str)]
    if len(word) > 200:  # difflib is quadratic: a pasted paragraph is not a typo
        return ""
    import difflib  # only when something is wrong; `list` should not pay for it
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def only_errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]
