"""What the resilient model wrapper tells crewai's event bus: retries, fallbacks, breaker changes, giving up.

A run recorder subscribes to ``EVENT_TYPES``; each event names the profile, and
the task and agent when crewai said who was calling.
"""
from __future__ import annotations

from crewai.events.base_events import BaseEvent

from .breaker import BreakerState


class ModelResilienceEvent(BaseEvent):
    profile: str
    error: str | None = None  # redacted: never an API key


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


EVENT_TYPES: tuple[type[ModelResilienceEvent], ...] = (ModelRetryEvent, ModelFallbackEvent, BreakerStateEvent,
                                                       ModelGaveUpEvent)
