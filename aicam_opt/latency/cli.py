"""`aicam-opt cost` (per-op cost and predicted latency) and `aicam-opt calibrate`.

`aicam-opt cost MODEL --target TARGET [--unit cpu|gpu|dsp] [--precision fp32|fp16|int8] [--cores N]
[--runtime NAME] [--workload preview|photo100mp|video8k|HxW] [--place PART=UNIT[:PRECISION][@RUNTIME] ...]
[--grid-every N] [--top K] [--json]`

Each part is priced for a runtime (tvm, paddle-lite, nnapi, tflite-gpu, tflite-npu, onnxruntime: the
ones the unit lists in the target YAML): the unit's `default_runtime` unless `--runtime` (the whole
model's unit) or `@RUNTIME` in `--place` names another. The table says which runtime each part is
priced for.

The JSON output (`--json`) is described in aicam_opt.latency.document (printed below by --help).
"""
from __future__ import annotations

import argparse
import json

from . import document
from .target import PRECISIONS, UNIT_NAMES


def register(subparsers: argparse._SubParsersAction) -> None:
    cost = subparsers.add_parser("cost", help="per-op arithmetic cost and predicted latency on a target",
                                 description=f"{__doc__}\n{document.__doc__}",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    cost.add_argument("model", help="teacher | student | path to an .onnx file | a suite checkpoint (.safetensors)")
    cost.add_argument("--target", required=True, help="target name (targets/<name>.yaml) or path to a target YAML")
    cost.add_argument("--unit", choices=UNIT_NAMES, default="cpu", help="unit that runs the model (default: cpu)")
    cost.add_argument("--precision", choices=PRECISIONS, default=None, help="default: the unit's first supported precision")
    cost.add_argument("--cores", type=int, default=1, help="CPU cores (the fastest first); default 1")
    cost.add_argument("--runtime", default=None, help="runtime of --unit (one the unit lists in the target YAML); "
                                                      "default: the unit's default_runtime")
    cost.add_argument("--workload", default=None,
                      help="preview | photo100mp | video8k | HxW (height x width); default: preview for the suite's "
                           "models, the graph's own input size for an .onnx file")
    cost.add_argument("--place", action="append", default=[], metavar="PART=UNIT[:PRECISION][@RUNTIME]",
                      help="place one part elsewhere, e.g. --place low_res=dsp:int8@tflite-npu --place full_res=gpu:fp16")
    cost.add_argument("--grid-every", type=int, default=1, metavar="N",
                      help="a student's video frames with the grid predicted on one frame in N (aicam-opt enhance "
                           "--grid-every): the low-res part's time per frame is divided by N; default 1")
    cost.add_argument("--top", type=int, default=25, help="ops shown in the table (most expensive first); 0 for all")
    cost.add_argument("--json", action="store_true", help="print the JSON document instead of the table")
    cost.add_argument("--calibration", metavar="PATH", help="predict with this fitted calibration (aicam-opt "
                                                            "calibrate ... --out PATH) instead of the committed one")
    cost.set_defaults(func=run_cost)

    cal = subparsers.add_parser("calibrate", help="fit a target's latency model; --validate regenerates the validation figures")
    cal.add_argument("--target", required=True, help="target name (targets/<name>.yaml) or path to a target YAML with a "
                                                     "`calibration:` block (what is fitted to which measurements)")
    cal.add_argument("--measure", action="store_true", help="re-time the target's host benchmark on this machine first")
    cal.add_argument("--validate", action="store_true", help="also write reports/calibration/<target>.json and print the table")
    cal.add_argument("--validate-only", action="store_true", help="validate the committed calibration without refitting")
    cal.add_argument("--measurements", nargs="+", metavar="FILE",
                     help="rows measured on your device (aicam-opt measure --save-rows FILE; schema of "
                          "shared/calibration/*.yaml), fitted together with the target's sources; needs --out. "
                          "Validates the refit and prints each row measured, predicted before and after")
    cal.add_argument("-v", "--verbose", action="store_true",
                     help="show library logs (onnxruntime, torch, TVM) on the console too; they always go to aicam-opt.log "
                          "beside what calibrate writes")
    cal.add_argument("--out", metavar="PATH", help="where to write the fitted calibration (default: "
                                                   "targets/calibration/<target>.json); use it with "
                                                   "`aicam-opt optimize|measure|cost --calibration PATH`")
    cal.set_defaults(func=run_calibrate)


# ---------------------------------------------------------------------------------------------- cost

def _si(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return f"{n:.0f}"


def print_cost_table(doc: dict, top: int) -> None:
    from ..cost.records import PARAMS
    from ..terminal import OutputConsole
    from rich.table import Table

    console = OutputConsole()
    total = doc["total"]
    place = ", ".join(f"{p}: {a['unit']}/{a['precision']}" + (f"x{a['cores']}" if a["cores"] else "")
                      + f" via {a['runtime']}" for p, a in doc["placement"].items())
    w = doc["workload"]
    title = f"{doc['model']} on {doc['target']} at {w['name']} ({w['height']}x{w['width']}) - {place}"
    ops = sorted(doc["ops"], key=lambda o: -o["latency_ms"])
    shown = ops if top <= 0 else ops[:top]
    table = Table(title=title, title_justify="left")
    for col, justify in (("op", "left"), ("class", "left"), ("part", "left"), ("MACs", "right"), ("FLOPs", "right"),
                         ("bytes", "right"), ("bound", "left"), ("ms", "right"), ("%", "right")):
        table.add_column(col, justify=justify)
    for o in shown:
        share = 100 * o["latency_ms"] / total["latency_ms"] if total["latency_ms"] else 0.0
        style = "bold red" if share >= 10 else ("yellow" if share >= 3 else None)
        name = o["name"] if o["counted"] else f"{o['name']} (UNCOUNTED)"
        table.add_row(name, o["op_class"], o["part"], _si(o["macs"]), _si(o["flops"]), _si(o["bytes"]), o["bound"],
                      f"{o['latency_ms']:.3f}", f"{share:.1f}", style=style)
    if len(ops) > len(shown):
        rest = ops[len(shown):]
        table.add_row(f"... {len(rest)} more ops", "", "", _si(sum(o["macs"] for o in rest)), _si(sum(o["flops"] for o in rest)),
                      _si(sum(o["bytes"] for o in rest)), "", f"{sum(o['latency_ms'] for o in rest):.3f}", "")
    console.print(table)

    classes = Table(title="by op class", title_justify="left")
    for col in ("class", "ops", "MACs", "FLOPs", "bytes", "ms"):
        classes.add_column(col, justify="left" if col == "class" else "right")
    for cls, c in doc["by_class"].items():
        classes.add_row(cls, str(c["ops"]), _si(c["macs"]), _si(c["flops"]), _si(c["bytes"]), f"{c['latency_ms']:.3f}")
    console.print(classes)

    parts = " + ".join(f"{p} {v['latency_ms']:.2f} ms" for p, v in doc["parts"].items())
    for p, v in doc["parts"].items():
        a = doc["placement"][p]
        console.print(f"[bold]{p}[/bold]: {v['artifact']} on the {a['unit']} at {a['precision']}, priced for runtime "
                      f"[bold]{v['runtime']}[/bold]" + (f" (with {v['figures_from']}'s fitted figures)"
                                                        if v.get("figures_from") else ""))
    console.print(f"[bold]total[/bold]: {_si(total['macs'])} MACs, {_si(total['flops'])} FLOPs, {_si(total['bytes'])}B counted "
                  f"({_si(total['bytes_moved'])}B moved after fusion), {total['params']:,} params: {PARAMS}")
    console.print(f"[bold]latency[/bold]: {total['latency_ms']:.2f} ms = {parts} + calls {total['call_overhead_ms']:.2f} ms "
                  f"+ transfers {total['transfer_ms']:.2f} ms ({_si(total['transfer_bytes'])}B)")
    budget = doc["budget"]
    if budget["latency_ms"] is not None:
        verdict = "[green]within[/green]" if budget["within"] else "[red]OVER[/red]"
        console.print(f"budget for {w['name']}: {budget['latency_ms']} ms -> {verdict}")
    reuse = doc.get("grid_reuse")
    if reuse:
        verdict = ("" if reuse["within_budget"] is None else
                   " -> [green]within[/green] budget" if reuse["within_budget"] else " -> [red]OVER[/red] budget")
        console.print(f"[bold]per video frame[/bold] with the grid predicted every {reuse['grid_every']} frames: "
                      f"{reuse['latency_ms_per_frame']:.2f} ms (low-res {reuse['low_res_ms_per_frame']:.2f} ms a frame; "
                      f"a key frame takes {total['latency_ms']:.2f} ms){verdict}")
    if total["uncounted_ops"]:
        console.print(f"[bold red]{total['uncounted_ops']} op(s) are UNCOUNTED[/bold red]: their cost is unknown, not zero; "
                      "the latency above leaves them out.")


def run_cost(args: argparse.Namespace) -> int:
    from ..api import predict_cost  # the public function is the command's library call

    from .model import using_calibration
    from .target import load_target

    with using_calibration(load_target(args.target).name, args.calibration):
        doc = predict_cost(args.model, args.target, args.workload, args.unit, args.precision, args.cores,
                           args.place, runtime=args.runtime, grid_every=args.grid_every).document()
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print_cost_table(doc, args.top)
    return 0

# ---------------------------------------------------------------------------------------------- calibrate

def print_validation(report: dict) -> None:
    import pandas as pd
    from ..terminal import OutputConsole
    from rich.table import Table

    console = OutputConsole()
    rows = pd.DataFrame(report["rows"])
    table = Table(title=f"{report['target']}: {report['method']}", title_justify="left")
    for col in rows.columns:
        table.add_column(str(col), justify="left" if rows[col].dtype == object else "right")
    for r in rows.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r])
    console.print(table)
    for group, s in report["per_runtime"].items():
        figures = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in s.items() if k != "passes")
        verdict = ("[yellow]is not judged[/yellow] (fewer than {} rows) against".format(report["min_rows"])
                   if s["passes"] is None else "[green]meets[/green]" if s["passes"] else "[red]does NOT meet[/red]")
        console.print(f"{group}: {figures} -> {verdict} the bars {report['bars']}")


def print_user_rows(rows: list[dict]) -> None:
    from ..terminal import OutputConsole
    from rich.table import Table

    table = Table(title="your rows: measured, predicted by the committed calibration (before) and by the refit (after)",
                  title_justify="left")
    for col in ("model", "unit", "precision", "fitted", "measured ms", "before ms", "after ms"):
        table.add_column(col, justify="left" if col in ("model", "unit", "precision", "fitted") else "right")
    show = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    for r in rows:
        table.add_row(r["model"], r["unit"], r["precision"], "yes" if r["fitted"] else "no (predicted only)",
                      show(r["measured_ms"]), show(r["predicted_before_ms"]), show(r["predicted_after_ms"]))
    OutputConsole().print(table)


def _command(args: argparse.Namespace) -> str:
    import shlex

    words = ["aicam-opt", "calibrate", "--target", args.target, *(["--measure"] if args.measure else []),
             *(["--measurements", *args.measurements] if args.measurements else []),
             *(["--out", args.out] if args.out else [])]
    return shlex.join(words)


def run_calibrate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..logs import routed_logs
    from . import calibrate
    from .target import load_target

    target = load_target(args.target)
    target.calibration_recipe()  # a target without a `calibration:` block is named before anything runs
    # library logs beside what it writes: the refit's folder, else the validation reports'
    with routed_logs(Path(args.out).resolve().parent if args.out else calibrate.REPORTS_DIR, verbose=args.verbose):
        return _run_calibrate(args, target)


def _run_calibrate(args: argparse.Namespace, target) -> int:
    from pathlib import Path

    from ..errors import AicamError
    from . import calibrate
    from .model import load_calibration
    from .user_rows import comparison, read_user_rows

    if args.measurements:
        if args.validate_only:
            raise AicamError("--measurements refits, --validate-only does not: give one of them")
        if not args.out:
            raise AicamError(f"--measurements needs --out PATH: where to write the refit (the committed "
                             f"targets/calibration/{target.name}.json stays as it is; give that path to replace it)")
        user = read_user_rows(args.measurements, target)  # every row checked before anything is fitted
        cal = calibrate.calibrate(target, remeasure=args.measure, user=user, command=_command(args))
        out = calibrate.save_calibration(cal, args.out)
        print(f"wrote {out}")
        measured = calibrate.with_user_rows(target, calibrate.measurements(target), user)
        report = calibrate.validate(target, cal, measured)
        try:
            before = load_calibration(target.name)
        except AicamError:
            before = None
        report["measurements"] = {"files": [str(f) for f in user.files], "rows": comparison(target, before, cal, user)}
        print_validation(report)
        print_user_rows(report["measurements"]["rows"])
        print(f"wrote {calibrate.save_report(report, Path(out).with_suffix('.validation.json'))}")
        print(f"use it: aicam-opt optimize --target {target.name} --calibration {out}")
        return 0
    cal = None
    if not args.validate_only:
        cal = calibrate.calibrate(target, remeasure=args.measure, command=_command(args))
        print(f"wrote {calibrate.save_calibration(cal, args.out)}")
    if args.validate or args.validate_only:
        report = calibrate.validate(target, cal if args.out else None)
        print_validation(report)
        print(f"wrote {calibrate.save_report(report)}")
    return 0
