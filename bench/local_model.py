#!/usr/bin/env python3
"""Measure the embedded local model: provider overhead and example crew wall times.

    .venv/bin/python bench/local_model.py [--rounds 3] [--tokens 128] [--skip-crews]

Prints, in one run:
  1. generation tok/s through rolecall's LocalLLM (crewai's BaseLLM.call, events and
     all) versus raw llama-cpp-python on the same prompt and settings (goal: >= 0.9x);
  2. wall time of research_report (goal <= 15 s) and research_report_managed
     (goal <= 45 s) on the local model, with model calls, tokens, tool uses and delegations.
It measures, it does not assert. llama.cpp with one thread per core slows down several
times when anything else wants a core, so the load average is printed next to every figure.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rolecall.environment import quiet_crewai  # noqa: E402
from rolecall.llm.profiles import load_config  # noqa: E402
from rolecall.project import Project  # noqa: E402

quiet_crewai()

PROMPT = [
    {"role": "system", "content": "You are a meticulous energy analyst."},
    {"role": "user", "content": "Write a detailed, multi-section report on grid-scale battery storage: "
                                "chemistries, costs, grid services, siting, recycling and policy."},
]
GOALS = {"research_report": 15.0, "research_report_managed": 45.0}


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


def timed(call: Callable[[], tuple[int, Any]]) -> tuple[float, int]:
    started = time.perf_counter()
    tokens, _ = call()
    return time.perf_counter() - started, tokens


def throughput(rounds: int, tokens: int) -> None:
    from llama_cpp import Llama

    from rolecall.llm.cpu import cores
    from rolecall.llm.local import local_llm
    threads = cores()
    # same thread count on both sides (rolecall would otherwise adapt it to the load): the
    # ratio is the provider's own overhead, crewai's BaseLLM.call and events included
    profile = load_config(Project(ROOT).config_dir).profiles["local"].model_copy(
        update={"max_tokens": tokens, "threads": threads})
    started = time.perf_counter()
    ours = local_llm("local", profile, root=ROOT)
    ours.engine  # noqa: B018 - load now, so loading is not counted as generation
    print(f"model: {ours.model_path} ({threads} threads, n_ctx {ours.n_ctx}), "
          f"loaded in {time.perf_counter() - started:.1f}s")
    raw = Llama(model_path=ours.model_path, n_ctx=ours.n_ctx, n_threads=threads,
                n_threads_batch=threads, verbose=False)

    def raw_call() -> tuple[int, Any]:
        reply = raw.create_chat_completion(messages=PROMPT, max_tokens=tokens, temperature=0.0, repeat_penalty=1.1)
        return reply["usage"]["completion_tokens"], reply

    def our_call() -> tuple[int, Any]:
        before = ours._token_usage["completion_tokens"]
        text = ours.call(PROMPT)
        return ours._token_usage["completion_tokens"] - before, text

    # one warm-up each: both then find the prompt in their KV cache, so what is timed is generation
    raw_call()
    our_call()
    raw_rates, our_rates = [], []
    for _ in range(rounds):  # alternate, so background load hits both sides alike
        seconds, count = timed(raw_call)
        raw_rates.append(count / seconds)
        seconds, count = timed(our_call)
        our_rates.append(count / seconds)
    raw_rate, our_rate = statistics.median(raw_rates), statistics.median(our_rates)
    # best-of-N is the figure least disturbed by other processes; the median is shown too
    print(f"generation, {tokens} tokens, {rounds} rounds ({load()}):   median   best")
    print(f"  raw llama-cpp-python            {raw_rate:6.1f} {max(raw_rates):6.1f} tok/s  {_spread(raw_rates)}")
    print(f"  rolecall LocalLLM               {our_rate:6.1f} {max(our_rates):6.1f} tok/s  {_spread(our_rates)}")
    print(f"  ratio (goal >= 0.90x)           {our_rate / raw_rate:6.2f} {max(our_rates) / max(raw_rates):6.2f}x")
    raw.close()


def crews(topic: str | None) -> None:
    from rolecall import api
    from rolecall.llm.local import local_llm
    started = time.perf_counter()
    local_llm("local", load_config(Project(ROOT).config_dir).profiles["local"], root=ROOT).engine  # noqa: B018 - loads it
    print(f"crews: the run's model loaded in {time.perf_counter() - started:.1f}s (not counted below)")
    with tempfile.TemporaryDirectory() as runs:
        project = Project(ROOT, runs=Path(runs))
        for name, goal in GOALS.items():
            crew = api.load_crew(name, project, llm="local")
            before = load()
            started = time.perf_counter()
            result = api.run(crew, {"topic": topic} if topic else {}, llm="local", project=project)
            wall = time.perf_counter() - started
            prompt = sum(c.prompt_tokens for c in result.model_calls)
            completion = sum(c.completion_tokens for c in result.model_calls)
            tools = [c.tool for c in result.tool_calls if c.tool not in ("Delegate work to coworker",
                                                                         "Ask question to coworker")]
            shown = topic or crew.inputs["topic"].default
            print(f"{name} (topic {shown!r}): {result.status} in {wall:.1f}s "
                  f"(goal <= {goal:.0f}s; {before} -> {load()})")
            print(f"  {len(result.model_calls)} model calls, {prompt} prompt + {completion} completion tokens; "
                  f"tool uses: {tools or 'none'}; delegations: "
                  f"{[(d.task, d.coworker) for d in result.delegations] or 'none'}")
            if result.error:
                print(f"  error: {result.error}")


def _spread(values: list[float]) -> str:
    return "(" + ", ".join(f"{v:.1f}" for v in values) + ")"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--skip-crews", action="store_true")
    parser.add_argument("--topic", help="the crews' topic input (default: the one crew.yaml gives)")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, {load()}")
    if not args.skip_throughput:
        throughput(args.rounds, args.tokens)
    if not args.skip_crews:
        crews(args.topic)
    return 0


if __name__ == "__main__":
    sys.exit(main())
