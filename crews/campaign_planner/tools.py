"""The scheduler's calendar: exact posting dates, because a small model cannot count days."""
from __future__ import annotations

import datetime as dt

from crewai.tools import tool


@tool
def posting_calendar(start_date: str, weeks: int, posts_per_week: int, channels: str) -> str:
    """Posting slots for a campaign: one line per post with its date (YYYY-MM-DD), weekday and
    channel. start_date is YYYY-MM-DD; channels is a comma-separated list, used in turn."""
    try:
        start = dt.date.fromisoformat(start_date.strip())
    except ValueError:
        return f"start_date must look like 2026-06-01, not {start_date!r}"
    if not 1 <= posts_per_week <= 7 or not 1 <= weeks <= 12:
        return "posts_per_week must be 1-7 and weeks 1-12"
    names = [c.strip() for c in channels.split(",") if c.strip()] or ["(any channel)"]
    # spread each week's posts evenly: 3 a week from a Monday gives Monday, Wednesday, Friday
    offsets = [i * 7 // posts_per_week for i in range(posts_per_week)]
    days = [start + dt.timedelta(days=7 * week + offset) for week in range(weeks) for offset in offsets]
    return "\n".join(f"{day.isoformat()} {day:%A} {names[i % len(names)]}" for i, day in enumerate(days))
