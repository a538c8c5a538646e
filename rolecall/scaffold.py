"""``main.py new``: a crew package that validates and runs straight away."""
from __future__ import annotations

import json
import re
from pathlib import Path

from .discover import discover
from .errors import ConfigError
from .problem import Problem
from .project import Project

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_AGENTS = """\
specialist:
  role: >
    {topic} Specialist
  goal: >
    Find what matters most about {topic}
  backstory: >
    You know {topic} inside out and explain it plainly.

writer:
  role: >
    {topic} Writer
  goal: >
    Turn the specialist's notes on {topic} into a short, clear answer
  backstory: >
    You write for busy readers: short sentences, concrete facts, no filler.
"""

_MANAGER = """
lead:
  role: >
    Team Lead
  goal: >
    Get a correct, well-written answer about {topic} from your team
  backstory: >
    You hand each piece of work to the colleague best suited for it and check what comes back.
"""

_TASKS = """\
research_task:
  description: >
    List the key facts about {topic} a newcomer needs.
  expected_output: >
    Five bullet points, one fact each.

answer_task:
  description: >
    Write a short answer about {topic} from the research notes.
  expected_output: >
    Two paragraphs of plain text.
"""

_CREW = """\
# See `python main.py schema crew.yaml` for every key.
description: {description}
process: {process}
{manager}inputs:
  topic:
    description: What the crew works on
    default: {default_topic}
{bindings}"""

_SEQUENTIAL_BINDINGS = """\
tasks:
  research_task:
    agent: specialist
  answer_task:
    agent: writer
    context: [research_task]
"""

_HIERARCHICAL_BINDINGS = """\
tasks:
  answer_task:
    context: [research_task]
"""


def scaffold(project: Project, name: str, process: str) -> Path:
    if not _NAME.match(name):
        raise ConfigError(Problem(f"crew name '{name}' must be lowercase letters, digits and underscores",
                                    hint="for example customer_faq"))
    crews, _ = discover(project)
    target = project.crews_dir / name
    if name in crews or target.exists():
        raise ConfigError(Problem(f"crew '{name}' already exists", target, hint="pick another name"))
    hierarchical = process == "hierarchical"
    files = {
        "__init__.py": "",
        "config/agents.yaml": _AGENTS + (_MANAGER if hierarchical else ""),
        "config/tasks.yaml": _TASKS,
        "crew.yaml": _CREW.format(
            description=json.dumps(f"{name.replace('_', ' ').capitalize()}: a specialist researches, "
                                   f"a writer answers" + (", a lead delegates." if hierarchical else ".")),
            process=process,
            manager="manager:\n  agent: lead\n" if hierarchical else "",
            default_topic=name.replace("_", " "),
            bindings=_HIERARCHICAL_BINDINGS if hierarchical else _SEQUENTIAL_BINDINGS),
    }
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
