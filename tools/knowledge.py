"""Search a crew's own ``knowledge/`` folder: offline, no embeddings, no network."""
from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

from crewai.tools import BaseTool
from pydantic import BaseModel, Field, PrivateAttr

_WORD = re.compile(r"[a-z0-9]+")


class KnowledgeQuery(BaseModel):
    query: str = Field(..., description="Words to look for in the crew's documents")


class KnowledgeSearchTool(BaseTool):
    """BM25 over paragraphs of the markdown and text files in a folder."""

    name: str = "search_knowledge"
    description: str = "Search the crew's knowledge documents and return the most relevant passages."
    args_schema: type[BaseModel] = KnowledgeQuery
    crew_dir: str = Field("", description="Set by rolecall: the crew's folder")
    directory: str = Field("knowledge", description="Folder to search, relative to the crew's folder")
    top_k: int = 3
    _chunks: list[tuple[str, str]] | None = PrivateAttr(default=None)

    def _run(self, query: str) -> str:
        chunks = self._load()
        if not chunks:
            return f"No documents found in {self._folder()}."
        ranked = _bm25(query, [text for _, text in chunks])
        hits = [(score, chunks[i]) for i, score in ranked[: self.top_k] if score > 0]
        if not hits:
            return f"Nothing in the knowledge base matches '{query}'."
        return "\n\n".join(f"[{source}] {text}" for _, (source, text) in hits)

    def _folder(self) -> Path:
        folder = Path(self.directory)
        return folder if folder.is_absolute() else Path(self.crew_dir or ".") / folder

    def _load(self) -> list[tuple[str, str]]:
        if self._chunks is None:
            self._chunks = []
            for file in sorted(self._folder().glob("**/*")):
                if file.suffix in {".md", ".txt"}:
                    for para in re.split(r"\n\s*\n", file.read_text(encoding="utf-8")):
                        if para.strip():
                            self._chunks.append((file.name, " ".join(para.split())))
        return self._chunks


def _bm25(query: str, docs: list[str], k1: float = 1.5, b: float = 0.75) -> list[tuple[int, float]]:
    tokenized = [_WORD.findall(doc.lower()) for doc in docs]
    avg = sum(map(len, tokenized)) / max(len(tokenized), 1)
    df = Counter(term for words in tokenized for term in set(words))
    scores = []
    for i, words in enumerate(tokenized):
        tf = Counter(words)
        score = 0.0
        for term in set(_WORD.findall(query.lower())):
            if term in tf:
                idf = math.log(1 + (len(docs) - df[term] + 0.5) / (df[term] + 0.5))
                score += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * len(words) / avg))
        scores.append((i, score))
    return sorted(scores, key=lambda pair: -pair[1])
