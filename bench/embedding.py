#!/usr/bin/env python3
"""How well and how fast does the embedded embedder retrieve from the shipped crews' knowledge?

    .venv/bin/python bench/embedding.py

The passages are every knowledge file of the shipped crews (research_report, partner_outreach,
support_desk), cut the way a run cuts them (``rolecall.knowledge_store.paragraphs``). Each of
the hand-made questions below names the passage that answers it by a phrase only that passage
holds; most questions are paraphrases, not the passage's own words. Printed, all measured in
this one run:
  1. recall@1, recall@3 and MRR of the embedded model, of the BM25 search that
     tools/knowledge.py's KnowledgeSearchTool runs (over the same passages), and of the two
     fused by reciprocal rank;
  2. the cosine score of the right passage and of the best wrong one (what the knowledge
     score_threshold, 0.25 for the embedded model, has to separate);
  3. the model's load time (copying it into an empty cache, then loading from the cache),
     passages embedded per second in batches and questions per second one at a time.
It measures, it does not assert.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from rolecall.knowledge_store import PASSAGE_CHARS, PASSAGE_OVERLAP, paragraphs  # noqa: E402
from rolecall.llm import embedder as embedder_module  # noqa: E402
from rolecall.llm.embedding_model import locate_embedding_model  # noqa: E402

FILES = sorted([*(ROOT / "crews/research_report/knowledge").glob("*.md"),
                *(ROOT / "crews/partner_outreach/knowledge").glob("*.md"),
                *(ROOT / "crews/support_desk/knowledge").rglob("*.md")])

# question -> a phrase found only in the passage that answers it
QUESTIONS = {
    "What does an agent do after it calls a tool?": "observes the result",
    "Why is a crew of roles easier to troubleshoot than one big prompt?": "Multi-agent crews split work",
    "How can tiny models on a laptop run agent loops reliably?": "constrained by a grammar",
    "Which numbers matter when judging an agent system?": "task success, cost per task",
    "What typically goes wrong with agents?": "Common failure modes",
    "Which battery chemistry is most common in new home installations?": "Lithium iron phosphate",
    "How do big batteries earn money on the grid?": "frequency services",
    "What are the benefits of sodium batteries?": "Sodium-ion cells",
    "How much cheaper have battery packs become?": "roughly 90 percent",
    "Which company offers a hosted vector store?": "Northwind Vector",
    "Who can trace token usage and spending of LLM calls?": "Lumen Observability",
    "Where can I rent graphics cards to serve open models?": "Harbor GPU Cloud",
    "Which partner produces API docs from source code?": "Quillstack",
    "Which company competes with us on agent workflows?": "Crewforge",
    "Who sells a tool for storing passwords and tokens for DevOps teams?": "Sable Secrets",
    "Who provides test datasets for evaluating language model apps?": "Meridian Data Labs",
    "Is there a community for running AI on edge devices?": "Lantern Local AI Guild",
    "A customer was billed twice for one invoice. What do we do?": "## Duplicate charges",
    "Can I get my money back for last month's renewal?": "## Subscription refunds",
    "What happens when the card keeps getting declined at renewal?": "## Failed payments",
    "How much is the Plus plan for a year?": "## Plans and prices",
    "How do I stop my subscription?": "## Changing or cancelling",
    "Can you add my company's VAT number to a bill?": "## Invoices",
    "My camera arrived broken, what now?": "## Damaged or wrong item",
    "How long is a camera guaranteed for?": "2-year limited warranty",
    "What do I need to send in a warranty claim?": "## Warranty claims",
    "How many days do I have to send hardware back?": "## 30-day returns",
    "When will my refund arrive after I return an item?": "## Refund timing",
    "I want the same camera in a different colour.": "## Exchanges",
    "I can't remember my password.": "## Password reset",
    "My authenticator app codes are rejected.": "## Two-factor codes",
    "The app closes as soon as I open it.": "## App crashes",
    "The hub light is blinking amber.": "## Hub shows offline",
    "How do I add a new camera?": "## Camera not connecting",
    "My recordings stutter and some clips are gone.": "## Video lagging",
    "How do I wipe a device back to its original settings?": "## Factory reset",
}


def passages() -> list[str]:
    return [p for f in FILES
            for p in paragraphs(f.read_text(encoding="utf-8"), PASSAGE_CHARS, PASSAGE_OVERLAP)]


def gold(texts: list[str]) -> list[int]:
    found = []
    for question, phrase in QUESTIONS.items():
        hits = [i for i, t in enumerate(texts) if phrase in " ".join(t.split())]
        assert len(hits) == 1, f"{question!r}: '{phrase}' is in {len(hits)} passages"
        found.append(hits[0])
    return found


def ranks_of(orderings: list[list[int]], answers: list[int]) -> list[int]:
    return [order.index(answer) + 1 for order, answer in zip(orderings, answers, strict=True)]


def report(name: str, ranks: list[int]) -> None:
    n = len(ranks)
    at1 = sum(r == 1 for r in ranks) / n
    at3 = sum(r <= 3 for r in ranks) / n
    mrr = sum(1 / r for r in ranks) / n
    print(f"  {name:<22} recall@1 {at1:6.1%}   recall@3 {at3:6.1%}   MRR {mrr:.3f}")


def bm25_orderings(texts: list[str]) -> list[list[int]]:
    from tools.knowledge import _bm25  # the KnowledgeSearchTool's own scoring
    out = []
    for question in QUESTIONS:
        scored = dict(_bm25(question, texts))
        out.append(sorted(range(len(texts)), key=lambda i: -scored.get(i, 0.0)))
    return out


def fused(a: list[list[int]], b: list[list[int]], k: int = 60) -> list[list[int]]:
    out = []
    for x, y in zip(a, b, strict=True):
        score = {i: 1 / (k + x.index(i) + 1) + 1 / (k + y.index(i) + 1) for i in x}
        out.append(sorted(score, key=lambda i: -score[i]))
    return out


def main() -> None:
    texts = passages()
    answers = gold(texts)
    print(f"{len(QUESTIONS)} questions over {len(texts)} passages from {len(FILES)} knowledge files\n")

    with tempfile.TemporaryDirectory() as cache:
        env = {"ROLECALL_CACHE": cache}
        started = time.perf_counter()
        locate_embedding_model(env=env, progress=lambda _: None)
        copy_seconds = time.perf_counter() - started
        embedder_module._sessions.clear()
        embed = embedder_module.LocalEmbedder(env=env)
        started = time.perf_counter()
        embed.load()
        load_seconds = time.perf_counter() - started

        embed(texts)  # warm-up: onnxruntime plans its kernels on the first call
        rates = []
        for _ in range(5):  # the best of five: a round that shared its cores says little
            started = time.perf_counter()
            vectors = np.asarray(embed(texts))
            rates.append(len(texts) / (time.perf_counter() - started))
        batch_rate = max(rates)
        started = time.perf_counter()
        questions = np.asarray([embed([q])[0] for q in QUESTIONS])
        query_rate = len(QUESTIONS) / (time.perf_counter() - started)

    scores = questions @ vectors.T
    dense = [list(np.argsort(-row)) for row in scores]
    sparse = bm25_orderings(texts)
    print("retrieval quality")
    report("embedded (MiniLM int8)", ranks_of(dense, answers))
    report("BM25 (search_knowledge)", ranks_of(sparse, answers))
    report("fused (RRF, k=60)", ranks_of(fused(dense, sparse), answers))

    right = [scores[q, a] for q, a in enumerate(answers)]
    wrong = [max(s for i, s in enumerate(scores[q]) if i != a) for q, a in enumerate(answers)]
    print("\ncosine score of the embedded model")
    print(f"  right passage: min {min(right):.2f}  median {statistics.median(right):.2f}  max {max(right):.2f}")
    print(f"  best wrong one: min {min(wrong):.2f}  median {statistics.median(wrong):.2f}  max {max(wrong):.2f}")
    print(f"  right passages under the 0.25 threshold: {sum(r < 0.25 for r in right)} of {len(right)}")

    misses = [(q, texts[dense[i][0]][:60]) for i, (q, a) in enumerate(zip(QUESTIONS, answers, strict=True))
              if dense[i][0] != a]
    if misses:
        print("\nembedded model's misses at rank 1 (question -> passage it ranked first)")
        for question, top in misses:
            print(f"  {question!r} -> {' '.join(top.split())!r}")

    print(f"\nspeed (2 onnxruntime threads; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: "
          f"other processes slow it down)")
    print(f"  copy into an empty model cache (sha256-checked): {copy_seconds:.2f} s")
    print(f"  load from the cache: {load_seconds:.2f} s")
    print(f"  passages, batched: {batch_rate:.0f} embeddings/s")
    print(f"  questions, one at a time: {query_rate:.0f} embeddings/s")


if __name__ == "__main__":
    main()
