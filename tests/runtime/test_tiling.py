"""Row bands use global coordinates: banded output equals unbanded output exactly, at odd sizes."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from aicam_opt.models.student import downsample
from aicam_opt.kernels import lowres
from aicam_opt.kernels.compiled import CompiledFullRes
from aicam_opt.kernels.lowres import downsample_banded, predict_grid, to_nchw


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


@pytest.mark.parametrize("size", [(777, 1001), (9, 8), (600, 333)])
def test_narrow_and_odd_widths_match_pytorch(student, odd_photo, size):
    """Widths that are not a multiple of 8 (last vector block shifted left) and the 8-px minimum."""
    h, w = size
    pixels = cv2.resize(odd_photo, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    grid = predict_grid(student, pixels)
    with torch.no_grad():
        ref = student.full_res(to_nchw(pixels), grid)[0].permute(1, 2, 0).numpy()
    got = CompiledFullRes(student.full_res, student.cfg).run(pixels, grid[0], band_rows=5)
    assert np.abs(got - ref).max() <= 1e-4


def test_banded_downsample_equals_student_downsample(monkeypatch, odd_photo):
    """The low-res input made band by band (a few cells at a time) is the model's `downsample`."""
    monkeypatch.setattr(lowres, "BAND_BYTES", 3 * 1001 * 3 * 4 * 5)  # 5 pooling cells of 3 rows per band
    ref = downsample(to_nchw(odd_photo), 256)
    got = downsample_banded(odd_photo, 256)
    assert got.shape == ref.shape == (1, 3, 256, 256)
    assert torch.allclose(got, ref, atol=1e-6, rtol=0)
