"""Scale consistency: does the preview look like the capture?

A camera runs the same enhancement on the preview stream (about 1 MP) and on the captured still (up
to 100 MP), and the user expects the photo to look like what they framed. For each photo: the model's
output on a half-size copy (the preview) against its full-size output area-downscaled to the same
size (the capture as a preview would show it), as PSNR and CIEDE2000. A pointwise or grid-sliced
model is nearly scale-free; a CNN with a fixed receptive field in pixels sees different local
context at each size and changes its look (and with it, how much it passes frame-to-frame changes
on: compare `aicam-opt evaluate --clip-long-side` at the preview's and the training's size).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..images import resize_long_side
from .quality import mean_difference


def half_size(image: np.ndarray) -> np.ndarray:
    return resize_long_side(image, max(image.shape[:2]) // 2)


def scale_consistency(enhance: Callable[[np.ndarray], np.ndarray], photos: dict[str, np.ndarray],
                      full_outputs: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean PSNR / ΔE2000 of enhance(half-size photo) against half-size(enhance(photo)) over `photos`;
    `full_outputs` are the model's outputs on the full-size photos (computed once by the caller)."""
    preview = {n: enhance(half_size(x)) for n, x in photos.items()}
    return mean_difference(preview, {n: half_size(full_outputs[n]) for n in photos})
