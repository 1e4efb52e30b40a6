"""The student's low-res path on pictures of any size, with memory bounded by a band of rows.

`downsample_banded` computes exactly what `aicam_opt.models.student.downsample` computes (integer
box average over k x k cells, k = min(H // S, W // S), then bilinear to S x S), but converts and
box-averages the picture band by band (each band a whole number of k-row cells), so a 100 MP
8-bit photo never exists as a float tensor: the float copy is one band at a time. `downsample_yuv`
does the same for a YUV 4:2:0 frame, converting each band to RGB (aicam_opt.yuv) on the way, so an
8K NV12 frame never exists as an RGB picture either.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from ..models.student import StudentNet
from ..yuv import Yuv420, YuvStandard, yuv420_to_rgb
from .spec import PIXEL_SCALE

BAND_BYTES = 64 << 20  # float32 bytes converted at a time


@contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Run the (tiny, fixed-cost) low-res network on `n` threads.

    Its convolutions are too small to gain from more; on a loaded 2-core host, PyTorch's intra-op
    threads spin against other processes and can make it ~100x slower.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8/uint16/float32 HxWx3 -> float32 in [0, 1] (the scaling `images.to_float_rgb` uses)."""
    if pixels.dtype == np.float32:
        return pixels
    return pixels.astype(np.float32) / np.float32(PIXEL_SCALE[pixels.dtype.name])


def to_nchw(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(to_float(pixels).transpose(2, 0, 1)))[None]


def downsample_banded(pixels: np.ndarray, size: int) -> torch.Tensor:
    """`student.downsample(to_nchw(pixels), size)`, computed band-wise: (1, 3, size, size)."""
    height, width = pixels.shape[:2]
    k = max(1, min(height // size, width // size))
    if k == 1:
        pooled = to_nchw(pixels)
    else:
        cells_per_band = max(1, BAND_BYTES // (k * width * 3 * 4))
        parts = []
        for top in range(0, (height // k) * k, cells_per_band * k):
            bottom = min((height // k) * k, top + cells_per_band * k)
            parts.append(F.avg_pool2d(to_nchw(pixels[top:bottom]), k, k))
        pooled = torch.cat(parts, dim=2)
    return F.interpolate(pooled, size=(size, size), mode="bilinear", align_corners=False)


def downsample_yuv(frame: Yuv420, size: int, standard: YuvStandard = "bt601_full") -> torch.Tensor:
    """`student.downsample(to_nchw(yuv420_to_rgb(frame, standard)), size)`, computed band-wise:
    (1, 3, size, size). Bands start on even rows (whole chroma rows) and are whole k-row cells."""
    height, width = frame.height, frame.width
    k = max(1, min(height // size, width // size))
    if k == 1:
        pooled = to_nchw(yuv420_to_rgb(frame, standard))
    else:
        step = 2 * k  # a band: whole cells of k rows, starting on an even row
        step *= max(1, BAND_BYTES // (step * width * 3 * 4))
        parts = []
        for top in range(0, (height // k) * k, step):
            bottom = min((height // k) * k, top + step)
            band = Yuv420(frame.y[top:bottom], frame.uv[top // 2:(bottom + 1) // 2], frame.order)
            parts.append(F.avg_pool2d(to_nchw(yuv420_to_rgb(band, standard)), k, k))
        pooled = torch.cat(parts, dim=2)
    return F.interpolate(pooled, size=(size, size), mode="bilinear", align_corners=False)


@torch.no_grad()
def predict_grid_yuv(net: StudentNet, frame: Yuv420, standard: YuvStandard = "bt601_full") -> torch.Tensor:
    """The bilateral grid (1, 12, D, G, G) the low-res path predicts for a YUV 4:2:0 frame."""
    with torch_threads(1):
        return net.low_res(downsample_yuv(frame, net.cfg.lowres_size, standard))


@torch.no_grad()
def predict_grid(net: StudentNet, pixels: np.ndarray) -> torch.Tensor:
    """The bilateral grid (1, 12, D, G, G) the low-res path predicts for a picture of any size."""
    with torch_threads(1):
        return net.low_res(downsample_banded(pixels, net.cfg.lowres_size))
