"""`aicam-opt` command line. Each stage's module registers its own subcommand (see COMMANDS).

Only the module of the command being run is imported: the others (torch, TVM, Optuna behind them)
appear in `--help` through their names and help lines, read from their source without importing it,
so `aicam-opt --help` and `--version` answer at once.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.metadata
import sys
from pathlib import Path

from . import atomic
from .errors import AicamError

# module -> it defines `register(subparsers)`, adding a parser whose default `func(args) -> int` runs it.
COMMANDS = [
    "aicam_opt.train.cli",
    "aicam_opt.evaluate.cli",
    "aicam_opt.optimize_cli",
    "aicam_opt.latency.cli",
    "aicam_opt.runtime.cli",
    "aicam_opt.compress.cli",
    "aicam_opt.compile.cli",
    "aicam_opt.device.cli",
    "aicam_opt.gate.cli",
    "aicam_opt.report.cli",
]


def declared_commands(module: str) -> dict[str, str]:
    """The subcommands a CLI module registers, with their help lines, read from its source:
    every `<subparsers>.add_parser("name", help="...")` call with literal arguments."""
    # located by path, not find_spec: importing a subpackage's __init__ would load what it imports
    source = (Path(__file__).parent.joinpath(*module.split(".")[1:]).with_suffix(".py")).read_text()
    commands = {}
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_parser"
                and node.args and isinstance(node.args[0], ast.Constant)):
            help_text = next((k.value.value for k in node.keywords
                              if k.arg == "help" and isinstance(k.value, ast.Constant)), "")
            commands[node.args[0].value] = help_text
    return commands


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser of `command` (its module imported and registered); the others as stubs."""
    parser = argparse.ArgumentParser(prog="aicam-opt", description="Model compression and hardware-aware optimization for AI camera enhancement networks.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {importlib.metadata.version('aicam-opt')}")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        names = declared_commands(module)
        if command in names or command == "*":
            importlib.import_module(module).register(sub)
        else:
            for name, help_text in names.items():
                sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    atomic.handle_interrupts()  # SIGTERM cleans up like Ctrl-C: no temporaries left
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
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
