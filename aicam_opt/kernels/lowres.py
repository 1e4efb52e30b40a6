"""The student's low-res path on pictures of any size, without a float copy of the picture.

`downsample_native` computes what `aicam_opt.models.student.downsample` computes (box average over
k x k cells, k = min(H // S, W // S), then bilinear to S x S), but sums the cells in the pixels'
own type widened (`cell_sums`: k rows at a time, then the columns), so a 100 MP 8-bit photo is read
once and never exists as a float tensor; the integer sums are exact where avg_pool2d's float32 sums
round (by about 1e-5 at k = 31, a 100 MP photo's cells). `downsample_yuv` does the same for a YUV 4:2:0 frame,
converting a band of whole cells to RGB (aicam_opt.yuv) at a time, so an 8K NV12 frame never exists
as an RGB picture either.
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

BAND_BYTES = 64 << 20  # bytes of a YUV frame's band converted to float32 RGB at a time


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


def cell_sums(pixels: np.ndarray, k: int) -> np.ndarray:
    """Sum of every whole k x k cell of an HxWxC picture: (H // k, W // k, C), exact for integer pixels
    (uint64; float pixels: float64). Each cell row is summed over its k rows first (one pass over the
    picture, in a type just wide enough), then over k columns."""
    rows, cols = pixels.shape[0] // k, pixels.shape[1] // k
    integer = pixels.dtype != np.float32
    row_type = (np.uint16 if pixels.dtype == np.uint8 and k <= 257 else np.uint32) if integer else np.float64
    sums = np.empty((rows, cols, pixels.shape[2]), np.uint64 if integer else np.float64)
    for row in range(rows):
        band = np.add.reduce(pixels[row * k:(row + 1) * k, :cols * k], axis=0, dtype=row_type)
        sums[row] = band.reshape(cols, k, -1).sum(axis=1, dtype=sums.dtype)
    return sums


def cell_means(sums: np.ndarray, k: int, scale: float = 1.0) -> torch.Tensor:
    """k x k cell sums (H, W, C) at pixel scale `scale` as means: (1, C, H, W) float32."""
    means = (sums / (k * k * scale)).astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(means.transpose(2, 0, 1)))[None]


def box_average(pixels: np.ndarray, k: int) -> torch.Tensor:
    """`avg_pool2d(to_nchw(pixels), k, k)` from exact cell sums: (1, C, H // k, W // k) float32 in [0, 1]."""
    scale = 1.0 if pixels.dtype == np.float32 else float(PIXEL_SCALE[pixels.dtype.name])
    return cell_means(cell_sums(pixels, k), k, scale)


def downsample_native(pixels: np.ndarray, size: int) -> torch.Tensor:
    """`student.downsample(to_nchw(pixels), size)` from exact cell sums: (1, 3, size, size)."""
    height, width = pixels.shape[:2]
    k = max(1, min(height // size, width // size))
    pooled = to_nchw(pixels) if k == 1 else box_average(pixels, k)
    return F.interpolate(pooled, size=(size, size), mode="bilinear", align_corners=False)


def downsample_yuv(frame: Yuv420, size: int, standard: YuvStandard = "bt601_full") -> torch.Tensor:
    """`student.downsample(to_nchw(yuv420_to_rgb(frame, standard)), size)`, computed band-wise:
    (1, 3, size, size), equal to `downsample_native` of the frame's RGB. Bands start on even rows
    (whole chroma rows) and are whole k-row cells."""
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
            parts.append(cell_sums(yuv420_to_rgb(band, standard), k))
        pooled = cell_means(np.concatenate(parts), k)
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
        return net.low_res(downsample_native(pixels, net.cfg.lowres_size))
