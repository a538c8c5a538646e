"""Whether this llama.cpp build can run a model on this machine, asked once per build, in a child process.

Importing llama_cpp proves little: a build compiled with ``-march=native`` on a CPU whose AMX tiles
the virtual machine does not really enable loads fine, answers a one-token prompt, then dies of a
general protection fault (``ldtilecfg``) on the first batch of a real prompt. A crash takes the whole
run with it, unrecorded, so a short prompt is evaluated in a child first; its verdict is kept beside
the model cache, keyed by the compiled library's size and time, until the build changes.
"""
from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from pathlib import Path

from ..errors import ModelUnavailable
from ..problem import Problem

PROMPT = "Say hello to the team in one short sentence, please. " * 6  # a batch, not one token
REBUILD = ("rebuild llama-cpp-python without the instructions this machine refuses: "
           "rm -rf .rolecall-cache/wheels .venv/.installed && make install (it builds for the instruction sets "
           "this CPU reports: AVX2 and FMA, AVX-512 where present, never AMX)")


def require_working_build(model: Path, cache: Path) -> None:
    """Raise ``ModelUnavailable`` if evaluating a prompt with this build crashes or fails here."""
    verdict = cache / f"llama-build-{_build_key()}.json"
    if verdict.exists():
        found = json.loads(verdict.read_text(encoding="utf-8"))
        if found.get("ok"):
            return
    ok, why = _try(model)
    if ok:  # a failure is not kept: the next run asks again, after the rebuild the hint suggests
        cache.mkdir(parents=True, exist_ok=True)
        verdict.write_text(json.dumps({"ok": True}), encoding="utf-8")
        return
    raise ModelUnavailable(Problem(f"llama.cpp cannot run a model on this machine: {why}", model, hint=REBUILD))


def _build_key() -> str:
    import llama_cpp
    library = Path(llama_cpp.__file__).parent / "lib"
    stats = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in library.glob("*.so*") if p.is_file())
    return hashlib.sha256(repr(stats).encode()).hexdigest()[:16]


def _try(model: Path) -> tuple[bool, str]:
    code = ("import sys; from llama_cpp import Llama; "
            "m = Llama(model_path=sys.argv[1], n_ctx=512, n_threads=1, verbose=False); "
            "m.eval(m.tokenize(sys.argv[2].encode()))")
    try:
        done = subprocess.run([sys.executable, "-c", code, str(model), PROMPT], capture_output=True, text=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        return False, "evaluating a short prompt took over 120 s"
    if done.returncode == 0:
        return True, ""
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        return False, f"evaluating a short prompt killed the process ({name}: an instruction this CPU refuses)"
    last = (done.stderr.strip().splitlines() or ["no message"])[-1]
    return False, f"evaluating a short prompt failed ({last})"
