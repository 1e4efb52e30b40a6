"""`aicam-opt gate --baseline reports/baseline/<target>.json --current reports/<target>/summary.json
[--tolerances FILE]`: the CI regression gate.

Prints baseline and current side by side (metric, baseline, current, change, tolerance, verdict).
Exit codes: 0 nothing regressed beyond tolerance; 1 something did (the last line names every failing
row); 2 the input is missing or malformed, or the two summaries come from different searches (another
trial budget, space, sampler or seed, or other evaluation images: nothing is judged; the message names
the baseline to use or the command to run).
"""
from __future__ import annotations

import argparse

from rich.markup import escape
from rich.table import Table

from ..api import compare_to_baseline
from ..terminal import OutputConsole
from .compare import Comparison, Row, Value
from .tolerances import DEFAULT_TOLERANCES

VERDICT_STYLE = {"ok": "green", "better": "bold cyan", "worse": "bold red", "missing": "bold red",
                 "info": "dim", "skipped (no measurement)": "yellow"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gate", help="CI regression gate: compare a run's summary.json against the committed baseline",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--baseline", required=True, help="the committed baseline, reports/baseline/<target>.json")
    p.add_argument("--current", required=True, help="this run's summary, reports/<target>/summary.json")
    p.add_argument("--tolerances", default=str(DEFAULT_TOLERANCES),
                   help="tolerances YAML (default: the repository's reports/baseline/tolerances.yaml)")
    p.set_defaults(func=run)


def _fmt(v: Value) -> str:
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:,.4f}".rstrip("0").rstrip(".")


def _change(row: Row) -> str:
    b, c = row.baseline, row.current
    if isinstance(b, str) or isinstance(c, str) or b is None or c is None:
        return ""
    diff = c - b
    if diff == 0:
        return "0"
    text = f"{diff:+,}" if isinstance(diff, int) else f"{diff:+,.4f}".rstrip("0").rstrip(".")
    if b != 0:
        text += f" ({diff / abs(b):+.1%})"
    return text


def _table(result: Comparison, baseline_path: str, current_path: str) -> Table:
    table = Table(title=f"gate for {result.target}: {baseline_path} (baseline) vs {current_path} (current)",
                  title_justify="left")
    for col, justify in (("block", "left"), ("metric", "left"), ("baseline", "right"), ("current", "right"),
                         ("change", "right"), ("tolerance", "right"), ("verdict", "left"), ("note", "left")):
        # names are what a reader searches for: never cut them, let the note wrap instead
        table.add_column(col, justify=justify, no_wrap=col in ("block", "metric", "verdict"))
    previous_block = None
    for row in result.rows:
        block_group = row.block.split(".")[0] if row.block.startswith("measured") else row.block
        if previous_block is not None and block_group != previous_block:
            table.add_section()
        previous_block = block_group
        style = VERDICT_STYLE[row.verdict]
        table.add_row(escape(row.block), escape(row.metric), _fmt(row.baseline), _fmt(row.current), _change(row),
                      row.tolerance, f"[{style}]{row.verdict}[/{style}]", escape(row.note))
    return table


def _failure_text(row: Row) -> str:
    change = _change(row)
    detail = ", ".join(x for x in (row.verdict, change, f"tolerance {row.tolerance}" if row.tolerance else "") if x)
    return f"{row.name} ({detail})"


def run(args: argparse.Namespace) -> int:
    result = compare_to_baseline(args.baseline, args.current, args.tolerances)

    console = OutputConsole()
    console.print(_table(result, args.baseline, args.current))

    for note in result.notes:
        console.print(f"note: {note}", soft_wrap=True, markup=False, style="yellow")
    compared = sum(r.verdict in ("ok", "better", "worse", "missing") for r in result.rows)
    skipped = sum(r.verdict == "skipped (no measurement)" for r in result.rows)
    if result.improvements and result.passed:
        console.print(f"{len(result.improvements)} metric(s) improved beyond tolerance. If this run is the new "
                      f"reference, refresh the baseline: cp {args.current} {args.baseline}", soft_wrap=True, markup=False)
    if not result.passed:
        failures = "; ".join(_failure_text(r) for r in result.failures)
        console.print(f"gate FAILED for {result.target}: {len(result.failures)} regression(s) beyond tolerance: {failures}",
                      soft_wrap=True, markup=False, style="bold red")
        failing_blocks = {r.block for r in result.failures}
        switched = [r for r in result.rows if r.metric == "candidate" and r.block in failing_blocks]
        for row in switched:
            console.print(f"{row.block}: {row.baseline} -> {row.current}; {row.note}", soft_wrap=True, markup=False)
        if switched:
            console.print("If the change that made another candidate win is intended, refresh the baseline in the same "
                          f"commit: cp {args.current} {args.baseline}", soft_wrap=True, markup=False)
        return 1
    console.print(f"gate passed for {result.target}: no regression beyond tolerance ({compared} rows compared, "
                  f"{len(result.improvements)} better, {skipped} skipped)", soft_wrap=True, markup=False, style="green")
    return 0
