"""The Relax pipeline for LLVM CPU targets: TVM's CPU pipeline (legalize, fuse) plus one schedule rule,
`UnitStrideReduction`, for convolutions and matmuls.

Legalized, a convolution is the loop nest (n, f, y, x, c, ky, kx) and a matmul (b, i, j, k), with the
reduction innermost: each output element reads one value per step a whole channel plane (or matrix row)
apart. With a few dozen channels of a 16x16 or 32x32 plane those reads land in the same few L1 sets
and miss: a 1x1 convolution of 64 channels ran at 0.36-1.2 GMAC/s on the host, the self-similarity
matmul at 0.25. The rule moves the reduction outside the last output loop, (n, f, y, c, ky, kx, x) and
(b, i, k, j), and vectorizes that loop: each step reads a contiguous row, times one weight, into an
output row held in L1. Every output still sums its terms in the same order, so the results are
bit-identical to the unscheduled build.

The rule applies only where every buffer the block touches is read at unit stride along that last
output loop (or not at all): a stride-2 convolution would read its input row as a gather, slower on
x86 and NEON than TVM's order for the few-channel first layers.
"""
from __future__ import annotations

from typing import Any

VECTOR_WIDTHS = (8, 4, 2)  # fp32 lanes of the row loop: one AVX2 register, two NEON ones; the widest dividing the row
DATA_PARALLEL, REDUCTION = 0, 2  # tirx.IterVar kinds


def _strides_along(expressions: list[Any], var: Any) -> list[int] | None:
    """The constant coefficient of `var` in each index expression, None if one is not linear in it."""
    from tvm.sym.pattern import detect_linear_equation

    strides = []
    for expr in expressions:
        coefficients = detect_linear_equation(expr, [var])  # [coefficient, rest], or [] when not linear
        if len(coefficients) != 2 or not hasattr(coefficients[0], "value"):
            return None
        strides.append(int(coefficients[0].value))
    return strides


def _unit_stride(block: Any, var: Any) -> bool:
    """Every buffer of `block` is indexed by `var` only in its last dimension, with stride 0 or 1."""
    for region in list(block.reads) + list(block.writes):
        strides = _strides_along([r.min for r in region.region], var)
        if strides is None or any(strides[:-1]) or strides[-1] not in (0, 1):
            return False
    return True


def _reduction_block(sch: Any) -> Any | None:
    """The function's one reduction block (a fused conv or matmul has exactly one), else None."""
    try:
        root = sch.get_sblock("root")
    except Exception:  # noqa: BLE001  (TVM raises its own error type for a function without a root block)
        return None
    found = [b for b in sch.get_child_blocks(root) if any(int(iv.iter_type) == REDUCTION for iv in sch.get(b).iter_vars)]
    return found[0] if len(found) == 1 else None


def schedule_reduction(func: Any) -> Any | None:
    """A schedule of `func` with its reduction reordered and its row loop vectorized (module doc), or None
    when the function has no reduction this rule applies to."""
    from tvm import s_tir

    sch = s_tir.Schedule(func)
    block_rv = _reduction_block(sch)
    if block_rv is None:
        return None
    block, loops = sch.get(block_rv), sch.get_loops(block_rv)
    kinds = [int(iv.iter_type) for iv in block.iter_vars]
    spatial = kinds.count(DATA_PARALLEL)
    # legalized form only: one loop per block variable, the output's loops first, then the reduction's
    if len(loops) != len(kinds) or spatial == 0 or kinds != [DATA_PARALLEL] * spatial + [REDUCTION] * (len(kinds) - spatial):
        return None
    if not _unit_stride(block, block.iter_vars[spatial - 1].var):
        return None
    row = loops[spatial - 1]
    sch.reorder(*loops[:spatial - 1], *loops[spatial:], row)
    width = int(sch.get(row).extent)
    lanes = next((w for w in VECTOR_WIDTHS if width % w == 0), None)
    if lanes is not None:
        _, lane = sch.split(row, [None, lanes])
        sch.vectorize(lane)
    sch.decompose_reduction(block_rv, loops[spatial])
    return sch


def _rule():
    from tvm import tirx
    from tvm.s_tir import dlight

    class UnitStrideReduction(dlight.ScheduleRule):
        def apply(self, func, target, tunable):  # noqa: ARG002  (one fixed schedule: nothing to tune)
            return schedule_reduction(func) if isinstance(func, tirx.PrimFunc) else None

    return UnitStrideReduction()


def cpu_pipeline(tgt: Any):
    """TVM's CPU pipeline (relax.backend.cpu_generic) with `UnitStrideReduction` applied after legalization and fusion."""
    import tvm
    from tvm.relax.backend.cpu_generic import pipeline as cpu
    from tvm.s_tir import dlight

    @tvm.transform.module_pass(opt_level=0)
    def _pipeline(mod, _ctx):
        with tgt:
            passes = (cpu.library_dispatch_passes(tgt) + cpu.legalize_passes(tgt)
                      + [dlight.ApplyDefaultSchedule(_rule())]
                      + cpu.dataflow_lower_passes(tgt) + cpu.finalize_passes(tgt))
            return tvm.transform.Sequential(passes)(mod)

    return _pipeline
