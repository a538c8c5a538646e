"""content_analysis: three analyses of one text run at the same time, then one task joins them."""
from __future__ import annotations

from datetime import datetime

import pytest

pytestmark = pytest.mark.crew

BRANCHES = ["sentiment_task", "entity_task", "topic_task"]
DELAY = 0.5  # seconds the scripted model waits per call


def _span(result, keys: list[str]) -> float:
    """Seconds from the first of these tasks starting to the last one finishing."""
    tasks = [result.task(k) for k in keys]
    start = min(datetime.fromisoformat(t.started_at) for t in tasks)
    end = max(datetime.fromisoformat(t.finished_at) for t in tasks)
    return (end - start).total_seconds()


def test_each_analyst_does_its_part_and_the_lead_joins_them(run_crew, repo_project):
    script = {"tasks": {"sentiment_task": ["mixed: 'speed is great' but 'took a week'"],
                        "entity_task": ["- Trello (product)\n- Linear (product)\n- Berlin (place)"],
                        "topic_task": ["- tool migration\n- GitHub sync\n- support response time"]}}
    result = run_crew("content_analysis", script=script, project=repo_project)
    assert result.ok, result.error
    assert [(t.key, t.agent, t.status) for t in result.tasks] == [
        ("sentiment_task", "sentiment_analyst", "completed"),
        ("entity_task", "entity_extractor", "completed"),
        ("topic_task", "topic_analyst", "completed"),
        ("report_task", "analysis_lead", "completed")]
    assert sorted((c.task, c.agent) for c in result.model_calls) == sorted(
        [("sentiment_task", "sentiment_analyst"), ("entity_task", "entity_extractor"),
         ("topic_task", "topic_analyst"), ("report_task", "analysis_lead")])
    assert (result.run_dir / "analysis.md").read_text().strip() == result.output.strip()


def test_branches_run_in_parallel(run_crew, repo_project, monkeypatch):
    # a serial crew pays DELAY per call (4 calls: +2.0 s); parallel branches pay one branch
    # plus the join (+1.0 s). The quicker of two baseline runs keeps a slow baseline on a
    # busy machine from hiding a serial run.
    baseline = min(run_crew("content_analysis", project=repo_project).seconds for _ in range(2))
    monkeypatch.setenv("ROLECALL_SCRIPTED_DELAY", str(DELAY))
    delayed = run_crew("content_analysis", project=repo_project)
    assert delayed.ok, delayed.error
    extra = delayed.seconds - baseline
    assert 2 * DELAY * 0.8 <= extra < 3.4 * DELAY, f"delay added {extra:.2f}s; parallel ~1.0s, serial >= 2.0s"
    # and the recorded task times show the overlap itself: three 0.5 s branches in well under 1.5 s
    assert _span(delayed, BRANCHES) < 2.4 * DELAY, f"branches took {_span(delayed, BRANCHES):.2f}s"
    assert datetime.fromisoformat(delayed.task("report_task").started_at) >= max(
        datetime.fromisoformat(delayed.task(k).finished_at) for k in BRANCHES)
