"""The images every quality figure is measured on, defined once: `aicam-opt evaluate`, the
compression stage's references and compile verification all read them from here.

- FiveK pairs (input, Expert C) of the evaluation split; on the embedded set, which has none,
  pseudo-pairs: a degraded copy of each evaluation photo as input, the photo as reference.
- The photos: the pairs' inputs plus the evaluation photos at PHOTO_LONG_SIDE (fidelity to the
  teacher, scale consistency and the compression stage's quality are measured on them).
"""
from __future__ import annotations

import numpy as np

from ..data import DataSource, Split, load_pairs, load_photos
from ..degrade import degrade

EMBEDDED_DEGRADE_SEED = 1234
PHOTO_LONG_SIDE = 768
PSEUDO_PAIR_PREFIX = "degraded/"


def evaluation_split(source: DataSource) -> Split:
    """An explicitly given folder is evaluated whole; otherwise the fixed evaluation split."""
    return "all" if source.explicit else "eval"


def fivek_set(source: DataSource) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    split = evaluation_split(source)
    pairs = load_pairs(source, split)
    if pairs:
        return pairs
    # Named apart from the photo itself, which is evaluated too (at another size).
    rng = np.random.default_rng(EMBEDDED_DEGRADE_SEED)
    return {f"{PSEUDO_PAIR_PREFIX}{name}": (degrade(img, rng), img) for name, img in load_photos(source, split, long_side=512).items()}


def evaluation_photos(source: DataSource, pairs: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """`pairs`' inputs (so their outputs can be reused) plus the evaluation photos."""
    photos = {name: x for name, (x, _) in pairs.items()}
    photos.update(load_photos(source, evaluation_split(source), long_side=PHOTO_LONG_SIDE))
    return photos
