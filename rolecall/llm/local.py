"""The embedded local model: llama-cpp-python in-process, no server, no network.

One ``llama_cpp.Llama`` per model file (and context size) per process, shared
by every agent that uses a local profile, with a lock around calls because a
llama.cpp context is not thread-safe. llama.cpp's RAM prompt cache keeps each
agent's conversation state, so a manager that comes back after a coworker's
turn does not pay for its whole prompt again.

Agents with tools, and managers, take crewai's native function calling: the model
writes a call in its own trained format under a grammar built from the tools' JSON
schemas (``native.py``, ``grammar.py``, sampled by ``sampling.py``), and crewai gets
the call as data. With ``protocol: text`` the grammar admits a well-formed step of
crewai's text protocol instead. Either way the grammar keeps the crew's shape: a manager delegates before it
answers, an agent with tools calls one first (unless its ``tools_first: false``).
Everything else generates freely, which is faster and all crewai needs there.
Threads follow the free cores (``cpu.py``).
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import PrivateAttr

from ..environment import Environment
from ..errors import ModelUnavailable
from ..problem import Problem
from . import chores, native
from .base import CallContext, Completion, RolecallLLM, as_messages
from .cpu import CpuWatch, cores
from .grammar import (
    Shape,
    ToolSpec,
    coworker_answer,
    json_grammar,
    named_coworker,
    native_grammar,
    next_steps,
    not_again,
    react_grammar,
    tool_specs,
)
from .grounding import grounded
from .profiles import ProfileSpec, expand
from .react import made_safe
from .sampling import REPEAT_PENALTY, GrammarGate
from .weights import locate

DEFAULT_N_CTX = 8192
DEFAULT_MAX_TOKENS = 256  # ~9 s at 28 tok/s on 2 idle cores; a profile's max_tokens overrides it
THOUGHT_CHARS = 120  # one short line: the step that follows is what matters
ARG_CHARS = 200  # per tool argument string; a small model rambles inside JSON strings otherwise
PROMPT_CACHE_BYTES = 512 << 20


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


def _load(path: Path, n_ctx: int, threads: int) -> Any:
    # OMP_WAIT_POLICY stays as it is: PASSIVE turns each of ggml's per-op barriers into a
    # sleep and a wake-up, measured 10 tok/s instead of 30 on 2 idle cores. Contention is
    # handled by using fewer threads instead (CpuWatch).
    try:
        import numpy as np
        from llama_cpp import Llama, LlamaRAMCache
    except ImportError as exc:
        raise ModelUnavailable(Problem(
            f"the local model needs llama-cpp-python, which is not importable ({exc})",
            hint="make install (or pip install llama-cpp-python==0.3.36; it compiles for ~10 minutes once)")) from None
    from .build_check import require_working_build
    from .weights import models_dir
    require_working_build(path, models_dir())  # a build that crashes here says so instead of taking the run down
    try:
        llama = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                      verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise ModelUnavailable(Problem(f"llama.cpp could not load {path}: {exc}",
                                    hint="check the file is a complete GGUF model (rolecall doctor)")) from None
    # llama-cpp-python copies its logits buffer (up to n_batch x n_vocab floats, 300 MB for Qwen)
    # into every saved state; sampling reads logits from the context, so one row (the chat
    # handler's stop check indexes the last one) keeps the prompt cache small and fast.
    # Only logprobs, which rolecall never asks for, would need the full buffer.
    llama.scores = np.zeros((1, llama.n_vocab()), dtype=np.single)
    llama.set_cache(LlamaRAMCache(capacity_bytes=PROMPT_CACHE_BYTES))
    return llama


PASS_THROUGH = "My coworker's answer is the task's result."


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
    tools_optional: set[str] = set()  # roles whose agents may answer without a tool call (tools_first: false)
    _engine: Engine | None = PrivateAttr(default=None)

    def get_context_window_size(self) -> int:
        # what a prompt may take: llama.cpp's n_ctx holds the prompt and the reply together
        return self.n_ctx - (self.max_tokens or DEFAULT_MAX_TOKENS)

    def get_input_tokens_count(self, messages: Any, tools: Any = None, response_model: Any = None) -> int:
        # the model's own tokenizer, so crewai's context-window checks see real counts; native
        # tools are written into the system prompt, so they count too
        llama = self.engine.llama
        texts = [str(m.get("content") or "") for m in native.chat(as_messages(messages), None)]
        if tools:
            texts.append(native.tokens_text(tools))
        return sum(len(llama.tokenize(text.encode("utf-8"), add_bos=False)) for text in texts)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = engine(Path(self.model_path), self.n_ctx, self.threads, self.adaptive_threads)
        return self._engine

    def complete(self, ctx: CallContext) -> Completion:
        offered = ctx.agent_tools()
        # not crewai's memory tools: a small model loops on them (save, save again, ...), and
        # crewai recalls before and saves after every task without them; the grammar still
        # holds an agent that was offered only those to the protocol (a Final Answer)
        tools = [t for t in offered if t.name not in chores.MEMORY_TOOLS]
        ruled = None if ctx.role else chores.structured_reply(ctx.messages)
        if ruled is not None:
            # crewai's memory analysis, answered by rule: measured here, the 0.5B model (even held
            # to the JSON schema) extracted crewai's own instructions ("You should always think
            # about what to do") as memories and dropped the fact; the answer's sentences are kept
            return Completion(ruled, 0, 0)
        if offered or ctx.is_manager:
            # a structured task's final answer must already be its JSON: crewai then validates it
            # as is, instead of asking the model again to convert free text
            final_schema = _response_schema(_task_model(ctx.task))
            shape = Shape(manager=ctx.is_manager, tools_first=ctx.role not in self.tools_optional)
            specs = tool_specs(tools)
            if ctx.is_manager:
                specs = named_coworker(specs, str(getattr(ctx.task, "description", "") or ""))
            allowed, final = next_steps(specs, ctx.messages, shape)
            allowed = grounded(not_again(allowed, ctx.messages, final), ctx.messages)  # copied, not invented
            answer = coworker_answer(ctx.messages) if ctx.is_manager and not allowed else None
            if answer is not None and final_schema is None:
                # the manager's answer is the coworker's, unchanged: generating it again cost the
                # managed research report ~11 s a task and let the small model shorten it
                return Completion(answer if ctx.native else f"Thought: {PASS_THROUGH}\nFinal Answer: {answer}", 0, 0)
            if ctx.native:
                return self._native_step(ctx, specs, allowed, final, final_schema)
            grammar = react_grammar(allowed, thought_chars=THOUGHT_CHARS, arg_chars=ARG_CHARS,
                                    final_schema=final_schema, final=final)
            out = self.generate(ctx.messages, grammar, tidy=final_schema is None)
            return Completion(made_safe(out.text), out.prompt_tokens, out.completion_tokens)
        schema = _response_schema(ctx.response_model)
        out = self.generate(ctx.messages, json_grammar(schema) if schema is not None else None,
                            tidy=schema is None)
        if schema is not None:
            return Completion(_structured(ctx.response_model, out.text), out.prompt_tokens, out.completion_tokens)
        return Completion(out.text, out.prompt_tokens, out.completion_tokens)

    def _native_step(self, ctx: CallContext, specs: list[ToolSpec], allowed: list[ToolSpec], final: bool,
                     final_schema: dict[str, Any] | None) -> Completion:
        """A tool call (as data for crewai to run) or the answer, under a grammar of the tools' schemas.

        Every tool the agent holds is shown in the prompt; the grammar admits only those the
        crew's shape allows now (a tool before the answer, a delegation before a manager answers).
        """
        block = native.signatures(specs, native.descriptions(ctx.tools))
        grammar = native_grammar(allowed, arg_chars=ARG_CHARS, final_schema=final_schema, final=final)
        chat = native.chat(ctx.messages, block)
        out = self.generate(chat, grammar, tidy=final_schema is None, stop=False)
        if out.finish_reason == "length" and out.text.startswith("<"):
            # a call cut off by max_tokens is no call and no answer; its strings are capped, so
            # twice the room finishes it
            out = self.generate(chat, grammar, max_tokens=2 * (self.max_tokens or DEFAULT_MAX_TOKENS), stop=False)
        calls = native.parsed(out.text)
        if calls is None and allowed and native.meant_call(out.text, not_again(specs, ctx.messages, final=True)):
            # the model wrote a call as answer text (```json {"name": ...}): it meant to call, so
            # a call is generated again in the tool's format, under the schemas of the tools it may
            # call now. The call it just made, written again, is no such sign: taken as one, the
            # 0.5B model went on acting after its task was done (a payment, then the same payment
            # scheduled as recurring) in AgentDojo's banking suite
            again = self.generate(chat, native_grammar(allowed, arg_chars=ARG_CHARS, final=False), stop=False)
            out = Generated(again.text, out.prompt_tokens + again.prompt_tokens,
                            out.completion_tokens + again.completion_tokens, again.finish_reason)
            calls = native.parsed(out.text)
        if calls is not None:
            return Completion("", out.prompt_tokens, out.completion_tokens, tool_calls=calls)
        return Completion(out.text.strip(), out.prompt_tokens, out.completion_tokens)

    def generate(self, messages: list[dict[str, Any]], grammar: str | None = None,
                 max_tokens: int | None = None, tidy: bool = False, stop: bool = True) -> Generated:
        """One chat completion, token counts as llama.cpp counted them.

        ``tidy``: a text answer cut off by max_tokens ends at its last finished sentence.
        ``stop``: end at crewai's stop words (the text protocol's ``\nObservation:``).
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
                    messages=native.chat(messages, None),
                    stop=(list(self.stop_sequences) or None) if stop else None,
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


def local_llm(name: str, profile: ProfileSpec, *, root: Path, env: Mapping[str, str] | None = None) -> LocalLLM:
    """The crewai LLM for a ``local`` profile, model loaded (fetched first if needed).

    Relative model paths mean ``root``, the project folder. Loading here, before the crew
    starts, turns a missing llama-cpp-python or a broken file into a clean
    ``ModelUnavailable`` instead of a failure deep inside crewai's agent loop.
    """
    env = Environment.current() if env is None else env
    model = expand(profile.model, env)
    found = locate(model, expand(profile.file, env), root=root, env=env)
    llm = LocalLLM(
        model=model or found.path.stem,
        model_path=str(found.path),
        n_ctx=profile.n_ctx or DEFAULT_N_CTX,
        threads=profile.threads or cores(),
        adaptive_threads=profile.threads is None,
        max_tokens=profile.max_tokens or DEFAULT_MAX_TOKENS,
        temperature=profile.temperature if profile.temperature is not None else 0.0,
        native_tools=profile.protocol == "native")
    llm.engine  # noqa: B018 - loads (once per process) and raises ModelUnavailable if it cannot
    return llm
