"""Model calls that survive faults: retries, a fallback chain and a circuit breaker per profile.

``ResilientLLM`` is a crewai ``BaseLLM`` that holds a chain of profiles (the
primary first, then its ``fallback`` list). Each link is called with its own
profile's policy: transient failures (timeouts, 429, 5xx, connection errors,
malformed bodies) are retried with exponential backoff and full jitter; when a
link's retries run out or its breaker is open, the next link is tried. Errors a
retry cannot fix (400, 401, 404, context too long) are raised at once, because
quietly answering from another model would hide a configuration mistake.

Every retry, fallback and breaker change prints one ``model: ...`` line to
stderr and emits an event on crewai's bus (``ModelRetryEvent``,
``ModelFallbackEvent``, ``BreakerStateEvent``, ``ModelGaveUpEvent``).
"""
from __future__ import annotations

import asyncio
import random
import re
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence

from crewai.events import crewai_event_bus
from crewai.events.base_events import BaseEvent
from crewai.llms.base_llm import BaseLLM, call_stop_override, call_stream_override
# crewai wraps every BaseLLM subclass's call() in its own rate-limit retry (3 attempts on 429);
# while this flag is set those wrappers call straight through, so the only retries are ours.
from crewai.llms.retry import _active_llm_rate_limit_retry
from pydantic import PrivateAttr

from .profiles import ProfileSpec

# --- policy -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """The resilience settings of one profile."""

    retries: int = 0
    backoff: float = 0.5
    backoff_max: float = 8.0
    breaker_threshold: int = 0
    breaker_cooldown: float = 30.0

    @classmethod
    def of(cls, profile: ProfileSpec) -> "Policy":
        return cls(profile.retries, profile.backoff, profile.backoff_max,
                   profile.breaker_threshold, profile.breaker_cooldown)


def wants_resilience(profile: ProfileSpec) -> bool:
    return bool(profile.retries or profile.fallback or profile.breaker_threshold)


def backoff_delay(retry: int, policy: Policy, rng: Callable[[], float] = random.random,
                  retry_after: float | None = None) -> float:
    """Seconds to wait before retry number ``retry`` (1-based).

    Full jitter: uniform in [0, min(backoff_max, backoff * 2**(retry-1))], so clients that
    failed together do not come back together. A server's Retry-After wins, capped the same way.
    """
    if retry < 1:
        raise ValueError("retry numbers start at 1")
    if retry_after is not None:
        return min(max(0.0, retry_after), policy.backoff_max)
    ceiling = min(policy.backoff_max, policy.backoff * 2 ** (retry - 1))
    return rng() * ceiling


# --- which failures are worth retrying ----------------------------------------------------------

# Matched by class name over the MRO so any provider SDK (openai, httpx, anthropic, ...) is covered
# without importing it here.
_TIMEOUT = {"TimeoutError", "APITimeoutError", "TimeoutException", "ReadTimeout", "ConnectTimeout"}
_MALFORMED = {"JSONDecodeError", "APIResponseValidationError"}
_CONNECTION = {"ConnectionError", "APIConnectionError", "TransportError", "RemoteProtocolError"}
_RETRY_STATUS = {408, 409, 429}  # plus every 5xx; the same set the OpenAI SDK retries


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _named(error: BaseException, names: set[str]) -> bool:
    return any(cls.__name__ in names for cls in type(error).__mro__)


def transient(error: BaseException) -> str | None:
    """A short name for a failure a retry may fix ("timeout", "429", ...), or None."""
    chain = _chain(error)
    if any(_named(e, _TIMEOUT) for e in chain):
        return "timeout"
    if any(_named(e, _MALFORMED) for e in chain):
        return "malformed response"
    for e in chain:
        status = getattr(e, "status_code", None)
        if isinstance(status, int) and status >= 400:
            return str(status) if status in _RETRY_STATUS or status >= 500 else None
    if any(_named(e, _CONNECTION) for e in chain):
        return "connection error"
    return None


def retry_after(error: BaseException) -> float | None:
    """A numeric Retry-After header on the failed response, if the server sent one."""
    for e in _chain(error):
        headers = getattr(getattr(e, "response", None), "headers", None)
        value = headers.get("retry-after") if headers is not None else None
        if value is not None:
            try:
                return float(value)
            except ValueError:
                return None  # an HTTP date; our own backoff is good enough
    return None


_KEYISH = re.compile(r"(\bsk-[A-Za-z0-9_\-]{4,}|\bBearer\s+\S+)")


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` without API keys: configured ones verbatim, and anything key-shaped."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "***")
    return _KEYISH.sub("***", text)


# --- circuit breaker ------------------------------------------------------------------------------

BreakerState = Literal["closed", "open", "half-open"]


class Breaker:
    """Consecutive-failure circuit breaker for one profile; times come from the caller's clock."""

    def __init__(self, profile: str, threshold: int, cooldown: float):
        self.profile, self.threshold, self.cooldown = profile, threshold, cooldown
        self.state: BreakerState = "closed"
        self.failures = 0
        self.opened_at = 0.0
        self._trial = False  # half-open: the one call let through is still out
        self._lock = threading.Lock()

    def remaining(self, now: float) -> float:
        return max(0.0, self.opened_at + self.cooldown - now) if self.state == "open" else 0.0

    def ready(self, now: float) -> bool:
        """Would a call be let through now? (No state change; for choosing the active model.)"""
        with self._lock:
            return self.state == "closed" or (self.state == "open" and now - self.opened_at >= self.cooldown) \
                or (self.state == "half-open" and not self._trial)

    def admit(self, now: float) -> tuple[bool, BreakerState | None]:
        """(let this call through?, the new state if it changed)."""
        with self._lock:
            if self.state == "closed":
                return True, None
            if self.state == "open":
                if now - self.opened_at < self.cooldown:
                    return False, None
                self.state, self._trial = "half-open", True
                return True, "half-open"
            if self._trial:  # half-open and the trial call is still running
                return False, None
            self._trial = True
            return True, None

    def succeeded(self) -> BreakerState | None:
        with self._lock:
            self.failures, self._trial = 0, False
            if self.state != "closed":
                self.state = "closed"
                return "closed"
            return None

    def failed(self, now: float) -> BreakerState | None:
        with self._lock:
            self.failures += 1
            self._trial = False
            if self.state == "half-open" or (self.state == "closed" and self.failures >= self.threshold):
                self.state, self.opened_at = "open", now
                return "open"
            return None

    def released(self) -> None:
        """The call ended with an error that says nothing about the provider's health (e.g. 401)."""
        with self._lock:
            self._trial = False


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(profile: str, threshold: int, cooldown: float) -> Breaker:
    """The process-wide breaker of ``profile``: every LLM object of the profile shares it."""
    with _breakers_lock:
        breaker = _breakers.get(profile)
        if breaker is None:
            breaker = _breakers[profile] = Breaker(profile, threshold, cooldown)
        breaker.threshold, breaker.cooldown = threshold, cooldown  # the latest config wins
        return breaker


def reset_breakers() -> None:
    with _breakers_lock:
        _breakers.clear()


# --- events -----------------------------------------------------------------------------------


class ModelResilienceEvent(BaseEvent):
    profile: str
    error: str | None = None


class ModelRetryEvent(ModelResilienceEvent):
    type: str = "model_retry"
    attempt: int  # the retry about to happen, 1-based
    retries: int  # retries the profile allows
    delay: float


class ModelFallbackEvent(ModelResilienceEvent):
    type: str = "model_fallback"
    to_profile: str


class BreakerStateEvent(ModelResilienceEvent):
    type: str = "model_breaker"
    state: BreakerState
    failures: int
    cooldown: float


class ModelGaveUpEvent(ModelResilienceEvent):
    type: str = "model_gave_up"
    tried: list[str]


# what a run recorder subscribes to
EVENT_TYPES: tuple[type[ModelResilienceEvent], ...] = (ModelRetryEvent, ModelFallbackEvent, BreakerStateEvent,
                                                       ModelGaveUpEvent)


class ModelUnavailableError(RuntimeError):
    """Every profile in the chain failed or was switched off by its breaker."""


# --- the wrapper --------------------------------------------------------------------------------


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

    @classmethod
    def around(cls, profile: str, llm: BaseLLM, policy: Policy,
               fallbacks: Sequence[tuple[str, BaseLLM]] = (), *, sleep: Callable[[float], None] | None = None,
               clock: Callable[[], float] | None = None, rng: Callable[[], float] | None = None) -> "ResilientLLM":
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
        return wrapper.use_timing(sleep=sleep, clock=clock, rng=rng)

    def use_timing(self, *, sleep: Callable[[float], None] | None = None, clock: Callable[[], float] | None = None,
                   rng: Callable[[], float] | None = None) -> "ResilientLLM":
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
        return bool(self.active().llm.supports_function_calling())

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
        raise ModelUnavailableError(
            f"no model answered: {summary}. Check the provider, or add a fallback profile "
            f"(fallback: [local]) in config/llm.yaml") from last

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
                               retries=retries, delay=round(delay, 3), error=self._describe(link, error, kind))
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
    def _secrets(self) -> list[str]:
        return [k for k in (link.llm.api_key for link in self._links) if isinstance(k, str)]

    def _describe(self, link: Link, error: BaseException, kind: str) -> str:
        text = " ".join(str(error).split())[:200]
        return redact(f"{kind}: {text}" if text and text != kind else kind, self._secrets())

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
        print(f"model: {redact(line, self._secrets())}", file=sys.stderr, flush=True)
        task, agent = request.get("from_task"), request.get("from_agent")
        if task is not None:
            fields.update(task_id=str(getattr(task, "id", "")) or None, task_name=getattr(task, "name", None))
            agent = agent or getattr(task, "agent", None)
        if agent is not None:
            fields.update(agent_id=str(getattr(agent, "id", "")) or None, agent_role=getattr(agent, "role", None))
        crewai_event_bus.emit(self, event_type(**fields))
