"""The embedded local model: llama-cpp-python in-process, no server, no network.

One ``llama_cpp.Llama`` per model file (and context size) per process, shared
by every agent that uses a local profile, with a lock around calls because a
llama.cpp context is not thread-safe. llama.cpp's RAM prompt cache keeps each
agent's conversation state, so a manager that comes back after a coworker's
turn does not pay for its whole prompt again.

Agents with tools, and managers, generate under a grammar that only admits a
well-formed step of crewai's text protocol (see ``grammar.py``); everything
else generates freely, which is faster and all crewai needs there.
"""
from __future__ import annotations

import ctypes
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import PrivateAttr

from ..problem import Problem, RolecallError
from .base import CallContext, Completion, RolecallLLM, as_messages
from .grammar import json_grammar, react_grammar, tool_specs
from .profiles import ProfileSpec, expand
from .weights import resolve

DEFAULT_N_CTX = 8192
DEFAULT_MAX_TOKENS = 256  # ~9 s at 28 tok/s on 2 idle cores; a profile's max_tokens overrides it
THOUGHT_CHARS = 120  # one short line: the step that follows is what matters
ARG_CHARS = 200  # per tool argument string; a small model rambles inside JSON strings otherwise
PROMPT_CACHE_BYTES = 512 << 20
REPEAT_PENALTY = 1.1
REPEAT_WINDOW = 64


class CpuWatch:
    """How many cores other processes leave free, measured between our own calls.

    llama.cpp with one thread per core collapses when anything else wants a core:
    measured here, 2 threads gave 1.9 tok/s next to two busy processes where 1 thread
    gave 14 tok/s (and 28 vs 20 tok/s on an idle machine). So each call uses as many
    threads as cores were free since the previous call. Our own CPU time is subtracted,
    so crewai's work between calls does not count as someone else's.
    """

    def __init__(self, cores: int):
        self.cores = cores
        self._hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._last = self._sample()

    def _sample(self) -> tuple[int, int, float] | None:
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                ticks = [int(v) for v in stat.readline().split()[1:9]]
        except (OSError, ValueError):  # not Linux: keep the configured thread count
            return None
        own = os.times()
        return sum(ticks), ticks[3] + ticks[4], (own.user + own.system) * self._hz

    def free_cores(self) -> int:
        now = self._sample()
        if now is None or self._last is None:
            return self.cores
        if now[0] - self._last[0] < 2 * self.cores:  # too short to tell: look for a moment
            time.sleep(0.05)
            now = self._sample() or now
        total = now[0] - self._last[0]
        busy_elsewhere = max(0.0, total - (now[1] - self._last[1]) - (now[2] - self._last[2]))
        held = busy_elsewhere / max(total, 1) * self.cores  # cores' worth of other processes' work
        return max(1, self.cores - int(held + 0.5))

    def mark(self) -> None:
        self._last = self._sample()


@dataclass
class Engine:
    """A loaded model, the lock that serialises calls into it, and its thread policy."""

    llama: Any
    lock: threading.Lock
    path: Path
    threads: int  # the most a call may use
    adaptive: bool  # False when the profile fixed the thread count
    watch: CpuWatch = field(init=False)

    def __post_init__(self) -> None:
        self.watch = CpuWatch(self.threads)

    def set_threads(self) -> int:
        """Threads for the next call: all allowed ones, or fewer if other work holds cores."""
        if not self.adaptive:
            return self.threads
        import llama_cpp
        n = min(self.threads, self.watch.free_cores())
        llama_cpp.llama_set_n_threads(self.llama._ctx.ctx, n, n)
        return n


_ENGINES: dict[tuple[str, int, int, bool], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def engine(path: Path, n_ctx: int, threads: int, adaptive: bool = True) -> Engine:
    """The process-wide model for this file and context size, loaded on first use."""
    key = (str(path.resolve()), n_ctx, threads, adaptive)
    with _ENGINES_LOCK:
        found = _ENGINES.get(key)
        if found is None:
            found = _ENGINES[key] = Engine(_load(path, n_ctx, threads), threading.Lock(), path, threads, adaptive)
        return found


def cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _load(path: Path, n_ctx: int, threads: int) -> Any:
    # OMP_WAIT_POLICY stays as it is: PASSIVE turns each of ggml's per-op barriers into a
    # sleep and a wake-up, measured 10 tok/s instead of 30 on 2 idle cores. Contention is
    # handled by using fewer threads instead (CpuWatch).
    try:
        import numpy as np
        from llama_cpp import Llama, LlamaRAMCache
    except ImportError as exc:
        raise RolecallError(Problem(
            f"the local model needs llama-cpp-python, which is not importable ({exc})",
            hint="make install (or pip install llama-cpp-python==0.3.36; it compiles for ~10 minutes once)")) from None
    try:
        llama = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                      verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise RolecallError(Problem(f"llama.cpp could not load {path}: {exc}",
                                    hint="check the file is a complete GGUF model (rolecall doctor)")) from None
    # llama-cpp-python copies its logits buffer (up to n_batch x n_vocab floats, 300 MB for Qwen)
    # into every saved state; sampling reads logits from the context, so one row (the chat
    # handler's stop check indexes the last one) keeps the prompt cache small and fast.
    # Only logprobs, which rolecall never asks for, would need the full buffer.
    llama.scores = np.zeros((1, llama.n_vocab()), dtype=np.single)
    llama.set_cache(LlamaRAMCache(capacity_bytes=PROMPT_CACHE_BYTES))
    return llama


class LocalLLM(RolecallLLM):
    """A crewai LLM running a GGUF model in this process."""

    llm_type: str = "local"
    provider: str = "rolecall"
    model_path: str
    n_ctx: int = DEFAULT_N_CTX
    threads: int = 1
    adaptive_threads: bool = True  # fewer threads while other processes hold cores
    max_tokens: int | None = DEFAULT_MAX_TOKENS
    temperature: float | None = 0.0
    last_threads: int = 0  # threads the last call ran with (for benchmarks and doctor)
    _engine: Engine | None = PrivateAttr(default=None)

    def get_context_window_size(self) -> int:
        return self.n_ctx

    def get_input_tokens_count(self, messages: Any, tools: Any = None, response_model: Any = None) -> int:
        # the model's own tokenizer, so crewai's context-window checks see real counts
        llama = self.engine.llama
        return sum(len(llama.tokenize(str(m.get("content") or "").encode("utf-8"), add_bos=False))
                   for m in as_messages(messages))

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = engine(Path(self.model_path), self.n_ctx, self.threads, self.adaptive_threads)
        return self._engine

    def complete(self, ctx: CallContext) -> Completion:
        tools = ctx.agent_tools()
        if tools or ctx.is_manager:
            # a structured task's final answer must already be its JSON: crewai then validates it
            # as is, instead of asking the model again to convert free text
            final_schema = _response_schema(_task_model(ctx.task))
            grammar = react_grammar(tool_specs(tools), thought_chars=THOUGHT_CHARS, arg_chars=ARG_CHARS,
                                    final_schema=final_schema)
            out = self.generate(ctx.messages, grammar, tidy=final_schema is None)
            return Completion(out.text, out.prompt_tokens, out.completion_tokens)
        schema = _response_schema(ctx.response_model)
        out = self.generate(ctx.messages, json_grammar(schema) if schema is not None else None,
                            tidy=schema is None)
        if schema is not None:
            return Completion(_structured(ctx.response_model, out.text), out.prompt_tokens, out.completion_tokens)
        return Completion(out.text, out.prompt_tokens, out.completion_tokens)

    def generate(self, messages: list[dict[str, Any]], grammar: str | None = None,
                 max_tokens: int | None = None, tidy: bool = False) -> Generated:
        """One chat completion, token counts as llama.cpp counted them.

        ``tidy``: a text answer cut off by max_tokens ends at its last finished sentence.
        """
        from llama_cpp import LogitsProcessorList
        eng = self.engine
        limit = max_tokens or self.max_tokens
        temperature = self.temperature or 0.0
        with eng.lock:
            self.last_threads = eng.set_threads()
            kwargs: dict[str, Any] = {"temperature": temperature, "repeat_penalty": REPEAT_PENALTY}
            gate = None
            if grammar is not None:
                gate = GrammarGate(eng.llama, grammar, temperature)
                # the gate picks the token itself; llama.cpp's greedy step only takes it
                kwargs = {"temperature": 0.0, "repeat_penalty": 1.0,
                          "logits_processor": LogitsProcessorList([gate])}
            try:
                reply = eng.llama.create_chat_completion(
                    messages=[_plain(m) for m in messages], stop=list(self.stop_sequences) or None,
                    max_tokens=limit, **kwargs)
            except ValueError as exc:
                if "context window" not in str(exc):
                    raise
                # worded so crewai recognises it and summarises the conversation (respect_context_window)
                raise ValueError(f"context length exceeded: {exc}; raise n_ctx in the local profile "
                                 f"(now {self.n_ctx}) or shorten the task") from None
            finally:
                eng.watch.mark()
                if gate is not None:
                    gate.close()
        usage = reply.get("usage") or {}
        choice = reply["choices"][0]
        text = choice["message"].get("content") or ""
        if tidy and choice.get("finish_reason") == "length":
            text = tidy_cut(text)
        return Generated(text, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0),
                         choice.get("finish_reason") or "")


@dataclass
class Generated:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" or "length" (cut off by max_tokens)


def tidy_cut(text: str) -> str:
    """A reply cut off mid-sentence, ended at its last finished sentence or line instead.

    Only when that keeps most of the reply, and never before a ReAct step's final answer
    starts; an Action step is left alone (its JSON could not be mended this way).
    """
    if "Action Input:" in text and "Final Answer:" not in text:
        return text
    start = text.find("Final Answer:")
    floor = max(len(text) // 2, start + len("Final Answer:") + 1 if start >= 0 else 0)
    cut = max(text.rfind("\n"), *(text.rfind(end) + 1 for end in (". ", "! ", "? ", ".\n")))
    return text[:cut].rstrip() if cut > floor else text


class GrammarGate:
    """Grammar-constrained sampling that checks one token, not the whole vocabulary, per step.

    llama.cpp's grammar sampler tests all ~150k tokens of Qwen's vocabulary at every step:
    ~30 ms a token here, so 12 tok/s against 18 tok/s free on one thread, and about half
    speed on two. Like llama.cpp's own common sampler, this picks the token first and asks
    the grammar only about that one; only when the grammar refuses it (1 step in 10 in a
    ReAct step) is the full vocabulary filtered. Measured: 18 tok/s, as fast as free text.
    Used as a llama-cpp-python logits processor, so the model's own generation loop,
    stop words, KV reuse and prompt cache stay in charge.
    """

    def __init__(self, llama: Any, grammar: str, temperature: float = 0.0, seed: int | None = None):
        import llama_cpp
        import numpy as np
        self._cpp, self._np = llama_cpp, np
        self.n_vocab = llama.n_vocab()
        self.eos = llama.token_eos()
        self.temperature = temperature
        self._rng = np.random.default_rng(seed)
        self.sampler = llama_cpp.llama_sampler_init_grammar(llama._model.vocab, grammar.encode("utf-8"), b"root")
        if not self.sampler:
            raise ValueError("llama.cpp rejected the grammar:\n" + grammar)
        self._start: int | None = None
        self._accepted = 0
        self._one = (llama_cpp.llama_token_data * 1)()
        self._one_view = llama_cpp.llama_token_data_array(data=self._one, size=1, selected=-1, sorted=False)
        self._all: Any = None  # the full candidate array, built the first time it is needed
        self.full_checks = 0
        self.steps = 0

    def close(self) -> None:
        if self.sampler:
            self._cpp.llama_sampler_free(self.sampler)
            self.sampler = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        np = self._np
        if self._start is None:
            self._start = len(input_ids)
        # tell the grammar about the tokens chosen since the last step
        for token in input_ids[self._start + self._accepted:]:
            self._cpp.llama_sampler_accept(self.sampler, int(token))
            self._accepted += 1
        self.steps += 1
        logits = np.array(scores, dtype=np.single)  # scores is a strided view into llama.cpp's buffer
        recent = np.unique(np.asarray(input_ids[self._start:][-REPEAT_WINDOW:], dtype=np.intp))
        if recent.size:
            seen = logits[recent]
            logits[recent] = np.where(seen > 0, seen / REPEAT_PENALTY, seen * REPEAT_PENALTY)
        token = self._pick(logits)
        if not self._allowed(token):
            self.full_checks += 1
            allowed = self._allowed_all(logits)
            if not allowed.any():  # a dead end cannot happen with our grammars; end the turn cleanly
                token = self.eos
            else:
                token = self._pick(np.where(allowed, logits, -np.inf))
        out = np.full(self.n_vocab, -np.inf, dtype=np.single)
        out[token] = 0.0
        return out

    def _pick(self, logits: Any) -> int:
        np = self._np
        if self.temperature <= 0:
            return int(np.argmax(logits))
        top = np.argpartition(logits, -40)[-40:]
        weights = np.exp((logits[top] - logits[top].max()) / self.temperature)
        weights[~np.isfinite(weights)] = 0.0
        if weights.sum() <= 0:
            return int(np.argmax(logits))
        return int(self._rng.choice(top, p=weights / weights.sum()))

    def _allowed(self, token: int) -> bool:
        self._one[0].id, self._one[0].logit, self._one[0].p = token, 0.0, 0.0
        self._one_view.size, self._one_view.selected = 1, -1
        self._cpp.llama_sampler_apply(self.sampler, ctypes.byref(self._one_view))
        return self._one[0].logit != float("-inf")

    def _allowed_all(self, logits: Any) -> Any:
        np, cpp = self._np, self._cpp
        if self._all is None:
            self._all = (cpp.llama_token_data * self.n_vocab)()
            self._all_np = np.frombuffer(self._all, dtype=np.dtype(
                [("id", np.intc), ("logit", np.single), ("p", np.single)], align=True))
            self._all_view = cpp.llama_token_data_array(data=self._all, size=self.n_vocab, selected=-1,
                                                        sorted=False)
        self._all_np["id"] = np.arange(self.n_vocab, dtype=np.intc)
        self._all_np["logit"] = 0.0
        self._all_view.size, self._all_view.selected, self._all_view.sorted = self.n_vocab, -1, False
        cpp.llama_sampler_apply(self.sampler, ctypes.byref(self._all_view))
        allowed = np.zeros(self.n_vocab, dtype=bool)
        ids = self._all_np["id"][: self._all_view.size]
        allowed[ids[np.isfinite(self._all_np["logit"][: self._all_view.size])]] = True
        return allowed


def _plain(message: dict[str, Any]) -> dict[str, Any]:
    # the chat template wants role + text; crewai may hand over extra keys or non-string content
    content = message.get("content")
    if not isinstance(content, str):
        content = json.dumps(content, ensure_ascii=False) if content is not None else ""
    return {"role": message.get("role") or "user", "content": content}


def _response_schema(model: Any) -> dict[str, Any] | None:
    if model is None or not hasattr(model, "model_json_schema"):
        return None
    try:
        return model.model_json_schema()
    except Exception:  # an exotic model we cannot describe: free text, crewai converts it
        return None


def _task_model(task: Any) -> Any:
    """The pydantic model a task's output must follow, if any (crewai's own precedence)."""
    return (getattr(task, "response_model", None) or getattr(task, "output_pydantic", None)
            or getattr(task, "output_json", None))


def _structured(model: Any, text: str) -> Any:
    try:
        return model.model_validate_json(text)
    except ValueError:  # cut off by max_tokens, say: hand crewai the text, its converter retries
        return text


def local_llm(name: str, profile: ProfileSpec) -> LocalLLM:
    """The crewai LLM for a ``local`` profile, model loaded (fetched first if needed).

    Loading here, before the crew starts, turns a missing llama-cpp-python or a broken
    file into a clean error instead of a failure deep inside crewai's agent loop.
    """
    found = resolve(expand(profile.model), expand(profile.file))
    llm = LocalLLM(
        model=expand(profile.model) or found.path.stem,
        model_path=str(found.path),
        n_ctx=profile.n_ctx or DEFAULT_N_CTX,
        threads=profile.threads or cores(),
        adaptive_threads=profile.threads is None,
        max_tokens=profile.max_tokens or DEFAULT_MAX_TOKENS,
        temperature=profile.temperature if profile.temperature is not None else 0.0)
    llm.engine  # noqa: B018 - loads (once per process) and raises RolecallError if it cannot
    return llm
