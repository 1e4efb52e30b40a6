"""Compression transforms: turn a candidate description into a real, smaller, faster student.

    from aicam_opt.compress import Candidate, build_candidate
    built = build_candidate(load_yaml("search_spaces/examples/int8_lowres.yaml", Candidate), resolve())
    built.metrics.quality.psnr_drop_vs_student, built.deployed, built.float_net

Stages (one module each): candidate (validation), configure (switch/guide/grid, weight
inheritance), prune (torch-pruning), recover (distillation), quantize (NNCF int8 + ONNX QDQ),
evaluation (quality vs student and teacher), metrics (metrics.json), folder (the candidate folder's
files), build (the pipeline), cli (`aicam-opt compress`). The exports load lazily, so the gate can
read the quality schema (compress.metrics) without torch.
"""
from importlib import import_module

_EXPORTS = {"Built": ".build", "build_candidate": ".build", "Candidate": ".candidate", "check_feasible": ".candidate"}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Built", "Candidate", "build_candidate", "check_feasible"]
