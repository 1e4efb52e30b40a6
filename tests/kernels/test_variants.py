"""Every variant of the fused kernel (slice form, arithmetic type, pixel layout) computes what PyTorch's
FullResPath computes, at odd sizes, banded or not, and builds for the phone's CPU and GPU.

Float16 arithmetic: the tolerance against PyTorch's float32 path. fp16 rounds every result to 11
significant bits (unit roundoff u = 2^-11 = 4.9e-4). The kernel's output error adds up, in root-sum-
square since the roundings are independent: (1) the output itself, an fp16 number near 1 with a
4-term affine sum behind it: about 2u; (2) each coefficient, a convex combination of grid values near
1 computed in ~2D (tent) or ~12 (taps) rounded steps: about sqrt(16)u = 4u; (3) the guide, which sets
the depth coordinate g * (D - 1): ~3K + 5 rounded steps on values below 1 leave |dg| of about
sqrt(53)u * 0.5 = 3.5u, times (D - 1) = 7 bins times the grid's depth step per bin (0.13 for the test
student, 0.39 for the committed one whose curves are 3x flatter) comes to about 3u. Together about
5.4u = 2.6e-3; the tolerance is one 8-bit step, 8u = 2^-8 = 3.9e-3 (measured: at most 2.0e-3), and
a float error below one step moves the 8-bit output by at most 1 code. The typical error is a third
to a half of the same sum, about u/2 (measured means 1.3e-4 to 2.5e-4), bounded at u; at least 90 % of
8-bit outputs equal PyTorch's (measured 95-97 %).
"""
from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
import torch

from aicam_opt import yuv
from aicam_opt.errors import AicamError
from aicam_opt.kernels import fullres as kernel
from aicam_opt.kernels.compiled import CompiledFullRes
from aicam_opt.kernels.lowres import downsample_native, downsample_yuv, predict_grid, predict_grid_yuv, to_nchw
from aicam_opt.kernels.spec import KernelSpec, kernel_arguments
from aicam_opt.models.checkpoints import load_model

SIZES = [(37, 101), (777, 1001)]
VARIANTS = [("tent", "float32"), ("taps", "float32"), ("tent", "float16"), ("taps", "float16")]
FP16_MAX_ERROR = 2.0 ** -8  # one 8-bit step (module docstring)
FP16_MEAN_ERROR = 2.0 ** -11
FP16_EQUAL_8BIT = 0.90


@pytest.fixture(scope="session")
def pictures(real_photos) -> dict[tuple[int, int], np.ndarray]:
    """A real photo at each odd test size (8 bit)."""
    photo = sorted(real_photos.values(), key=lambda p: -p.size)[0]
    return {(h, w): cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA if h < photo.shape[0] else cv2.INTER_LINEAR)
            for h, w in SIZES}


@pytest.fixture(scope="session")
def trained_student():
    return load_model(kind="student").eval()


def pytorch_rgb(net, pixels: np.ndarray, grid: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return net.full_res(to_nchw(pixels), grid)[0].permute(1, 2, 0).numpy()


def assert_close_to_pytorch(compute: str, got: np.ndarray, ref: np.ndarray, got8: np.ndarray, ref8: np.ndarray):
    error = np.abs(got.astype(np.float64) - ref)
    diff8 = np.abs(got8.astype(int) - ref8.astype(int))
    if compute == "float32":
        assert error.max() <= 1e-4
        assert (diff8 == 0).mean() >= 0.999 and diff8.max() <= 1  # only float rounding ties may differ
    else:
        assert error.max() <= FP16_MAX_ERROR and error.mean() <= FP16_MEAN_ERROR
        assert (diff8 == 0).mean() >= FP16_EQUAL_8BIT and diff8.max() <= 1


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[1]}x{s[0]}")
@pytest.mark.parametrize("slice_form,compute", VARIANTS)
def test_rgb_variant_equals_pytorch(slice_form, compute, size, student, pictures):
    pixels = pictures[size]
    grid = predict_grid(student, pixels)
    ref = pytorch_rgb(student, pixels, grid)
    compiled = CompiledFullRes(student.full_res, student.cfg, slice=slice_form, compute=compute)
    got = compiled.run(pixels.astype(np.float32) / 255.0, grid[0])
    got8 = compiled.run(pixels, grid[0])
    assert_close_to_pytorch(compute, got, ref, got8, np.round(np.clip(ref, 0, 1) * 255).astype(np.uint8))
    assert np.abs(ref - pixels / 255.0).mean() > 0.005  # the effect is strong enough for the comparison to mean something


@pytest.mark.parametrize("slice_form", ["tent", "taps"])
def test_fp16_tolerance_holds_for_the_committed_student(slice_form, trained_student, pictures):
    """The trained student's grid has 3x steeper depth steps than the test student's (docstring)."""
    pixels = pictures[SIZES[-1]]
    grid = predict_grid(trained_student, pixels)
    ref = pytorch_rgb(trained_student, pixels, grid)
    compiled = CompiledFullRes(trained_student.full_res, trained_student.cfg, slice=slice_form, compute="float16")
    assert_close_to_pytorch("float16", compiled.run(pixels.astype(np.float32) / 255.0, grid[0]), ref,
                            compiled.run(pixels, grid[0]), np.round(np.clip(ref, 0, 1) * 255).astype(np.uint8))


def yuv_reference(net, frame: yuv.Yuv420, grid: torch.Tensor, standard: str) -> yuv.Yuv420:
    """What the YUV kernel computes, the reference way: numpy YUV -> RGB, PyTorch, numpy RGB -> YUV."""
    rgb = yuv.yuv420_to_rgb(frame, standard)
    with torch.no_grad():
        out = net.full_res(to_nchw(rgb), grid)[0].permute(1, 2, 0).numpy()
    return yuv.rgb_to_yuv420(out, standard, frame.order)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[1]}x{s[0]}")
@pytest.mark.parametrize("order,standard", [("nv12", "bt601_full"), ("nv21", "bt709_limited")])
@pytest.mark.parametrize("slice_form,compute", VARIANTS)
def test_yuv_variant_equals_pytorch(slice_form, compute, order, standard, size, student, pictures):
    frame = yuv.rgb_to_yuv420(pictures[size], standard, order)
    grid = predict_grid(student, pictures[size])
    expected = yuv_reference(student, frame, grid, standard)
    got = CompiledFullRes(student.full_res, student.cfg, slice=slice_form, compute=compute, yuv=standard).run_yuv(frame, grid[0])
    assert got.order == order
    equal = FP16_EQUAL_8BIT if compute == "float16" else 0.999
    for plane, want in ((got.y, expected.y), (got.uv, expected.uv)):
        diff = np.abs(plane.astype(int) - want.astype(int))
        assert diff.max() <= 1 and (diff == 0).mean() >= equal
    assert np.abs(expected.y.astype(int) - frame.y).mean() > 1  # the student visibly changes the frame


@pytest.mark.parametrize("slice_form,compute", VARIANTS)
def test_banded_equals_unbanded_for_every_variant(slice_form, compute, student, pictures):
    pixels = pictures[SIZES[-1]]
    grid = predict_grid(student, pixels)[0]
    compiled = CompiledFullRes(student.full_res, student.cfg, slice=slice_form, compute=compute)
    for image in (pixels, pixels.astype(np.float32) / 255.0):
        whole = compiled.run(image, grid, band_rows=image.shape[0])
        for band_rows in (7, 64):
            assert np.array_equal(compiled.run(image, grid, band_rows=band_rows), whole)
    frame = yuv.rgb_to_yuv420(pixels, order="nv21")
    whole = compiled.run_yuv(frame, grid, band_rows=frame.height)
    for band_rows in (7, 64):  # 7 rounds up to 8: a band is whole chroma rows
        banded = compiled.run_yuv(frame, grid, band_rows=band_rows)
        assert np.array_equal(banded.y, whole.y) and np.array_equal(banded.uv, whole.uv)


def identity_grid(depth: int, size: int) -> np.ndarray:
    affine = np.array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], np.float32)
    return np.broadcast_to(affine[:, None, None, None], (12, depth, size, size)).copy()


@pytest.mark.parametrize("standard", ["bt601_full", "bt709_limited"])
@pytest.mark.parametrize("slice_form,compute", [("tent", "float32"), ("taps", "float16")])
def test_yuv_round_trip_through_the_kernel(slice_form, compute, standard, student, pictures):
    """With an identity grid the kernel converts YUV -> RGB -> YUV in registers: the numpy round trip,
    which returns the camera's frame to within a code but where a cell's shared chroma leaves the RGB
    cube next to a pixel's luma (clipped: edges between saturated colours)."""
    frame = yuv.rgb_to_yuv420(pictures[SIZES[-1]], standard)
    compiled = CompiledFullRes(student.full_res, student.cfg, slice=slice_form, compute=compute, yuv=standard)
    got = compiled.run_yuv(frame, identity_grid(student.cfg.grid_depth, student.cfg.grid_size))
    round_trip = yuv.rgb_to_yuv420(yuv.yuv420_to_rgb(frame, standard), standard)
    for plane, numpy_plane, original in ((got.y, round_trip.y, frame.y), (got.uv, round_trip.uv, frame.uv)):
        assert np.abs(plane.astype(int) - numpy_plane).max() <= 1
        assert (plane == numpy_plane).mean() >= (0.999 if compute == "float32" else 0.95)
        assert (np.abs(plane.astype(int) - original) <= 1).mean() >= 0.999


@pytest.mark.parametrize("standard", ["bt601_full", "bt709_limited"])
def test_low_res_input_of_a_yuv_frame_is_that_of_its_rgb(standard, student, pictures, monkeypatch):
    """Band-wise from the planes (bands of whole chroma rows and k-row cells) = the whole frame's RGB."""
    import aicam_opt.kernels.lowres as lowres

    frame = yuv.rgb_to_yuv420(pictures[SIZES[-1]], standard, "nv21")
    rgb = yuv.yuv420_to_rgb(frame, standard)
    monkeypatch.setattr(lowres, "BAND_BYTES", 1 << 20)  # several bands at this size
    assert torch.equal(downsample_yuv(frame, 256, standard), downsample_native(rgb, 256))
    assert torch.equal(predict_grid_yuv(student, frame, standard), predict_grid(student, rgb))


def test_yuv_frames_narrower_than_a_block_are_refused(student):
    compiled = CompiledFullRes(student.full_res, student.cfg)
    need = 2 * compiled.lanes - 1  # a block of chroma columns; the last luma column may be odd
    assert compiled.min_width("nv12") == need and compiled.lanes in (8, 16)
    frame = yuv.rgb_to_yuv420(np.zeros((8, need - 1, 3), np.float32))
    with pytest.raises(AicamError, match=f"at least {need} columns"):
        compiled.run_yuv(frame, identity_grid(8, 16))


def test_unknown_variant_is_refused(student):
    with pytest.raises(AicamError, match="slice"):
        CompiledFullRes(student.full_res, student.cfg, slice="nearest")


PHONE_SPECS = [KernelSpec(3, 16, 8, 16, "uint8", slice="taps"), KernelSpec(3, 16, 8, 16, "uint8", compute="float16"),
               KernelSpec(3, 16, 8, 16, "uint8", layout="nv12"),
               KernelSpec(1, 16, 8, 16, "uint8", slice="taps", compute="float16", layout="nv21", yuv="bt709_limited")]


@pytest.mark.parametrize("spec", PHONE_SPECS, ids=lambda s: s.key)
def test_variant_builds_for_the_phone_cpu_and_gpu(spec):
    """Compile (not run) for llvm aarch64-linux-android and OpenCL on Adreno. Half arithmetic shows as
    NEON fp16 vector arithmetic (fmla v.8h: 8 half lanes) and as OpenCL `half` with cl_khr_fp16 enabled."""
    asm = kernel.build(spec, kernel.PHONE_CPU_TARGET).mod.inspect_source("s")
    assert "fmla" in asm
    assert bool(re.search(r"\bf(mla|mul|add|sub|max|min)\s+v\d+\.8h", asm)) == (spec.compute == "float16")
    gpu = kernel.build(spec, kernel.PHONE_GPU_TARGET).mod
    source = "".join(m.inspect_source() for m in gpu.imports)
    assert "__kernel" in source
    assert ("half" in source and "cl_khr_fp16" in source) == (spec.compute == "float16")


def test_fp16_arithmetic_is_enabled_on_aarch64_only_where_missing():
    phone = kernel.resolve_target(kernel.PHONE_CPU_TARGET)
    assert "+fullfp16" in kernel.with_fp16_arithmetic(phone).attrs["mattr"]
    a77 = kernel.resolve_target({**kernel.PHONE_CPU_TARGET, "mcpu": "cortex-a77"})  # implies fp16
    assert kernel.with_fp16_arithmetic(a77) is a77
    host = kernel.resolve_target(kernel.HOST_TARGET)
    assert kernel.with_fp16_arithmetic(host) is host


def test_spec_keys_stay_for_defaults_and_round_trip_for_variants():
    assert KernelSpec(3, 16, 8, 16, "uint8").key == "c3_k16_d8_g16_uint8"
    for spec in PHONE_SPECS + [KernelSpec(3, 16, 8, 16, "float32", slice="taps", compute="float16")]:
        assert KernelSpec.from_key(spec.key) == spec
    assert PHONE_SPECS[-1].key == "c1_k16_d8_g16_uint8_taps_fp16_nv21_bt709l"
    with pytest.raises(ValueError, match="not canonical"):
        KernelSpec.from_key("c3_k16_d8_g16_uint8_fp16_taps")
    with pytest.raises(ValueError, match="8-bit"):
        KernelSpec(3, 16, 8, 16, "uint16", layout="nv12")
    with pytest.raises(ValueError, match="rgb"):
        KernelSpec(3, 16, 8, 16, "uint8", yuv="bt709_limited")


@pytest.mark.parametrize("spec", [KernelSpec(3, 16, 8, 16, "uint16")] + PHONE_SPECS, ids=lambda s: s.key)
def test_kernel_arguments_describe_the_definition(spec):
    func = kernel.define_fullres(spec)
    sizes = {"rows": "rows", "width": "width", "crows": "chroma_rows", "cwidth": "chroma_width"}
    described = []
    for param in func.params:
        kind = param.ty
        shape = tuple(int(d) if hasattr(d, "value") else sizes[str(d)] for d in getattr(kind, "shape", ()))
        described.append((str(param.name), shape, str(kind.dtype)))
    assert [("image" if name == "img" else name, shape, dtype) for name, shape, dtype in described] == kernel_arguments(spec)
