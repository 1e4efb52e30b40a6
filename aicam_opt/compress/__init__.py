"""Compression transforms: turn a candidate description into a real, smaller, faster student.

    from aicam_opt.compress import Candidate, build_candidate
    built = build_candidate(load_yaml("search_spaces/examples/int8_lowres.yaml", Candidate), resolve())
    built.metrics["quality"]["psnr_drop_vs_student"], built.deployed, built.float_net

Stages (one module each): candidate (validation), configure (switch/guide/grid, weight
inheritance), prune (torch-pruning), recover (distillation), quantize (NNCF int8 + ONNX QDQ),
evaluation (quality vs student and teacher), build (the pipeline), cli (`aicam-opt compress`).
"""
from .build import Built, build_candidate
from .candidate import Candidate, check_feasible

__all__ = ["Built", "Candidate", "build_candidate", "check_feasible"]
