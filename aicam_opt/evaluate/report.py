"""The quality report of `aicam-opt evaluate`, which later stages and CI gates read.

JSON shape (stable; keys are only ever added):
{
  "data": str,                       # data folder used, or the embedded set
  "split": "eval" | "all",           # "all": a --data folder without training-split images, evaluated whole
  "split_reason": str,               # which images were measured and why (data.DataSource.split_description)
  "fivek": {                         # against FiveK Expert C (embedded set: against the undegraded photo)
    "pairs": [str],
    "identity" | "teacher" | "student" | "model": {"psnr": dB, "ssim": 0..1, "deltae": CIEDE2000,
                                                   "per_pair": {name: {psnr, ssim, deltae}}}
  },
  "fidelity": {"student_vs_teacher" | "model_vs_teacher": {"psnr": dB, "deltae": CIEDE2000, "images": int}},
  "scale_consistency": {"teacher" | "student" | "model": {"psnr": dB, "deltae": CIEDE2000, "images": int}},
                                     # preview (half size) vs capture (full size, downscaled): see .scale
  "flicker": {"clip": str, "frames": int, "size": [h, w],  # size: the frames as measured (--clip-long-side)
              "input" | "teacher" | "student" | "model": 8-bit levels,
              "student_grid_held" | "model_grid_held": 8-bit levels},  # a student with its grid predicted on
                                     # the first frame and kept: the floor for temporal smoothing of the grid
  "flicker_by_luma": {"bands": [[lo, hi]],  # input-luma bands (0..1, Rec. 709)
                      "share": [0..1],      # fraction of the measured pixels in each band
                      same keys as "flicker": [8-bit levels or null]},
  "tone": {"photos": {"images": int, "input" | <model>: {<variant>: {"mean", "worst", "worst_image",
                                                          "worst_increase", "worst_increase_image"}}},
           "dark": {"definition": str, "mean_luma": {name: 0..1}, same as "photos"},
           "clip": same as "photos", over the clip's frames (absent without a clip)},
                                     # <variant>: highlights, highlights_luma, shadows, shadows_luma, as
                                     # fractions of the pixels; the increase is the output's over the input's
                                     # on one image (absent for the input): see .look
  "retouched": {"teacher" | "student" | "model": {"psnr": dB, "deltae": CIEDE2000, "images": int}},
                                     # model(Expert C) against Expert C over the FiveK pairs
  "flicker_unclipped": same keys as "flicker" minus clip/frames/size: 8-bit levels over the pixels
                                     # neither the input nor that output clips,
  "models": {"teacher" | "student" | "model": str}
}
"model" entries appear only with --model PATH. Flicker and its breakdown by band: see aicam_opt.evaluate.flicker. Without a clip,
"flicker" and "flicker_by_luma" are empty objects.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Callable

import numpy as np
from torch import nn

from ..data import DataSource, clip_frames
from ..errors import AicamError
from ..images import read_photo, resize_long_side
from ..models.checkpoints import resolve_model
from ..models.inference import enhance_array, enhance_with_held_grid
from ..models.student import StudentNet
from . import flicker as flicker_metric
from .eval_set import evaluation_photos, evaluation_split, fivek_set, require_evaluation_images
from .look import dark_block, retouched, tone_block
from .quality import all_metrics, mean_difference, mean_metrics
from .scale import scale_consistency
from .documents import EvaluationReport

Enhancer = Callable[[np.ndarray], np.ndarray]
ModelSpec = str | os.PathLike | nn.Module
DEFAULT_MODELS = {"teacher": "teacher", "student": "student"}


def evaluate(source: DataSource, enhancers: dict[str, Enhancer], max_frames: int | None = None,
             clip_long_side: int | None = None, clip_only: dict[str, Enhancer] | None = None) -> dict:
    """The report (module doc). `clip_only`: enhancers measured on the clip alone (called on its frames in order)."""
    if clip_long_side is not None and clip_long_side < 64:
        raise AicamError(f"--clip-long-side {clip_long_side}: too small to measure flicker on; give at least 64 pixels")
    pairs = fivek_set(source)
    split = evaluation_split(source)
    report: dict = {"data": source.description, "split": split, "split_reason": source.split_description(),
                    "fivek": {"pairs": sorted(pairs)}, "fidelity": {}, "scale_consistency": {}, "flicker": {},
                    "flicker_by_luma": {}, "tone": {}, "retouched": {}, "flicker_unclipped": {}}
    outputs: dict[str, dict[str, np.ndarray]] = {name: {} for name in enhancers}
    for name, enhance in {"identity": lambda x: x, **enhancers}.items():
        per_pair = {}
        for pair_name, (x, y) in sorted(pairs.items()):
            out = enhance(x)
            if name in outputs:
                outputs[name][pair_name] = out
            per_pair[pair_name] = all_metrics(out, y)
        report["fivek"][name] = {**mean_metrics(list(per_pair.values())), "per_pair": per_pair}

    photos = evaluation_photos(source, pairs)
    # FiveK outputs were computed above: reuse them, run only the photos not yet enhanced
    full = {name: {n: outputs[name][n] if n in outputs[name] else enhance(x) for n, x in photos.items()}
            for name, enhance in enhancers.items()}
    for name in enhancers:
        report["scale_consistency"][name] = scale_consistency(enhancers[name], photos, full[name])
        if name != "teacher" and "teacher" in enhancers:
            report["fidelity"][f"{name}_vs_teacher"] = mean_difference(full[name], full["teacher"])
    report["tone"] = {"photos": tone_block(photos, full), "dark": dark_block(photos, full)}
    report["retouched"] = retouched(enhancers, pairs)

    clips = clip_frames(source, split)
    if clips:
        frame_paths = clips[0][:max_frames] if max_frames else clips[0]
        frames = [read_photo(p).pixels for p in frame_paths]
        if clip_long_side:
            frames = [resize_long_side(f, clip_long_side) for f in frames]
        outputs_on_clip = {name: [enhance(f) for f in frames] for name, enhance in {**enhancers, **(clip_only or {})}.items()}
        overall, by_luma, unclipped = flicker_metric.outputs_flicker(frames, {"input": frames, **outputs_on_clip},
                                                                     unclipped=True)
        report["flicker"] = {"clip": frame_paths[0].parent.name, "frames": len(frames),
                             "size": list(frames[0].shape[:2]), **overall}
        report["flicker_by_luma"] = by_luma
        report["flicker_unclipped"] = unclipped
        names = [p.stem for p in frame_paths]
        report["tone"]["clip"] = tone_block(dict(zip(names, frames)),
                                            {name: dict(zip(names, outs)) for name, outs in outputs_on_clip.items()})
    return report


def report_for_models(source: DataSource, models: Mapping[str, ModelSpec] = DEFAULT_MODELS,
                      max_frames: int | None = None, clip_long_side: int | None = None) -> dict:
    """The report of `aicam-opt evaluate` for `models` (role -> 'teacher', 'student', a checkpoint path or a
    module). A student is also measured with its grid held over the clip (`<role>_grid_held`)."""
    require_evaluation_images(source)  # before loading or computing anything
    loaded = {role: spec if isinstance(spec, nn.Module) else resolve_model(spec) for role, spec in models.items()}
    enhancers = {role: (lambda img, m=m: enhance_array(m, img)) for role, m in loaded.items()}
    held = {f"{role}_grid_held": enhance_with_held_grid(m) for role, m in loaded.items() if isinstance(m, StudentNet)}
    report = evaluate(source, enhancers, max_frames, clip_long_side, clip_only=held)
    report["models"] = {role: _spec_name(spec) for role, spec in models.items()}
    return EvaluationReport.checked(report).to_json()


def _spec_name(spec: ModelSpec) -> str:
    return type(spec).__name__ if isinstance(spec, nn.Module) else os.fspath(spec)
