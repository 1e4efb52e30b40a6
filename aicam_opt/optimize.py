"""`aicam-opt optimize --target T`: the main job (`make optimize TARGET=sd865`).

Today it runs the stages that exist and says plainly which do not:
1. evaluate the committed teacher and student on the evaluation split (reports/<target>/evaluation.json);
2. cost the uncompressed student and teacher on every unit of the target, at each budgeted workload,
   with predicted latencies against the budgets (reports/<target>/cost.json, plus a table).
Not built yet (the open issues): the Optuna search over compression candidates with Pareto reports,
TVM compilation of the winners and the CI gate.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .config import save_json
from .data import resolve
from .evaluate.cli import evaluate, print_report
from .latency.cli import cost_document
from .cost import model_cost as model_ops
from .latency.model import Assignment, LatencyModel, Placement, load_calibration
from .latency.target import load_target
from .models.checkpoints import load_model
from .models.inference import enhance_array

NOT_BUILT = (
    "the multi-objective Optuna search over compression candidates (`aicam-opt compress` builds one candidate)",
    "trials.csv, the Pareto front and report.html",
    "TVM compilation of the winners for CPU/GPU/DSP and the CI regression gate",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("optimize", help="the main job: evaluate, cost and (once built) search and compile")
    p.add_argument("--target", required=True, help="a targets/*.yaml name (e.g. sd865) or path")
    p.add_argument("--trials", type=int, help="search budget (the search is not built yet)")
    p.add_argument("--data", help="data folder (default: $AICAM_DATA, ../shared/data, else embedded photos)")
    p.add_argument("--out", help="report folder (default: reports/<target>)")
    p.add_argument("--max-frames", type=int, default=None, help="limit the clip used for flicker")
    p.set_defaults(func=run)


def cost_matrix(target, models=("student", "teacher")) -> list[dict]:
    """Predicted latency of each model on each unit (its fastest supported precision) and workload."""
    latency = LatencyModel(target, load_calibration(target.name))
    rows = []
    workloads = list(target.budgets.latency_ms)
    for spec in models:
        for workload in workloads:
            cost = model_ops(spec, workload)
            for unit_name, unit in target.units.items():
                precision = min(unit.precisions, key=lambda p: {"int8": 0, "fp16": 1, "fp32": 2}[p])
                placement = Placement(default=Assignment(unit_name, precision))
                doc = cost_document(spec, cost, target, latency.predict(cost.ops, placement), placement)
                rows.append(doc)
    return rows


def run(args: argparse.Namespace) -> int:
    console = Console()
    target = load_target(args.target)
    out = Path(args.out or Path("reports") / target.name)
    source = resolve(args.data)
    console.rule(f"aicam-opt optimize --target {target.name}")

    console.print("[bold]1. Quality of the committed teacher and student[/bold]")
    models = {k: load_model(kind=k) for k in ("teacher", "student")}
    report = evaluate(source, {k: (lambda img, m=m: enhance_array(m, img)) for k, m in models.items()}, args.max_frames)
    save_json(report, out / "evaluation.json")
    print_report(report)

    console.print(f"\n[bold]2. Predicted cost on {target.name}, uncompressed models[/bold]")
    docs = cost_matrix(target)
    save_json({"target": target.name, "reports": docs}, out / "cost.json")
    table = Table(title=f"predicted latency on {target.name} (ms)")
    for col in ("model", "workload", "unit", "precision", "GMAC", "latency ms", "budget ms", "top op"):
        table.add_column(col)
    for d in docs:
        part = next(iter(d["placement"].values()))
        top = max(d["ops"], key=lambda o: o["latency_ms"])
        budget = d["budget"]["latency_ms"]
        colour = "" if d["budget"]["within"] is None else ("green" if d["budget"]["within"] else "red")
        table.add_row(d["model"], d["workload"]["name"], part["unit"], part["precision"], f"{d['total']['macs'] / 1e9:.2f}",
                      f"[{colour}]{d['total']['latency_ms']:.1f}[/{colour}]" if colour else f"{d['total']['latency_ms']:.1f}",
                      "-" if budget is None else f"{budget:g}", f"{top['op']} ({top['scope'] or top['name']})")
    console.print(table)

    console.print(f"\nwrote {out / 'evaluation.json'} and {out / 'cost.json'}")
    console.print("[bold yellow]Not built yet[/bold yellow] (this run did not search or compile anything):")
    for item in NOT_BUILT:
        console.print(f"  - {item}")
    if args.trials:
        console.print(f"  --trials {args.trials} was ignored: there is no search to spend it on yet.")
    return 0
