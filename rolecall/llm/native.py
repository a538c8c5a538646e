"""crewai's native tool calling, spoken to a local chat model in the format it was trained on.

crewai's native path hands the model OpenAI-style messages (an assistant turn with
``tool_calls`` and no text, then one ``tool`` message per result) and the tools as JSON
schemas, not in the prompt. Qwen2.5 was trained to read tools from a ``<tools>`` block in
its system prompt, to call one as ``<tool_call>{"name", "arguments"}</tool_call>`` and to
read a result as a ``<tool_response>``; this module writes the conversation that way and
reads the model's call back. The schemas shown are the tools' own (``args_schema``), where
an optional argument is optional, not crewai's strict copy where every one is required.
"""
from __future__ import annotations

import json
import re
from typing import Any

from ..delegation import sanitized
from .base import ToolCall
from .grammar import ToolSpec

_PREAMBLE = """

# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{tools}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{{"name": <function-name>, "arguments": <args-json-object>}}
</tool_call>"""

_CALL = re.compile(r"\A\s*<tool_call>\s*(\{.*\})\s*</tool_call>\s*\Z", re.S)


def signatures(tools: list[ToolSpec], descriptions: dict[str, str]) -> str:
    """The ``<tools>`` block: one function per line, crewai's name, the tool's own schema."""
    lines = []
    for tool in tools:
        name = sanitized(tool.name)
        schema = {k: v for k, v in tool.schema.items() if k not in ("title", "description")}
        function = {"name": name, "description": descriptions.get(name, ""), "parameters": schema}
        lines.append(json.dumps({"type": "function", "function": function}, ensure_ascii=False))
    return "\n".join(lines)


def descriptions(openai_tools: list[Any] | None) -> dict[str, str]:
    """crewai's description of each function it sent, by name."""
    out = {}
    for entry in openai_tools or []:
        function = entry.get("function", {}) if isinstance(entry, dict) else {}
        if function.get("name"):
            out[str(function["name"])] = str(function.get("description") or "")
    return out


# crewai's text path asks for the next step after every tool result; its native path does not,
# and the 0.5B model then answered after its first call in 11 of 11 AgentDojo banking tasks.
# Measured on those tasks, this question got more real calls than crewai's own wording
# (slices.post_tool_reasoning): 0.5B 32 calls against 22, 1.5B 13 against 11 and one task passed.
NEXT_STEP = ("Does the request need another tool call (an action, or a value you do not have yet)? "
             "Then call the next tool. If it is done, give the answer.")


def chat(messages: list[dict[str, Any]], tools_block: str | None) -> list[dict[str, str]]:
    """crewai's messages as plain role/text turns the chat template takes, tools in the system turn."""
    out = [_turn(m) for m in messages]
    if tools_block and messages and messages[-1].get("role") == "tool":
        out[-1] = {"role": "user", "content": out[-1]["content"] + "\n" + NEXT_STEP}
    if tools_block:
        preamble = _PREAMBLE.format(tools=tools_block)
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": out[0]["content"] + preamble}
        else:
            out.insert(0, {"role": "system", "content": preamble.lstrip()})
    return out


def _turn(message: dict[str, Any]) -> dict[str, str]:
    role = str(message.get("role") or "user")
    if role == "tool":
        return {"role": "user", "content": f"<tool_response>\n{_text(message.get('content'))}\n</tool_response>"}
    calls = message.get("tool_calls") or []
    if role == "assistant" and calls:
        written = [_written(call) for call in calls]
        text = _text(message.get("content"))
        return {"role": "assistant", "content": "\n".join(([text] if text else []) + written)}
    return {"role": role, "content": _text(message.get("content"))}


def _written(call: dict[str, Any]) -> str:
    function = call.get("function") or {}
    arguments = function.get("arguments") or "{}"
    try:
        arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        pass
    body = json.dumps({"name": function.get("name", ""), "arguments": arguments}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return json.dumps(content, ensure_ascii=False) if content is not None else ""


def parsed(text: str) -> list[ToolCall] | None:
    """The call in a reply, or None if the reply is an answer."""
    found = _CALL.match(text)
    if not found:
        return None
    try:
        call = json.loads(found.group(1))
    except ValueError:
        return None
    if not isinstance(call, dict) or not isinstance(call.get("arguments"), dict):
        return None
    return [ToolCall(str(call.get("name") or ""), call["arguments"])]


# how the 0.5B model echoed NEXT_STEP instead of acting on it ("Yes, the request needs another
# tool call (an action, ...). Call the next tool."): 2 of 11 AgentDojo banking answers
_ECHOES = ("needs another tool call", "need another tool call", "call the next tool")


def meant_call(text: str, tools: list[ToolSpec]) -> bool:
    """Whether an answer really asks for a call: a call written as text (a JSON ``"name"`` of one
    of ``tools``), or NEXT_STEP's question answered with "yes, another call" in words."""
    names = {sanitized(t.name) for t in tools}
    lowered = text.lower()
    return (any(f'"name": "{name}"' in text or f'"name":"{name}"' in text for name in names)
            or any(echo in lowered for echo in _ECHOES))


def tokens_text(openai_tools: list[Any] | None) -> str:
    """What the tools add to a prompt, for counting."""
    return json.dumps(openai_tools or [], ensure_ascii=False)
