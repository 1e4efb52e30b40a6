"""`aicam-opt` command line. Each stage's module registers its own subcommand (see COMMANDS)."""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import AicamError

# module -> it defines `register(subparsers)`, adding a parser whose default `func(args) -> int` runs it.
COMMANDS = [
    "aicam_opt.train.cli",
    "aicam_opt.evaluate.cli",
    "aicam_opt.optimize",
    "aicam_opt.latency.cli",
    "aicam_opt.runtime.cli",
    "aicam_opt.compress.cli",
    "aicam_opt.compile.cli",
    "aicam_opt.device.cli",
    "aicam_opt.gate.cli",
    "aicam_opt.report.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aicam-opt", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AicamError as err:
        print(f"aicam-opt {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"aicam-opt {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
