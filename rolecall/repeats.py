"""What happens to a tool call identical to the one just before it: it runs, or it is refused and recorded.

crewai drops such calls on its own: its text path answers a repeat of the last call with a
message and emits no tool event, and its tool cache answers a repeat from memory. Neither
leaves a trace in the run store, and a second identical ``send_money`` would simply not
happen. rolecall takes the decision itself, for every tool it binds:

* ``allow``: the call runs again (a tool that changes the world: a payment, an email);
* ``refuse``: the call is not run and comes back as a refusal the agent reads and the run
  store keeps (``refused: repeated call ...``).

A binding in agents.yaml/tasks.yaml/crew.yaml says ``{send_money: {repeat: allow}}``; without
one, a tool class that sets ``idempotent = False`` is ``allow`` and every other tool ``refuse``.
"Identical" means the same tool with the same arguments as the previous call in the same task.
"""
from __future__ import annotations

import json
import threading
from functools import cache
from typing import Any, Literal

Repeat = Literal["allow", "refuse"]
POLICIES: tuple[Repeat, ...] = ("allow", "refuse")
KEY = "repeat"  # the reserved key in a tool binding's settings

REFUSED_CODE = "repeated_call"


def policy_of(tool: Any, binding: str | None) -> Repeat:
    if binding in POLICIES:
        return binding
    return "allow" if getattr(tool, "idempotent", True) is False else "refuse"


class RepeatGate:
    """The last call made in each task of one run, shared by all the run's tools."""

    def __init__(self) -> None:
        self._last: dict[str | None, str] = {}
        self._lock = threading.Lock()

    def admit(self, tool: str, arguments: dict[str, Any], policy: Repeat) -> bool:
        """Whether this call may run; remembers it as the task's last call either way."""
        task = _current_task()
        key = json.dumps([tool, arguments], sort_keys=True, default=str)
        with self._lock:
            repeated = self._last.get(task) == key
            self._last[task] = key
        return policy == "allow" or not repeated


def refusal(tool: str) -> Any:
    from crewai.tools.tool_failure import ToolFailure
    return ToolFailure(message=f"refused: repeated call: {tool} was just called with these same arguments "
                               f"and its answer is above; it is not run again (repeat: refuse)",
                       code=REFUSED_CODE, retryable=False)


def _current_task() -> str | None:
    from crewai.context import get_current_task_id
    return get_current_task_id()


def forget_last_call(crew: Any) -> None:
    """Give each agent a tools handler that never remembers a last call, so crewai's own repeat
    check (text path, ``ToolUsage._check_tool_repeated_usage``) cannot drop a call unrecorded.
    Called on a built Crew: crewai sets the handlers while it validates one."""
    forgetful = _forgetful()
    for agent in list(getattr(crew, "agents", None) or []):
        handler = getattr(agent, "tools_handler", None)
        if handler is not None and not isinstance(handler, forgetful):
            agent.tools_handler = forgetful(cache=handler.cache)


@cache
def _forgetful() -> type:
    from crewai.agents.tools_handler import ToolsHandler

    class ForgetfulToolsHandler(ToolsHandler):
        def on_tool_use(self, calling: Any, output: Any, should_cache: bool = True) -> None:
            super().on_tool_use(calling, output, should_cache)
            self.last_used_tool = None
    return ForgetfulToolsHandler


def outcome(error: str | None) -> str:
    """What became of a recorded tool call: ran, refused (a repeat), blocked (confinement) or failed."""
    if not error:
        return "ran"
    if error.startswith("refused: repeated call"):
        return "refused"
    if error.startswith("refused:"):  # tool_guard's workspace confinement
        return "blocked"
    return "failed"
