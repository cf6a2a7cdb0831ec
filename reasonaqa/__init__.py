"""reasonaqa: build ReasonAQA-style audio question-answer datasets from captions.

The Python API (see the README's "Python API"):

- ``reasonaqa.generate(...)`` / ``await reasonaqa.agenerate(...)``: a run, with the settings
  ``reasonaqa generate`` takes (or a ``GenerateConfig``); resumable like the CLI;
- ``reasonaqa.read_run(path)``: its accepted, rejected and quarantined rows as DataFrames.

Names load on first use (``__getattr__``), so ``import reasonaqa`` stays cheap and
``reasonaqa --help`` starts fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public name -> the module that defines it. ``reasonaqa.check`` (the checker) will join here.
_API: dict[str, str] = {
    "generate": "reasonaqa.api.running",
    "agenerate": "reasonaqa.api.running",
    "read_run": "reasonaqa.api.reading",
    "RunData": "reasonaqa.api.reading",
    "RunResult": "reasonaqa.engine.session",
    "RunCounts": "reasonaqa.engine.counts",
    "GenerateConfig": "reasonaqa.config",
    "InputError": "reasonaqa.errors",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'reasonaqa' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
