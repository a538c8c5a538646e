"""How fast are the commands that run no crew, next to merely importing crewai?

Each command runs in a fresh interpreter (no warm module cache inside Python),
several times; the median is reported. Goal: under 0.5 s and at least 20x
faster than `import crewai`.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPEAT = 5


def timed(argv: list[str]) -> float:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    crewai = timed([sys.executable, "-c", "import crewai"])
    print(f"python -c 'import crewai'      {crewai:7.3f} s  (median of {REPEAT})")
    for command in (["list"], ["validate", "--all"], ["plan", "research_report"]):
        seconds = timed([sys.executable, "main.py", *command])
        goal = "ok" if seconds < 0.5 and crewai / seconds >= 20 else "MISSES GOAL"
        print(f"main.py {' '.join(command):22} {seconds:7.3f} s  {crewai / seconds:6.1f}x faster  [{goal}]")


if __name__ == "__main__":
    main()
