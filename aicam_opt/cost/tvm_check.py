"""Cross-check of our counts against TVM's own FLOP estimate (apache-tvm 0.27, Relax).

The ONNX model is imported with `tvm.relax.frontend.onnx.from_onnx`, legalized to TensorIR with
`relax.transform.LegalizeOps()`, and every `call_tir` of `main` is costed with
`tvm.s_tir.analysis.estimate_tir_flops` on its PrimFunc (a PrimFunc shared by several calls is
counted once per call). Calls are grouped by kind (the PrimFunc name without its numeric suffix:
conv2d, matmul, add, ...) into the buckets below, and our counts of the SAME ONNX graph
(`count_onnx`) into the same buckets; `ours` is our FLOP count (a MAC = 2 FLOPs).

Buckets and why they agree or differ:

- conv, matmul: TVM counts 2 FLOPs per multiply-accumulate, as we do; equal, op by op. The bias of
  a Conv or Gemm is a separate `add` call in TVM; we count it as the conv's `adds`, so in this
  comparison it is moved to the elementwise bucket.
- elementwise (add, subtract, multiply, divide, relu, maximum/minimum of a Clip, where ...):
  1 FLOP per output element, as we count (ReLU and each Clip bound as 1 compare); equal.
  TVM's estimator counts arithmetic (+ - * /) and min/max, but NOT comparisons, selects or
  intrinsic calls. So LeakyRelu = select(x > 0, x, a * x) is 1 FLOP per element for TVM (the
  multiply) and 2 for us (the multiply and the compare/select), and a Where is 0 for TVM. We keep
  our count (a select costs an instruction on every target) and compare `ours_tvm_convention`,
  our FLOPs less the compares of the select-type ops in `SELECT_TYPE_OPS`; on the teacher the raw
  difference is exactly its LeakyRelu elements (+48% raw, 0.00% by TVM's convention).
  The one remaining difference: for each ONNX Gather, TVM's importer inserts a scalar int64
  negative-index fix-up (`where(i < 0, i + n, i)`); where its analyzer cannot fold the add away
  TVM counts it as 1 FLOP, while we count a Gather as data movement (the student: 1 FLOP in 2.1 M).
- transcendental (softmax, sigmoid, exp ...): TVM's estimate does not count calls to math
  intrinsics (exp, sigmoid) as FLOPs, and counts the reductions of a softmax from the zero
  initialiser (L per row, not L - 1). Softmax: TVM 4 per element (max, subtract, sum, divide), we
  5 per element less 2 per row (L-1 compares, L adds, L exps, L-1 adds, L divides).
- reduce (sum, mean, max ...): TVM counts one add per INPUT element (the first one adds to the
  initial zero); we count n_in - n_out (the folds actually needed). Mean: + 1 divide per output
  in both.
- resize (bilinear): TVM's topi resize computes the source coordinates, the clamps and the
  four-tap weights per output ELEMENT, for every channel: 54 FLOPs per output element (student
  downsample, 64x96 -> 3x256x256: 10,616,832). We count the per-element blend (6 muls + 3 adds)
  plus the index arithmetic once per output row and column, as PyTorch's separable kernel does:
  1,774,080 (-83%).
- grid_sample (trilinear): TVM's topi computes the unnormalised coordinates, the border clamps,
  the eight tap weights and bounds-checked selects per output element AND channel: 307 FLOPs per
  output element and channel (student slice at 64x96, 12 channels: 22,634,496). We count the
  per-channel blend (7 MACs + 1 mul = 15 FLOPs) and the coordinate/weight/offset arithmetic once
  per pixel (55 FLOPs, shared by the 12 channels): 235 FLOPs per pixel, 1,443,840 (-94%).
- norm: absent from the exported ONNX graphs (the exporter folds batch norm into the convs).

Only conv, matmul and elementwise must agree within 1% (`AGREEING_BUCKETS`); the rest is reported
(figures: docs/results.md).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Iterable

from .records import OpCost

AGREEING_BUCKETS = ("conv", "matmul", "elementwise")
# Ops whose `compares` are comparisons or selects, which TVM's estimator does not count.
SELECT_TYPE_OPS = {"leaky_relu", "where", "lt", "le", "gt", "ge", "eq", "logical_and", "logical_or", "logical_not"}

TVM_BUCKETS = {
    "conv": {"conv1d", "conv2d", "conv3d", "conv2d_transpose", "group_conv2d", "depthwise_conv2d"},
    "matmul": {"matmul", "dense", "batch_matmul"},
    "elementwise": {"add", "subtract", "multiply", "divide", "relu", "maximum", "minimum", "clip", "where",
                    "negative", "leaky_relu", "abs", "floor", "ceil", "round", "less", "greater", "equal",
                    "less_equal", "greater_equal", "power", "square", "reciprocal"},
    "transcendental": {"softmax", "sigmoid", "exp", "log", "tanh", "sqrt", "rsqrt", "erf", "gelu"},
    "reduce": {"sum", "mean", "max", "min", "prod", "adaptive_pool2d", "avg_pool2d", "max_pool2d"},
    "resize": {"resize2d", "resize1d", "resize3d"},
    "grid_sample": {"grid_sample"},
    "norm": {"batch_norm"},
}


@dataclass(frozen=True)
class BucketComparison:
    bucket: str
    ours: int                 # our FLOPs
    ours_tvm_convention: int  # our FLOPs less the compares/selects TVM does not count
    tvm: float

    @property
    def relative_difference(self) -> float:
        """(ours by TVM's convention - tvm) / tvm; 0 when both are 0."""
        if self.tvm == 0:
            return 0.0 if self.ours_tvm_convention == 0 else float("inf")
        return (self.ours_tvm_convention - self.tvm) / self.tvm

    @property
    def raw_relative_difference(self) -> float:
        return (self.ours - self.tvm) / self.tvm if self.tvm else float("inf") * bool(self.ours)


@dataclass(frozen=True)
class TvmCall:
    kind: str
    flops: float


def our_buckets(ops: Iterable[OpCost]) -> tuple[dict[str, int], dict[str, int], dict[str, list[int]]]:
    """Our FLOPs per bucket, the same by TVM's convention (no selects), and the per-op FLOP lists
    of conv and matmul (for op-by-op matching)."""
    totals: dict[str, int] = {}
    tvm_convention: dict[str, int] = {}
    per_op: dict[str, list[int]] = {"conv": [], "matmul": []}

    def add(bucket: str, value: int, uncounted_by_tvm: int = 0) -> None:
        totals[bucket] = totals.get(bucket, 0) + value
        tvm_convention[bucket] = tvm_convention.get(bucket, 0) + value - uncounted_by_tvm

    for op in ops:
        if op.op_class in ("conv", "depthwise_conv", "matmul"):
            bucket = "matmul" if op.op_class == "matmul" else "conv"
            add(bucket, 2 * op.macs)
            per_op[bucket].append(2 * op.macs)
            add("elementwise", op.adds + op.muls)  # bias and alpha/beta: separate calls in TVM
        elif op.op_class in ("reduce", "pool"):
            add("reduce", op.flops)
        elif op.op_class != "data_movement":
            add(op.op_class, op.flops, op.compares if op.op in SELECT_TYPE_OPS else 0)
    return totals, tvm_convention, per_op


def tvm_calls_from_onnx(path: str | os.PathLike) -> list[TvmCall]:
    """Every call_tir of the legalized Relax `main` of an ONNX model, with TVM's FLOP estimate."""
    import onnx
    from tvm.relax.frontend.onnx import from_onnx

    return legalized_calls(from_onnx(onnx.load(str(path))))[0]


def legalized_calls(mod) -> tuple[list[TvmCall], dict[str, dict]]:
    """Every call_tir of the legalized `main` of a Relax module with TVM's FLOPs, in order, and a summary
    per function ({function, calls, flops_per_call, flops})."""
    import tvm
    from tvm import relax
    from tvm.s_tir.analysis import estimate_tir_flops

    mod = relax.transform.LegalizeOps()(mod)
    flops = {gv.name_hint: estimate_tir_flops(tvm.IRModule({gv: func}))
             for gv, func in mod.functions.items() if isinstance(func, tvm.tirx.PrimFunc)}
    calls, functions = [], {}
    for block in mod["main"].body.blocks:
        for binding in block.bindings:
            value = binding.value
            if isinstance(value, relax.Call) and getattr(value.op, "name", "") == "relax.call_tir":
                name = value.args[0].name_hint
                calls.append(TvmCall(re.sub(r"\d+$", "", name), flops[name]))
                entry = functions.setdefault(name, {"function": name, "calls": 0, "flops_per_call": flops[name]})
                entry["calls"] += 1
    for entry in functions.values():
        entry["flops"] = entry["calls"] * entry["flops_per_call"]
    return calls, functions


def tvm_buckets(calls: Iterable[TvmCall]) -> tuple[dict[str, float], dict[str, list[float]], set[str]]:
    """TVM FLOPs per bucket, per-op lists for conv and matmul, and kinds with FLOPs but no bucket."""
    kind_to_bucket = {kind: bucket for bucket, kinds in TVM_BUCKETS.items() for kind in kinds}
    totals: dict[str, float] = {}
    per_op: dict[str, list[float]] = {"conv": [], "matmul": []}
    unmapped = set()
    for call in calls:
        bucket = kind_to_bucket.get(call.kind)
        if bucket is None:
            if call.flops:
                unmapped.add(call.kind)
            continue
        totals[bucket] = totals.get(bucket, 0.0) + call.flops
        if bucket in per_op:
            per_op[bucket].append(call.flops)
    return totals, per_op, unmapped


@dataclass(frozen=True)
class TvmCrossCheck:
    buckets: dict[str, BucketComparison]
    ours_per_op: dict[str, list[int]]
    tvm_per_op: dict[str, list[float]]
    unmapped_tvm_kinds: set[str]

    def worst_per_op_difference(self, bucket: str) -> float:
        """Largest relative difference between our and TVM's FLOPs of matched ops (sorted by size)."""
        ours, theirs = sorted(self.ours_per_op[bucket]), sorted(self.tvm_per_op[bucket])
        if len(ours) != len(theirs):
            return float("inf")
        return max((abs(a - b) / b for a, b in zip(ours, theirs) if b), default=0.0)

    def table(self) -> str:
        lines = ["| bucket | ours | ours, TVM convention | TVM | difference (TVM convention) | raw difference |",
                 "|---|---:|---:|---:|---:|---:|"]
        for c in self.buckets.values():
            lines.append(f"| {c.bucket} | {c.ours:,} | {c.ours_tvm_convention:,} | {c.tvm:,.0f} | "
                         f"{100 * c.relative_difference:+.2f}% | {100 * c.raw_relative_difference:+.2f}% |")
        return "\n".join(lines)


def cross_check_onnx(path: str | os.PathLike) -> TvmCrossCheck:
    """Our ONNX counts of `path` against TVM's estimate, bucket by bucket."""
    from .onnx_counter import count_onnx

    ours, ours_tvm_convention, ours_per_op = our_buckets(count_onnx(path))
    theirs, tvm_per_op, unmapped = tvm_buckets(tvm_calls_from_onnx(path))
    buckets = {b: BucketComparison(b, ours.get(b, 0), ours_tvm_convention.get(b, 0), theirs.get(b, 0.0))
               for b in dict.fromkeys([*ours, *theirs])}
    return TvmCrossCheck(buckets, ours_per_op, tvm_per_op, unmapped)
