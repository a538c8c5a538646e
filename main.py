#!/usr/bin/env python3
"""rolecall: list, explain, validate, plan and run the crews in crews/ by name."""
import sys
from pathlib import Path

from rolecall.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], project_root=Path(__file__).resolve().parent))
