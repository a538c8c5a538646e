"""Stage 5: run a validated crew and return what happened as a ``RunResult``."""
from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from .definition import CrewDef
from .llm.profiles import choose, load_config
from .project import Project
from .template import fill
from .record import Delegation, ModelCall, Recorder, TaskRecord, ToolCall


@dataclass
class RunResult:
    """What a run did: its final output, every task (who did it, what came out), delegations, calls."""

    run_id: str
    crew: str
    status: str  # completed or failed
    output: str | None
    run_dir: Path
    profile: str
    tasks: list[TaskRecord]
    delegations: list[Delegation] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    model_calls: list[ModelCall] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def task(self, key: str) -> TaskRecord:
        return next(t for t in self.tasks if t.key == key)

    @property
    def tokens(self) -> int:
        return sum(c.prompt_tokens + c.completion_tokens for c in self.model_calls)

    def summary(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "crew": self.crew, "status": self.status, "output": self.output,
                "profile": self.profile, "run_dir": str(self.run_dir), "seconds": round(self.seconds, 2),
                "error": self.error, "tokens": self.tokens}

    def render(self) -> str:
        lines = []
        if self.output:
            lines += [self.output.strip(), ""]
        for t in self.tasks:
            via = f" (delegated by manager)" if t.delegated_to else ""
            lines.append(f"  {t.status:9} {t.key:28} {t.agent or '-'}{via}")
        lines.append(f"run {self.run_id}: {self.status} in {self.seconds:.1f}s on '{self.profile}', "
                     f"{len(self.model_calls)} model calls, {self.tokens} tokens; outputs in {self.run_dir}")
        if self.error:
            lines.append(f"error: {self.error}")
        return "\n".join(lines)


def new_run_id(crew: str) -> str:
    return f"{datetime.now():%Y%m%d-%H%M%S}-{crew}-{secrets.token_hex(2)}"


def run_crew(project: Project, crew: CrewDef, values: Mapping[str, Any], llm: str | None = None) -> RunResult:
    """Assemble and kick off ``crew``; a failure is reported in the result, not raised."""
    config = load_config(project.config_dir)
    profile, reason = choose(config, llm, os.environ)
    override = profile if reason in ("--llm", "ROLECALL_LLM") else None
    run_id = new_run_id(crew.name)
    run_dir = project.runs_dir / run_id

    from .assemble import assemble  # imports crewai
    from .llm.factory import LlmPool
    pool = LlmPool(project, config, override)
    assembly = assemble(project, crew, values, pool, profile)
    role_keys = {agent.role.strip(): key for key, agent in assembly.agents.items()}
    output_files = {k: fill(t.output_file, values) for k, t in crew.tasks.items() if t.output_file}
    recorder = Recorder(run_dir, list(crew.tasks), role_keys, output_files)
    started = time.perf_counter()
    output, error = None, None
    with recorder.listening():
        try:
            output = assembly.crew.kickoff().raw
        except Exception as exc:  # a failed run keeps what finished; the error goes in the result
            error = f"{type(exc).__name__}: {exc}"
    result = RunResult(run_id, crew.name, "failed" if error else "completed", output, run_dir, profile,
                       list(recorder.tasks.values()), recorder.delegations, recorder.tool_calls,
                       recorder.model_calls, error, time.perf_counter() - started)
    recorder.write_summary({**result.summary(), "inputs": dict(values)})
    return result
