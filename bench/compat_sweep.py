"""Sweep a folder of CrewAI projects through rolecall the way the compatibility checker does.

    python bench/compat_sweep.py FOLDER [--only NAME ...] [--work DIR] [--no-run]

FOLDER holds one CrewAI project per subfolder (a classic project: crew.py with @CrewBase,
config/agents.yaml + config/tasks.yaml, main.py). For each project, in a scratch rolecall
project (the repository's config/ and tools/ copied in):

1. as-is: its agents.yaml and tasks.yaml, unchanged, in ``crews/<name>/config/``; ``validate``;
2. import: ``import <project> --name <name>_imp`` (which validates the new crew);
3. run: ``run <crew> --llm scripted --approve-all`` with ``--input k=x`` for each required input,
   the imported crew, and the as-is one when it validated.

Tools' API keys get dummy values in the environment (those validation names as missing, too).
Prints one line per project (the first problem of the first step that failed) and the totals.
Everything runs in this process through ``rolecall.cli.main``, so crewai is imported once.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shutil
import signal
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rolecall.cli import main as rolecall_main  # noqa: E402

_KEY = re.compile(r"\b([A-Z][A-Z0-9_]*_(?:API_KEY|KEY|TOKEN|SECRET|ID|URL))\b")
_DUMMY_KEYS = ("OPENAI_API_KEY", "SERPER_API_KEY", "EXA_API_KEY", "TAVILY_API_KEY", "BROWSERLESS_API_KEY",
               "FIRECRAWL_API_KEY", "ANTHROPIC_API_KEY", "GROQ_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
               "SERPLY_API_KEY", "BRAVE_API_KEY", "COMPOSIO_API_KEY", "MISTRAL_API_KEY")
_SKIP = {".venv", "venv", "node_modules", ".git", "site-packages", "__pycache__"}


@dataclass
class Outcome:
    name: str
    as_is: bool = False
    imported: bool = False
    validated: bool = False
    ran: bool = False
    ran_as_is: bool | None = None  # None: the as-is crew did not validate, so it was not run
    problem: str = ""
    details: list[str] = field(default_factory=list)

    def line(self) -> str:
        mark = {True: "yes", False: "no", None: "-"}
        cells = (f"as-is={mark[self.as_is]}", f"imported={mark[self.imported]}", f"validated={mark[self.validated]}",
                 f"ran={mark[self.ran]}", f"ran-as-is={mark[self.ran_as_is]}")
        return f"{self.name:45} {' '.join(cells)}  {self.problem}"


class TimedOut(BaseException):
    """A step ran past --timeout (a checker would give up on it too)."""


def _alarm(signum: int, frame: object) -> None:
    raise TimedOut


TIMEOUT = 180


def call(project: Path, *argv: str) -> tuple[int, str]:
    """``python main.py ARGV`` in this process: the exit code and what it printed."""
    out = io.StringIO()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = rolecall_main(list(argv), project_root=project)
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        except TimedOut:
            out.write(f"error: TIMEOUT after {TIMEOUT}s\n")
            code = 98
        except BaseException:  # a traceback is rolecall's fault whatever the project holds
            out.write("TRACEBACK " + traceback.format_exc())
            code = 99
        finally:
            signal.alarm(0)
    return code, out.getvalue()


_SUMMARY = re.compile(r"^(\d+ errors?|\d+ of \d+ crews invalid|imported .*|wrote: .*|not recovered .*"
                      r"|\S+: (ok|INVALID))$")


def first_problem(text: str) -> str:
    """The first line that is a problem: not a warning, a note of import's, or a summary."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if any(ln.startswith("TRACEBACK") for ln in lines):
        return "TRACEBACK " + lines[-1][:200]
    notes = text.split("not recovered or changed")[1].split("\n", 1)[1] if "not recovered or changed" in text else ""
    for line in lines:
        if "warning:" in line or _SUMMARY.match(line) or (notes and line in notes and not line.startswith("crews/")):
            continue
        return line[:240]
    return (lines[-1] if lines else "")[:240]


def crew_config(project: Path) -> Path | None:
    """The folder of the project's agents.yaml + tasks.yaml (the shallowest one)."""
    found = []
    for folder, dirs, files in os.walk(project, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP and "{{" not in d)
        if Path(folder).name == "config" and "agents.yaml" in files and "tasks.yaml" in files:
            found.append(Path(folder))
    return min(found, key=lambda f: (len(f.parts), str(f))) if found else None


def scratch_project(work: Path) -> Path:
    root = work / "rolecall-project"
    if root.exists():
        shutil.rmtree(root)
    (root / "crews").mkdir(parents=True)
    for part in ("config", "tools"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def dummy_keys(text: str) -> bool:
    """Give every API key validation says is missing a dummy value; True when one was added."""
    added = False
    for key in _KEY.findall(text):
        if key.endswith(("_KEY", "_TOKEN", "_SECRET")) and key not in os.environ:
            os.environ[key] = f"dummy-{key.lower()}"
            added = True
    return added


def validate(root: Path, crew: str) -> tuple[int, str]:
    code, text = call(root, "validate", crew)
    if code and dummy_keys(text):
        code, text = call(root, "validate", crew)
    return code, text


def run(root: Path, crew: str) -> tuple[int, str]:
    from rolecall import api
    try:
        definition = api.load_crew(crew, root, llm="scripted")
    except Exception as exc:  # noqa: BLE001 - reported as the run's problem
        return 2, f"error: cannot load {crew}: {exc}"
    values = {"integer": "1", "number": "1.5", "boolean": "true"}
    given = [f"{name}={values.get(spec.type, 'x')}" for name, spec in definition.inputs.items()
             if spec.default is None]
    argv = ["run", crew, "--llm", "scripted", "--approve-all"]
    for pair in given:
        argv += ["--input", pair]
    return call(root, *argv)


def sweep_one(root: Path, project: Path, name: str, do_run: bool) -> Outcome:
    outcome = Outcome(name)
    config = crew_config(project)
    if config is None:
        outcome.problem = "no config/agents.yaml + tasks.yaml"
        return outcome
    as_is = root / "crews" / name / "config"
    as_is.mkdir(parents=True)
    for file in ("agents.yaml", "tasks.yaml"):
        shutil.copyfile(config / file, as_is / file)
    code, text = validate(root, name)
    outcome.as_is = code == 0
    outcome.details.append(f"[as-is validate] {text}")
    imported = f"{name}_imp"
    code, text = call(root, "import", str(project), "--name", imported)
    if code and "crew files in" in text:  # several crews: import the one whose YAML was taken
        crew_py = config.parent / "crew.py"
        code, text = call(root, "import", str(crew_py if crew_py.is_file() else config.parent), "--name", imported)
    outcome.details.append(f"[import] {text}")
    outcome.imported = (root / "crews" / imported).is_dir()
    if code and dummy_keys(text):
        code, text = validate(root, imported)
        outcome.details.append(f"[validate imported] {text}")
    outcome.validated = outcome.imported and code == 0
    problem = "" if outcome.validated else first_problem(text)
    if do_run and outcome.validated:
        code, text = run(root, imported)
        outcome.details.append(f"[run imported] {text}")
        outcome.ran = code == 0
        problem = problem or ("" if outcome.ran else "run: " + first_problem(text))
    if do_run and outcome.as_is:
        code, text = run(root, name)
        outcome.details.append(f"[run as-is] {text}")
        outcome.ran_as_is = code == 0
        problem = problem or ("" if outcome.ran_as_is else "run as-is: " + first_problem(text))
    outcome.problem = problem
    return outcome


def crew_name(folder: Path) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", folder.name.lower())
    return name if name[:1].isalpha() else f"p_{name}"


def main(argv: list[str]) -> int:
    global TIMEOUT  # noqa: PLW0603 - one setting for every step
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--no-run", action="store_true")
    parser.add_argument("--timeout", type=int, default=180, help="seconds a step may take")
    parser.add_argument("--log", type=Path, default=None, help="write every step's output here")
    args = parser.parse_args(argv)
    TIMEOUT = args.timeout
    for key in _DUMMY_KEYS:
        os.environ.setdefault(key, f"dummy-{key.lower()}")
    work = args.work or Path(tempfile.mkdtemp(prefix="compat-sweep-"))
    root = scratch_project(work)
    projects = sorted(p for p in args.folder.iterdir() if p.is_dir() and (not args.only or p.name in args.only))
    outcomes = []
    log = args.log.open("w", encoding="utf-8") if args.log else None
    for project in projects:
        outcome = sweep_one(root, project, crew_name(project), not args.no_run)
        outcomes.append(outcome)
        print(outcome.line(), flush=True)
        if log:
            log.write(f"===== {outcome.name}\n" + "\n".join(outcome.details) + "\n")
            log.flush()
    total = len(outcomes)
    loaded = sum(o.as_is or o.validated for o in outcomes)
    ran = sum(bool(o.ran or o.ran_as_is) for o in outcomes)
    print(f"\n{total} projects: as-is {sum(o.as_is for o in outcomes)}, imported {sum(o.imported for o in outcomes)}, "
          f"validated {sum(o.validated for o in outcomes)}, loaded (as-is or imported) {loaded}, "
          f"ran on scripted {ran}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
