"""Op audit: TVM's FLOP estimate of what is compiled vs aicam_opt's own per-op counts.

For a Relax part (an ONNX graph), the functions are those `tvm.compile` builds for a CPU: the graph as
`backend.import_onnx` prepares it (batch norm decomposed, constants folded), legalized to TensorIR
(`LegalizeOps`; the default build pipeline does not fuse), one PrimFunc per distinct op and shape;
each call is costed with `tvm.s_tir.analysis.estimate_tir_flops`. Ours: `count_onnx` of the same ONNX
file, bucketed as in `cost.tvm_check` (conv, matmul, elementwise, transcendental, reduce, resize,
grid_sample, norm) and compared by TVM's convention (no compares/selects), plus the part's total from
`model_cost` (the torch per-op count the latency model uses).

For the fused full-res kernel: one function; TVM's estimate of its definition specialised to the
audit size (the ONNX export size, 512x768) against our count of `FullResPath` at that size
(`model_cost`, part full_res, without the downsample in front of the low-res path). The estimator
takes the larger branch of an if, so it counts the common one-grid-cell path (tent weights over the
D depth bins for each of the 12 coefficients: no gathers, more arithmetic) for every block.

Every bucket or total that differs by more than 1% is listed with both numbers and the known reason.
"""
from __future__ import annotations

import warnings
from typing import Any

from ..cost import model_cost
from ..cost.onnx_counter import count_onnx
from ..cost.tvm_check import legalized_calls, our_buckets, tvm_buckets
from ..kernels import fullres as fused
from .parts import LoadedCandidate, Part

THRESHOLD = 0.01
AUDIT_IMAGE_SIZE = (512, 768)

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
    "fused_kernel": "the kernel computes depth with tent weights over all D bins for each of the 12 coefficients "
                    "(SIMD without gathers) and the y lerp once per row: different arithmetic from the per-op "
                    "graph it equals",
}


def _diff(ours: float, tvm: float) -> float | None:
    """(ours - tvm) / tvm; None when TVM counts 0 and we do not (no ratio: JSON has no inf)."""
    if tvm == 0:
        return 0.0 if ours == 0 else None
    return (ours - tvm) / tvm


def _differs(diff: float | None) -> bool:
    return diff is None or abs(diff) > THRESHOLD


def _part_model_cost_flops(loaded: LoadedCandidate, part: str, size: tuple[int, int]) -> tuple[int, list]:
    cost = model_cost(loaded.net, size)
    ops = [op for op in cost.ops if op.part == part and not (part == "full_res" and op.scope.startswith("downsample"))]
    return sum(op.flops for op in ops), ops


def audit_relax(part: Part, loaded: LoadedCandidate) -> dict[str, Any]:
    from .backend import import_onnx

    calls, functions = legalized_calls(import_onnx(part.onnx_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ops = count_onnx(part.onnx_path)
    ours, ours_tvm, _ = our_buckets(ops)
    theirs, _, unmapped = tvm_buckets(calls)
    rows = []
    for bucket in dict.fromkeys([*ours, *theirs]):
        rows.append({"bucket": bucket, "ours": ours.get(bucket, 0), "ours_tvm_convention": ours_tvm.get(bucket, 0),
                     "tvm": theirs.get(bucket, 0.0), "difference": _diff(ours_tvm.get(bucket, 0), theirs.get(bucket, 0.0))})
    unmapped_flops = {kind: sum(c.flops for c in calls if c.kind == kind) for kind in sorted(unmapped)}
    tvm_total = sum(c.flops for c in calls)
    ours_total = sum(op.flops for op in ops)
    image = (loaded.net.cfg.lowres_size,) * 2 if part.name == "low_res" else tuple(part.inputs[0].shape[2:4])
    torch_total, _ = _part_model_cost_flops(loaded, part.name, image)  # type: ignore[arg-type]
    totals = [{"what": "all ops: ours (count_onnx) vs TVM (all compiled functions)", "ours": ours_total,
               "tvm": tvm_total, "difference": _diff(ours_total, tvm_total)},
              {"what": f"all ops: ours (model_cost, part {part.name}, the latency model's count) vs TVM",
               "ours": torch_total, "tvm": tvm_total, "difference": _diff(torch_total, tvm_total)}]
    notes = []
    if loaded.net.cfg.switch == "hard" and part.name == "low_res" and loaded.net.cfg.num_branches > 1:
        notes.append("hard switch: model_cost counts one branch (one runs per image); the compiled static graph "
                     "runs all K branches and mixes them with one-hot weights")
    uncounted = sorted({op.op for op in ops if not op.counted})
    if uncounted:
        notes.append(f"ops aicam_opt does not count (UNCOUNTED, not zero): {', '.join(uncounted)}")
    return _summary(part, "relax_onnx", sorted(functions.values(), key=lambda f: -f["flops"]), rows, totals,
                    unmapped_flops, uncounted, notes)


def audit_kernel(part: Part, loaded: LoadedCandidate, size: tuple[int, int] = AUDIT_IMAGE_SIZE) -> dict[str, Any]:
    import tvm
    from tvm.s_tir.analysis import estimate_tir_flops

    func = fused.define_fullres(part.kernel_spec)
    image = tvm.tirx.decl_buffer((size[0], size[1], 3), part.kernel_spec.dtype)
    tvm_flops = float(estimate_tir_flops(tvm.IRModule({"fullres": func.specialize({func.params[0]: image})})))
    ours_total, ops = _part_model_cost_flops(loaded, "full_res", size)
    by_class: dict[str, int] = {}
    for op in ops:
        by_class[op.op_class] = by_class.get(op.op_class, 0) + op.flops
    pixels = size[0] * size[1]
    functions = [{"function": "fullres", "calls": 1,
                  "flops_per_call": tvm_flops, "flops": tvm_flops, "flops_per_pixel": tvm_flops / pixels}]
    rows = [{"bucket": k, "ours": v, "ours_tvm_convention": v, "tvm": None, "difference": None}
            for k, v in by_class.items() if v]
    totals = [{"what": f"fused kernel at {size[0]}x{size[1]}: ours (model_cost of FullResPath) vs TVM (the kernel)",
               "ours": ours_total, "tvm": tvm_flops, "difference": _diff(ours_total, tvm_flops),
               "ours_per_pixel": ours_total / pixels, "tvm_per_pixel": tvm_flops / pixels}]
    return _summary(part, "fused_kernel", functions, rows, totals, {}, [],
                    [f"audit size {size[0]}x{size[1]}; ours per op class in `buckets` (TVM sees one function)"])


def _summary(part: Part, engine: str, functions: list, rows: list, totals: list, unmapped: dict, uncounted: list,
             notes: list) -> dict[str, Any]:
    differences = []
    for row in rows:
        if row["tvm"] is not None and _differs(row["difference"]):
            differences.append({"what": f"bucket {row['bucket']}", "ours": row["ours_tvm_convention"], "tvm": row["tvm"],
                                "difference": row["difference"], "reason": KNOWN_REASONS.get(row["bucket"], "not known")})
    for total in totals:
        if _differs(total["difference"]):
            reason = KNOWN_REASONS["fused_kernel"] if engine == "fused_kernel" else \
                "the bucket differences above, plus ops one side does not count (see unmapped_tvm / uncounted_ours)"
            differences.append({**{k: total[k] for k in ("what", "ours", "tvm", "difference")}, "reason": reason})
    for kind, flops in unmapped.items():
        differences.append({"what": f"TVM function kind {kind!r} (no aicam_opt bucket)", "ours": 0, "tvm": flops,
                            "difference": _diff(0, flops), "reason": "aicam_opt has no counting rule for it (UNCOUNTED)"})
    audit = {"part": part.name, "engine": engine, "functions": functions, "buckets": rows, "totals": totals,
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


def audit_part(part: Part, loaded: LoadedCandidate) -> dict[str, Any]:
    if part.engine == "fused_kernel":
        return audit_kernel(part, loaded)
    return audit_relax(part, loaded)
