"""Where a look loses detail: highlights blown to white, shadows crushed to black.

A pixel is *clipped* when all three channels sit at the 8-bit extreme (>= 250 or <= 5 levels): its
colour and texture are gone. The luma variant asks the same of Rec. 709 luma, which also catches a
saturated colour whose brightest channel is clipped. Fractions are of the image's pixels; the
comparison that matters is the output's fraction against the input's.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from skimage.color import rgb2gray

HIGHLIGHT = 250 / 255
SHADOW = 5 / 255


@dataclass(frozen=True)
class ToneExtremes:
    highlights: float       # fraction of pixels with every channel >= 250 levels
    highlights_luma: float  # fraction with luma >= 250 levels
    shadows: float          # fraction with every channel <= 5 levels
    shadows_luma: float     # fraction with luma <= 5 levels

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _float(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    return np.clip(image, 0.0, 1.0)


def tone_extremes(image: np.ndarray) -> ToneExtremes:
    """Clipped-highlight and crushed-shadow fractions of an HxWx3 image (uint8, uint16 or float in [0, 1])."""
    x = _float(image)
    luma = rgb2gray(x)
    return ToneExtremes(highlights=float((x >= HIGHLIGHT).all(axis=2).mean()),
                        highlights_luma=float((luma >= HIGHLIGHT).mean()),
                        shadows=float((x <= SHADOW).all(axis=2).mean()),
                        shadows_luma=float((luma <= SHADOW).mean()))


def at_extreme(image: np.ndarray) -> np.ndarray:
    """Pixels where any channel sits at an 8-bit extreme: they cannot change with the scene in that
    channel, so a steadiness measure that counts them credits lost detail."""
    x = _float(image)
    return ((x >= HIGHLIGHT) | (x <= SHADOW)).any(axis=2)
