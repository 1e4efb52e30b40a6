"""aicam_opt: compression and hardware-aware optimization of on-device AI camera enhancement networks.

Pipeline (one subpackage per stage): models -> compress -> cost/latency -> search -> compile ->
verify -> report -> gate. The Python API (aicam_opt.api, re-exported here and loaded on first use,
so `import aicam_opt` imports neither torch nor TVM):

    import aicam_opt
    student = aicam_opt.load_student()
    aicam_opt.predict_cost(student, target="sd865", workload="preview").latency_ms
    aicam_opt.enhance(photo)                      # also: load_teacher, evaluate_models,
    aicam_opt.optimize_for("sd865", trials=20)    # compress_candidate, compare_to_baseline

Layers, low -> high (aicam_opt.layers.LAYERS; tests/test_layers.py checks every import, lazy ones too).
A module imports only its own component and lower layers; components sharing a layer are peers and do
not import each other; nothing imports a CLI module (aicam_opt/cli.py, */cli.py, optimize_cli.py)
except aicam_opt/cli.py.
     1 errors, logs, terminal
     2 atomic, photo_metadata, png_writer
     3 config
     4 images, motion, timing, yuv
     5 data, degrade
     6 models
     7 kernels
     8 cost
     9 latency
    10 evaluate, train
    11 compress
    12 runtime
    13 search
    14 compile
    15 device
    16 report
    17 gate
    18 optimize
    19 api
    20 cli
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

API = ("compare_to_baseline", "compress_candidate", "enhance", "evaluate_models", "load_student", "load_teacher",
       "optimize_for", "predict_cost")

if TYPE_CHECKING:
    from .api import (compare_to_baseline, compress_candidate, enhance, evaluate_models, load_student, load_teacher,
                      optimize_for, predict_cost)

__all__ = ["__version__", *API]


def __getattr__(name: str) -> Any:
    if name in API:
        return getattr(importlib.import_module(".api", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *API})
