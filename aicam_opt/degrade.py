"""Realistic camera degradations that turn a good photo into an 'unretouched shot' (domain X).

Applied in linear light where the physics is linear (exposure, white balance, sensor noise), in
gamma space where it is not (contrast, tone curve). Parameter ranges follow typical phone
auto-exposure / auto-white-balance misses: +-1.5 EV, +-20% per-channel gain, flat or punchy tone.
"""
from __future__ import annotations

import numpy as np


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


def degrade(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lin = srgb_to_linear(photo.astype(np.float32))
    lin = lin * 2.0 ** rng.uniform(-1.5, 0.5)  # exposure: mostly under-exposed, as unretouched shots are
    lin = lin * rng.uniform(0.8, 1.2, size=3).astype(np.float32)  # white balance miss
    shot = rng.uniform(0.0, 0.002)  # Poisson-Gaussian sensor noise
    read = rng.uniform(0.0, 0.003)
    lin = lin + rng.standard_normal(lin.shape).astype(np.float32) * np.sqrt(shot * np.clip(lin, 0, 1) + read ** 2)
    out = linear_to_srgb(lin)
    contrast = rng.uniform(0.7, 1.15)
    out = (out - out.mean()) * contrast + out.mean()
    out = np.clip(out, 0.0, 1.0) ** rng.uniform(0.85, 1.2)  # tone curve
    return np.clip(out, 0.0, 1.0).astype(np.float32)
