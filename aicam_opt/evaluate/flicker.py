"""Temporal flicker: how much consecutive outputs differ beyond what the scene motion explains.

flicker = mean over consecutive frame pairs (t, t+1) of the mean absolute difference between
out_t and out_{t+1} warped onto frame t by the *input's* optical flow (OpenCV Farneback), over
the pixels where the flow passes a forward-backward occlusion check; in 8-bit levels (x255).
The same number for the input frames themselves is the floor set by flow error and real change;
lower is steadier.

The breakdown by input-luma band says *where* a model's flicker comes from: brightened shadows
amplify sensor noise, while highlights pushed to white stop changing at all (a clipped pixel
cannot flicker), so two models with the same overall figure can differ a lot band by band.
"""
from __future__ import annotations

from typing import Callable, Iterator, Sequence

import numpy as np
from skimage.color import rgb2gray

from ..motion import FrameMotion, frame_motion, warp
from ..errors import AicamError
from .tone import at_extreme

# Input-luma bands of the breakdown: shadows, darker and brighter midtones, bright, highlights.
LUMA_BANDS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def clip_motion(frames: Sequence[np.ndarray]) -> list[FrameMotion]:
    return [frame_motion(a, b) for a, b in zip(frames[:-1], frames[1:])]


def _pair_errors(outputs: Sequence[np.ndarray], motion: Sequence[FrameMotion],
                 inputs: Sequence[np.ndarray] | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(per-pixel warped error in 0..1, valid mask) for every consecutive pair. With `inputs`, pixels
    that the input or the output clips (in frame t or the warped frame t+1) are left out."""
    if len(outputs) != len(motion) + 1:
        raise ValueError("need one more output frame than motion pairs")
    for t, ((a, b), m) in enumerate(zip(zip(outputs[:-1], outputs[1:]), motion)):
        warped = warp(b, m.flow)
        valid = m.valid
        if inputs is not None:
            valid = valid & ~(at_extreme(inputs[t]) | at_extreme(warp(inputs[t + 1], m.flow)) | at_extreme(a)
                              | at_extreme(warped))
        yield np.abs(a - warped).mean(axis=2), valid


def flicker(outputs: Sequence[np.ndarray], motion: Sequence[FrameMotion],
            unclipped_in: Sequence[np.ndarray] | None = None) -> float:
    """Flicker in 8-bit levels; with `unclipped_in` (the input frames), over the pixels that neither the
    input nor the output clips."""
    errors = [diff[valid].mean() for diff, valid in _pair_errors(outputs, motion, unclipped_in) if valid.any()]
    if not errors:
        raise AicamError("flicker: no frame pair has a valid (unoccluded" +
                         (", unclipped" if unclipped_in is not None else "") + ") pixel to measure; give a longer clip "
                         "or frames with less motion and fewer clipped areas")
    return float(np.mean(errors) * 255.0)


def luma_bands(frames: Sequence[np.ndarray], bands: Sequence[float] = LUMA_BANDS) -> list[np.ndarray]:
    """Index of each pixel's input-luma band (Rec. 709 luma; 1.0 falls in the last band), per frame."""
    edges = np.asarray(bands, dtype=np.float64)
    return [np.clip(np.searchsorted(edges, rgb2gray(f), side="right") - 1, 0, len(edges) - 2) for f in frames]


def flicker_by_luma(band_maps: Sequence[np.ndarray], outputs: Sequence[np.ndarray], motion: Sequence[FrameMotion],
                    n_bands: int = len(LUMA_BANDS) - 1) -> list[float | None]:
    """Warped error (8-bit levels) pooled over all valid pixels whose input luma (frame t, `luma_bands`)
    falls in each band; None for a band with no valid pixel. Pooled per pixel, so the bands'
    share-weighted mean is close to, not exactly, `flicker` (a mean of per-pair means)."""
    sums, counts = np.zeros(n_bands), np.zeros(n_bands)
    for band, (diff, valid) in zip(band_maps, _pair_errors(outputs, motion)):
        sums += np.bincount(band[valid], weights=diff[valid], minlength=n_bands)
        counts += np.bincount(band[valid], minlength=n_bands)
    return [float(s / c * 255.0) if c else None for s, c in zip(sums, counts)]


def luma_shares(band_maps: Sequence[np.ndarray], motion: Sequence[FrameMotion],
                n_bands: int = len(LUMA_BANDS) - 1) -> list[float]:
    """Fraction of the measured (valid) pixels in each input-luma band."""
    counts = sum(np.bincount(band[m.valid], minlength=n_bands) for band, m in zip(band_maps, motion))
    return (counts / max(counts.sum(), 1)).tolist()


def clip_flicker(frames: Sequence[np.ndarray],
                 enhancers: dict[str, Callable[[np.ndarray], np.ndarray]]) -> tuple[dict[str, float], dict]:
    """Flicker of the input and of each enhancer's output on one clip (flow computed once, each
    enhancer run once), and its breakdown by input-luma band:
    ({"input": f, name: f, ...}, {"bands": [[lo, hi], ...], "share": [...], "input": [...], name: [...]})."""
    outputs = {"input": list(frames), **{name: [enhance(f) for f in frames] for name, enhance in enhancers.items()}}
    overall, by_luma, _ = outputs_flicker(frames, outputs)
    return overall, by_luma


def outputs_flicker(frames: Sequence[np.ndarray], outputs: dict[str, Sequence[np.ndarray]],
                    unclipped: bool = False) -> tuple[dict[str, float], dict, dict[str, float]]:
    """`clip_flicker` of outputs already computed (name -> one output per frame; "input": the frames),
    and with `unclipped` the flicker over the pixels neither the input nor that output clips (else {})."""
    motion = clip_motion(frames)
    overall = {name: flicker(outs, motion) for name, outs in outputs.items()}
    band_maps = luma_bands(frames[:-1])  # each pair is binned by its first frame
    by_luma = {"bands": [[lo, hi] for lo, hi in zip(LUMA_BANDS[:-1], LUMA_BANDS[1:])],
               "share": luma_shares(band_maps, motion),
               **{name: flicker_by_luma(band_maps, outs, motion) for name, outs in outputs.items()}}
    without_clipped = {name: flicker(outs, motion, unclipped_in=frames) for name, outs in outputs.items()} if unclipped else {}
    return overall, by_luma, without_clipped
