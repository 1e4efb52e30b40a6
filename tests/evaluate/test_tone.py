"""Clipped highlights and crushed shadows, on constructed images with known clipping, and flicker
measured over unclipped pixels only."""
from __future__ import annotations

import numpy as np
import pytest

from aicam_opt.errors import AicamError
from aicam_opt.evaluate import flicker
from aicam_opt.evaluate.tone import at_extreme, tone_extremes


def test_fractions_of_known_clipping():
    image = np.full((10, 10, 3), 128, np.uint8)
    image[:2] = 255                 # 20 % white
    image[2, :5] = (255, 255, 200)  # 5 %: one channel below the extreme: not clipped in every channel
    image[9] = 0                    # 10 % black
    image[8, :3] = (4, 5, 3)        # 3 % near black (<= 5 levels)
    t = tone_extremes(image)
    assert t.highlights == pytest.approx(0.20)
    assert t.shadows == pytest.approx(0.13)
    # luma sees the nearly-white row too (0.2126*255 + 0.7152*255 + 0.0722*200 = 251 levels)
    assert t.highlights_luma == pytest.approx(0.25)
    assert t.shadows_luma == pytest.approx(0.13)


def test_same_answer_for_8_bit_16_bit_and_float():
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    u16 = u8.astype(np.uint16) * 257
    assert tone_extremes(u8) == tone_extremes(u16) == tone_extremes(u8.astype(np.float32) / 255)


def test_at_extreme_marks_any_clipped_channel():
    image = np.full((1, 3, 3), 0.5, np.float32)
    image[0, 1, 0] = 1.0
    image[0, 2, 2] = 0.0
    assert at_extreme(image).tolist() == [[False, True, True]]


def _pan(n=5):
    rng = np.random.default_rng(3)
    scene = np.clip(rng.normal(0.5, 0.15, (140, 220, 3)), 0, 1).astype(np.float32)
    scene = (scene + np.roll(scene, 1, 0) + np.roll(scene, 1, 1) + np.roll(scene, (1, 1), (0, 1))) / 4
    return [scene[10:110, 5 + 2 * i:165 + 2 * i].copy() for i in range(n)]


def test_flicker_over_unclipped_pixels_ignores_what_clipping_hid():
    frames = _pan()
    rng = np.random.default_rng(4)
    jitter = {id(f): rng.normal(0, 0.04, f.shape).astype(np.float32) for f in frames}

    def blow_out_half(f):  # left half pushed to white (cannot flicker), right half jittered per frame
        out = np.clip(f + jitter[id(f)], 0, 1)
        out[:, : f.shape[1] // 2] = 1.0
        return out

    motion = flicker.clip_motion(frames)
    outputs = [blow_out_half(f) for f in frames]
    everywhere = flicker.flicker(outputs, motion)
    unclipped = flicker.flicker(outputs, motion, unclipped_in=frames)
    # the white half adds zero difference to the plain figure; over unclipped pixels only the jitter counts
    assert unclipped > 1.4 * everywhere


def test_no_measurable_pixel_is_an_error_not_nan():
    frames = _pan(3)
    motion = flicker.clip_motion(frames)
    white = [np.ones_like(f) for f in frames]
    with pytest.raises(AicamError, match="unclipped"):
        flicker.flicker(white, motion, unclipped_in=frames)
