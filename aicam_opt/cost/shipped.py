"""The cost of what `compile` ships, part by part, rather than of the PyTorch graph.

The student's full-res path at fp32/fp16 ships as one fused TensorIR kernel (kernels/): each pixel
read once and written once, the guide, slice and apply in registers. Counting it op by op (40
element-wise ops and their intermediate images) prices a program nobody runs, so here that part
becomes a single `OpCost` of class FUSED_KERNEL carrying its `KernelSpec`; the latency model prices it
from the spec on the unit it runs on. An int8 full-res path ships as its QDQ graph and keeps its
per-op cost, as does the low-res network (its graph is what TVM or the vendor runtime runs).
"""
from __future__ import annotations

from dataclasses import replace

from ..kernels.spec import KERNEL_PRECISIONS, KernelSpec, PixelType, shipped_variant, spec_for
from ..kernels.workload import executed
from ..models.student import StudentNet
from .model_cost import ModelCost, torch_model_cost
from .records import FUSED_KERNEL, OpCost

# Camera frames and JPEG stills reach the full-res path as 8-bit pixels.
DEFAULT_PIXEL_TYPE: PixelType = "uint8"


def fused_kernel_op(spec: KernelSpec, height: int, width: int, schedule: str = "cpu") -> OpCost:
    """The kernel as one op: its lane operations on `schedule` (cpu or gpu; FMA as MACs; adds, index and
    conversion arithmetic as adds; min/max/abs as compares) and each pixel's bytes read once and
    written once, in the spec's layout."""
    work = executed(spec, schedule)
    ops = work.ops(height, width)
    return OpCost(name="fused_fullres", op="fused_fullres_kernel", op_class=FUSED_KERNEL, part="full_res",
                  macs=round(ops.fma), adds=round(ops.add + ops.index + ops.convert), compares=round(ops.compare),
                  bytes_read=work.bytes_in(height, width), bytes_written=work.bytes_out(height, width),
                  dtype=spec.dtype, kernel=spec.key, image=(height, width),
                  note=f"fused TensorIR kernel {spec.key}: guide, trilinear slice and affine apply in one pass")


def shipped_student_cost(net: StudentNet, workload: str | tuple[int, int], full_res_precision: str,
                         full_res_unit_kind: str, pixel_type: PixelType = DEFAULT_PIXEL_TYPE) -> ModelCost:
    """`model_cost` of the student with its full-res part as the artifact compile ships at that precision
    on a unit of `full_res_unit_kind` (the kernel variant: `kernels.spec.shipped_variant`)."""
    cost = torch_model_cost(net, workload, type(net).__name__)
    if full_res_precision not in KERNEL_PRECISIONS:
        return cost
    slice, compute = shipped_variant(full_res_unit_kind, full_res_precision)
    kernel = fused_kernel_op(spec_for(net.cfg, pixel_type, slice, compute), cost.height, cost.width,
                             "gpu" if full_res_unit_kind == "gpu" else "cpu")
    # the kernel reads the guide's weights (they ship beside it): the parameters of the ops it replaces
    kernel = replace(kernel, params=sum(op.params for op in cost.ops if op.part == "full_res"))
    return replace(cost, ops=[op for op in cost.ops if op.part != "full_res"] + [kernel])
