"""The compiled full-res kernel computes what PyTorch's FullResPath computes, on real photos."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from aicam_opt.models.student import StudentConfig, downsample
from aicam_opt.kernels import fullres as kernel
from aicam_opt.kernels.compiled import CompiledFullRes
from aicam_opt.kernels.lowres import predict_grid, to_nchw



def torch_reference(net, pixels: np.ndarray, grid: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return net.full_res(to_nchw(pixels), grid)[0].permute(1, 2, 0).numpy()


def test_compiled_equals_pytorch_on_real_photos(student, real_photos):
    compiled = CompiledFullRes(student.full_res, student.cfg)
    changed = 0.0
    for name, pixels in real_photos.items():
        grid = predict_grid(student, pixels)
        ref = torch_reference(student, pixels, grid)
        got = compiled.run(pixels.astype(np.float32) / 255.0, grid[0])
        assert np.abs(got - ref).max() <= 1e-4, name
        got8 = compiled.run(pixels, grid[0])
        ref8 = np.round(np.clip(ref, 0, 1) * 255).astype(np.uint8)
        assert (got8 == ref8).mean() >= 0.999, name  # only float rounding ties may differ
        assert np.abs(got8.astype(int) - ref8).max() <= 1, name
        changed = max(changed, float(np.abs(ref - pixels / 255.0).mean()))
    assert changed > 0.005  # the effect is strong enough for the comparison to mean something (rocket: 0.0074)


@pytest.mark.parametrize("cfg", [StudentConfig(guide="luma_curve", grid_depth=4, grid_size=8, curve_knots=8),
                                 StudentConfig(grid_depth=12, grid_size=32, num_branches=1)])
def test_one_definition_serves_other_shapes_and_16_bit(cfg, real_photos, make_student):
    net = make_student(cfg, seed=1)
    pixels = sorted(real_photos.values(), key=lambda p: p.size)[0][:301, :419]
    grid = net.low_res(downsample(to_nchw(pixels), cfg.lowres_size)).detach()
    ref = torch_reference(net, pixels, grid)
    compiled = CompiledFullRes(net.full_res, cfg)
    assert np.abs(compiled.run(pixels.astype(np.float32) / 255.0, grid) - ref).max() <= 1e-4
    pixels16 = pixels.astype(np.uint16) * 257
    got16 = compiled.run(pixels16, grid)
    assert got16.dtype == np.uint16
    assert np.abs(got16.astype(np.int64) - np.round(np.clip(ref, 0, 1) * 65535)).max() <= 2


def test_new_grid_values_need_no_recompile(student, real_photos):
    """Weights and grid are inputs: a different grid changes the output through the same kernel."""
    compiled = CompiledFullRes(student.full_res, student.cfg)
    pixels = next(iter(real_photos.values()))
    grid = predict_grid(student, pixels)[0]
    a = compiled.run(pixels, grid)
    b = compiled.run(pixels, grid * 0.5)
    assert compiled.kernel_for(np.uint8) is compiled.kernel_for(np.uint8)
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 1


def test_same_definition_builds_for_the_phone_cpu():
    """Compile (not run) for llvm aarch64-linux-android: NEON fused multiply-adds in the code."""
    lib = kernel.build(kernel.KernelSpec(3, 16, 8, 16, "uint8"), kernel.PHONE_CPU_TARGET)
    assert "fmla" in lib.mod.inspect_source("s")
