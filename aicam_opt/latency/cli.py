"""`aicam-opt cost` (per-op cost and predicted latency) and `aicam-opt calibrate`.

`aicam-opt cost MODEL --target TARGET [--unit cpu|gpu|dsp] [--precision fp32|fp16|int8] [--cores N]
[--workload preview|photo100mp|video8k|HxW] [--place PART=UNIT:PRECISION ...] [--top K] [--json]`

The JSON output (`--json`) has a stable shape, schema "aicam_opt.cost/1" (later stages and CI read
it; add keys, never rename or remove them):

    {
      "schema": "aicam_opt.cost/1",
      "model": str, "target": str,
      "workload": {"name": str, "height": int, "width": int},
      "placement": {part: {"unit": str, "precision": str, "cores": int | null}},
      "total": {
        "macs", "flops", "params": int,          # arithmetic of the graph as counted
        "bytes": int,                            # bytes read + written, as counted (unfused, model dtype)
        "bytes_moved": int,                      # after fusion, at each unit's precision
        "latency_ms": float,                     # predicted: parts + call overheads + transfers
        "ops_ms", "call_overhead_ms", "transfer_ms": float, "transfer_bytes": int,
        "uncounted_ops": int                     # > 0: the latency misses ops the counter does not know
      },
      "parts": {part: {"macs", "flops", "bytes": int, "latency_ms": float}},
      "by_class": {op_class: {"ops": int, "macs", "flops", "bytes": int, "latency_ms": float}},
      "budget": {"latency_ms": float | null, "within": bool | null},
      "ops": [ {                                  # execution order
        "name", "op", "op_class", "part", "unit", "precision", "dtype": str,
        "macs", "adds", "muls", "divs", "transcendentals", "compares", "flops",
        "bytes_read", "bytes_written", "bytes", "params": int,   # as counted
        "bytes_moved": float,                    # after fusion and precision (0 when fused away)
        "compute_ms", "memory_ms", "overhead_ms", "latency_ms": float,
        "bound": "compute" | "memory" | "fused" | "unknown",
        "fused_into": str, "counted": bool, "scales_with_pixels": bool, "scope": str, "note": str } ]
    }
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import AicamError
from .documents import CostDocument
from .model import PARTS, Assignment, LatencyModel, Placement, Prediction, load_calibration
from .target import PRECISIONS, UNIT_NAMES, load_target

SCHEMA = CostDocument.SCHEMA


def register(subparsers: argparse._SubParsersAction) -> None:
    cost = subparsers.add_parser("cost", help="per-op arithmetic cost and predicted latency on a target",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cost.add_argument("model", help="teacher | student | path to an .onnx file | a suite checkpoint (.safetensors)")
    cost.add_argument("--target", required=True, help="target name (targets/<name>.yaml) or path to a target YAML")
    cost.add_argument("--unit", choices=UNIT_NAMES, default="cpu", help="unit that runs the model (default: cpu)")
    cost.add_argument("--precision", choices=PRECISIONS, default=None, help="default: the unit's first supported precision")
    cost.add_argument("--cores", type=int, default=1, help="CPU cores (the fastest first); default 1")
    cost.add_argument("--workload", default="preview", help="preview | photo100mp | video8k | HxW (height x width); default preview")
    cost.add_argument("--place", action="append", default=[], metavar="PART=UNIT[:PRECISION]",
                      help="place one part elsewhere, e.g. --place low_res=dsp:int8 --place full_res=gpu:fp16")
    cost.add_argument("--top", type=int, default=25, help="ops shown in the table (most expensive first); 0 for all")
    cost.add_argument("--json", action="store_true", help="print the JSON document instead of the table")
    cost.set_defaults(func=run_cost)

    cal = subparsers.add_parser("calibrate", help="fit a target's latency model; --validate regenerates the validation figures")
    cal.add_argument("--target", required=True, choices=("sd865", "host"))
    cal.add_argument("--measure", action="store_true", help="host: re-time the benchmark cases on this machine first")
    cal.add_argument("--validate", action="store_true", help="also write reports/calibration/<target>.json and print the table")
    cal.add_argument("--validate-only", action="store_true", help="validate the committed calibration without refitting")
    cal.set_defaults(func=run_calibrate)


# ---------------------------------------------------------------------------------------------- cost

def _assignment(target, unit: str, precision: str | None, cores: int | None) -> Assignment:
    u = target.unit(unit)
    precision = precision or next(iter(u.precisions))
    u.precision_spec(precision)
    if u.kind == "cpu":
        u.core_clocks_ghz(cores)  # validates the core count
        return Assignment(unit, precision, cores)
    return Assignment(unit, precision, None)


def parse_placement(target, args: argparse.Namespace) -> Placement:
    placement = Placement(default=_assignment(target, args.unit, args.precision, args.cores))
    for item in args.place:
        part, sep, rest = item.partition("=")
        if not sep or part not in PARTS:
            raise AicamError(f"--place {item!r}: expected PART=UNIT[:PRECISION] with PART one of {', '.join(PARTS)}")
        unit, _, precision = rest.partition(":")
        if unit not in UNIT_NAMES:
            raise AicamError(f"--place {item!r}: unknown unit '{unit}'; choose one of {', '.join(UNIT_NAMES)}")
        placement.parts[part] = _assignment(target, unit, precision or None, args.cores)
    return placement


def cost_document(model_name: str, cost, target, prediction: Prediction, placement: Placement) -> dict:
    """The JSON document of `aicam-opt cost --json` (shape in the module docstring)."""
    ops = []
    for t in prediction.ops:
        d = t.op.to_dict()
        d.update(unit=t.unit, precision=t.precision, bytes=t.op.bytes, bytes_moved=round(t.bytes, 1),
                 compute_ms=t.compute_ms, memory_ms=t.memory_ms, overhead_ms=t.overhead_ms, latency_ms=t.latency_ms,
                 bound=t.bound, fused_into=t.fused_into)
        ops.append(d)
    by_class: dict[str, dict] = {}
    for t in prediction.ops:
        c = by_class.setdefault(t.op.op_class, {"ops": 0, "macs": 0, "flops": 0, "bytes": 0, "latency_ms": 0.0})
        c["ops"] += 1
        c["macs"] += t.op.macs
        c["flops"] += t.op.flops
        c["bytes"] += t.op.bytes
        c["latency_ms"] += t.latency_ms
    parts = {}
    for part, ms in prediction.parts_ms.items():
        p_ops = [t.op for t in prediction.ops if t.op.part == part]
        parts[part] = {"macs": sum(o.macs for o in p_ops), "flops": sum(o.flops for o in p_ops),
                       "bytes": sum(o.bytes for o in p_ops), "latency_ms": ms}
    all_ops = [t.op for t in prediction.ops]
    workload = {"name": cost.workload, "height": cost.height, "width": cost.width}
    budget_ms = None
    if target.budgets is not None:
        figure = target.budgets.latency_ms.get(cost.workload)
        budget_ms = figure.value if figure is not None else None
    latency = prediction.latency_ms
    return {
        "schema": SCHEMA, "model": model_name, "target": target.name, "workload": workload,
        "placement": {part: {"unit": placement.of(part).unit, "precision": placement.of(part).precision,
                             "cores": placement.of(part).cores} for part in prediction.parts_ms},
        "total": {"macs": sum(o.macs for o in all_ops), "flops": sum(o.flops for o in all_ops),
                  "params": sum(o.params for o in all_ops), "bytes": sum(o.bytes for o in all_ops),
                  "bytes_moved": int(sum(t.bytes for t in prediction.ops)), "latency_ms": latency,
                  "ops_ms": sum(prediction.parts_ms.values()), "call_overhead_ms": prediction.call_overhead_ms,
                  "transfer_ms": prediction.transfer_ms, "transfer_bytes": prediction.transfer_bytes,
                  "uncounted_ops": len(prediction.uncounted)},
        "parts": parts,
        "by_class": dict(sorted(by_class.items(), key=lambda kv: -kv[1]["latency_ms"])),
        "budget": {"latency_ms": budget_ms, "within": None if budget_ms is None else latency <= budget_ms},
        "ops": ops,
    }


def _si(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return f"{n:.0f}"


def print_cost_table(doc: dict, top: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    total = doc["total"]
    place = ", ".join(f"{p}: {a['unit']}/{a['precision']}" + (f"x{a['cores']}" if a["cores"] else "") for p, a in doc["placement"].items())
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
    console.print(f"[bold]total[/bold]: {_si(total['macs'])} MACs, {_si(total['flops'])} FLOPs, {_si(total['bytes'])}B counted "
                  f"({_si(total['bytes_moved'])}B moved after fusion), {_si(total['params'])} params")
    console.print(f"[bold]latency[/bold]: {total['latency_ms']:.2f} ms = {parts} + calls {total['call_overhead_ms']:.2f} ms "
                  f"+ transfers {total['transfer_ms']:.2f} ms ({_si(total['transfer_bytes'])}B)")
    budget = doc["budget"]
    if budget["latency_ms"] is not None:
        verdict = "[green]within[/green]" if budget["within"] else "[red]OVER[/red]"
        console.print(f"budget for {w['name']}: {budget['latency_ms']} ms -> {verdict}")
    if total["uncounted_ops"]:
        console.print(f"[bold red]{total['uncounted_ops']} op(s) are UNCOUNTED[/bold red]: their cost is unknown, not zero; "
                      "the latency above leaves them out.")


def run_cost(args: argparse.Namespace) -> int:
    from ..cost import model_cost as model_ops

    target = load_target(args.target)
    placement = parse_placement(target, args)
    model = LatencyModel(target, load_calibration(target.name))
    spec = args.model
    if spec not in ("teacher", "student") and not Path(spec).exists():
        raise AicamError(f"model '{spec}': not 'teacher', 'student' or an existing .onnx / checkpoint file")
    cost = model_ops(spec, args.workload)
    prediction = model.predict(cost.ops, placement)
    doc = CostDocument.checked(cost_document(spec, cost, target, prediction, placement)).to_json()
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print_cost_table(doc, args.top)
    return 0


# ---------------------------------------------------------------------------------------------- calibrate

def print_validation(report: dict) -> None:
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    console = Console()
    rows = pd.DataFrame(report["rows"])
    table = Table(title=f"{report['target']}: {report['method']}", title_justify="left")
    for col in rows.columns:
        table.add_column(str(col), justify="left" if rows[col].dtype == object else "right")
    for r in rows.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r])
    console.print(table)
    for unit, s in report["per_unit"].items():
        figures = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in s.items() if k != "passes")
        verdict = "[green]meets[/green]" if s["passes"] else "[red]does NOT meet[/red]"
        console.print(f"{unit}: {figures} -> {verdict} the bars {report['bars']}")


def run_calibrate(args: argparse.Namespace) -> int:
    from . import calibrate

    if not args.validate_only:
        if args.target == "sd865":
            cal = calibrate.calibrate_sd865()
        else:
            cal = calibrate.calibrate_host(remeasure=args.measure)
        print(f"wrote {calibrate.save_calibration(cal)}")
    if args.validate or args.validate_only:
        report = calibrate.validate_sd865() if args.target == "sd865" else calibrate.validate_host()
        print_validation(report)
        print(f"wrote {calibrate.save_report(report)}")
    return 0
