"""How durations, costs, tokens and times look to people: shared by `runs`, `show-run` and the report."""
from __future__ import annotations

from datetime import UTC, datetime


def when(stamp: str | None) -> datetime | None:
    """A stored ISO timestamp as an aware datetime (UTC when the text has no zone)."""
    if not stamp:
        return None
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def between(start: str | None, end: str | None) -> float | None:
    """Seconds from one stored timestamp to another, or None if either is missing."""
    a, b = when(start), when(end)
    return (b - a).total_seconds() if a and b else None


def seconds(value: float | None) -> str:
    """``0.4`` -> ``400 ms``, ``12.3`` -> ``12.3 s``, ``75`` -> ``1 min 15 s``."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.0f} ms" if value >= 0.001 else f"{value * 1000:.2f} ms"
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(round(value), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def short_seconds(value: float | None) -> str:
    """The compact form for terminal tables: ``12.3s``."""
    return "-" if value is None else f"{value:.1f}s"


def cost(value: float | None) -> str:
    """``$0.0012``; ``?`` when the price is unknown."""
    return "?" if value is None else f"${value:.4f}"


def tokens(value: int) -> str:
    return f"{value:,}"


def utc(stamp: str | None) -> str:
    moment = when(stamp)
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if moment else "-"


def clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:max(chars - 1, 1)] + "\u2026"
