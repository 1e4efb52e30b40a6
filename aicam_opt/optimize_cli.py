"""`aicam-opt optimize --target T` (`make optimize TARGET=sd865`): the main job (aicam_opt.optimize)."""
from __future__ import annotations

import argparse

from .optimize import DEFAULT_TRIALS, OptimizeOptions, run_optimize


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 (a budget of 0 trials would search nothing)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: give at least 1 trial")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("optimize", help="the main job: cost, search, report and compile the winners")
    p.add_argument("--target", required=True, help="a targets/*.yaml name (e.g. sd865) or path")
    p.add_argument("--space", default="default", help="a search_spaces/*.yaml name or path (default: default)")
    p.add_argument("--trials", type=positive_int, default=DEFAULT_TRIALS,
                   help=f"search budget: trials the study should hold (default {DEFAULT_TRIALS}; resumes count)")
    p.add_argument("--storage", help="Optuna RDB URL shared by several workers (default: sqlite in --out)")
    p.add_argument("--data", help="data folder (default: $AICAM_DATA, ../shared/data, else embedded photos)")
    p.add_argument("--out", help="report folder (default: reports/<target>)")
    p.add_argument("--no-compile", action="store_true", help="skip compiling the winners with TVM")
    p.add_argument("--placed-units-only", action="store_true",
                   help="compile each winner's parts only for their placed units (default: every unit of the target too)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    run_optimize(OptimizeOptions(target=args.target, space=args.space, trials=args.trials, storage=args.storage,
                                 data=args.data, out=args.out, compile=not args.no_compile,
                                 placed_units_only=args.placed_units_only))
    return 0
