"""The fused-kernel engine ("fused_kernel"): the full-res part as the TensorIR definition of
`kernels.fullres` (`define_fullres`), scheduled for the unit (`schedule_for`: thread-bound on a GPU,
vectorized column blocks otherwise) and built by the unit kind. The guide's weights are runtime inputs
(saved beside the artifact), so candidates of one architecture share one build per target.

On this host: the same definition built for this machine through the runtime's build cache
(`kernels.compiled.CompiledFullRes`), run with float32 pixels.

Audit: one function; TVM's estimate of its definition specialised to the audit size (the ONNX export
size, 512x768) against our count of `FullResPath` at that size (`model_cost`, part full_res, without
the downsample in front of the low-res path). The estimator takes the larger branch of an if, so it
counts the common one-grid-cell path (tent weights over the D depth bins for each of the 12
coefficients: no gathers, more arithmetic) for every block.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from ...kernels import fullres as fused
from ...logs import native_stderr_to_log
from .. import unit_kinds
from ..audit import difference, part_model_cost_flops, summarize
from ..backend import Compiled
from ..failures import CompileFailure, error_reason, op_entry
from ..parts import FUSED_KERNEL, LoadedCandidate, Part

KERNEL_FUNCTION = "fullres"
AUDIT_IMAGE_SIZE = (512, 768)
# Why the kernel's FLOPs differ from the per-op count of the graph it equals.
TOTAL_REASON = ("the kernel computes depth with tent weights over all D bins for each of the 12 coefficients "
                "(SIMD without gathers) and the y lerp once per row: different arithmetic from the per-op "
                "graph it equals")

_kernels: dict[tuple[str, str], Compiled] = {}  # (spec key, target) -> build: the kernel's weights are inputs,
                                                 # so candidates of one architecture share the same build


def compile_kernel(spec: fused.KernelSpec, target: dict[str, Any]) -> Compiled:
    """The fused kernel of `spec` compiled for `target` (reused when this process built the same pair)."""
    key = (spec.key, json.dumps(target, sort_keys=True))
    if key in _kernels:
        return _kernels[key]
    compiled = _compile_kernel(spec, target)
    if len(_kernels) >= 16:
        _kernels.pop(next(iter(_kernels)))
    _kernels[key] = compiled
    return compiled


def _kernel_op_entry(err: BaseException) -> dict[str, str]:
    """A failure inside the fused kernel: the op is the math function the backend lacks, if named."""
    entry = op_entry(KERNEL_FUNCTION, err)
    if "intrinsic" in entry:
        entry["op"] = entry["intrinsic"].split(".", 1)[1]
    return entry


@native_stderr_to_log()  # TVM's C++ warnings go into the command's log file
def _compile_kernel(spec: fused.KernelSpec, target: dict[str, Any]) -> Compiled:
    start = time.perf_counter()
    kind = unit_kinds.for_target(target)
    tgt = kind.build_target(target)
    try:
        scheduled = fused.schedule_for(fused.define_fullres(spec, fused.lanes_for(tgt)), tgt)
    except Exception as err:  # noqa: BLE001
        raise CompileFailure("schedule", error_reason(err), [_kernel_op_entry(err)]) from None
    missing = kind.unsupported_ops(scheduled, target)
    if missing:
        ops = [{**entry, "function": KERNEL_FUNCTION, "op": entry.get("math", entry["op"]).split(" ")[0]}
               for entry in missing]
        raise CompileFailure("tir_codegen", missing[0]["reason"], ops)
    try:
        executable, objects = kind.compile_scheduled(scheduled, target)
    except Exception as err:  # noqa: BLE001
        raise CompileFailure("tir_codegen", error_reason(err), [_kernel_op_entry(err)]) from None
    compiled = Compiled(target, FUSED_KERNEL, executable, objects)
    compiled.seconds = time.perf_counter() - start
    return compiled


class _KernelOnHost:
    """The same kernel definition (slice form and arithmetic included) built for this host (the runtime's
    build cache), float32 pixels."""

    def __init__(self, part: Part, loaded: LoadedCandidate):
        from ...kernels.compiled import CompiledFullRes

        spec = part.kernel_spec
        self._kernel = CompiledFullRes(loaded.net.full_res, loaded.net.cfg, slice=spec.slice, compute=spec.compute)
        self.seconds: dict[str, float] = {}
        self.notes = [f"the fused kernel is verified with float32 pixels (the artifact's pixel type: "
                      f"{part.kernel_spec.dtype}; the same definition, int pixels only scale and round)"]

    def __call__(self, image: np.ndarray, grid: np.ndarray) -> np.ndarray:
        return self._kernel.run(np.ascontiguousarray(image, dtype=np.float32), grid[0])


def audit_kernel(part: Part, loaded: LoadedCandidate, size: tuple[int, int] = AUDIT_IMAGE_SIZE) -> dict[str, Any]:
    import tvm
    from tvm.s_tir.analysis import estimate_tir_flops

    func = fused.define_fullres(part.kernel_spec)
    image = tvm.tirx.decl_buffer((size[0], size[1], 3), part.kernel_spec.dtype)
    tvm_flops = float(estimate_tir_flops(tvm.IRModule({"fullres": func.specialize({func.params[0]: image})})))
    ours_total, ops = part_model_cost_flops(loaded, "full_res", size)
    by_class: dict[str, int] = {}
    for op in ops:
        by_class[op.op_class] = by_class.get(op.op_class, 0) + op.flops
    pixels = size[0] * size[1]
    functions = [{"function": "fullres", "calls": 1,
                  "flops_per_call": tvm_flops, "flops": tvm_flops, "flops_per_pixel": tvm_flops / pixels}]
    rows = [{"bucket": k, "ours": v, "ours_tvm_convention": v, "tvm": None, "difference": None}
            for k, v in by_class.items() if v]
    totals = [{"what": f"fused kernel at {size[0]}x{size[1]}: ours (model_cost of FullResPath) vs TVM (the kernel)",
               "ours": ours_total, "tvm": tvm_flops, "difference": difference(ours_total, tvm_flops),
               "ours_per_pixel": ours_total / pixels, "tvm_per_pixel": tvm_flops / pixels}]
    return summarize(part, functions, rows, totals, {}, [],
                     [f"audit size {size[0]}x{size[1]}; ours per op class in `buckets` (TVM sees one function)"],
                     TOTAL_REASON)


class FusedKernel:
    name = FUSED_KERNEL

    def compile(self, part: Part, target: dict[str, Any]) -> Compiled:
        return compile_kernel(part.kernel_spec, target)

    def graph(self, part: Part) -> dict[str, Any]:
        return {"kind": "fused_kernel", "definition": "aicam_opt/kernels/fullres.py define_fullres",
                "spec": part.kernel_spec.key, "entry": KERNEL_FUNCTION}

    def host_runner(self, part: Part, loaded: LoadedCandidate, host: dict[str, Any], workdir: Path):
        return _KernelOnHost(part, loaded)

    def audit(self, part: Part, loaded: LoadedCandidate) -> dict[str, Any]:
        return audit_kernel(part, loaded)


__all__ = ["FusedKernel", "KERNEL_FUNCTION", "audit_kernel", "compile_kernel"]
