"""Temporal flicker: how much consecutive outputs differ beyond what the scene motion explains.

flicker = mean over consecutive frame pairs (t, t+1) of the mean absolute difference between
out_t and out_{t+1} warped onto frame t by the *input's* optical flow (OpenCV Farneback), over
the pixels where the flow passes a forward-backward occlusion check; in 8-bit levels (x255).
The same number for the input frames themselves is the floor set by flow error and real change;
lower is steadier.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..motion import FrameMotion, frame_motion, warp


def clip_motion(frames: Sequence[np.ndarray]) -> list[FrameMotion]:
    return [frame_motion(a, b) for a, b in zip(frames[:-1], frames[1:])]


def flicker(outputs: Sequence[np.ndarray], motion: Sequence[FrameMotion]) -> float:
    if len(outputs) != len(motion) + 1:
        raise ValueError("need one more output frame than motion pairs")
    errors = []
    for (a, b), m in zip(zip(outputs[:-1], outputs[1:]), motion):
        diff = np.abs(a - warp(b, m.flow)).mean(axis=2)
        if m.valid.any():
            errors.append(diff[m.valid].mean())
    return float(np.mean(errors) * 255.0) if errors else float("nan")


def clip_flicker(frames: Sequence[np.ndarray], enhancers: dict[str, Callable[[np.ndarray], np.ndarray]]) -> dict[str, float]:
    """Flicker of the input and of each enhancer's output on one clip (flow computed once)."""
    motion = clip_motion(frames)
    out = {"input": flicker(frames, motion)}
    for name, enhance in enhancers.items():
        out[name] = flicker([enhance(f) for f in frames], motion)
    return out
