"""Temporal smoothing of the student's effect for video: the look must not jump between frames.

Per frame the low-res path gives the switch's branch weights and the K branch grids. Two things
can flicker: the switch (a soft weight that wobbles, or a hard top-1 choice that flips between two
near-equal branches) and the grid itself (noise in the low-res features). So:

- branch weights: exponential moving average (EMA); a hard switch picks the top branch of the
  smoothed weights and only changes branch when another one leads by `hysteresis` (so a tie does
  not flip every frame);
- the blended grid: EMA as well. The first frame initialises both averages (no warm-up fade).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..errors import AicamError
from ..models.student import StudentNet


@dataclass
class SmoothingConfig:
    weight_momentum: float = 0.8  # share of the past in the branch-weight EMA
    grid_momentum: float = 0.7  # share of the past in the grid EMA
    hysteresis: float = 0.1  # a hard switch changes branch only when the new one leads by this

    def __post_init__(self) -> None:
        for name in ("weight_momentum", "grid_momentum"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise AicamError(f"{name} {value}: must be in [0, 1) (0: no smoothing; near 1: the look barely "
                                 "follows the scene)")

    @classmethod
    def off(cls) -> "SmoothingConfig":
        return cls(weight_momentum=0.0, grid_momentum=0.0, hysteresis=0.0)


def settle_frames(momentum: float) -> float:
    """Frames an EMA with this momentum takes to cover 90 % of a step change (a cut, a new light): the
    price of smoothing, as lag. 0 for no smoothing."""
    return 0.0 if momentum == 0 else math.log(0.1) / math.log(momentum)


class TemporalGrid:
    """Feed downsampled frames in order; get each frame's smoothed grid (1, 12, D, G, G)."""

    def __init__(self, net: StudentNet, cfg: SmoothingConfig | None = None):
        self.net = net.eval()
        self.cfg = cfg or SmoothingConfig()
        self.weights: torch.Tensor | None = None
        self.grid: torch.Tensor | None = None
        self.branch: int | None = None
        self.switches = 0  # how often a hard switch changed branch (reported for video runs)

    def _choose(self, weights: torch.Tensor) -> int:
        best = int(weights.argmax())
        if self.branch is None:
            return best
        if best != self.branch and float(weights[best] - weights[self.branch]) > self.cfg.hysteresis:
            self.switches += 1
            return best
        return self.branch

    @torch.no_grad()
    def __call__(self, low: torch.Tensor) -> torch.Tensor:
        low_res = self.net.low_res
        fused, global_feats = low_res.features(low)
        if low_res.cfg.num_branches == 1:
            grid = low_res.branches[0](fused)
        else:
            raw = low_res.switch(global_feats)[0]
            m = self.cfg.weight_momentum
            self.weights = raw if self.weights is None else m * self.weights + (1 - m) * raw
            if low_res.cfg.switch == "hard":
                self.branch = self._choose(self.weights)
                grid = low_res.branches[self.branch](fused)
            else:
                grids = torch.stack([branch(fused) for branch in low_res.branches], dim=1)  # 1, K, 12, D, G, G
                grid = (grids * self.weights[None, :, None, None, None, None]).sum(dim=1)
        m = self.cfg.grid_momentum
        self.grid = grid if self.grid is None else m * self.grid + (1 - m) * grid
        return self.grid
