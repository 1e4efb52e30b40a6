"""The images every quality figure is measured on, defined once: `aicam-opt evaluate`, the
compression stage's references and compile verification all read them from here.

- FiveK pairs (input, Expert C) of the evaluation split; on the embedded set, which has none,
  pseudo-pairs: a degraded copy of each evaluation photo as input, the photo as reference.
- The photos: the pairs' inputs plus the evaluation photos at PHOTO_LONG_SIDE (fidelity to the
  teacher, scale consistency and the compression stage's quality are measured on them).
"""
from __future__ import annotations

import numpy as np

from ..data import DataSource, Split, fivek_pairs, load_pairs, load_photos, photo_paths
from ..degrade import degrade
from ..errors import AicamError

EMBEDDED_DEGRADE_SEED = 1234
PHOTO_LONG_SIDE = 768
PSEUDO_PAIR_PREFIX = "degraded/"


def evaluation_split(source: DataSource) -> Split:
    """A given folder without training-split images is evaluated whole; otherwise the fixed evaluation split."""
    return "all" if source.evaluated_whole else "eval"


def require_evaluation_images(source: DataSource) -> None:
    """Refuse, before any compute, a source whose evaluation part has neither FiveK pairs nor photos:
    every quality figure would be a mean over zero images."""
    if source.root is None:
        return  # the embedded set always has its evaluation photo
    split = evaluation_split(source)
    if fivek_pairs(source, split) or photo_paths(source, split):
        return
    if split == "all":
        found = "no FiveK pair and no photo"
        fix = ("put pairs in fivek/input/NAME and fivek/expert_c/NAME (same file name), or photos in "
               "photos/<any folder>/, or give another folder")
    else:
        found = "no image of the fixed split's evaluation part" + (
            f" (only {len(source.training_images)} of its training part)" if source.training_images else "")
        fix = ("add evaluation images (FiveK pairs named a4521, a4576 or a4582; photos/kodak24/kodim21..24; the last "
               "8 of photos/cbsd68; photos in another photos/<folder>/ count only without training-split images), or "
               "give a folder without training-split images, which is evaluated whole")
    raise AicamError(f"data folder {source.root}: no evaluation images: found {found}. Quality is measured on FiveK "
                     f"pairs and photos (a clip alone gives flicker only); {fix}")


def fivek_set(source: DataSource) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The evaluation pairs (module doc); an AicamError when the source has no evaluation image."""
    require_evaluation_images(source)
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
