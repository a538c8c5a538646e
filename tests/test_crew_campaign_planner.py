"""campaign_planner: researcher -> strategist -> creator -> scheduler, ending in a dated schedule."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

pytestmark = pytest.mark.crew

INPUTS = {"start_date": "2026-09-07", "weeks": 1, "posts_per_week": 3, "channels": "LinkedIn, Instagram"}
CALENDAR = {"tool": "posting_calendar", "input": {k: INPUTS[k] for k in ("start_date", "weeks", "posts_per_week",
                                                                          "channels")}}


def _schedule(*posts: tuple[str, str, str]) -> str:
    return json.dumps({"campaign": "Sip Smarter", "posts": [
        {"date": date, "channel": channel, "post": post} for date, channel, post in posts]})


@pytest.fixture
def prompts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(task, whole conversation) of every scripted model call."""
    from rolecall.llm.scripted import ScriptedLLM
    seen: list[tuple[str, str]] = []
    original = ScriptedLLM.complete

    def spy(self: ScriptedLLM, ctx: Any) -> Any:
        seen.append((ctx.task_name, "\n".join(str(m.get("content")) for m in ctx.messages)))
        return original(self, ctx)
    monkeypatch.setattr(ScriptedLLM, "complete", spy)
    return seen


def test_the_scheduler_dates_every_post_from_the_calendar(run_crew, repo_project, prompts):
    # written out of order: the schema keeps the schedule in calendar order
    reply = _schedule(("2026-09-11", "LinkedIn", "Friday refill"), ("2026-09-07", "LinkedIn", "Meet Fernway"),
                      ("2026-09-09", "Instagram", "Desk hydration"))
    result = run_crew("campaign_planner", inputs=INPUTS, script={"tasks": {"schedule_task": [CALENDAR, reply]}},
                      project=repo_project)
    assert result.ok, result.error
    assert [(t.key, t.agent) for t in result.tasks] == [
        ("market_research_task", "market_researcher"), ("strategy_task", "strategist"),
        ("content_task", "content_creator"), ("schedule_task", "scheduler")]
    [call] = result.tool_calls
    assert (call.task, call.agent, call.tool) == ("schedule_task", "scheduler", "posting_calendar")
    # the calendar tool's exact dates reached the scheduler before it answered
    after_tool = [text for task, text in prompts if task == "schedule_task"][1]
    assert ("2026-09-07 Monday LinkedIn\n2026-09-09 Wednesday Instagram\n2026-09-11 Friday LinkedIn"
            in after_tool)

    schedule = result.task("schedule_task").structured
    assert set(schedule) == {"campaign", "posts"} and schedule["campaign"] == "Sip Smarter"
    assert all(set(post) == {"date", "channel", "post"} for post in schedule["posts"])
    dates = [dt.date.fromisoformat(post["date"]) for post in schedule["posts"]]
    assert dates == [dt.date(2026, 9, 7), dt.date(2026, 9, 9), dt.date(2026, 9, 11)]
    assert [post["post"] for post in schedule["posts"]] == ["Meet Fernway", "Desk hydration", "Friday refill"]
    assert json.loads((result.run_dir / "04_schedule_task.json").read_text()) == schedule


def test_a_schedule_without_real_dates_is_refused(run_crew, repo_project):
    reply = _schedule(("next Monday", "LinkedIn", "Meet Fernway"))
    result = run_crew("campaign_planner", inputs=INPUTS, script={"tasks": {"schedule_task": [CALENDAR, reply]}},
                      project=repo_project)
    assert result.status == "failed" and "posts.0.date" in result.error
    assert [t.status for t in result.tasks] == ["completed", "completed", "completed", "failed"]
    assert not (result.run_dir / "04_schedule_task.json").exists()
