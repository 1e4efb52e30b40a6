"""`aicam-opt evaluate`: the quality report that later stages and CI gates read (its JSON shape:
aicam_opt.evaluate.report)."""
from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

from rich.table import Table

from ..api import evaluate_models
from ..config import save_json
from ..logs import routed_logs
from ..terminal import OutputConsole
from .look import look_bars
from .report import DEFAULT_MODELS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="quality of the identity, teacher and student on the evaluation split")
    p.add_argument("--model", help="also evaluate this model: teacher, student or a checkpoint path")
    p.add_argument("--data", help="data folder; one holding training-split images (../shared/data) is measured on its "
                   "evaluation split, any other is evaluation data as a whole")
    p.add_argument("--max-frames", type=int, default=None, help="limit the clip length used for flicker")
    p.add_argument("--clip-long-side", type=int, default=None,
                   help="measure flicker on the clip downscaled to this long side (a smaller preview); default: as stored")
    p.add_argument("--json", action="store_true", help="print the JSON report instead of tables")
    p.add_argument("--out", help="also write the JSON report to this file (atomically); library logs then go to "
                                 "aicam-opt.log beside it")
    p.add_argument("-v", "--verbose", action="store_true", help="with --out: show library logs on the console too")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    models = {**DEFAULT_MODELS, **({"model": args.model} if args.model else {})}
    # with --out, library logs go beside the report; without, nothing is written and the console keeps them
    routing = routed_logs(Path(args.out).resolve().parent, verbose=args.verbose) if args.out else contextlib.nullcontext()
    with routing:
        report = evaluate_models(models, args.data, args.max_frames, args.clip_long_side)
    if args.out:
        save_json(report, args.out)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def print_report(report: dict) -> None:
    console = OutputConsole()
    if report.get("split_reason"):
        console.print(f"measured on: {report['split_reason']}")
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
    if report.get("flicker_unclipped"):
        vals = ", ".join(f"{k} {v:.3f}" for k, v in report["flicker_unclipped"].items())
        console.print(f"flicker over pixels unclipped in input and output: {vals}")
    if report.get("flicker_by_luma"):
        console.print(flicker_band_table(report["flicker_by_luma"]))
    if report.get("tone"):
        console.print(tone_table(report["tone"]))
        console.print(f"dark images: {report['tone']['dark']['definition']}: {', '.join(report['tone']['dark']['mean_luma'])}")
    for name, m in report.get("retouched", {}).items():
        console.print(f"{name}(Expert C) vs Expert C (a finished photo, changed how much): PSNR {m['psnr']:.2f} dB, "
                      f"ΔE2000 {m['deltae']:.2f} over {m['images']} images")
    if {"student", "teacher"} <= set(report.get("retouched", {})):
        console.print(bars_table(report))


def _pct(value: float) -> str:
    return f"{value * 100:.2f}"


def tone_table(tone: dict) -> Table:
    """Clipped highlights and crushed shadows per image set and model, in percent of the pixels."""
    table = Table(title="clipped highlights / crushed shadows (% of pixels; all channels at the 8-bit extreme, "
                        "or luma)")
    for col in ("images", "model", "highlights mean", "worst rise (image)", "luma highlights mean",
                "shadows mean", "luma shadows mean"):
        table.add_column(col, justify="left" if col in ("images", "model") else "right")
    for where, block in tone.items():
        for name, figures in block.items():
            if name in ("images", "definition", "mean_luma"):
                continue
            high = figures["highlights"]
            rise = f"{_pct(high['worst_increase'])} ({high['worst_increase_image']})" if "worst_increase" in high else "-"
            table.add_row(f"{where} ({block['images']})", name, _pct(high["mean"]), rise,
                          _pct(figures["highlights_luma"]["mean"]), _pct(figures["shadows"]["mean"]),
                          _pct(figures["shadows_luma"]["mean"]))
    return table


def bars_table(report: dict) -> Table:
    """The student against issue #22's done-when bars."""
    table = Table(title="student against the look's bars (issue #22)")
    for col in ("measure", "value", "bar", "met"):
        table.add_column(col, justify="left" if col in ("measure", "bar") else "right")
    for bar in look_bars(report):
        table.add_row(bar.measure, bar.shown, bar.bar, "yes" if bar.passed else "NO")
    return table


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
