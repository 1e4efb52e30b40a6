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
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also show the libraries' logs (NNCF, torch, TVM, Optuna) on the console; they always go to "
                        "OUT/aicam-opt.log")
    p.add_argument("--calibration", metavar="PATH",
                   help="a fitted calibration (aicam-opt calibrate --target T --measurements ROWS --out PATH) for every "
                        "prediction of the run, in place of targets/calibration/<target>.json")
    device = p.add_argument_group("hardware in the loop", "after the search, measure the K front candidates predicted "
                                  "fastest on a device over TVM RPC; winners are then picked by measured latency where "
                                  "it exists (docs/device.md)")
    device.add_argument("--measure-top", type=positive_int, metavar="K", help="how many front candidates to measure")
    where = device.add_mutually_exclusive_group()
    where.add_argument("--rpc", metavar="HOST:PORT|local", help="a TVM RPC server; `local` starts one on 127.0.0.1")
    where.add_argument("--tracker", metavar="HOST:PORT", help="a TVM RPC tracker (with --key); its devices share the work")
    device.add_argument("--key", help="the device key of the servers registered with --tracker")
    device.add_argument("--measure-repeat", type=positive_int, default=10, help="timed repeats per part (default 10)")
    device.add_argument("--measure-threads", type=positive_int, default=1, help="CPU threads on the device (default 1)")
    device.add_argument("--os", dest="device_os", choices=("android", "linux"),
                        help="the device's operating system, if not the target's")
    device.add_argument("--ndk", metavar="PATH", help="Android NDK to link Android parts (default $TVM_NDK_CC)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    run_optimize(OptimizeOptions(target=args.target, space=args.space, trials=args.trials, storage=args.storage,
                                 data=args.data, out=args.out, compile=not args.no_compile,
                                 placed_units_only=args.placed_units_only, calibration=args.calibration,
                                 measure_top=args.measure_top, rpc=args.rpc, tracker=args.tracker, key=args.key,
                                 measure_repeat=args.measure_repeat, measure_threads=args.measure_threads,
                                 device_os=args.device_os, ndk=args.ndk, verbose=args.verbose))
    return 0
