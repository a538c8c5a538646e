"""crewai memory for a run: the run's own model, the run's embedder, storage inside the project.

What crewai 1.15's ``Memory`` does (``crewai/memory/``): after every task the agent's result is
sent to the LLM to *extract* short memory statements; each statement is sent again to
*analyse* its scope, categories and importance, and once more to *consolidate* it when a
stored memory is very similar (cosine >= 0.85). Before a task, ``recall(task description)``
embeds the query (a query of 200 characters or more is first *distilled* by the LLM) and,
when the best match is weak, asks the LLM once to *explore* further. Every one of these calls
fails soft: a reply that is not the JSON it wants leaves the raw text as the memory, default
fields, or the plain vector search. Left alone, ``memory: true`` means ``gpt-5.4-mini`` and
OpenAI embeddings (a key and the network) and LanceDB under ``~/.local/share``.

rolecall builds the ``Memory`` itself: its LLM is the agent's own model object (the first
agent's for crew memory, as crewai would pick), so the memory calls go through the run's
models and are recorded with the run like any other call (an API model does the analysis;
rolecall's local and scripted models answer it by rule, ``llm/chores.py``, because the 0.5B
model extracted crewai's instructions instead of the facts); its embedder is the run's; and
its LanceDB lives in ``<project>/.rolecall-cache/memory/<crew>/<embedder>/``, so what a crew
remembers carries over to its next run and to a resumed one, and vectors of two embedders
never mix.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from crewai.memory.unified_memory import Memory
from crewai.memory.utils import sanitize_scope_name

if TYPE_CHECKING:
    # lancedb takes 3-4 s to import and starts a thread: only a crew with memory pays for it
    from crewai.memory.storage.lancedb_storage import LanceDBStorage

CACHE = ".rolecall-cache"


def memory_folder(project_root: Path, crew: str, embedder_id: str) -> Path:
    return project_root / CACHE / "memory" / crew / embedder_id


class MemoryBank:
    """The memory of one crew in one run: one store, a view of it for the crew and for each agent."""

    def __init__(self, folder: Path, crew: str, embedder: Any):
        self.folder, self.crew, self.embedder = folder, crew, embedder
        self._storage: LanceDBStorage | None = None

    @property
    def storage(self) -> LanceDBStorage:
        if self._storage is None:  # opened on demand: crews without memory never touch LanceDB
            from crewai.memory.storage.lancedb_storage import LanceDBStorage
            self._storage = LanceDBStorage(path=self.folder)
        return self._storage

    @property
    def crew_scope(self) -> str:
        return f"/crew/{sanitize_scope_name(self.crew)}"

    def for_crew(self, llm: Any) -> Memory:
        return Memory(llm=llm, storage=self.storage, embedder=self.embedder, root_scope=self.crew_scope)

    def for_agent(self, key: str, llm: Any) -> Memory:
        # crewai files an agent's memories under <crew scope>/agent/<role>; an agent's own
        # memory sees only its own
        scope = f"{self.crew_scope}/agent/{sanitize_scope_name(key)}"
        return Memory(llm=llm, storage=self.storage, embedder=self.embedder, root_scope=scope)
