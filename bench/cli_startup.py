"""How fast are the commands that run no crew, next to merely importing crewai?

Each command runs in a fresh interpreter, several times; the median is reported, cold
(validation cache emptied before every run: YAML read, pydantic imported, every rule
checked) and warm (the cache holds every unchanged crew). Goal: at most 0.2 s and at
least 30x faster than `import crewai`, warm.
"""
from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".rolecall-cache" / "validation"
REPEAT = 5
COMMANDS = (["list"], ["validate", "--all"], ["plan", "research_report"], ["show", "trip_planner"])


def timed(argv: list[str], cold: bool = False) -> float:
    samples = []
    for _ in range(REPEAT):
        if cold:
            shutil.rmtree(CACHE, ignore_errors=True)
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    crewai = timed([sys.executable, "-c", "import crewai"])
    print(f"python -c 'import crewai'      {crewai:7.3f} s  (median of {REPEAT})")
    print(f"{'':31}{'cold':>9} {'warm':>9} {'warm vs crewai':>16}")
    for command in COMMANDS:
        argv = [sys.executable, "main.py", *command]
        cold = timed(argv, cold=True)
        subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)  # fill the cache
        warm = timed(argv)
        goal = "ok" if warm <= 0.2 and crewai / warm >= 30 else "MISSES GOAL"
        print(f"main.py {' '.join(command):22} {cold:7.3f} s {warm:7.3f} s {crewai / warm:9.1f}x  [{goal}]")


if __name__ == "__main__":
    main()
