"""The kernel's workload, derived from its spec, against TVM's own count of the same PrimFunc."""
from __future__ import annotations

import pytest

from aicam_opt.kernels.fullres import KernelSpec, define_fullres
from aicam_opt.kernels.workload import executed, tvm_flops

SPECS = [KernelSpec(3, 16, 8, 16, "float32"), KernelSpec(1, 16, 8, 16, "uint8"), KernelSpec(3, 8, 4, 8, "uint16"),
         KernelSpec(1, 4, 2, 16, "float32"), KernelSpec(3, 16, 16, 32, "uint8")]


def tvm_estimate(spec: KernelSpec, height: int, width: int) -> float:
    import tvm
    from tvm.s_tir.analysis import estimate_tir_flops

    func = define_fullres(spec)
    image = tvm.tirx.decl_buffer((height, width, 3), spec.dtype)
    return float(estimate_tir_flops(tvm.IRModule({"fullres": func.specialize({func.params[0]: image})})))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_closed_form_equals_tvm_estimate(spec):
    for height, width in ((37, 101), (256, 64)):
        assert tvm_flops(spec, height, width) == tvm_estimate(spec, height, width)


def test_executed_work_grows_with_what_the_spec_bakes_in():
    base = executed(KernelSpec(3, 16, 8, 16, "float32"))
    # each depth bin: 24 FMA (12 coefficients x 2) and its shared tent weight
    deeper = executed(KernelSpec(3, 16, 9, 16, "float32"))
    assert deeper.per_pixel.fma - base.per_pixel.fma == 24
    # a luma guide drops two colour curves of 16 knots: 2 x (3 + 16 + 1) FMA
    luma = executed(KernelSpec(1, 16, 8, 16, "float32"))
    assert base.per_pixel.fma - luma.per_pixel.fma == 40
    # 8-bit pixels: a quarter of the bytes of float32, but conversions on the way in and out
    u8 = executed(KernelSpec(3, 16, 8, 16, "uint8"))
    assert u8.pixel_bytes(10, 10) * 4 == base.pixel_bytes(10, 10) and u8.per_pixel.convert > base.per_pixel.convert
    # the GPU schedule folds the y lerp into every lookup: more arithmetic per pixel, no row tables
    gpu = executed(KernelSpec(3, 16, 8, 16, "float32"), "gpu")
    assert gpu.per_pixel.total > base.per_pixel.total and gpu.per_row.total == 0


def test_unknown_schedule_is_an_error():
    with pytest.raises(ValueError, match="schedule"):
        executed(KernelSpec(3, 16, 8, 16), "dsp")
