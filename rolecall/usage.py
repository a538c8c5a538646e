"""Token and cost totals: the one object that adds up model calls."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Usage:
    """What a set of model calls used. ``cost`` is None when any call has no price:
    an unknown price is not zero."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0
    unpriced: int = 0  # calls whose model has no entry in config/prices.yaml

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def known_cost(self) -> float:
        """The cost of the priced calls (for budgets: spend we know about)."""
        return self.cost if self.cost is not None else 0.0

    def add(self, other: Usage) -> Usage:
        cost = None if self.cost is None or other.cost is None else self.cost + other.cost
        return Usage(self.requests + other.requests, self.prompt_tokens + other.prompt_tokens,
                     self.completion_tokens + other.completion_tokens, cost, self.unpriced + other.unpriced)

    @classmethod
    def of_call(cls, prompt_tokens: int, completion_tokens: int, cost: float | None) -> Usage:
        return cls(1, prompt_tokens, completion_tokens, cost, 0 if cost is not None else 1)

    @classmethod
    def of(cls, calls: Iterable[Any]) -> Usage:
        """The sum over model calls: store rows (mappings) or objects with the same fields."""
        total = cls()
        for call in calls:
            get = call.get if isinstance(call, Mapping) else lambda name, c=call: getattr(c, name)
            total = total.add(cls.of_call(int(get("prompt_tokens") or 0), int(get("completion_tokens") or 0),
                                          get("cost")))
        return total
