"""What every rolecall LLM shares: crewai's call events, token usage, stop words.

Subclasses implement ``complete()``; this class turns it into a proper
``crewai.llms.base_llm.BaseLLM`` whose calls show up on crewai's event bus
with their token counts, like any provider's.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

from crewai.events.types.llm_events import LLMCallType
from crewai.llms.base_llm import BaseLLM, llm_call_context

# crewai's context window for models that state none is 4,096 tokens; past it, crewai
# replaces the conversation with a summary. The scripted model has no real limit.
UNLIMITED_CONTEXT = 1_000_000


@dataclass
class ToolCall:
    """One native function call the model asks for: crewai's sanitised tool name and its arguments."""

    name: str
    arguments: dict[str, Any]


@dataclass
class Completion:
    text: str | Any  # a pydantic instance when a response_model was asked for
    prompt_tokens: int
    completion_tokens: int
    tool_calls: list[ToolCall] | None = None  # native function calls instead of a text answer


@dataclass
class CallContext:
    """Who is calling, as crewai hands it over."""

    messages: list[dict[str, Any]]
    agent: Any = None
    task: Any = None
    tools: list[Any] | None = None  # the OpenAI-style schemas crewai sends on its native path
    response_model: Any = None

    @property
    def native(self) -> bool:
        """crewai runs this step with native function calling (it sent the tools' schemas)."""
        return bool(self.tools)

    @property
    def role(self) -> str:
        return (getattr(self.agent, "role", "") or "").strip()

    @property
    def task_name(self) -> str:
        return getattr(self.task, "name", "") or ""

    def agent_tools(self) -> list[Any]:
        """The real tool objects the agent runs with for this task (delegation tools included)."""
        executor = getattr(self.agent, "agent_executor", None)
        return list(getattr(executor, "original_tools", None) or getattr(self.agent, "tools", None) or [])

    @property
    def is_manager(self) -> bool:
        crew = getattr(self.agent, "crew", None)
        return crew is not None and getattr(crew, "manager_agent", None) is self.agent


def as_messages(messages: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": messages}] if isinstance(messages, str) else list(messages)


def rough_tokens(text: str) -> int:
    """About four characters per token, the usual rule of thumb for English."""
    return max(1, (len(text) + 3) // 4)


class RolecallLLM(BaseLLM):
    """Base for rolecall's own models (scripted, local).

    Both take crewai's native function calling by default: crewai sends the tools' JSON
    schemas and runs the calls the model returns as data, so no text in an argument
    (``Final Answer:``, ``Action:``) can be read as a step. ``native_tools = False`` (a
    profile's ``protocol: text``) keeps crewai's text protocol (Thought/Action/Final Answer).
    """

    native_tools: bool = True

    def complete(self, ctx: CallContext) -> Completion:  # pragma: no cover - abstract
        raise NotImplementedError

    def call(self, messages: Any, tools: Any = None, callbacks: Any = None, available_functions: Any = None,
             from_task: Any = None, from_agent: Any = None, response_model: Any = None) -> Any:
        with llm_call_context():
            return self._call(as_messages(messages), tools, callbacks, available_functions,
                              from_task, from_agent, response_model)

    async def acall(self, messages: Any, tools: Any = None, callbacks: Any = None, available_functions: Any = None,
                    from_task: Any = None, from_agent: Any = None, response_model: Any = None) -> Any:
        # crewai's async paths; the work itself is blocking (a lock, a local model), so it gets a thread
        return await asyncio.to_thread(self.call, messages, tools, callbacks, available_functions,
                                       from_task, from_agent, response_model)

    def _call(self, msgs: list[dict[str, Any]], tools: Any, callbacks: Any, available_functions: Any,
              from_task: Any, from_agent: Any, response_model: Any) -> Any:
        wire: Any = msgs  # crewai types these as its LLMMessage TypedDict; ours are plain dicts of the same keys
        self._emit_call_started_event(messages=wire, tools=tools, callbacks=callbacks,
                                      available_functions=available_functions,
                                      from_task=from_task, from_agent=from_agent)
        ctx = CallContext(msgs, from_agent, from_task, tools, response_model)
        try:
            done = self.complete(ctx)
        except Exception as exc:
            self._emit_call_failed_event(error=str(exc), from_task=from_task, from_agent=from_agent)
            raise
        usage = {"prompt_tokens": done.prompt_tokens, "completion_tokens": done.completion_tokens,
                 "total_tokens": done.prompt_tokens + done.completion_tokens, "successful_requests": 1}
        self._track_token_usage_internal(usage)
        if done.tool_calls:
            calls = wire_calls(done.tool_calls)
            self._emit_call_completed_event(response=calls, call_type=LLMCallType.TOOL_CALL, from_task=from_task,
                                            from_agent=from_agent, messages=wire, usage=usage)
            return calls
        # a native answer is data: stop words would cut an answer that quotes one
        text = done.text if not isinstance(done.text, str) or ctx.native else self._apply_stop_words(done.text)
        self._emit_call_completed_event(response=text, call_type=LLMCallType.LLM_CALL, from_task=from_task,
                                        from_agent=from_agent, messages=wire, usage=usage)
        return text

    def supports_function_calling(self) -> bool:
        return self.native_tools

    def supports_stop_words(self) -> bool:
        return True

    def get_input_tokens_count(self, messages: Any, tools: Any = None, response_model: Any = None) -> int:
        return sum(rough_tokens(str(m.get("content") or "")) for m in as_messages(messages))


def wire_calls(calls: list[ToolCall]) -> list[dict[str, Any]]:
    """Tool calls in the OpenAI shape crewai's native executor reads (``extract_tool_call_info``)."""
    return [{"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
             "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)}}
            for call in calls]
