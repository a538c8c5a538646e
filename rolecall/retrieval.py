"""Memory and knowledge for assembled crewai objects: ``memory:``, ``knowledge_sources:``, ``embedder:``.

``assemble`` calls ``equip`` once, after the agents exist: each agent that asks for memory
or knowledge gets crewai objects built here (never crewai's defaults, which need OpenAI and
write under the home folder), and the crew's own settings come back as ``Crew`` kwargs.
One embedder object serves everything in the run that uses the same ``embedder:``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crewai import Agent
from crewai.knowledge.knowledge_config import KnowledgeConfig

from . import embedders, knowledge_files, knowledge_store
from .definition import CrewDefinition
from .memory import MemoryBank, memory_folder
from .project import Project
from .spec import EmbedderSpec, KnowledgeConfigSpec

# crewai's default threshold (0.6) would drop the right passage for most questions on the
# embedded model, which scores it 0.15-0.82, median 0.52 (bench/embedding.py)
EMBEDDED_KNOWLEDGE = KnowledgeConfig(results_limit=3, score_threshold=0.25)


def equip(project: Project, crew: CrewDefinition, agents: Mapping[str, Agent],
          env: Mapping[str, str]) -> dict[str, Any]:
    """Give ``agents`` their memory and knowledge; return the crew's as ``Crew`` kwargs."""
    kit = _Kit(project, crew, env)
    for key, agent in agents.items():
        _equip_agent(kit, key, agent)
    kwargs = _crew_kwargs(kit, agents)
    if crew.spec.knowledge_sources or any(crew.agents[key].spec.knowledge_sources for key in agents):
        for key, agent in agents.items():  # crewai queries crew knowledge with the agent's config too
            spec = crew.agents[key].spec
            agent.knowledge_config = _knowledge_config(spec.knowledge_config, spec.embedder or crew.spec.embedder)
    return kwargs


def _equip_agent(kit: _Kit, key: str, agent: Agent) -> None:
    spec = kit.crew.agents[key].spec
    if spec.memory:
        agent.memory = kit.bank(spec.embedder).for_agent(key, agent.llm)
    if spec.knowledge_sources:
        agent.knowledge = kit.knowledge(f"agent-{key}", spec.knowledge_sources, spec.embedder)


def _crew_kwargs(kit: _Kit, agents: Mapping[str, Agent]) -> dict[str, Any]:
    spec, kwargs = kit.crew.spec, {}
    if spec.memory and kit.crew.workers:
        # memory's own model calls go to the first worker's model, the one crewai would pick
        kwargs["memory"] = kit.bank(spec.embedder).for_crew(agents[kit.crew.workers[0]].llm)
    if spec.knowledge_sources:
        kwargs["knowledge"] = kit.knowledge("crew", spec.knowledge_sources, spec.embedder)
    return kwargs


class _Kit:
    """Embedders and memory banks of one run, each built once."""

    def __init__(self, project: Project, crew: CrewDefinition, env: Mapping[str, str]):
        self.project, self.crew, self.env = project, crew, env
        self._embedders: dict[str, Any] = {}
        self._banks: dict[str, MemoryBank] = {}

    def embedder(self, spec: EmbedderSpec | None) -> Any:
        spec = spec or self.crew.spec.embedder
        name = embedders.identity(spec)
        if name not in self._embedders:
            self._embedders[name] = _build_embedder(spec, self.env)
        return self._embedders[name]

    def bank(self, spec: EmbedderSpec | None) -> MemoryBank:
        spec = spec or self.crew.spec.embedder
        name = embedders.identity(spec)
        if name not in self._banks:
            folder = memory_folder(self.project.root, self.crew.name, name)
            self._banks[name] = MemoryBank(folder, self.crew.name, self.embedder(spec))
        return self._banks[name]

    def knowledge(self, name: str, entries: list[str], spec: EmbedderSpec | None) -> Any:
        resolved = knowledge_files.resolve(self.crew.package.path, entries)
        assert not resolved.problems, f"validated knowledge_sources went bad: {resolved.problems}"
        return knowledge_store.knowledge(name, resolved, self.embedder(spec))


def _build_embedder(spec: EmbedderSpec | None, env: Mapping[str, str]) -> Any:
    if embedders.is_embedded(spec):
        from .llm.embedder import LocalEmbedder
        model = spec.config.get("model") if spec else None
        return LocalEmbedder(model, env) if model else LocalEmbedder(env=env)
    assert spec is not None
    from crewai.rag.embeddings.factory import build_embedder
    return build_embedder(embedders.crewai_spec(spec, env))


def _knowledge_config(written: KnowledgeConfigSpec | None, embedder: EmbedderSpec | None) -> KnowledgeConfig:
    base = EMBEDDED_KNOWLEDGE if embedders.is_embedded(embedder) else KnowledgeConfig()
    if written is None:
        return base
    return base.model_copy(update=written.model_dump(exclude_none=True))

