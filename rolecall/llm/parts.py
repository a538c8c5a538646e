"""A pinned model shipped as PyPI packages, one part file each, joined once into the model cache.

The parts are found through each installed distribution's file list, so nothing is
imported; the joined bytes are size- and sha256-checked under a temporary name and
only then renamed into place, so a bad or half-written file is never left behind.
"""
from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import os
import tempfile
from pathlib import Path

from ..errors import ModelUnavailable
from ..problem import Problem
from .models import PinnedModel

CHUNK = 4 << 20


def package_parts(pinned: PinnedModel) -> tuple[list[Path], list[str]]:
    """The part files of the installed model packages, in order, and the packages not installed."""
    parts: list[Path] = []
    absent: list[str] = []
    for package in pinned.packages:
        try:
            dist = metadata.distribution(package)
        except metadata.PackageNotFoundError:
            absent.append(package)
            continue
        data = sorted((f for f in dist.files or [] if _is_part(str(f))), key=str)
        if len(data) != 1:
            absent.append(f"{package} (holds {len(data)} data files, expected 1)")
            continue
        path = Path(str(data[0].locate()))
        if not path.is_file():
            absent.append(f"{package} (its data file {path} is gone)")
            continue
        parts.append(path)
    return parts, absent


def join_parts(pinned: PinnedModel, parts: list[Path], target: Path) -> Path:
    """Concatenate ``parts`` into ``target``, verified; on any mismatch nothing is left behind."""
    reinstall = f"reinstall the pinned parts: {pinned.pip_command()} --force-reinstall"
    total = sum(p.stat().st_size for p in parts)
    if total != pinned.size:  # caught before writing a byte
        raise ModelUnavailable(Problem(
            f"the PyPI parts of {pinned.name} add up to {total} bytes, expected {pinned.size}", hint=reinstall))
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(CHUNK):
                        out.write(block)
                        digest.update(block)
                        size += len(block)
        if not pinned.matches(size, digest.hexdigest()):
            raise ModelUnavailable(Problem(
                f"{pinned.name} from the installed parts ({pinned.packages[0]} ...) does not match its pin: "
                f"{size} bytes, sha256 {digest.hexdigest()}, expected {pinned.size} bytes, sha256 {pinned.sha256}",
                hint=reinstall))
        os.chmod(temp, 0o644)  # mkstemp makes it private; the cache is shared like any download
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


def _is_part(name: str) -> bool:
    return ".dist-info/" not in name and "__pycache__" not in name and not name.endswith((".py", ".pyc"))
