"""Both parts in one TVM program, so that the device times the whole enhancement in one call.

`time_evaluator` times one function of one module on the device; the parts ship as two modules.
For the end-to-end time the same two programs are put in one Relax module:

    end_to_end(lowres, image, ccm, ccm_bias, thresholds, slopes, mix, mix_bias) -> enhanced
        grid = main(lowres)                      the low-res part's graph, as imported from its ONNX
        enhanced = call_tir(fullres_dps, image, <guide weights>, reshape(grid), 0, H)

`fullres_dps` is the fused kernel with the schedule of the target, its parameters reordered so that
the destination `out` comes last (call_tir's destination-passing convention); `row_offset` 0 and
`full_height` H make the one call cover the whole picture. The low-res graph, the kernel and their
schedules are those of the per-part builds; only the hand-over (the grid stays in device memory,
no call returns to the host between the parts) differs. CPU only: both parts on one llvm target.
"""
from __future__ import annotations

from typing import Any

from ..compile import unit_kinds
from ..compile.engines.relax_graph import import_onnx
from ..compile.parts import KERNEL_PARAM_NAMES
from ..kernels import fullres as fused
from ..kernels.spec import KernelSpec
from ..logs import native_stderr_to_log

ENTRY = "end_to_end"
KERNEL_OUT_INDEX = 8  # fullres(image, 6 guide weights, grid, out, row_offset, full_height)


def destination_last(kernel) -> Any:
    """The kernel PrimFunc with `out` moved after the scalars: call_tir passes outputs last."""
    import tvm

    params = list(kernel.params)
    order = params[:KERNEL_OUT_INDEX] + params[KERNEL_OUT_INDEX + 1:] + [params[KERNEL_OUT_INDEX]]
    func = tvm.tirx.PrimFunc(order, kernel.body, kernel.ret_type, kernel.attrs)
    return func.with_attr("global_symbol", "fullres_dps")


def end_to_end_module(onnx_path, spec: KernelSpec, params: dict[str, Any], grid_shape: list[int], lowres_size: int,
                      height: int, width: int, target: dict[str, Any]):
    """The Relax module with `main` (the low-res graph) and `end_to_end` (see the module doc)."""
    import tvm
    from tvm import relax

    tgt = unit_kinds.for_target(target).build_target(target)
    low_res = import_onnx(onnx_path)
    kernel = fused.schedule_for(fused.define_fullres(spec, fused.lanes_for(tgt)), tgt)["main"]
    builder = relax.BlockBuilder(low_res)
    kernel_gv = builder.add_func(destination_last(kernel), "fullres_dps")
    lowres = relax.Var("lowres", relax.TensorType((1, 3, lowres_size, lowres_size), "float32"))
    image = relax.Var("image", relax.TensorType((height, width, 3), spec.dtype))
    weights = [relax.Var(name, relax.TensorType(tuple(params[name].shape), "float32")) for name in KERNEL_PARAM_NAMES]
    with builder.function(ENTRY, [lowres, image, *weights]):
        with builder.dataflow():
            grid = builder.emit(relax.Call(low_res.get_global_var("main"), [lowres]))
            grid = builder.emit(relax.op.reshape(grid, tuple(grid_shape[1:])))
            scalars = [relax.prim_value(tvm.tirx.IntImm("int32", v)) for v in (0, height)]
            out = builder.emit_output(relax.call_tir(kernel_gv, [image, *weights, grid, *scalars],
                                                     relax.TensorType((height, width, 3), spec.dtype)))
        builder.emit_func_output(out)
    return builder.get()


@native_stderr_to_log()  # TVM's C++ warnings go into the command's log file
def compile_end_to_end(onnx_path, spec: KernelSpec, params: dict[str, Any], grid_shape: list[int], lowres_size: int,
                       height: int, width: int, target: dict[str, Any]):
    """The end-to-end module compiled for `target`, lowered by the unit kind's Relax pipeline (as the low-res part is)."""
    import tvm

    module = end_to_end_module(onnx_path, spec, params, grid_shape, lowres_size, height, width, target)
    kind = unit_kinds.for_target(target)
    tgt = kind.build_target(target)
    return tvm.compile(module, target=tgt, relax_pipeline=kind.relax_pipeline(tgt))


__all__ = ["ENTRY", "end_to_end_module", "compile_end_to_end", "destination_last"]
