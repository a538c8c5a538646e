"""When to retry a model call and how long to wait: a profile's policy and error classification.

Transient failures (timeouts, 429, 5xx, connection errors, malformed bodies) are
worth another try; errors a retry cannot fix (400, 401, 404, context too long)
are not, because quietly answering from another model would hide a mistake.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .profiles import ProfileSpec


@dataclass(frozen=True)
class Policy:
    """The resilience settings of one profile."""

    retries: int = 0
    backoff: float = 0.5
    backoff_max: float = 8.0
    breaker_threshold: int = 0
    breaker_cooldown: float = 30.0

    @classmethod
    def of(cls, profile: ProfileSpec) -> Policy:
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


# Matched by class name over the MRO so any provider SDK (openai, httpx, anthropic, ...) is covered
# without importing it here.
_TIMEOUT = {"TimeoutError", "APITimeoutError", "TimeoutException", "ReadTimeout", "ConnectTimeout"}
_MALFORMED = {"JSONDecodeError", "APIResponseValidationError"}
_CONNECTION = {"ConnectionError", "APIConnectionError", "TransportError", "RemoteProtocolError"}
_RETRY_STATUS = {408, 409, 429}  # plus every 5xx; the same set the OpenAI SDK retries


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


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _named(error: BaseException, names: set[str]) -> bool:
    return any(cls.__name__ in names for cls in type(error).__mro__)
