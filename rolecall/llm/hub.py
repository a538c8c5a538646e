"""Download a pinned model from the Hugging Face Hub, or the mirror ``HF_ENDPOINT`` names.

huggingface_hub does the talking: the HEAD on ``/resolve`` (commit, ETag, size),
the redirect to the CDN, Xet storage when hf_xet is installed, and picking a cut
transfer up again with a Range request (it gives up after five tries that bring no
new bytes). It does not resume across calls: when it gives up it deletes what it
had, so the next try starts from the first byte.

rolecall's own check stays between the Hub and the cache: the file lands in a
staging folder next to the cache, is size- and sha256-checked against the pin,
and only then renamed to its real name; a wrong file is deleted with the folder.
"""
from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..errors import ModelUnavailable
from ..problem import Problem
from .models import PinnedModel


def download(pinned: PinnedModel, target: Path, *, endpoint: str, progress: Callable[[str], None]) -> Path:
    """Fetch the pinned file into ``target``, verified. Network trouble raises ``OSError``."""
    import httpx2  # huggingface_hub's HTTP client: its transport errors are not OSErrors
    from huggingface_hub import hf_hub_download

    url = pinned.url(endpoint)
    staging = target.with_name(target.name + ".download")
    shutil.rmtree(staging, ignore_errors=True)  # left by a killed process; nothing in it would be reused
    progress(f"rolecall: downloading {pinned.name} ({pinned.size / 1e6:.0f} MB) from {url}")
    try:
        fetched = Path(hf_hub_download(
            pinned.hub_repo, pinned.hub_file, revision=pinned.hub_revision, local_dir=staging,
            endpoint=endpoint, library_name="rolecall", tqdm_class=_reporter(pinned, progress),
            token=False))  # public pinned repos: a user's Hub token must not travel to a mirror
        with fetched.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        size = fetched.stat().st_size
        if not pinned.matches(size, digest):
            raise ModelUnavailable(Problem(
                f"the file downloaded from {url} does not match the pinned {pinned.name} "
                f"({size} bytes, sha256 {digest}; expected {pinned.size} bytes, sha256 {pinned.sha256})",
                hint="nothing was kept; check HF_ENDPOINT or any proxy in between"))
        fetched.replace(target)
    except (OSError, httpx2.HTTPError) as exc:
        raise OSError(f"{url}: {_root_cause(exc)}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _root_cause(error: BaseException) -> str:
    """The innermost error, which names what went wrong (refused, cut off at N bytes, HTTP 404)."""
    while error.__cause__ is not None:
        error = error.__cause__
    return str(error) or type(error).__name__


class _Progress(tqdm):
    """huggingface_hub's progress bar as one rolecall line per tenth of the file.

    Lines, not a bar, so a download shows in CI logs too. ``update_transfer`` is defined
    so that a Xet download reports through one bar (bytes written), not two.
    """

    monitor_interval = 0  # no tqdm monitor thread for a bar nobody sees
    pinned: PinnedModel
    say: Callable[[str], None]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "disable": True})

    def update(self, n: float | None = 1) -> bool | None:
        size = self.pinned.size
        before = int(self.n * 10 // size)
        self.n += n or 0
        tenth = int(self.n * 10 // size)
        if tenth > before:
            self.say(f"rolecall: {self.pinned.name}: {min(tenth, 10) * 10}%")
        return None

    def update_transfer(self, n: float) -> None:
        pass

    def set_transfer_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass


def _reporter(pinned: PinnedModel, say: Callable[[str], None]) -> type[_Progress]:
    # huggingface_hub wants a class; this download's model and sink ride on a subclass
    return type("Progress", (_Progress,), {"pinned": pinned, "say": staticmethod(say)})
