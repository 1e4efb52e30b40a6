"""Grid reuse for video: the low-res path predicts the bilateral grid on a key frame every `grid_every`
frames and the frames in between use that grid as it is.

Causal: a frame's grid depends only on that frame and earlier ones, so no frame waits for a later one
(no lag is added). The temporal smoothing (smoothing.TemporalGrid) runs on the grids actually
predicted. Every frame's thumbnail is still made (the downsample is per frame) because the scene-cut
detector (scene_cut.py) compares it with the last key frame's; a cut makes this frame a key frame at
once and restarts the smoothing, so the old scene's look is neither held nor blended in.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

import torch

from ..errors import AicamError
from ..kernels.lowres import torch_threads
from ..models.student import StudentNet
from .scene_cut import DEFAULT_CUT_THRESHOLD, colour_histogram, histogram_distance
from .smoothing import SmoothingConfig, TemporalGrid

Frame = TypeVar("Frame")


@dataclass(frozen=True)
class GridReuseConfig:
    grid_every: int = 1  # a key frame every N frames; 1: the grid is predicted on every frame
    cut_threshold: float = DEFAULT_CUT_THRESHOLD  # colour-histogram distance (scene_cut) that makes a cut

    def __post_init__(self) -> None:
        if isinstance(self.grid_every, bool) or not isinstance(self.grid_every, int) or self.grid_every < 1:
            raise AicamError(f"--grid-every {self.grid_every!r}: must be a whole number of frames, at least 1 "
                             "(1 predicts the grid on every frame; e.g. 4 predicts it on every fourth)")
        if not 0.0 < self.cut_threshold <= 1.0:  # also nan
            raise AicamError(f"--cut-threshold {self.cut_threshold!r}: must be in (0, 1], a colour-histogram "
                             f"distance (default {DEFAULT_CUT_THRESHOLD}; 1 never detects a cut)")


@dataclass
class ReuseCounts:
    """What a video run did: frames, grids predicted (key frames), scene cuts, and the time spent making
    thumbnails (every frame) and predicting grids (key frames only)."""

    frames: int = 0
    grids_predicted: int = 0
    cuts: int = 0
    thumbnail_s: float = 0.0
    predict_s: float = 0.0

    def __add__(self, other: "ReuseCounts") -> "ReuseCounts":
        return ReuseCounts(self.frames + other.frames, self.grids_predicted + other.grids_predicted,
                           self.cuts + other.cuts, self.thumbnail_s + other.thumbnail_s, self.predict_s + other.predict_s)


class ReusedGrid:
    """Feed thumbnails (1, 3, S, S) in order; get each frame's grid (1, 12, D, G, G)."""

    def __init__(self, net: StudentNet, smoothing: SmoothingConfig | None = None, reuse: GridReuseConfig | None = None):
        self.net = net
        self.smoothing = smoothing or SmoothingConfig.off()
        self.reuse = reuse or GridReuseConfig()
        self.tracker = TemporalGrid(net, self.smoothing)
        self.grid: torch.Tensor | None = None
        self.key_histogram: torch.Tensor | None = None
        self.since_key = 0
        self.counts = ReuseCounts()

    def __call__(self, thumbnail: torch.Tensor) -> torch.Tensor:
        histogram = colour_histogram(thumbnail)
        self.counts.frames += 1
        if self.key_histogram is not None and histogram_distance(histogram, self.key_histogram) > self.reuse.cut_threshold:
            self.counts.cuts += 1
            self.tracker = TemporalGrid(self.net, self.smoothing)  # the new scene starts its own averages
            self.grid = None
        if self.grid is None or self.since_key >= self.reuse.grid_every:
            start = time.perf_counter()
            self.grid = self.tracker(thumbnail)
            self.counts.predict_s += time.perf_counter() - start
            self.counts.grids_predicted += 1
            self.key_histogram, self.since_key = histogram, 0
        self.since_key += 1
        return self.grid


class VideoGrids(Generic[Frame]):
    """A video run's per-frame grid provider: `thumbnail(frame)` makes the low-res copy, `ReusedGrid`
    decides whether to predict. Without a student (the teacher) every frame gets None."""

    def __init__(self, grids: ReusedGrid | None, thumbnail: Callable[..., torch.Tensor]):
        self.grids = grids
        self.thumbnail = thumbnail

    @property
    def counts(self) -> ReuseCounts:
        return self.grids.counts if self.grids is not None else ReuseCounts()

    def __call__(self, *frame) -> torch.Tensor | None:
        if self.grids is None:
            return None
        with torch_threads(1):
            start = time.perf_counter()
            thumbnail = self.thumbnail(*frame)
            self.grids.counts.thumbnail_s += time.perf_counter() - start
            return self.grids(thumbnail)
