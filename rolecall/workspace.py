"""Where a crew's tools may read and write: least privilege for paths, not only for tools.

A tool bound by rolecall reads inside the crew's folder and the run folder, and writes
only in the run folder, plus the folders ``crew.yaml`` lists (``workspace: {read: [data/],
write: [out/]}``, relative to the crew's folder). Absolute paths, ``..``, dotfiles (``.env``,
``.ssh``) and symlinks that lead out are refused with a plain message the agent reads.

Which arguments are paths is known per crewai_tools class, and guessed by name for any
other tool (``file_path``, ``directory``, ...), so a project's own file tool is covered too.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# argument name -> "read" | "write", for tools rolecall knows; other tools are judged by PATH_ARGS
KNOWN_TOOLS: dict[str, dict[str, str]] = {
    "FileReadTool": {"file_path": "read"},
    "FileWriterTool": {"directory": "write"},  # filename is joined onto it
    "DirectoryReadTool": {"directory": "read"},
    "DirectorySearchTool": {"directory": "read"},
    "FileCompressorTool": {"input_path": "read", "output_path": "write"},
    "TXTSearchTool": {"txt": "read"},
    "CSVSearchTool": {"csv": "read"},
    "JSONSearchTool": {"json_path": "read"},
    "MDXSearchTool": {"mdx": "read"},
    "PDFSearchTool": {"pdf": "read"},
    "DOCXSearchTool": {"docx": "read"},
    "XMLSearchTool": {"xml": "read"},
    "OCRTool": {"image_path": "read"},
    "KnowledgeSearchTool": {"directory": "read"},
}
PATH_ARGS = {"file_path": "read", "path": "read", "directory": "read", "folder": "read", "file": "read",
             "filename": "read", "input_path": "read", "output_path": "write", "output_file": "write",
             "image_path": "read", "json_path": "read", "txt": "read", "csv": "read", "pdf": "read",
             "docx": "read", "mdx": "read", "xml": "read"}
# tools that run code the model writes (crewai_tools 1.15; CodeInterpreterTool from older releases):
# only where a crew opts in
CODE_TOOLS = ("CodeInterpreterTool", "DaytonaExecTool", "DaytonaPythonTool", "E2BExecTool", "E2BPythonTool")


def path_args(tool_class: str, names: Iterable[str]) -> dict[str, str]:
    """Which of ``names`` are paths for a tool of this class, and whether it reads or writes them."""
    known = KNOWN_TOOLS.get(tool_class)
    if known is not None:
        return {n: mode for n, mode in known.items() if n in names}
    return {n: PATH_ARGS[n] for n in names if n in PATH_ARGS}


class PathRefused(ValueError):
    """A tool asked for a path outside the crew's workspace."""


def shaped(text: str) -> Path:
    """``text`` as a relative path that stays put, or ``PathRefused``: what any path must look like."""
    if not text:
        raise PathRefused("an empty path")
    path = Path(text)
    if path.is_absolute() or text.startswith("~"):
        raise PathRefused(f"'{text}' is an absolute path; give a path relative to the crew's folder")
    if ".." in path.parts:
        raise PathRefused(f"'{text}' climbs out with '..'")
    hidden = next((p for p in path.parts if p.startswith(".")), None)
    if hidden:
        raise PathRefused(f"'{text}' names a hidden file or folder ({hidden}); .env and dotfiles are off limits")
    return path


@dataclass(frozen=True)
class Workspace:
    crew_dir: Path
    run_dir: Path | None = None  # None while validating: nothing may be written yet
    read: tuple[str, ...] = ()  # extra folders, relative to crew_dir
    write: tuple[str, ...] = ()

    @property
    def readable(self) -> list[Path]:
        roots = [self.crew_dir, *([self.run_dir] if self.run_dir else []), *self._extra(self.read)]
        return [r.resolve() for r in roots]

    @property
    def writable(self) -> list[Path]:
        return [r.resolve() for r in [*([self.run_dir] if self.run_dir else []), *self._extra(self.write)]]

    def _extra(self, folders: tuple[str, ...]) -> list[Path]:
        return [self.crew_dir / f for f in folders]

    def resolve(self, value: object, mode: str) -> Path:
        """The real path a tool may use for ``value``, or ``PathRefused`` saying why not."""
        text = str(value or "").strip()
        path = shaped(text)
        roots = self.writable if mode == "write" else self.readable
        if not roots:
            raise PathRefused(f"'{text}': this crew may not write files here")
        target = self._candidate(path, mode).resolve()
        if not any(target == root or target.is_relative_to(root) for root in roots):
            raise PathRefused(f"'{text}' leads outside the crew's workspace (through a symlink?)")
        return target

    def _candidate(self, path: Path, mode: str) -> Path:
        """Writes land in the run folder (or a listed write folder); reads find the file where it is."""
        listed = self.write if mode == "write" else self.read
        if any(path.parts[: len(Path(f).parts)] == Path(f).parts for f in listed):
            return self.crew_dir / path
        if mode == "write":
            assert self.run_dir is not None
            return self.run_dir / path
        options = [self.crew_dir / path, *([self.run_dir / path] if self.run_dir else [])]
        return next((o for o in options if o.exists()), options[0])
