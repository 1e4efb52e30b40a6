"""The public Python API: what `aicam-opt` does, as typed functions (re-exported from `aicam_opt`).

    import aicam_opt

    student = aicam_opt.load_student()                                   # the committed checkpoint
    report = aicam_opt.predict_cost(student, target="sd865", workload="preview")
    report.latency_ms, report.within_budget, report.document()           # as `aicam-opt cost --json`
    enhanced = aicam_opt.enhance(photo)                                  # HxWx3 array in, same type out
    result = aicam_opt.optimize_for("sd865", trials=20)                  # the main job -> reports/sd865
    aicam_opt.compare_to_baseline("reports/baseline/sd865.json", result.out / "summary.json").passed

Each function is the library call behind one subcommand, so a script and the command line give the
same results. The names differ from the subpackages' (`optimize_for`, not `optimize`: aicam_opt.optimize
is the job's module; likewise cost, compress, evaluate and gate), because a function and a subpackage
cannot share a name on the package. Heavy libraries (torch, TVM, Optuna) load when a function first
needs them, so `import aicam_opt` stays instant.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from rich.console import Console
    from torch import nn

    from .compress.build import Built
    from .compress.candidate import Candidate
    from .gate.compare import Comparison
    from .gate.tolerances import Tolerances
    from .latency.document import CostReport
    from .models.student import StudentNet
    from .models.teacher import Generator
    from .optimize import OptimizeResult

PathLike = str | os.PathLike


def load_student(path: PathLike | None = None) -> StudentNet:
    """The student network in eval mode: the committed checkpoint (sha256-checked), or the one at `path`."""
    from .models.checkpoints import load_model

    return load_model(path, kind="student")  # type: ignore[return-value]


def load_teacher(path: PathLike | None = None) -> Generator:
    """The teacher network in eval mode: the committed checkpoint (sha256-checked), or the one at `path`."""
    from .models.checkpoints import load_model

    return load_model(path, kind="teacher")  # type: ignore[return-value]


def predict_cost(model: str | os.PathLike | nn.Module, target: str, workload: str | tuple[int, int] | None = None,
                 unit: str = "cpu", precision: str | None = None, cores: int | None = 1,
                 place: Sequence[str] = (), runtime: str | None = None, grid_every: int = 1) -> CostReport:
    """Count `model` ('student', 'teacher', a checkpoint, an .onnx file or a module) at `workload`
    ('preview', 'photo100mp', 'video8k', 'HxW' or (H, W); default preview, an ONNX graph: its own size) and
    predict its latency on `target` (a targets/*.yaml name or path), as `aicam-opt cost` does.

    The model runs on `unit` at `precision` (default: the unit's first) on `cores` CPU cores; `place` moves
    parts elsewhere ("low_res=dsp:int8", "full_res=gpu:fp16", "low_res=dsp:int8@tflite-npu"); `runtime` names
    the runtime of `unit` (default: the unit's default_runtime in the target); `grid_every` N > 1 prices a student's
    video frames with the grid predicted on one frame in N. Returns a CostReport: `.latency_ms`,
    `.latency_ms_per_frame` (with `grid_every`), `.within_budget`, `.cost` (the counted ops), `.prediction`
    (per-op times), `.document()` (the JSON)."""
    from .latency.document import cost_report, parse_placement
    from .latency.target import load_target

    loaded = load_target(target)
    return cost_report(model, loaded, workload, parse_placement(loaded, unit, precision, cores, place, runtime),
                       grid_every)


def enhance(image: np.ndarray | PathLike, dst: PathLike | None = None, model: str | os.PathLike | nn.Module = "student",
            compiled: bool = True) -> np.ndarray | Path:
    """Enhance a photo with `model` ('student', 'teacher', a checkpoint path or a loaded network).

    `image`: an HxWx3 (or gray, or RGBA) uint8, uint16 or float array, or a photo file; a video (frame folder
    or .mp4) needs `dst`. Without `dst` the enhanced pixels are returned (uint8/uint16 as given, float32 in
    [0, 1] for float input); with `dst` they are written there atomically and `dst` is returned. The student
    runs its full-res path compiled with TVM unless `compiled=False` (or TVM cannot build here)."""
    import numpy as np

    from .images import native_rgb, read_native
    from .runtime.enhance import Enhancer, enhance_photo, enhance_video
    from .runtime.media import is_video_source

    enhancer = (Enhancer.for_module(model, type(model).__name__, use_compiled=compiled)
                if not isinstance(model, (str, os.PathLike)) else Enhancer.for_model(model, use_compiled=compiled))
    if isinstance(image, np.ndarray):
        pixels = native_rgb(image, "image")
        if dst is None:
            return enhancer.enhance(pixels)
        from .images import write_native

        write_native(dst, enhancer.enhance(pixels))
        return Path(dst)
    src = Path(image)
    if is_video_source(src):
        if dst is None:
            from .errors import AicamError

            raise AicamError(f"{src}: a video is enhanced into a file or folder; give dst (an .mp4 or a new folder)")
        enhance_video(enhancer, src, dst)
        return Path(dst)
    if dst is None:
        return enhancer.enhance(read_native(src))
    enhance_photo(enhancer, src, dst)
    return Path(dst)


def evaluate_models(models: Mapping[str, str | os.PathLike | nn.Module] | None = None, data: PathLike | None = None,
                    max_frames: int | None = None, clip_long_side: int | None = None) -> dict:
    """The quality report of `aicam-opt evaluate` (shape: aicam_opt.evaluate.report) for `models`, role ->
    spec (default: the committed teacher and student), on the evaluation split of `data` (default:
    $AICAM_DATA, ../shared/data, else the embedded photos; a folder given here that holds training-split
    images is measured on its evaluation split, any other is evaluated whole). `report["split_reason"]` says
    which; `aicam_opt.evaluate.look.look_bars(report)` reads the look's figures against issue #22's bars."""
    from .data import resolve
    from .evaluate.report import DEFAULT_MODELS, report_for_models

    return report_for_models(resolve(data), DEFAULT_MODELS if models is None else models, max_frames, clip_long_side)


def compress_candidate(candidate: Candidate | PathLike, data: PathLike | None = None, out: PathLike | None = None,
                       recover_steps: int = 20, eval_frames: int = 8) -> Built:
    """Build one compression candidate (a Candidate or its YAML file, see search_spaces/examples/) as
    `aicam-opt compress` does: configure, prune, recover `recover_steps` distillation steps, quantize, and
    measure what it lost (on `eval_frames` clip frames). With `out`, its folder is written there."""
    from .compress.build import build_candidate
    from .compress.candidate import Candidate
    from .config import load_yaml
    from .data import build_sources, resolve

    if not isinstance(candidate, Candidate):
        candidate = load_yaml(candidate, Candidate)
    # training photos calibrate and recover, evaluation photos measure (data.build_sources)
    train_source, eval_source = build_sources(resolve(data))
    return build_candidate(candidate, train_source, recover_steps=recover_steps, out_dir=out, eval_frames=eval_frames,
                           eval_source=eval_source)


def optimize_for(target: str, trials: int | None = None, space: str = "default", out: PathLike | None = None,
                 data: PathLike | None = None, compile: bool = True, storage: str | None = None,
                 placed_units_only: bool = False, console: Console | None = None) -> OptimizeResult:
    """The main job, as `aicam-opt optimize`: cost the uncompressed models, search `trials` compression
    candidates (default 20; a study in `out` is resumed and its trials count), write the reports to `out`
    (default reports/<target>) and, with `compile`, compile, verify and time the winners. Progress goes to
    `console` (default: stdout)."""
    from .optimize import OptimizeOptions, run_optimize

    budget = {} if trials is None else {"trials": trials}  # None: the job's own default
    options = OptimizeOptions(target=target, space=space, out=out, data=None if data is None else os.fspath(data),
                              compile=compile, storage=storage, placed_units_only=placed_units_only, **budget)
    return run_optimize(options, console)


def compare_to_baseline(baseline: PathLike, current: PathLike,
                        tolerances: PathLike | Tolerances | None = None) -> Comparison:
    """The CI gate, as `aicam-opt gate`: the search summary `current` (reports/<target>/summary.json) against
    `baseline` (reports/baseline/<target>.json) within `tolerances` (a YAML path or Tolerances; default: the
    repository's reports/baseline/tolerances.yaml). `.passed`, `.failures`, `.rows` say what changed; `.notes`
    what could not be checked. Summaries of different searches (budget, space, sampler, seed) are refused
    (AicamError naming the baseline to use)."""
    from .gate import compare, load_pair
    from .gate.summary import unknown_budgets
    from .gate.tolerances import DEFAULT_TOLERANCES, Tolerances, load_tolerances

    if not isinstance(tolerances, Tolerances):
        tolerances = load_tolerances(DEFAULT_TOLERANCES if tolerances is None else tolerances)
    base, cur = load_pair(baseline, current)
    result = compare(base, cur, tolerances)
    result.notes += unknown_budgets(base, cur, baseline, current)
    return result


__all__ = ["compare_to_baseline", "compress_candidate", "enhance", "evaluate_models", "load_student", "load_teacher",
           "optimize_for", "predict_cost"]
