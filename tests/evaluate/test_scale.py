"""Scale consistency tells a scale-free look from one that changes with the photo's size."""
import numpy as np
from scipy.ndimage import gaussian_filter

from aicam_opt.data import embedded_photo
from aicam_opt.evaluate.scale import half_size, scale_consistency


def tone_curve(x):  # pointwise: the same look at any size
    return np.clip(x ** 0.8, 0, 1)


def local_contrast(x):  # unsharp mask of a fixed radius in pixels: covers twice the scene at half size
    base = np.stack([gaussian_filter(x[..., c], 4.0) for c in range(3)], axis=-1)
    return np.clip(x + 1.5 * (x - base), 0, 1)


def test_pointwise_look_is_consistent_and_fixed_radius_look_is_not():
    photos = {n: embedded_photo(n)[:256, :384] for n in ("astronaut", "coffee")}
    scores = {f.__name__: scale_consistency(f, photos, {n: f(x) for n, x in photos.items()})
              for f in (tone_curve, local_contrast)}
    assert scores["tone_curve"]["images"] == 2
    assert scores["tone_curve"]["psnr"] > 35 and scores["tone_curve"]["deltae"] < 0.5
    assert scores["local_contrast"]["psnr"] < scores["tone_curve"]["psnr"] - 8
    assert scores["local_contrast"]["deltae"] > 2 * scores["tone_curve"]["deltae"]


def test_half_size_halves_the_long_side():
    assert half_size(np.zeros((270, 481, 3), np.float32)).shape == (135, 240, 3)
