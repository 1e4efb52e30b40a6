"""Where the photos and clips come from, and the one fixed train/eval split.

Data directory resolution: `--data DIR`, else `$AICAM_DATA`, else `../shared/data` seen from the
current directory or from the repository root, else the embedded default set: real photos that
ship with scikit-image, so a fresh machine works without any download.

THE SPLIT (the only place it is defined; evaluation images are never trained or calibrated on):
- FiveK pairs a4521, a4576, a4582: evaluation. The other 7 pairs: training.
- Kodak kodim21..kodim24: evaluation. kodim01..kodim20: training / calibration.
- CBSD68: the last 8 files by sorted name: evaluation. The other 60: training / calibration.
- video/bedroom: frames 000..139 training (inter-frame loss); 140..199 evaluation (flicker).
- Embedded skimage set (fallback): astronaut, coffee, chelsea train; rocket evaluation.
An explicitly given `--data DIR` is evaluated whole (every pair and clip in it); training and
calibration still take only its training split.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from .errors import AicamError
from .images import list_photos, read_photo, resize_long_side

Split = Literal["train", "eval", "all"]

EVAL_FIVEK = ("a4521", "a4576", "a4582")
EVAL_KODAK = ("kodim21", "kodim22", "kodim23", "kodim24")
EVAL_CBSD68_LAST = 8
VIDEO_TRAIN_FRAMES = 140
EMBEDDED_TRAIN = ("astronaut", "coffee", "chelsea")
EMBEDDED_EVAL = ("rocket",)
ENV_VAR = "AICAM_DATA"


@dataclass(frozen=True)
class DataSource:
    """A resolved data location. `root is None` means the embedded scikit-image set."""

    root: Path | None
    explicit: bool  # given by the user: its "eval" split is everything in it (training stays split)

    @property
    def description(self) -> str:
        return str(self.root) if self.root else "embedded scikit-image photos (no data directory found)"

    def with_fixed_split(self) -> "DataSource":
        """The same folder with the fixed split even for evaluation: for stages that calibrate or train on
        its training part and must measure on its evaluation part only."""
        return DataSource(self.root, explicit=False)


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def resolve(data: str | os.PathLike | None = None) -> DataSource:
    if data is not None:
        root = Path(data)
        if not root.is_dir():
            raise AicamError(f"--data {root}: not a directory. Give a folder laid out like ../shared/data "
                             "(fivek/input + fivek/expert_c, photos/*/, video/<clip>/)")
        return DataSource(root, explicit=True)
    env = os.environ.get(ENV_VAR)
    if env:
        root = Path(env)
        if not root.is_dir():
            raise AicamError(f"${ENV_VAR}={env}: not a directory; unset it or point it at a data folder")
        return DataSource(root, explicit=False)
    for candidate in (Path.cwd() / "../shared/data", _repo_root() / "../shared/data"):
        if candidate.is_dir():
            return DataSource(candidate.resolve(), explicit=False)
    return DataSource(None, explicit=False)


@dataclass(frozen=True)
class Pair:
    name: str
    input: Path
    target: Path


def _whole(source: DataSource, split: Split) -> bool:
    """Whether `split` is everything in the source: "all", or evaluating an explicitly given folder."""
    return split == "all" or (source.explicit and split == "eval")


def _is_eval_photo(group: str, path: Path, members: list[Path]) -> bool:
    if group == "kodak24":
        return path.stem in EVAL_KODAK
    if group == "cbsd68":
        return path in members[-EVAL_CBSD68_LAST:]
    return False


def fivek_pairs(source: DataSource, split: Split) -> list[Pair]:
    if source.root is None:
        return []
    inp, tgt = source.root / "fivek" / "input", source.root / "fivek" / "expert_c"
    if not inp.is_dir():
        return []
    pairs = [Pair(p.stem, p, tgt / p.name) for p in list_photos(inp) if (tgt / p.name).is_file()]
    if _whole(source, split):
        return pairs
    return [p for p in pairs if (p.name in EVAL_FIVEK) == (split == "eval")]


def photo_paths(source: DataSource, split: Split) -> list[Path]:
    """Non-FiveK photos (Kodak, CBSD68, any other photos/* folder)."""
    if source.root is None:
        return []
    out: list[Path] = []
    photos = source.root / "photos"
    if not photos.is_dir():
        return out
    for group in sorted(d for d in photos.iterdir() if d.is_dir()):
        members = list_photos(group)
        for p in members:
            is_eval = _is_eval_photo(group.name, p, members)
            if _whole(source, split) or is_eval == (split == "eval"):
                out.append(p)
    return out


def clip_dirs(source: DataSource) -> list[Path]:
    if source.root is None or not (source.root / "video").is_dir():
        return []
    return sorted(d for d in (source.root / "video").iterdir() if d.is_dir() and list_photos(d))


def clip_frames(source: DataSource, split: Split) -> list[list[Path]]:
    """Frame paths per clip; training uses the first VIDEO_TRAIN_FRAMES, evaluation the rest."""
    out = []
    for d in clip_dirs(source):
        frames = list_photos(d)
        if _whole(source, split):
            out.append(frames)
        elif split == "train":
            out.append(frames[:VIDEO_TRAIN_FRAMES])
        else:
            out.append(frames[VIDEO_TRAIN_FRAMES:])
    return [f for f in out if len(f) >= 2]


@lru_cache(maxsize=None)
def embedded_photo(name: str) -> np.ndarray:
    import skimage.data

    return skimage.data.__getattribute__(name)().astype(np.float32) / 255.0


def embedded_photos(split: Split) -> dict[str, np.ndarray]:
    names = {"train": EMBEDDED_TRAIN, "eval": EMBEDDED_EVAL, "all": EMBEDDED_TRAIN + EMBEDDED_EVAL}[split]
    return {n: embedded_photo(n) for n in names}


def load_photos(source: DataSource, split: Split, long_side: int | None = None) -> dict[str, np.ndarray]:
    """All non-FiveK photos of a split as float arrays (the embedded set when there is no data dir)."""
    if source.root is None:
        photos = embedded_photos(split)
    else:
        photos = {f"{p.parent.name}/{p.stem}": read_photo(p).pixels for p in photo_paths(source, split)}
    if long_side:
        photos = {k: resize_long_side(v, long_side) for k, v in photos.items()}
    return photos


def load_pairs(source: DataSource, split: Split, long_side: int | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    pairs = {}
    for p in fivek_pairs(source, split):
        x, y = read_photo(p.input).pixels, read_photo(p.target).pixels
        if x.shape != y.shape:
            raise AicamError(f"FiveK pair {p.name}: input {x.shape} and expert {y.shape} differ in size")
        if long_side:
            x, y = resize_long_side(x, long_side), resize_long_side(y, long_side)
        pairs[p.name] = (x, y)
    return pairs


def sized_photo(height: int, width: int) -> np.ndarray:
    """A real photo (Kodak kodim23, else the embedded 'rocket') resized to height x width, uint8: the
    picture the speed benchmarks and the gate's host timing run on (speed does not depend on content)."""
    import cv2

    from .images import read_native

    source = resolve()
    path = source.root / "photos" / "kodak24" / "kodim23.png" if source.root else None
    pixels = read_native(path) if path is not None and path.is_file() else (embedded_photo("rocket") * 255).astype(np.uint8)
    return cv2.resize(pixels, (width, height), interpolation=cv2.INTER_CUBIC)
