import numpy as np

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
    result = flicker.clip_flicker(frames, {"tone": lambda f: np.clip(f * 0.9 + 0.05, 0, 1)})
    assert result["tone"] <= result["input"] * 0.95  # a global contraction can only reduce differences


def test_per_frame_jitter_is_measured(data_source):
    frames = _frames(data_source)
    rng = np.random.default_rng(0)
    gains = {id(f): rng.uniform(0.85, 1.15) for f in frames}
    result = flicker.clip_flicker(frames, {"jitter": lambda f: np.clip(f * gains[id(f)], 0, 1)})
    assert result["jitter"] > result["input"] + 3.0  # 8-bit levels
