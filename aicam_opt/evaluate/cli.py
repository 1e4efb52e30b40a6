"""`aicam-opt evaluate`: the quality report that later stages and CI gates read.

JSON shape (stable; keys are only ever added):
{
  "data": str,                       # data folder used, or the embedded set
  "split": "eval" | "all",           # "all" when --data was given explicitly
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
  "models": {"teacher" | "student" | "model": str}
}
"model" entries appear only with --model PATH. Flicker and its breakdown by band: see aicam_opt.evaluate.flicker. Without a clip,
"flicker" and "flicker_by_luma" are empty objects.
"""
from __future__ import annotations

import argparse
import json
from typing import Callable

import numpy as np
from rich.console import Console
from rich.table import Table

from ..config import save_json
from ..data import DataSource, clip_frames, resolve
from ..errors import AicamError
from ..images import read_photo, resize_long_side
from ..models.checkpoints import resolve_model
from ..models.inference import enhance_array, enhance_with_held_grid
from ..models.student import StudentNet
from . import flicker as flicker_metric
from .documents import EvaluationReport
from .eval_set import evaluation_photos, evaluation_split, fivek_set
from .quality import all_metrics, mean_difference, mean_metrics
from .scale import scale_consistency

Enhancer = Callable[[np.ndarray], np.ndarray]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="quality of the identity, teacher and student on the evaluation split")
    p.add_argument("--model", help="also evaluate this model: teacher, student or a checkpoint path")
    p.add_argument("--data", help="data folder; given explicitly, every pair and clip in it is evaluated")
    p.add_argument("--max-frames", type=int, default=None, help="limit the clip length used for flicker")
    p.add_argument("--clip-long-side", type=int, default=None,
                   help="measure flicker on the clip downscaled to this long side (a smaller preview); default: as stored")
    p.add_argument("--json", action="store_true", help="print the JSON report instead of tables")
    p.add_argument("--out", help="also write the JSON report to this file (atomically)")
    p.set_defaults(func=run)


def evaluate(source: DataSource, enhancers: dict[str, Enhancer], max_frames: int | None = None,
             clip_long_side: int | None = None, clip_only: dict[str, Enhancer] | None = None) -> dict:
    """The report (module doc). `clip_only`: enhancers measured on the clip alone (called on its frames in order)."""
    if clip_long_side is not None and clip_long_side < 64:
        raise AicamError(f"--clip-long-side {clip_long_side}: too small to measure flicker on; give at least 64 pixels")
    pairs = fivek_set(source)
    split = evaluation_split(source)
    report: dict = {"data": source.description, "split": split,
                    "fivek": {"pairs": sorted(pairs)}, "fidelity": {}, "scale_consistency": {}, "flicker": {},
                    "flicker_by_luma": {}}
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

    clips = clip_frames(source, split)
    if clips:
        frame_paths = clips[0][:max_frames] if max_frames else clips[0]
        frames = [read_photo(p).pixels for p in frame_paths]
        if clip_long_side:
            frames = [resize_long_side(f, clip_long_side) for f in frames]
        overall, by_luma = flicker_metric.clip_flicker(frames, {**enhancers, **(clip_only or {})})
        report["flicker"] = {"clip": frame_paths[0].parent.name, "frames": len(frames),
                             "size": list(frames[0].shape[:2]), **overall}
        report["flicker_by_luma"] = by_luma
    return report


def run(args: argparse.Namespace) -> int:
    source = resolve(args.data)
    names = {"teacher": "teacher", "student": "student"}
    if args.model:
        names["model"] = args.model
    models = {role: resolve_model(spec) for role, spec in names.items()}
    enhancers = {role: (lambda img, m=m: enhance_array(m, img)) for role, m in models.items()}
    held = {f"{role}_grid_held": enhance_with_held_grid(m) for role, m in models.items() if isinstance(m, StudentNet)}
    report = EvaluationReport.checked({**evaluate(source, enhancers, args.max_frames, args.clip_long_side,
                                                  clip_only=held), "models": names}).to_json()
    if args.out:
        save_json(report, args.out)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def print_report(report: dict) -> None:
    console = Console()
    table = Table(title=f"evaluation pairs {', '.join(report['fivek']['pairs'])} ({report['data']})")
    for col in ("model", "PSNR dB", "SSIM", "ΔE2000"):
        table.add_column(col, justify="right" if col != "model" else "left")
    for name, m in report["fivek"].items():
        if name != "pairs":
            table.add_row(name, f"{m['psnr']:.2f}", f"{m['ssim']:.4f}", f"{m['deltae']:.2f}")
    console.print(table)
    for name, m in report["fidelity"].items():
        console.print(f"{name}: PSNR {m['psnr']:.2f} dB, ΔE2000 {m['deltae']:.2f} over {m['images']} images")
    for name, m in report.get("scale_consistency", {}).items():
        console.print(f"{name} preview vs capture (half size vs full size downscaled): PSNR {m['psnr']:.2f} dB, "
                      f"ΔE2000 {m['deltae']:.2f} over {m['images']} images")
    if report["flicker"]:
        f = report["flicker"]
        vals = ", ".join(f"{k} {v:.3f}" for k, v in f.items() if k not in ("clip", "frames", "size"))
        size = "x".join(str(v) for v in reversed(f.get("size", [])))
        console.print(f"flicker on {f['clip']} ({f['frames']} frames {size}, 8-bit levels, lower is steadier): {vals}")
    if report.get("flicker_by_luma"):
        console.print(flicker_band_table(report["flicker_by_luma"]))


def flicker_band_table(by_luma: dict) -> Table:
    """Where the flicker comes from: one row per input-luma band."""
    names = [k for k in by_luma if k not in ("bands", "share")]
    table = Table(title="flicker by input-luma band (8-bit levels)")
    for col in ("input luma", "share", *names):
        table.add_column(col, justify="right")
    for i, (lo, hi) in enumerate(by_luma["bands"]):
        cells = [f"{by_luma[n][i]:.2f}" if by_luma[n][i] is not None else "-" for n in names]
        table.add_row(f"{lo:.1f}-{hi:.1f}", f"{by_luma['share'][i]:.1%}", *cells)
    return table
