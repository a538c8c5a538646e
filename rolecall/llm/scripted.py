"""A deterministic model for tests and demos; it calls no network and no weights.

Without a script it behaves sensibly for any crew: a worker answers with a
short final answer naming its role and task; a manager delegates each task to
a coworker through CrewAI's own delegation tool (the task's bound agent, else
the best role match) and then returns the coworker's answer.

With a script it replays exactly. A script is YAML::

    tasks:                 # by task name (tasks.yaml key)
      research_task:
        - tool: search_knowledge         # an Action step
          input: {query: solar storage}
        - Five findings about solar.     # a final answer
    agents:                # by agent key or role
      reporting_analyst:
        - delegate: Senior Data Researcher   # sugar for CrewAI's delegation tool
          task: Check the numbers
          context: The report draft

An entry ``{error: message}`` makes that call fail, to test failure handling.
A ``judge:`` list scripts the verdicts asked of the scripted model as an eval's judge
(``{pass: false, reason: ...}``, or text to test an answer that is not JSON); without one,
``rolecall.judge.scripted_verdict`` decides.

Tool steps reach crewai as native function calls (the arguments are data: nothing
in them can be read as a final answer), or as crewai's text protocol when the
profile asks for ``protocol: text``. When crewai asks for a summary of a long
conversation, the reply keeps the task and every tool result, not a placeholder.
Replies are taken in order from the first matching list (task, then agent key,
then role); when a list runs out the default behaviour takes over.
``ROLECALL_SCRIPTED_DELAY`` (seconds, read once per run) delays every call.
"""
from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, PrivateAttr

from ..delegation import DELEGATE_TOOL
from ..judge import is_judge_request, scripted_verdict
from . import chores
from .base import UNLIMITED_CONTEXT, CallContext, Completion, RolecallLLM, ToolCall, rough_tokens
from .react import action_step
from .samples import sample
from .summary import is_summary_request, summary_of

_WORD = re.compile(r"[a-z]{3,}")
_OBSERVATION = re.compile(r"Observation:\s*(.*)", re.S)
_FINAL = re.compile(r"\A(?:Thought:[^\n]*\n)?Final Answer:\s*", re.S)
_ACTION = re.compile(r"\A(?:Thought:[^\n]*\n)?Action:[ \t]*([^\n]+?)[ \t]*\nAction Input:[ \t]*(\{.*\})\s*\Z", re.S)


class ScriptedLLM(RolecallLLM):
    llm_type: str = "scripted"
    provider: str = "rolecall"
    script: dict[str, Any] = {}  # tasks: {name: [...]}, agents: {key or role: [...]}, judge: [...]
    agent_keys: dict[str, str] = {}  # filled role -> agents.yaml key, set by assembly
    delay: float = 0.0  # seconds per call, to test timing
    _cursor: dict[tuple[str, str], int] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    calls: list[dict[str, Any]] = []
    context_window: int = UNLIMITED_CONTEXT

    def get_context_window_size(self) -> int:
        return self.context_window

    @classmethod
    def from_file(cls, file: Path | None, **kwargs: Any) -> ScriptedLLM:
        script = yaml.safe_load(file.read_text(encoding="utf-8")) if file else {}
        return cls(model="scripted", script=script or {}, **kwargs)

    def complete(self, ctx: CallContext) -> Completion:
        if self.delay:
            time.sleep(self.delay)
        prompt = sum(rough_tokens(str(m.get("content") or "")) for m in ctx.messages)
        if is_summary_request(ctx.messages):  # crewai compacting a long conversation: not a script step
            text = summary_of(ctx.messages)
            return Completion(text, prompt, rough_tokens(text))
        if is_judge_request(ctx.messages):  # an eval's rubric check, outside any crew
            text = self._verdict(ctx)
            return Completion(text, prompt, rough_tokens(text))
        reply = self._scripted(ctx)
        if isinstance(reply, dict) and "error" in reply:
            raise RuntimeError(f"scripted failure: {reply['error']}")
        if reply is None:
            reply = self._default(ctx)
        elif not isinstance(reply, str) or ctx.response_model is None:
            reply = native_step(reply) if ctx.native else render_step(reply)
        if ctx.native and isinstance(reply, str):
            reply = native_step(reply)
        with self._lock:
            self.calls.append({"agent": ctx.role, "task": ctx.task_name, "reply": reply})
        if isinstance(reply, list):
            return Completion("", prompt, rough_tokens(json.dumps([vars(c) for c in reply])), tool_calls=reply)
        return Completion(reply, prompt, rough_tokens(reply if isinstance(reply, str) else json.dumps(str(reply))))

    # --- script ---------------------------------------------------------------
    def _scripted(self, ctx: CallContext) -> Any:
        keys = [("tasks", ctx.task_name), ("agents", self.agent_keys.get(ctx.role, "")), ("agents", ctx.role)]
        with self._lock:
            for section, key in keys:
                replies = (self.script.get(section) or {}).get(key)
                position = self._cursor.get((section, key), 0)
                if key and replies and position < len(replies):
                    self._cursor[(section, key)] = position + 1
                    return replies[position]
        return None

    def _verdict(self, ctx: CallContext) -> str:
        with self._lock:
            replies = self.script.get("judge") or []
            position = self._cursor.get(("judge", ""), 0)
            self._cursor[("judge", "")] = position + 1
        if position < len(replies):
            reply = replies[position]
            return reply if isinstance(reply, str) else json.dumps(reply)
        return scripted_verdict(ctx.messages)

    # --- default behaviour ----------------------------------------------------
    def _default(self, ctx: CallContext) -> Any:
        chore = None if ctx.role else chores.reply(ctx.messages)  # crewai's memory/knowledge prompts
        if chore is not None:
            return chore
        observation = last_observation(ctx.messages)
        structured = getattr(ctx.task, "output_pydantic", None) or getattr(ctx.task, "output_json", None)
        if ctx.is_manager:
            if observation is not None:
                # a coworker answers in text; a structured task needs the schema's JSON back
                return final(observation if structured is None or _fits(structured, observation)
                             else sample(structured, ctx.role).model_dump_json())
            delegate = next((t for t in ctx.agent_tools() if t.name == DELEGATE_TOOL), None)
            if delegate is not None and getattr(delegate, "agents", None):
                coworker = best_match(ctx.task, delegate.agents)
                return render_step({"tool": DELEGATE_TOOL, "input": {
                    "task": _text(ctx.task, "description"),
                    "context": f"Expected output: {_text(ctx.task, 'expected_output')}",
                    "coworker": coworker.role.strip()}})
        if ctx.response_model is not None:
            return sample(ctx.response_model, ctx.role)
        if structured is not None:  # an agent with tools gets no response_model; answer in JSON text
            return final(sample(structured, ctx.role).model_dump_json())
        what = ctx.task_name or _first_words(_text(ctx.task, "description"))
        return final(f"{ctx.role} finished {what}: {_first_words(_text(ctx.task, 'expected_output'), 20)}")


def final(text: str) -> str:
    return f"Thought: I now know the final answer\nFinal Answer: {text}"


def render_step(step: Any) -> str:
    """A script entry as the text CrewAI's parser expects."""
    if isinstance(step, str):
        return step if "Final Answer:" in step or "Action:" in step else final(step)
    if isinstance(step, dict) and "delegate" in step:
        step = {"tool": DELEGATE_TOOL, "input": {"task": step.get("task", ""), "context": step.get("context", ""),
                                                 "coworker": step["delegate"]}}
    if isinstance(step, dict) and "tool" in step:
        return action_step(str(step["tool"]), dict(step.get("input") or {}))
    raise ValueError(f"script entry must be text, {{tool, input}} or {{delegate, task, context}}: {step!r}")


def native_step(step: Any) -> str | list[ToolCall]:
    """A script entry as a native step: a list of tool calls, or the answer's plain text.

    Text written in crewai's protocol is read once, here, from the script author's own
    words: a whole ``Action:``/``Action Input:`` step becomes that call, and a
    ``Final Answer:`` prefix is dropped. Anything else is the answer as written.
    """
    if isinstance(step, dict) and "delegate" in step:
        return [ToolCall(DELEGATE_TOOL, {"task": step.get("task", ""), "context": step.get("context", ""),
                                         "coworker": step["delegate"]})]
    if isinstance(step, dict) and "tool" in step:
        return [ToolCall(str(step["tool"]), dict(step.get("input") or {}))]
    if isinstance(step, list):  # several calls in one step, as a native model may make
        return [call for item in step for call in native_step(item) if isinstance(call, ToolCall)]
    if not isinstance(step, str):
        raise ValueError(f"script entry must be text, {{tool, input}} or {{delegate, task, context}}: {step!r}")
    action = _ACTION.match(step)
    if action:
        try:
            return [ToolCall(action.group(1), json.loads(action.group(2)))]
        except ValueError:
            pass
    return _FINAL.sub("", step, count=1)


def last_observation(messages: list[dict[str, Any]]) -> str | None:
    """The result of the agent's last tool call, if the conversation has one."""
    if messages and messages[-1].get("role") == "tool":  # crewai's native path
        return str(messages[-1].get("content") or "").strip()
    for message in reversed(messages[1:]):
        content = str(message.get("content") or "")
        found = _OBSERVATION.search(content)
        if found and message.get("role") != "system":
            return found.group(1).strip()
    return None


def best_match(task: Any, agents: list[Any]) -> Any:
    """The agent whose role (weighted double) and goal share most word stems with the task."""
    if len(agents) == 1:
        return agents[0]
    wanted = _stems(f"{getattr(task, 'name', '')} {_text(task, 'description')}".replace("_", " "))

    def score(agent: Any) -> int:
        return 2 * len(wanted & _stems(agent.role)) + len(wanted & _stems(agent.goal))
    return max(agents, key=score)


def _stems(text: str) -> set[str]:
    # five letters is a crude stem, but it matches research/researcher and report/reporting
    return {word[:5] for word in _WORD.findall(text.lower())}


def _fits(model: type[BaseModel], text: str) -> bool:
    try:
        model.model_validate_json(text)
        return True
    except ValueError:
        return False


def _text(task: Any, field: str) -> str:
    return " ".join(str(getattr(task, field, "") or "").split())


def _first_words(text: str, count: int = 8) -> str:
    words = text.split()
    return " ".join(words[:count]) + (" ..." if len(words) > count else "")
