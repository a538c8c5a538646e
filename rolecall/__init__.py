"""rolecall: role-based AI crews defined in YAML, validated strictly, run by name.

The pipeline, one module per stage: discover -> load -> validate -> assemble -> run -> record.
"""
import os as _os

# crewai phones home (telemetry, tracing prompts, version checks) unless told not to;
# a run must never wait on the network. Users opt back in by setting these themselves.
for _name, _value in {"OTEL_SDK_DISABLED": "true", "CREWAI_DISABLE_TELEMETRY": "true",
                      "CREWAI_DISABLE_TRACKING": "true", "CREWAI_DISABLE_VERSION_CHECK": "true",
                      "CREWAI_TRACING_ENABLED": "false"}.items():
    _os.environ.setdefault(_name, _value)

__version__ = "0.1.0"
