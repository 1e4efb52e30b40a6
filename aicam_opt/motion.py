"""Optical flow between consecutive frames (OpenCV Farneback), warping and occlusion masks.

Shared by the flicker metric (evaluation) and the inter-frame similarity loss (student training),
so both measure temporal consistency the same way.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor((np.clip(img, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)


def flow(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Dense flow (HxWx2, pixels) such that src(p) ~ dst(p + flow(p))."""
    return cv2.calcOpticalFlowFarneback(_gray(src), _gray(dst), None, pyr_scale=0.5, levels=4, winsize=21,
                                        iterations=3, poly_n=7, poly_sigma=1.5, flags=0)


def warp(img: np.ndarray, fl: np.ndarray) -> np.ndarray:
    """Sample img at p + flow(p): brings `dst` back onto `src`'s pixel grid."""
    h, w = fl.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, gx + fl[..., 0], gy + fl[..., 1], interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


@dataclass(frozen=True)
class FrameMotion:
    """Flow from frame t to t+1 and where it is trustworthy (not occluded, inside the frame)."""

    flow: np.ndarray  # HxWx2
    valid: np.ndarray  # HxW bool


def frame_motion(src: np.ndarray, dst: np.ndarray, tolerance: float = 1.0) -> FrameMotion:
    """Forward-backward consistency check: a pixel whose round trip misses by more than
    `tolerance` + 5% of the motion is occluded (or the flow is wrong there) and is masked out."""
    fwd, bwd = flow(src, dst), flow(dst, src)
    round_trip = fwd + warp(bwd, fwd)
    err = np.linalg.norm(round_trip, axis=2)
    mag = np.linalg.norm(fwd, axis=2) + np.linalg.norm(warp(bwd, fwd), axis=2)
    h, w = fwd.shape[:2]
    gx, gy = np.meshgrid(np.arange(w), np.arange(h))
    inside = (gx + fwd[..., 0] >= 0) & (gx + fwd[..., 0] <= w - 1) & (gy + fwd[..., 1] >= 0) & (gy + fwd[..., 1] <= h - 1)
    return FrameMotion(fwd, (err <= tolerance + 0.05 * mag) & inside)
