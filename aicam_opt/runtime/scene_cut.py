"""Scene-cut detection for video grid reuse: has the picture changed so much that a held grid is stale?

The statistic is the total-variation distance between the colour histograms of two low-res thumbnails
(the downsampled copy the low-res path makes anyway, 256 x 256 for the default student): 8 bins per RGB
channel, 512 joint bins, each histogram normalised to sum 1; the distance is half the sum of their
absolute differences, in [0, 1] (0: the same colours in the same amounts, 1: no colour in common).
A histogram ignores where the colours are, so camera motion barely moves it while a new scene does.
A cut between two scenes of nearly the same colours is not seen: the held grid then lasts until the
next key frame. The default threshold sits between the real clip's ordinary motion and the distance
between different photos (figures in docs/runtime.md).
"""
from __future__ import annotations

import torch

HISTOGRAM_BINS = 8  # per RGB channel
DEFAULT_CUT_THRESHOLD = 0.25


def colour_histogram(thumbnail: torch.Tensor) -> torch.Tensor:
    """(1, 3, S, S) RGB in [0, 1] -> the normalised joint histogram over HISTOGRAM_BINS**3 colours."""
    codes = (thumbnail[0].clamp(0.0, 1.0) * HISTOGRAM_BINS).long().clamp_(max=HISTOGRAM_BINS - 1)
    index = (codes[0] * HISTOGRAM_BINS + codes[1]) * HISTOGRAM_BINS + codes[2]
    counts = torch.bincount(index.flatten(), minlength=HISTOGRAM_BINS ** 3).to(torch.float64)
    return counts / counts.sum()


def histogram_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Total-variation distance of two normalised histograms, in [0, 1]."""
    return float(0.5 * (a - b).abs().sum())
