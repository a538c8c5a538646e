"""How many CPU cores the local model may use: the ones this process may run on, minus what others hold.

Stdlib only: ``doctor`` reports the core count without loading llama.cpp.
"""
from __future__ import annotations

import os
import time


def cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class CpuWatch:
    """How many cores other processes leave free, measured between our own calls.

    llama.cpp with one thread per core collapses when anything else wants a core:
    measured here, 2 threads gave 1.9 tok/s next to two busy processes where 1 thread
    gave 14 tok/s (and 28 vs 20 tok/s on an idle machine). So each call uses as many
    threads as cores were free since the previous call. Our own CPU time is subtracted,
    so crewai's work between calls does not count as someone else's.
    """

    def __init__(self, cores: int):
        self.cores = cores
        self._hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._last = self._sample()

    def _sample(self) -> tuple[int, int, float] | None:
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                ticks = [int(v) for v in stat.readline().split()[1:9]]
        except (OSError, ValueError):  # not Linux: keep the configured thread count
            return None
        own = os.times()
        return sum(ticks), ticks[3] + ticks[4], (own.user + own.system) * self._hz

    def free_cores(self) -> int:
        now = self._sample()
        if now is None or self._last is None:
            return self.cores
        if now[0] - self._last[0] < 2 * self.cores:  # too short to tell: look for a moment
            time.sleep(0.05)
            now = self._sample() or now
        total = now[0] - self._last[0]
        busy_elsewhere = max(0.0, total - (now[1] - self._last[1]) - (now[2] - self._last[2]))
        held = busy_elsewhere / max(total, 1) * self.cores  # cores' worth of other processes' work
        return max(1, self.cores - int(held + 0.5))

    def mark(self) -> None:
        self._last = self._sample()
