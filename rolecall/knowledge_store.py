"""Knowledge for a run: crewai knowledge sources over the crew's files, searched by vector in memory.

crewai's own ``KnowledgeStorage`` keeps a ChromaDB collection in the user's data folder
(``~/.local/share/<cwd name>``) and, without an embedder, embeds with OpenAI. A run here
builds ``Knowledge`` with this module's storage instead: the chunks and their vectors live in
the process, made with the run's embedder (the embedded model unless ``embedder:`` says
otherwise), so nothing is written outside the project and nothing needs a key or network.
Knowledge folders are small; all the shipped crews' knowledge together (42 passages) embeds in
about a second on two idle cores (bench/embedding.py), once per run.
"""
from __future__ import annotations

import csv
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from crewai.knowledge.knowledge import Knowledge
from crewai.knowledge.source.base_knowledge_source import BaseKnowledgeSource
from crewai.knowledge.source.csv_knowledge_source import CSVKnowledgeSource
from crewai.knowledge.source.excel_knowledge_source import ExcelKnowledgeSource
from crewai.knowledge.source.json_knowledge_source import JSONKnowledgeSource
from crewai.knowledge.source.pdf_knowledge_source import PDFKnowledgeSource
from crewai.knowledge.source.text_file_knowledge_source import TextFileKnowledgeSource
from crewai.knowledge.storage.base_knowledge_storage import BaseKnowledgeStorage
from pydantic import PrivateAttr

from .knowledge_files import Resolved

# the embedded model reads 256 word pieces, about 1000 characters of English; a passage
# longer than that would be embedded by its first part only
PASSAGE_CHARS = 900
PASSAGE_OVERLAP = 100
Embedder = Callable[[Sequence[str]], Sequence[Any]]


class VectorStore(BaseKnowledgeStorage):
    """Chunks and their unit vectors in memory; search is one matrix product."""

    embedder: Any  # an EmbeddingFunction-style callable
    _texts: list[str] = PrivateAttr(default_factory=list)
    _vectors: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def save(self, documents: list[str]) -> None:
        fresh = [d for d in dict.fromkeys(documents) if d.strip() and d not in self._texts]
        if not fresh:
            return
        vectors = _unit(np.asarray(self.embedder(fresh), dtype=np.float32))
        with self._lock:
            self._texts.extend(fresh)
            self._vectors = vectors if self._vectors is None else np.vstack([self._vectors, vectors])

    def search(self, query: list[str], limit: int = 5, metadata_filter: dict[str, Any] | None = None,
               score_threshold: float = 0.6) -> list[Any]:
        text = " ".join(q for q in query if q).strip()
        if not text or self._vectors is None:
            return []
        wanted = _unit(np.asarray(self.embedder([text]), dtype=np.float32))[0]
        with self._lock:
            scores = self._vectors @ wanted
            texts = list(self._texts)
        best = np.argsort(-scores)[:limit]
        return [{"id": str(i), "content": texts[i], "metadata": {}, "score": float(scores[i])}
                for i in best if scores[i] >= score_threshold]

    def reset(self) -> None:
        with self._lock:
            self._texts, self._vectors = [], None

    async def asearch(self, query: list[str], limit: int = 5, metadata_filter: dict[str, Any] | None = None,
                      score_threshold: float = 0.6) -> list[Any]:
        return self.search(query, limit, metadata_filter, score_threshold)

    async def asave(self, documents: list[str]) -> None:
        self.save(documents)

    async def areset(self) -> None:
        self.reset()


def _unit(vectors: Any) -> Any:
    # the embedded model's vectors are unit length already; API embedders' need not be
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


class ParagraphTextSource(TextFileKnowledgeSource):
    """Text and markdown cut at paragraph boundaries (crewai cuts every N characters, mid-word)."""

    def _chunk_text(self, text: str) -> list[str]:
        return paragraphs(text, self.chunk_size, self.chunk_overlap)


_BLANK = re.compile(r"\n\s*\n")


def paragraphs(text: str, size: int, overlap: int) -> list[str]:
    """One passage per paragraph, a heading kept with the text under it, a long paragraph cut with overlap.

    Paragraphs are not merged: two unrelated short paragraphs in one passage would both be
    retrieved for a question about either.
    """
    chunks: list[str] = []
    heading = ""
    for block in (b.strip() for b in _BLANK.split(text)):
        if not block:
            continue
        if block.startswith("#") and "\n" not in block:
            heading = f"{heading}\n{block}" if heading else block
            continue
        block = f"{heading}\n{block}" if heading else block
        heading = ""
        while len(block) > size:
            chunks.append(block[:size])
            block = block[size - overlap:]
        chunks.append(block)
    if heading:
        chunks.append(heading)
    return chunks


class RowCsvSource(CSVKnowledgeSource):
    """One passage per row, each value named by its column: "trains: line Coastal, first_train 06:15".

    crewai embeds a CSV as the text of a Python dict, cut every N characters: rows break in
    half and lose their column names, which is what a question about a value needs.
    """

    def add(self) -> None:
        for path in self.safe_file_paths:
            self.chunks.extend(csv_rows(Path(path)))
        self._save_documents()

    async def aadd(self) -> None:
        self.add()


def csv_rows(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return []
    header, body = rows[0], rows[1:]
    named = [", ".join(f"{h} {v}" for h, v in zip(header, row, strict=False) if v.strip()) for row in body]
    return [f"{path.stem}: {text}" for text in named if text]


_SOURCES: dict[str, type[BaseKnowledgeSource]] = {
    "text_file": ParagraphTextSource, "pdf": PDFKnowledgeSource, "csv": RowCsvSource,
    "json": JSONKnowledgeSource, "excel": ExcelKnowledgeSource}


def sources(resolved: Resolved) -> list[BaseKnowledgeSource]:
    """One crewai knowledge source per kind of file, passages sized for the embedder."""
    return [_SOURCES[kind](file_paths=list(files), chunk_size=PASSAGE_CHARS, chunk_overlap=PASSAGE_OVERLAP)
            for kind, files in resolved.files.items()]


def knowledge(name: str, resolved: Resolved, embedder: Embedder) -> Knowledge:
    """crewai ``Knowledge`` over ``resolved``'s files, embedded now with ``embedder``."""
    found = Knowledge(collection_name=name, sources=sources(resolved), storage=VectorStore(embedder=embedder))
    found.add_sources()
    return found
