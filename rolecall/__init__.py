"""rolecall: role-based AI crews defined in YAML, validated strictly, run by name.

The pipeline, one module per stage: discover -> load -> validate -> assemble -> run -> record.
The public API is what this package exports (``__all__``); see ``rolecall.api``.

Names load on first use (PEP 562), so ``main.py list`` pays only for what it touches.
"""
import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from .environment import quiet_crewai as _quiet_crewai

_quiet_crewai()  # before anything can import crewai

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "ApprovalStatus": "status", "BatchOptions": "batch", "BatchResult": "batch", "ConfigError": "errors",
    "CrewDefinition": "definition", "Decision": "approval", "EvalReport": "eval_report", "FlowOutline": "flow_graph",
    "FlowResult": "flow_result", "ImportReport": "importer", "InputError": "errors", "ModelUnavailable": "errors",
    "Problem": "problem", "Project": "project", "RolecallError": "errors", "RunNotFound": "errors",
    "RunResult": "result", "RunStateError": "errors", "RunStatus": "status", "RunSummary": "history",
    "StepRecord": "flow_result", "TaskStatus": "status", "Usage": "usage",
    "decide": "api", "evaluate": "api", "import_project": "api", "load_crew": "api", "load_flow": "api",
    "resume": "api", "resume_batch": "api", "run": "api", "run_batch": "api", "run_flow": "api", "runs": "api",
    "write_report": "api",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> _Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rolecall' has no attribute '{name}'")
    value = getattr(_importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


if _TYPE_CHECKING:  # what type checkers and editors see (`X as X` marks a re-export)
    from .api import decide as decide
    from .api import evaluate as evaluate
    from .api import import_project as import_project
    from .api import load_crew as load_crew
    from .api import load_flow as load_flow
    from .api import resume as resume
    from .api import resume_batch as resume_batch
    from .api import run as run
    from .api import run_batch as run_batch
    from .api import run_flow as run_flow
    from .api import runs as runs
    from .api import write_report as write_report
    from .approval import Decision as Decision
    from .batch import BatchOptions as BatchOptions
    from .batch import BatchResult as BatchResult
    from .definition import CrewDefinition as CrewDefinition
    from .errors import ConfigError as ConfigError
    from .errors import InputError as InputError
    from .errors import ModelUnavailable as ModelUnavailable
    from .errors import RolecallError as RolecallError
    from .errors import RunNotFound as RunNotFound
    from .errors import RunStateError as RunStateError
    from .eval_report import EvalReport as EvalReport
    from .flow_graph import FlowOutline as FlowOutline
    from .flow_result import FlowResult as FlowResult
    from .flow_result import StepRecord as StepRecord
    from .history import RunSummary as RunSummary
    from .importer import ImportReport as ImportReport
    from .problem import Problem as Problem
    from .project import Project as Project
    from .result import RunResult as RunResult
    from .status import ApprovalStatus as ApprovalStatus
    from .status import RunStatus as RunStatus
    from .status import TaskStatus as TaskStatus
    from .usage import Usage as Usage
