"""The scripted model on its own: replies, scripts, and crewai's async entry point."""
from __future__ import annotations

import asyncio

from rolecall.llm.scripted import ScriptedLLM, render_step


def test_script_steps_render_as_crewais_text_protocol():
    assert render_step({"tool": "search", "input": {"q": "x"}}) == (
        'Thought: I should use search\nAction: search\nAction Input: {"q": "x"}')
    assert render_step("plain").endswith("Final Answer: plain")


def test_acall_answers_like_call():
    llm = ScriptedLLM(model="scripted", script={"agents": {"": []}})
    reply = asyncio.run(llm.acall("Say something"))
    assert "Final Answer:" in reply and llm.calls[-1]["reply"] == reply
