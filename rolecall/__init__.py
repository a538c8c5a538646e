"""rolecall: role-based AI crews defined in YAML, validated strictly, run by name.

The pipeline, one module per stage: discover -> load -> validate -> assemble -> run -> record.
The public API is what this package exports (``__all__``); see ``rolecall.api``.
"""
from .environment import quiet_crewai as _quiet_crewai

_quiet_crewai()  # before anything can import crewai

from .api import decide, load_crew, resume, run, runs, write_report  # noqa: E402
from .approval import Decision  # noqa: E402
from .definition import CrewDefinition  # noqa: E402
from .errors import (  # noqa: E402
    ConfigError,
    InputError,
    ModelUnavailable,
    RolecallError,
    RunNotFound,
    RunStateError,
)
from .history import RunSummary  # noqa: E402
from .problem import Problem  # noqa: E402
from .project import Project  # noqa: E402
from .result import RunResult  # noqa: E402
from .status import ApprovalStatus, RunStatus, TaskStatus  # noqa: E402
from .usage import Usage  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "ApprovalStatus",
    "ConfigError",
    "CrewDefinition",
    "Decision",
    "InputError",
    "ModelUnavailable",
    "Problem",
    "Project",
    "RolecallError",
    "RunNotFound",
    "RunResult",
    "RunStateError",
    "RunStatus",
    "RunSummary",
    "TaskStatus",
    "Usage",
    "__version__",
    "decide",
    "load_crew",
    "resume",
    "run",
    "runs",
    "write_report",
]
