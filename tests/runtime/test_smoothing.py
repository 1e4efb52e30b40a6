"""Temporal smoothing of the student's grid and switch: less flicker on real frames, no jumps."""
from __future__ import annotations

import cv2
import numpy as np
import torch

from aicam_opt.models.student import StudentConfig
from aicam_opt.kernels.compiled import CompiledFullRes
from aicam_opt.runtime.enhance import Enhancer
from aicam_opt.evaluate.flicker import clip_motion, flicker
from aicam_opt.kernels.lowres import to_float
from aicam_opt.images import read_native
import pytest

from aicam_opt.errors import AicamError
from aicam_opt.runtime.smoothing import SmoothingConfig, TemporalGrid, settle_frames



def run_clip(enhancer: Enhancer, frames: list[np.ndarray], smoothing: SmoothingConfig) -> list[np.ndarray]:
    grid_for = enhancer.temporal(smoothing)
    return [enhancer.enhance(frame, grid=grid_for(frame)) for frame in frames]


def test_smoothing_reduces_flicker_on_real_frames(make_student, eval_frames):
    frames = [cv2.resize(read_native(p), (320, 180), interpolation=cv2.INTER_AREA) for p in eval_frames[:8]]
    net = make_student(lowres_sigma=0.5)  # an effect that follows the content from frame to frame
    enhancer = Enhancer(net, "content-sensitive student", CompiledFullRes(net.full_res, net.cfg))
    motion = clip_motion([to_float(f) for f in frames])
    raw = flicker([to_float(o) for o in run_clip(enhancer, frames, SmoothingConfig.off())], motion)
    smooth = flicker([to_float(o) for o in run_clip(enhancer, frames, SmoothingConfig())], motion)
    assert smooth < 0.8 * raw


def test_off_is_the_plain_per_frame_grid(student, eval_frames):
    from aicam_opt.kernels.lowres import downsample_native

    tracker = TemporalGrid(student, SmoothingConfig.off())
    for path in eval_frames[:2]:
        low = downsample_native(read_native(path), student.cfg.lowres_size)
        with torch.no_grad():
            assert torch.allclose(tracker(low), student.low_res(low), atol=1e-6)


def test_hard_switch_hysteresis_ignores_near_ties(make_student):
    net = make_student(StudentConfig(switch="hard", num_branches=2), seed=3)
    tracker = TemporalGrid(net, SmoothingConfig(weight_momentum=0.0, grid_momentum=0.0, hysteresis=0.1))
    low = torch.rand(1, 3, 256, 256)
    for weights in ([0.52, 0.48], [0.47, 0.53], [0.55, 0.45], [0.46, 0.54]):
        net.low_res.switch.forward = lambda feats, w=weights: torch.tensor([w])
        tracker(low)
    assert tracker.branch == 0 and tracker.switches == 0
    net.low_res.switch.forward = lambda feats: torch.tensor([[0.3, 0.7]])
    grid = tracker(low)
    assert tracker.branch == 1 and tracker.switches == 1
    with torch.no_grad():
        assert torch.allclose(grid, net.low_res.branches[1](net.low_res.features(low)[0]))


def test_higher_grid_momentum_is_steadier_on_real_frames(make_student, eval_frames):
    frames = [cv2.resize(read_native(p), (320, 180), interpolation=cv2.INTER_AREA) for p in eval_frames[:8]]
    net = make_student(lowres_sigma=0.5)
    enhancer = Enhancer(net, "content-sensitive student", CompiledFullRes(net.full_res, net.cfg))
    motion = clip_motion([to_float(f) for f in frames])
    default, steadier = (flicker([to_float(o) for o in run_clip(enhancer, frames, SmoothingConfig(grid_momentum=m))], motion)
                         for m in (0.7, 0.9))
    assert steadier < default


def test_settle_frames_is_the_lag_of_the_moving_average():
    assert settle_frames(0.0) == 0.0
    ema, frames = 0.0, 0
    while ema < 0.9:  # a step from 0 to 1, averaged with momentum 0.7
        ema, frames = 0.7 * ema + 0.3, frames + 1
    assert frames - 1 < settle_frames(0.7) <= frames


@pytest.mark.parametrize("momentum", [1.0, -0.1, 1.5])
def test_momentum_outside_0_1_is_refused(momentum):
    with pytest.raises(AicamError, match="grid_momentum"):
        SmoothingConfig(grid_momentum=momentum)
