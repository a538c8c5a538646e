"""Whether a Python module is installed here: looked up on sys.path, never imported.

Validation asks it of a model's client, an embedder's, a knowledge reader's, and `import`
of a copied tool's dependencies; none of them may pay for importing the package itself.
"""
from __future__ import annotations

import importlib.util


def installed(module: str) -> bool:
    """The whole dotted module: an installed ``azure`` or ``google`` namespace is not its client."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing, or broken
        return False
