"""content_pipeline: five agents in order; the editor's check sends drafts back to the writer, a bounded number of times."""
from __future__ import annotations

from typing import Any

import pytest
import yaml

from helpers import REPO

pytestmark = pytest.mark.crew

JUDGE = "Guardrail Agent"  # the role crewai gives the model that applies a task's plain-language guardrail
REJECT = '{"valid": false, "feedback": "Split the draft into sections with ## headings."}'
ACCEPT = '{"valid": true, "feedback": null}'
GOOD_DRAFT = "# Crews on a laptop\n\n## Why\nNo API bill.\n\n## How\nA small local model.\n\n## Limits\nIt is slow."
ARTICLE = GOOD_DRAFT.replace("# Crews on a laptop", "# Run AI crews on a laptop\n\n*No cloud API needed.*")


def _max_retries() -> int:
    tasks = yaml.safe_load((REPO / "crews/content_pipeline/config/tasks.yaml").read_text())
    return tasks["writing_task"]["guardrail_max_retries"]


@pytest.fixture
def prompts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """(task, role, last message) of every scripted model call: what each agent was actually told."""
    from rolecall.llm.scripted import ScriptedLLM
    seen: list[tuple[str, str, str]] = []
    original = ScriptedLLM.complete

    def spy(self: ScriptedLLM, ctx: Any) -> Any:
        seen.append((ctx.task_name, ctx.role, str(ctx.messages[-1].get("content"))))
        return original(self, ctx)
    monkeypatch.setattr(ScriptedLLM, "complete", spy)
    return seen


def _calls(result, agent: str) -> list[str | None]:
    return [c.task for c in result.model_calls if c.agent == agent]


def test_a_rejected_draft_goes_back_to_the_writer_then_on_to_editing_and_seo(run_crew, repo_project, prompts):
    script = {"agents": {"writer": ["One long paragraph about crews.", GOOD_DRAFT], JUDGE: [REJECT, ACCEPT]},
              "tasks": {"seo_task": [ARTICLE]}}
    result = run_crew("content_pipeline", script=script, project=repo_project)
    assert result.ok, result.error
    assert [(t.key, t.agent, t.status) for t in result.tasks] == [
        ("research_task", "researcher", "completed"), ("outline_task", "outliner", "completed"),
        ("writing_task", "writer", "completed"), ("editing_task", "editor", "completed"),
        ("seo_task", "seo_specialist", "completed")]
    # two drafts, each judged once; the second draft is the one accepted
    assert _calls(result, "writer") == _calls(result, JUDGE) == ["writing_task", "writing_task"]
    assert result.task("writing_task").output == GOOD_DRAFT
    rewrite = [text for task, role, text in prompts if role == "Content Writer"][1]
    assert "Split the draft into sections with ## headings." in rewrite  # the editor's feedback reached the writer
    # the SEO task's output_file is the published article, in the run folder
    assert (result.run_dir / "article.md").read_text().strip() == ARTICLE


def test_the_send_back_loop_is_bounded(run_crew, repo_project):
    rounds = 1 + _max_retries()
    script = {"agents": {JUDGE: [REJECT] * (rounds + 5)}}  # the check would fail forever
    result = run_crew("content_pipeline", script=script, project=repo_project)
    assert result.status == "failed"
    assert f"after {_max_retries()} retries" in result.error and "## headings" in result.error
    assert _calls(result, "writer") == _calls(result, JUDGE) == ["writing_task"] * rounds
    assert [t.status for t in result.tasks] == ["completed", "completed", "failed", "pending", "pending"]
    assert not (result.run_dir / "article.md").exists()  # nothing the editor rejected gets published


def test_a_draft_accepted_first_time_is_written_once(run_crew, repo_project):
    result = run_crew("content_pipeline", inputs={"topic": "vector databases"}, project=repo_project)
    assert result.ok, result.error
    assert _calls(result, "writer") == _calls(result, JUDGE) == ["writing_task"]
    assert [c.agent for c in result.model_calls] == [
        "researcher", "outliner", "writer", JUDGE, "editor", "seo_specialist"]
