"""Realistic camera degradations that turn a good photo into an 'unretouched shot' (domain X).

Applied in linear light where the physics is linear (exposure, white balance, sensor noise), in
gamma space where it is not (contrast, tone curve). Parameter ranges follow typical phone
auto-exposure / auto-white-balance misses: +-1.5 EV, +-20% per-channel gain, flat or punchy tone. `overexpose` is the
other miss: +0.5..+1.5 EV, the brightest parts saturating to white in linear light as a sensor does.
"""
from __future__ import annotations

import numpy as np


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


UNDER_EXPOSURE_EV = (-1.5, 0.5)  # mostly under-exposed, as unretouched shots are
OVER_EXPOSURE_EV = (0.5, 1.5)


def degrade(photo: np.ndarray, rng: np.random.Generator, exposure_ev: tuple[float, float] = UNDER_EXPOSURE_EV) -> np.ndarray:
    lin = srgb_to_linear(photo.astype(np.float32))
    lin = lin * 2.0 ** rng.uniform(*exposure_ev)  # linear_to_srgb saturates what this pushes past 1
    lin = lin * rng.uniform(0.8, 1.2, size=3).astype(np.float32)  # white balance miss
    shot = rng.uniform(0.0, 0.002)  # Poisson-Gaussian sensor noise
    read = rng.uniform(0.0, 0.003)
    lin = lin + rng.standard_normal(lin.shape).astype(np.float32) * np.sqrt(shot * np.clip(lin, 0, 1) + read ** 2)
    out = linear_to_srgb(lin)
    contrast = rng.uniform(0.7, 1.15)
    out = (out - out.mean()) * contrast + out.mean()
    out = np.clip(out, 0.0, 1.0) ** rng.uniform(0.85, 1.2)  # tone curve
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def overexpose(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An over-exposed shot: highlights really clipped (saturated in linear light), the rest as `degrade`."""
    return degrade(photo, rng, OVER_EXPOSURE_EV)
