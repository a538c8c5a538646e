"""The embedded embedder: sentence vectors from a pinned ONNX model, in this process, offline.

An ``EmbeddingFunction``-style callable (a list of texts in, one float32 vector per text out),
which is what crewai's ``Memory`` and knowledge storage call. The model loads on the first
call, not when a crew is assembled, and one loaded model serves every embedder of the
process: memory and knowledge in a run share it. The pipeline is sentence-transformers'
for all-MiniLM-L6-v2: WordPiece tokens (cut at 256), mean pooling over real tokens, L2 norm,
so a dot product is the cosine similarity.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .embedding_model import DEFAULT_EMBEDDING_MODEL, EMBEDDING_MODELS, EmbeddingFiles, locate_embedding_model

BATCH = 32  # texts per onnxruntime call: big enough to amortise the call, small enough to pad little


@dataclass
class Session:
    """A loaded model: onnxruntime session, tokenizer, and what loading took."""

    onnx: Any
    tokenizer: Any
    inputs: tuple[str, ...]
    files: EmbeddingFiles
    load_seconds: float
    lock: threading.Lock


_sessions: dict[str, Session] = {}
_loading = threading.Lock()


def session(name: str, env: Mapping[str, str] | None = None) -> Session:
    """The process's one loaded copy of model ``name`` (loaded, and copied into the cache, on first use)."""
    with _loading:
        if name not in _sessions:
            _sessions[name] = _load(name, env)
        return _sessions[name]


def _load(name: str, env: Mapping[str, str] | None) -> Session:
    started = time.perf_counter()
    files = locate_embedding_model(name, env=env)
    import onnxruntime as ort
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(str(files.tokenizer))
    tokenizer.enable_truncation(max_length=EMBEDDING_MODELS[name].max_tokens)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    options = ort.SessionOptions()
    # two cores are shared with the run's own model; more threads only contend
    options.intra_op_num_threads = min(2, os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    onnx = ort.InferenceSession(str(files.model), sess_options=options, providers=["CPUExecutionProvider"])
    inputs = tuple(i.name for i in onnx.get_inputs())
    return Session(onnx, tokenizer, inputs, files, time.perf_counter() - started, threading.Lock())


class LocalEmbedder:
    """Embeds texts with the embedded model; safe to call from several threads at once."""

    def __init__(self, model: str = DEFAULT_EMBEDDING_MODEL, env: Mapping[str, str] | None = None):
        if model not in EMBEDDING_MODELS:
            raise ValueError(f"unknown embedding model '{model}' (rolecall has: {', '.join(EMBEDDING_MODELS)})")
        self.model = model
        self.env = env

    @property
    def dimension(self) -> int:
        return EMBEDDING_MODELS[self.model].dimension

    @staticmethod
    def name() -> str:
        return "rolecall"

    def load(self) -> Session:
        return session(self.model, self.env)

    def __call__(self, input: Sequence[str]) -> list[Any]:  # crewai's keyword: input
        import numpy as np
        texts = [input] if isinstance(input, str) else list(input)
        if not texts:
            return []
        loaded = self.load()
        # similar lengths together: each batch pads to its longest text, not the longest overall
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[Any] = [None] * len(texts)
        for start in range(0, len(order), BATCH):
            chunk = order[start:start + BATCH]
            for i, vector in zip(chunk, _encode(loaded, [texts[i] for i in chunk]), strict=True):
                vectors[i] = vector
        return [np.asarray(v, dtype=np.float32) for v in vectors]


def _encode(loaded: Session, texts: list[str]) -> Any:
    import numpy as np
    encodings = loaded.tokenizer.encode_batch([t or " " for t in texts])
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in loaded.inputs:
        feeds["token_type_ids"] = np.zeros_like(ids)
    with loaded.lock:  # one inference at a time: the two cores are already shared
        hidden = loaded.onnx.run(None, feeds)[0]
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
