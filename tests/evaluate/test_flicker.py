import numpy as np
import pytest

from aicam_opt.data import clip_frames
from aicam_opt.evaluate import flicker
from aicam_opt.images import read_photo, resize_long_side


def _frames(data_source, n=6):
    clips = clip_frames(data_source, "eval")
    if clips:
        return [resize_long_side(read_photo(p).pixels, 480) for p in clips[0][:n]]
    from aicam_opt.data import embedded_photo  # simulated pan over a real photo
    img = embedded_photo("rocket")
    return [img[20:260, 10 + 3 * i:330 + 3 * i] for i in range(n)]


def test_consistent_enhancement_adds_no_flicker(data_source):
    frames = _frames(data_source)
    result, _ = flicker.clip_flicker(frames, {"tone": lambda f: np.clip(f * 0.9 + 0.05, 0, 1)})
    assert result["tone"] <= result["input"] * 0.95  # a global contraction can only reduce differences


def test_per_frame_jitter_is_measured(data_source):
    frames = _frames(data_source)
    rng = np.random.default_rng(0)
    gains = {id(f): rng.uniform(0.85, 1.15) for f in frames}
    result, _ = flicker.clip_flicker(frames, {"jitter": lambda f: np.clip(f * gains[id(f)], 0, 1)})
    assert result["jitter"] > result["input"] + 3.0  # 8-bit levels


def test_breakdown_by_luma_finds_clipped_highlights_and_noisy_shadows(data_source):
    frames = _frames(data_source)
    rng = np.random.default_rng(1)
    noise = {id(f): rng.normal(0, 0.03, f.shape).astype(np.float32) for f in frames}

    def noisy_shadows(f):  # per-frame noise, only where the input is dark
        dark = (f.mean(axis=2, keepdims=True) < 0.15)
        return np.clip(f + noise[id(f)] * dark, 0, 1)

    overall, by_luma = flicker.clip_flicker(frames, {"blown_out": lambda f: np.clip(f * 3.0, 0, 1),
                                                     "noisy_shadows": noisy_shadows})
    bands = len(flicker.LUMA_BANDS) - 1
    assert by_luma["bands"][0] == [0.0, 0.2] and by_luma["bands"][-1] == [0.8, 1.0]
    assert len(by_luma["share"]) == bands and abs(sum(by_luma["share"]) - 1.0) < 1e-9
    # Bright input is pushed to white by the 3x gain: (almost) nothing left to flicker there.
    assert by_luma["input"][-1] > 0.5 and by_luma["blown_out"][-1] < 0.05 * by_luma["input"][-1]
    # Noise added in the shadows shows up in the darkest band, not in the highlights.
    assert by_luma["noisy_shadows"][0] > by_luma["input"][0] + 1.0
    # (not exactly equal: warping interpolates a highlight pixel from its neighbours, which may be dark and
    # noisy; 4e-4 relative on the embedded photo's simulated pan)
    assert by_luma["noisy_shadows"][-1] == pytest.approx(by_luma["input"][-1], rel=1e-3)
    # The band figures, weighted by their share, account for the overall figure.
    for name in ("input", "noisy_shadows"):
        pooled = sum(s * v for s, v in zip(by_luma["share"], by_luma[name]) if v is not None)
        assert abs(pooled - overall[name]) < 0.05 * overall[name]
