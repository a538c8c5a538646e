"""A llama.cpp build that crashes on this machine is found in a child process, and said plainly."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest

from rolecall.errors import ModelUnavailable
from rolecall.llm import build_check

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")


def fake_python(tmp_path: Path, body: str) -> str:
    script = tmp_path / "python"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_a_build_that_dies_on_a_prompt_is_refused_and_asked_again_next_time(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build_check.sys, "executable", fake_python(tmp_path, "kill -SEGV $$"))
    cache = tmp_path / "cache"
    with pytest.raises(ModelUnavailable) as caught:
        build_check.require_working_build(tmp_path / "model.gguf", cache)
    problem = caught.value.problems[0]
    assert problem.message == ("llama.cpp cannot run a model on this machine: evaluating a short prompt killed the "
                               "process (SIGSEGV: an instruction this CPU refuses)")
    assert "make install" in problem.hint
    assert not list(cache.glob("llama-build-*.json"))  # a failure is not remembered: the next run asks again


def test_a_build_that_runs_is_asked_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls"
    monkeypatch.setattr(build_check.sys, "executable", fake_python(tmp_path, f"echo run >> {calls}"))
    for _ in range(3):
        build_check.require_working_build(tmp_path / "model.gguf", tmp_path / "cache")
    assert calls.read_text().count("run") == 1
    assert len(list((tmp_path / "cache").glob("llama-build-*.json"))) == 1


def test_a_file_that_is_no_model_fails_with_llamas_own_words(tmp_path: Path) -> None:
    model = tmp_path / "junk.gguf"
    model.write_text("not a model", encoding="utf-8")
    ok, why = build_check._try(model)
    assert not ok and why.startswith("evaluating a short prompt failed (")
