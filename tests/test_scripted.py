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


def test_samples_satisfy_every_constraint_a_schema_states():
    import datetime
    from typing import Literal

    from pydantic import BaseModel, Field

    from rolecall.llm.samples import sample

    class Line(BaseModel):
        sku: str = Field(pattern=r"^[A-Z]{3}-\d{4}$")
        quantity: int = Field(ge=5, le=10, multiple_of=5)

    class Order(BaseModel):
        channel: str = Field(max_length=8)
        summary: str = Field(min_length=40)
        ratio: float = Field(gt=0, lt=0.5)
        lines: list[Line] = Field(min_length=2, max_length=3)
        kind: Literal["web", "shop"]
        due: datetime.date
        note: str | None = Field(None, max_length=4)

    order = sample(Order, "Clerk")
    assert order.channel == "channel "[:8] and len(order.summary) >= 40 and 0 < order.ratio < 0.5
    assert [(line.sku, line.quantity) for line in order.lines] == [("AAA-0000", 5), ("AAA-0000", 5)]
    assert (order.kind, order.due) == ("web", datetime.date(2026, 1, 5))
    assert Order.model_validate(order.model_dump()) == order


def test_tool_names_are_sanitised_exactly_as_crewai_does():
    from crewai.utilities.string_utils import sanitize_tool_name

    from rolecall.delegation import sanitized
    names = ["Read a file's content", "Delegate work to coworker", "FileWriterTool", "HTTPServerTool",
             "search—the wéb", "x" * 90, "  spaced  out  ", "a__b--c", "getJSONData"]
    assert [sanitized(n) for n in names] == [sanitize_tool_name(n) for n in names]
