"""The circuit breaker of a model profile: after enough consecutive failures, stop calling it for a while.

One breaker per profile per process, shared by every LLM object of that profile,
so a second run in the same process does not hammer a provider the first one
already found down.
"""
from __future__ import annotations

import threading
from typing import Literal

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
