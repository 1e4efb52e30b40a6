"""Op audit: TVM's FLOP estimate of what is compiled vs aicam_opt's own per-op counts.

Each engine counts its part its own way (`Engine.audit`: engines/relax_graph.py compares TVM's
estimate of every legalized function of the ONNX graph with `count_onnx`, bucket by bucket;
engines/fused_kernel.py compares TVM's estimate of the kernel with our count of `FullResPath`). What
they share is here: the relative difference, the latency model's own count of a part (`model_cost`),
and the summary: every bucket or total that differs by more than 1% is listed with both numbers and
the known reason, and a markdown table.
"""
from __future__ import annotations

from typing import Any

from ..cost import model_cost
from .parts import LoadedCandidate, Part

THRESHOLD = 0.01

# Why a bucket can differ (see cost/tvm_check.py for the measured conventions).
KNOWN_REASONS = {
    "transcendental": "TVM does not count exp/sigmoid calls; softmax: TVM 4 FLOPs per element, we count 5 less 2 per row",
    "reduce": "TVM counts one add per input element (from the zero initialiser), we count n_in - n_out",
    "resize": "TVM's resize recomputes coordinates and tap weights per output element and channel; "
              "we count them once per pixel",
    "grid_sample": "TVM's grid_sample recomputes coordinates and the 8 tap weights per element and channel; "
                   "we count them once per pixel",
    "norm": "batch norm (kept unfolded by NNCF int8 graphs) is decomposed for compilation, its per-channel "
            "constants folded: TVM sees its per-element subtract/multiply/add in the elementwise bucket",
    "elementwise": "holds the decomposed batch norm's per-element subtract/multiply/add (ours: the norm bucket), "
                   "and Gather index fix-ups",
}


def difference(ours: float, tvm: float) -> float | None:
    """(ours - tvm) / tvm; None when TVM counts 0 and we do not (no ratio: JSON has no inf)."""
    if tvm == 0:
        return 0.0 if ours == 0 else None
    return (ours - tvm) / tvm


def differs(diff: float | None) -> bool:
    return diff is None or abs(diff) > THRESHOLD


def part_model_cost_flops(loaded: LoadedCandidate, part: str, size: tuple[int, int]) -> tuple[int, list]:
    """The latency model's count of `part` at `size` (the full-res part without the downsample in front of
    the low-res path): total FLOPs and the ops."""
    cost = model_cost(loaded.net, size)
    ops = [op for op in cost.ops if op.part == part and not (part == "full_res" and op.scope.startswith("downsample"))]
    return sum(op.flops for op in ops), ops


def summarize(part: Part, functions: list, rows: list, totals: list, unmapped: dict, uncounted: list, notes: list,
              total_reason: str) -> dict[str, Any]:
    """An engine's audit of `part`: the >1% differences (buckets with their known reason, totals with
    `total_reason`, TVM functions we have no bucket for) and the table."""
    differences = []
    for row in rows:
        if row["tvm"] is not None and differs(row["difference"]):
            differences.append({"what": f"bucket {row['bucket']}", "ours": row["ours_tvm_convention"], "tvm": row["tvm"],
                                "difference": row["difference"], "reason": KNOWN_REASONS.get(row["bucket"], "not known")})
    for total in totals:
        if differs(total["difference"]):
            differences.append({**{k: total[k] for k in ("what", "ours", "tvm", "difference")}, "reason": total_reason})
    for kind, flops in unmapped.items():
        differences.append({"what": f"TVM function kind {kind!r} (no aicam_opt bucket)", "ours": 0, "tvm": flops,
                            "difference": difference(0, flops),
                            "reason": "aicam_opt has no counting rule for it (UNCOUNTED)"})
    audit = {"part": part.name, "engine": part.engine, "functions": functions, "buckets": rows, "totals": totals,
             "unmapped_tvm": unmapped, "uncounted_ours": uncounted, "differences": differences, "notes": notes}
    audit["table"] = table(audit)
    return audit


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.2f}%"


def table(audit: dict[str, Any]) -> str:
    """The audit as markdown: TVM per compiled function, the bucket comparison, the >1% differences."""
    lines = [f"#### {audit['part']} ({audit['engine']})", "", "| compiled function | calls | TVM FLOPs per call | TVM FLOPs |",
             "|---|---:|---:|---:|"]
    for f in audit["functions"]:
        lines.append(f"| {f['function']} | {f['calls']} | {_fmt(f['flops_per_call'])} | {_fmt(f['flops'])} |")
    lines += ["", "| bucket | ours | ours, TVM convention | TVM | difference |", "|---|---:|---:|---:|---:|"]
    for r in audit["buckets"]:
        lines.append(f"| {r['bucket']} | {_fmt(r['ours'])} | {_fmt(r['ours_tvm_convention'])} | {_fmt(r['tvm'])} | "
                     f"{_pct(r['difference'])} |")
    for t in audit["totals"]:
        lines.append(f"| total: {t['what']} | {_fmt(t['ours'])} | | {_fmt(t['tvm'])} | {_pct(t['difference'])} |")
    if audit["differences"]:
        lines += ["", "Differences above 1%:", ""]
        lines += [f"- {d['what']}: ours {_fmt(d['ours'])}, TVM {_fmt(d['tvm'])} ({_pct(d['difference'])}): {d['reason']}"
                  for d in audit["differences"]]
    return "\n".join(lines)
