"""``knowledge_sources:``: file names and patterns under the crew's ``knowledge/`` folder.

Like CrewAI's classic projects, ``knowledge_sources: [facts.md, data/*.csv]`` means files in
the crew's own ``knowledge/`` folder. Each entry must stay inside it (no absolute paths, no
``..``, no dotfiles, no symlink leading out) and match at least one file of a kind crewai can
read. Stdlib only: ``validate`` resolves them without crewai.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .packages import installed
from .workspace import PathRefused, shaped

FOLDER = "knowledge"
# file suffix -> crewai knowledge source kind (crewai.knowledge.knowledge._KNOWN_SOURCES)
KINDS = {".md": "text_file", ".markdown": "text_file", ".txt": "text_file", ".rst": "text_file",
         ".text": "text_file", ".pdf": "pdf", ".csv": "csv", ".json": "json", ".xlsx": "excel", ".xls": "excel"}
_GLOB = set("*?[")
# Python packages crewai's source for a kind imports when it reads the file: (module, pip name)
NEEDS = {"pdf": (("pdfplumber", "pdfplumber"),), "excel": (("pandas", "pandas"), ("openpyxl", "openpyxl"))}


@dataclass
class Resolved:
    """What the entries of one ``knowledge_sources`` list name: files by kind, and what is wrong, by entry."""

    files: dict[str, list[Path]] = field(default_factory=dict)  # kind -> files, in the order written
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (entry index, message, hint)

    @property
    def all_files(self) -> list[Path]:
        return [f for files in self.files.values() for f in files]


def resolve(crew_dir: Path, entries: list[str]) -> Resolved:
    """The files ``entries`` name under ``crew_dir/knowledge``; every bad entry is reported with a fix."""
    folder = crew_dir / FOLDER
    out = Resolved()
    seen: set[Path] = set()
    for index, entry in enumerate(entries):
        try:
            matches = _matches(folder, entry)
        except PathRefused as refused:
            out.problems.append((index, str(refused), f"name a file inside the crew's {FOLDER}/ folder"))
            continue
        if not matches:
            out.problems.append((index, *_missing(folder, entry)))
            continue
        for path in matches:
            kind = KINDS.get(path.suffix.lower())
            if kind is None:
                out.problems.append((index, f"{FOLDER}/{path.relative_to(folder)} is not a kind of file "
                                            f"crewai can read as knowledge",
                                     f"use {', '.join(sorted(KINDS))}"))
            elif (missing := _missing_packages(kind)) and path not in seen:
                seen.add(path)
                out.problems.append((index, f"reading {FOLDER}/{path.relative_to(folder)} needs the Python "
                                            f"package {' and '.join(missing)}", f"pip install {' '.join(missing)}"))
            elif path not in seen:
                seen.add(path)
                out.files.setdefault(kind, []).append(path)
    return out


def _missing_packages(kind: str) -> list[str]:
    return [package for module, package in NEEDS.get(kind, ()) if not installed(module)]


def _matches(folder: Path, entry: str) -> list[Path]:
    relative = shaped(entry.strip())
    root = folder.resolve()
    if _GLOB & set(entry):
        found = sorted(p for p in folder.glob(str(relative)) if p.is_file() and not _hidden(p, folder))
    else:
        found = [folder / relative] if (folder / relative).is_file() else []
    for path in found:
        if not path.resolve().is_relative_to(root):
            raise PathRefused(f"'{entry}' leads outside the crew's {FOLDER}/ folder (through a symlink?)")
    return found


def _hidden(path: Path, folder: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(folder).parts)


def _missing(folder: Path, entry: str) -> tuple[str, str]:
    if not folder.is_dir():
        return (f"no file '{entry}': this crew has no {FOLDER}/ folder",
                f"create {FOLDER}/ next to crew.yaml and put the file there")
    from .problem import did_you_mean
    there = available(folder)
    what = "nothing matches" if _GLOB & set(entry) else "no file"
    return (f"{what} '{entry}' in {FOLDER}/",
            did_you_mean(entry, there) or (f"files there: {', '.join(there[:8])}" if there else f"{FOLDER}/ is empty"))


def available(folder: Path) -> list[str]:
    """Knowledge files under ``folder``, as the relative names people write."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and not _hidden(p, folder) and p.suffix.lower() in KINDS)
