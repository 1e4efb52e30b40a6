"""Row bands use global coordinates: banded output equals unbanded output exactly, at odd sizes."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from aicam_opt.models.student import downsample
from aicam_opt.kernels import lowres
from aicam_opt.kernels.compiled import CompiledFullRes
from aicam_opt.kernels.lowres import downsample_native, predict_grid, to_nchw


@pytest.fixture(scope="module")
def odd_photo(real_photos) -> np.ndarray:
    """A real photo resized to 1001 x 777 (width x height): odd, and not a multiple of the vector width."""
    return cv2.resize(next(iter(real_photos.values())), (1001, 777), interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_banded_equals_unbanded(student, odd_photo, dtype):
    pixels = odd_photo if dtype == np.uint8 else odd_photo.astype(np.float32) / 255.0
    compiled = CompiledFullRes(student.full_res, student.cfg)
    grid = predict_grid(student, odd_photo)[0]
    whole = compiled.run(pixels, grid, band_rows=pixels.shape[0])
    bands_seen = []
    banded = compiled.run(pixels, grid, band_rows=64, on_band=bands_seen.append)
    assert bands_seen == [64] * 12 + [777 - 12 * 64]
    assert np.array_equal(whole, banded)
    one_row = compiled.run(pixels, grid, band_rows=1)
    assert np.array_equal(whole, one_row)


@pytest.mark.parametrize("size", [(777, 1001), (9, "one block"), (600, 333)])
def test_narrow_and_odd_widths_match_pytorch(student, odd_photo, size):
    """Widths that are not a multiple of the block (last vector block shifted left) and the one-block minimum."""
    compiled = CompiledFullRes(student.full_res, student.cfg)
    h, w = size[0], compiled.min_width() if size[1] == "one block" else size[1]
    pixels = cv2.resize(odd_photo, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    grid = predict_grid(student, pixels)
    with torch.no_grad():
        ref = student.full_res(to_nchw(pixels), grid)[0].permute(1, 2, 0).numpy()
    got = compiled.run(pixels, grid[0], band_rows=5)
    assert np.abs(got - ref).max() <= 1e-4


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
@pytest.mark.parametrize("size", [256, 8])  # k = 1 or 3 at 256 (the odd photo's sides), 37 or more at 8
def test_downsample_from_cell_sums_is_the_student_downsample(odd_photo, dtype, size):
    """The low-res input from exact cell sums is the model's `downsample` computed in float64, float32
    rounding apart; the model's own float32 avg_pool2d drifts from it as cells grow (4e-5 at k = 97)."""
    pixels = {"uint8": odd_photo, "uint16": odd_photo.astype(np.uint16) * 257,
              "float32": odd_photo.astype(np.float32) / 255}[dtype]
    exact = downsample(to_nchw(pixels).double(), size)
    got = downsample_native(pixels, size)
    assert got.shape == (1, 3, size, size) and got.dtype == torch.float32
    assert torch.allclose(got.double(), exact, atol=5e-7, rtol=0)
    assert torch.allclose(got, downsample(to_nchw(pixels), size), atol=1e-4, rtol=0)
