"""Model calls that survive faults: a chain of profiles, each with its own retries and breaker.

``ResilientLLM`` is a crewai ``BaseLLM`` that holds a chain of profiles (the
primary first, then its ``fallback`` list). Each link is called with its own
profile's policy (``retry.py``): transient failures are retried with exponential
backoff and full jitter; when a link's retries run out or its breaker
(``breaker.py``) is open, the next link is tried. Errors a retry cannot fix are
raised at once.

Every retry, fallback and breaker change prints one ``model: ...`` line to
stderr and emits an event on crewai's bus (``events.py``); both go through one
``Redactor`` that knows the chain's API keys.
"""
from __future__ import annotations

import asyncio
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from crewai.events import crewai_event_bus
from crewai.llms.base_llm import BaseLLM, call_stop_override, call_stream_override

# crewai wraps every BaseLLM subclass's call() in its own rate-limit retry (3 attempts on 429);
# while this flag is set those wrappers call straight through, so the only retries are ours.
from crewai.llms.retry import _active_llm_rate_limit_retry
from pydantic import PrivateAttr

from ..errors import ModelUnavailable
from ..problem import Problem
from ..redact import Redactor
from .breaker import Breaker, BreakerState, breaker_for
from .events import BreakerStateEvent, ModelFallbackEvent, ModelGaveUpEvent, ModelResilienceEvent, ModelRetryEvent
from .retry import Policy, backoff_delay, retry_after, transient


@dataclass
class Link:
    """One profile in a chain: its own LLM and its own policy."""

    profile: str
    llm: BaseLLM
    policy: Policy

    def breaker(self) -> Breaker | None:
        p = self.policy
        return breaker_for(self.profile, p.breaker_threshold, p.breaker_cooldown) if p.breaker_threshold else None


class _LinkFailed(Exception):
    def __init__(self, reason: str, error: BaseException | None):
        super().__init__(reason)
        self.reason, self.error = reason, error


class ResilientLLM(BaseLLM):
    """A profile's LLM with retries, breaker and fallbacks, presented to crewai as one model."""

    llm_type: str = "resilient"
    _links: list[Link] = PrivateAttr(default_factory=list)
    _sleep: Callable[[float], None] = PrivateAttr(default=time.sleep)
    _clock: Callable[[], float] = PrivateAttr(default=time.monotonic)
    _rng: Callable[[], float] = PrivateAttr(default=random.random)
    _usage_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _redactor: Redactor = PrivateAttr(default_factory=Redactor)  # the chain's API keys, for every line and event

    @classmethod
    def around(cls, profile: str, llm: BaseLLM, policy: Policy,
               fallbacks: Sequence[tuple[str, BaseLLM]] = (), *, sleep: Callable[[float], None] | None = None,
               clock: Callable[[], float] | None = None, rng: Callable[[], float] | None = None) -> ResilientLLM:
        """Wrap ``llm``; each fallback is (profile name, the LLM the pool built for it)."""
        # model and provider are what crewai reads for prompts and structured output; stream stays
        # unset so the inner LLM's own setting holds unless crewai sets one on this wrapper
        wrapper = cls(model=llm.model, provider=llm.provider, temperature=llm.temperature, base_url=llm.base_url)
        links = [Link(profile, llm, policy)]
        for name, other in fallbacks:
            # a fallback that is itself resilient joins with its own policy, not its own chain:
            # the chain is the one written on this profile
            links.append(other._links[0] if isinstance(other, ResilientLLM) else Link(name, other, Policy()))
        wrapper._links = links
        for link in links:
            key = link.llm.api_key
            wrapper._redactor.add_value(key if isinstance(key, str) else None, "api_key")
        return wrapper.use_timing(sleep=sleep, clock=clock, rng=rng)

    def use_timing(self, *, sleep: Callable[[float], None] | None = None, clock: Callable[[], float] | None = None,
                   rng: Callable[[], float] | None = None) -> ResilientLLM:
        """Swap how this wrapper waits, tells time and draws jitter (tests use fakes)."""
        if sleep is not None:
            self._sleep = sleep
        if clock is not None:
            self._clock = clock
        if rng is not None:
            self._rng = rng
        return self

    @property
    def links(self) -> list[Link]:
        return list(self._links)

    @property
    def profile(self) -> str:
        return self._links[0].profile

    # --- crewai's interface ----------------------------------------------------------------
    def call(self, messages: Any, tools: Any = None, callbacks: Any = None, available_functions: Any = None,
             from_task: Any = None, from_agent: Any = None, response_model: Any = None) -> Any:
        request = {"messages": messages, "tools": tools, "callbacks": callbacks,
                   "available_functions": available_functions, "from_task": from_task,
                   "from_agent": from_agent, "response_model": response_model}
        token = _active_llm_rate_limit_retry.set(True)
        try:
            return self._through_chain(request)
        finally:
            _active_llm_rate_limit_retry.reset(token)

    # Our policy replaces crewai's per-class rate-limit retry; wrapping call() again would retry
    # a whole exhausted chain up to three more times, invisibly.
    call._crewai_rate_limit_wrapped = True  # type: ignore[attr-defined]

    async def acall(self, messages: Any, tools: Any = None, callbacks: Any = None, available_functions: Any = None,
                    from_task: Any = None, from_agent: Any = None, response_model: Any = None) -> Any:
        # rolecall's own models are synchronous; a worker thread keeps the event loop free while
        # the policy sleeps between retries
        return await asyncio.to_thread(self.call, messages, tools, callbacks, available_functions,
                                       from_task, from_agent, response_model)

    acall._crewai_rate_limit_wrapped = True  # type: ignore[attr-defined]

    def active(self) -> Link:
        """The link a call would start with now: the first whose breaker lets calls through."""
        now = self._clock()
        for link in self._links:
            breaker = link.breaker()
            if breaker is None or breaker.ready(now):
                return link
        return self._links[-1]

    def supports_function_calling(self) -> bool:
        # BaseLLM itself has no such method: a model without it speaks crewai's text protocol
        supports = getattr(self.active().llm, "supports_function_calling", None)
        return bool(supports()) if supports is not None else False

    def supports_stop_words(self) -> bool:
        return bool(self.active().llm.supports_stop_words())

    def supports_multimodal(self) -> bool:
        return bool(self.active().llm.supports_multimodal())

    def get_context_window_size(self) -> int:
        # the smallest in the chain, so crewai never builds a prompt a fallback cannot hold
        return min(link.llm.get_context_window_size() for link in self._links)

    def get_input_tokens_count(self, messages: Any, tools: Any = None, response_model: Any = None) -> int:
        return self.active().llm.get_input_tokens_count(messages, tools, response_model)

    # --- the policy --------------------------------------------------------------------------
    def _through_chain(self, request: dict[str, Any]) -> Any:
        reasons: list[str] = []
        last: BaseException | None = None
        for position, link in enumerate(self._links):
            try:
                return self._through_link(link, request)
            except _LinkFailed as failed:
                reasons.append(f"{link.profile} ({failed.reason})")
                last = failed.error or last
                if position + 1 < len(self._links):
                    target = self._links[position + 1].profile
                    self._announce(f"{link.profile} failed ({failed.reason}), falling back to {target}",
                                   ModelFallbackEvent, request, profile=link.profile, to_profile=target,
                                   error=failed.reason)
        summary = "; ".join(reasons)
        self._announce(f"giving up, no profile answered: {summary}", ModelGaveUpEvent, request,
                       profile=self.profile, tried=[link.profile for link in self._links], error=summary)
        raise ModelUnavailable(Problem(
            f"no model answered: {summary}",
            hint="check the provider, or add a fallback profile (fallback: [local]) in config/llm.yaml")) from last

    def _through_link(self, link: Link, request: dict[str, Any]) -> Any:
        breaker, retries = link.breaker(), link.policy.retries
        last: BaseException | None = None
        for attempt in range(retries + 1):
            if breaker is not None:
                allowed, change = breaker.admit(self._clock())
                if change:
                    self._breaker_changed(link, breaker, change, request)
                if not allowed:
                    left = breaker.remaining(self._clock())
                    raise _LinkFailed(f"breaker open, {left:.0f}s of cool-down left" if left else
                                      "breaker half-open, trial call in flight", last)
            try:
                result = self._invoke(link, request)
            except Exception as error:
                kind = transient(error)
                if kind is None:
                    if breaker is not None:
                        breaker.released()
                    raise
                last = error
                if breaker is not None:
                    change = breaker.failed(self._clock())
                    if change:
                        self._breaker_changed(link, breaker, change, request, kind)
                        raise _LinkFailed(f"{kind}, breaker opened", error) from None
                if attempt == retries:
                    raise _LinkFailed(f"{kind} after {retries} retr{'y' if retries == 1 else 'ies'}"
                                      if retries else kind, error) from None
                delay = backoff_delay(attempt + 1, link.policy, self._rng, retry_after(error))
                self._announce(f"{link.profile} {kind}, retry {attempt + 1}/{retries} in {delay:.2f}s",
                               ModelRetryEvent, request, profile=link.profile, attempt=attempt + 1,
                               retries=retries, delay=round(delay, 3), error=_detail(error, kind))
                self._sleep(delay)
                continue
            if breaker is not None:
                change = breaker.succeeded()
                if change:
                    self._breaker_changed(link, breaker, change, request)
            return result
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _invoke(self, link: Link, request: dict[str, Any]) -> Any:
        inner = link.llm
        with ExitStack() as scope:
            # crewai scopes per-call stop words and streaming to this wrapper's id; hand them on
            stops = self.stop_sequences
            if stops:
                scope.enter_context(call_stop_override(inner, list(dict.fromkeys([*inner.stop, *stops]))))
            stream = self._effective_stream()
            if stream is not None:
                scope.enter_context(call_stream_override(inner, stream))
            before = dict(inner._token_usage)
            result = inner.call(**request)
        with self._usage_lock:
            # what this call cost, so crewai's per-agent usage_metrics see the tokens
            for key, value in inner._token_usage.items():
                self._token_usage[key] = self._token_usage.get(key, 0) + value - before.get(key, 0)
        return result

    # --- visibility ----------------------------------------------------------------------------
    def _breaker_changed(self, link: Link, breaker: Breaker, state: BreakerState, request: dict[str, Any],
                         error: str | None = None) -> None:
        line = {"open": f"{link.profile} breaker open after {breaker.failures} consecutive failures, "
                        f"no calls for {breaker.cooldown:g}s",
                "half-open": f"{link.profile} breaker half-open, sending one trial call",
                "closed": f"{link.profile} breaker closed, calls flow again"}[state]
        self._announce(line, BreakerStateEvent, request, profile=link.profile, state=state,
                       failures=breaker.failures, cooldown=breaker.cooldown, error=error)

    def _announce(self, line: str, event_type: type[ModelResilienceEvent], request: dict[str, Any],
                  **fields: Any) -> None:
        print(f"model: {self._redactor.text(line)}", file=sys.stderr, flush=True)
        fields = {name: self._redactor.value(value) for name, value in fields.items()}
        task, agent = request.get("from_task"), request.get("from_agent")
        if task is not None:
            fields.update(task_id=str(getattr(task, "id", "")) or None, task_name=getattr(task, "name", None))
            agent = agent or getattr(task, "agent", None)
        if agent is not None:
            fields.update(agent_id=str(getattr(agent, "id", "")) or None, agent_role=getattr(agent, "role", None))
        crewai_event_bus.emit(self, event_type(**fields))


def _detail(error: BaseException, kind: str) -> str:
    """The failure in one line for an event: its kind, then what the SDK said (redacted on emit)."""
    text = " ".join(str(error).split())[:200]
    return f"{kind}: {text}" if text and text != kind else kind
