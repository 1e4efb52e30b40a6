"""Where the photos and clips come from, and the one fixed train/eval split.

Data directory resolution: `--data DIR`, else `$AICAM_DATA`, else `../shared/data` seen from the
current directory or from the repository root, else the embedded default set: real photos that
ship with scikit-image, so a fresh machine works without any download.

THE SPLIT (the only place it is defined; evaluation images are never trained or calibrated on):
- FiveK pairs a4521, a4576, a4582: evaluation. The other 7 pairs (TRAIN_FIVEK): training.
- Kodak kodim21..kodim24: evaluation. kodim01..kodim20: training / calibration.
- CBSD68: the last 8 files by sorted name: evaluation. The other 60: training / calibration.
- video/bedroom: frames 000..139 training (inter-frame loss); 140..199 evaluation (flicker).
- Embedded skimage set (fallback): astronaut, coffee, chelsea train; rocket evaluation.
An explicitly given `--data DIR` that holds images of the training split (`training_split_images`:
a TRAIN_FIVEK pair, a photos/kodak24 photo other than kodim21..24, a photos/cbsd68 photo before its
last 8, or the first 140 frames of a clip longer than that; ../shared/data and copies of it) is
evaluated on its evaluation split only; any other given folder is evaluation data as a whole (every
pair, photo and clip in it). Training and calibration take only a folder's training split.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from .errors import AicamError
from .images import list_photos, read_photo, resize_long_side

Split = Literal["train", "eval", "all"]

EVAL_FIVEK = ("a4521", "a4576", "a4582")
TRAIN_FIVEK = ("a2917", "a3102", "a4232", "a4591", "a4723", "a4742", "a4783")
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
    explicit: bool  # given by the user: evaluated whole unless it holds training-split images

    @property
    def description(self) -> str:
        return str(self.root) if self.root else "embedded scikit-image photos (no data directory found)"

    @cached_property
    def training_images(self) -> tuple[Path, ...]:
        """The files of the fixed training split in this folder (`training_split_images`)."""
        return training_split_images(self.root) if self.root is not None else ()

    @property
    def evaluated_whole(self) -> bool:
        """Whether its evaluation split is everything in it: a given folder without training-split images."""
        return self.explicit and not self.training_images

    def split_description(self) -> str:
        """What evaluation reads from this source, and why (the reports print it)."""
        if not self.explicit:
            return f"the evaluation split of {self.description} (the fixed split, aicam_opt.data)"
        if self.evaluated_whole:
            return f"--data {self.root} holds no image of the training split: everything in it is evaluation data"
        per_folder = Counter(p.parent.relative_to(self.root).as_posix() for p in self.training_images)
        found = ", ".join(f"{count} in {folder}" for folder, count in sorted(per_folder.items()))
        return (f"--data {self.root} holds {len(self.training_images)} images of the training split ({found}): "
                "only its evaluation split is used")

    def with_fixed_split(self) -> "DataSource":
        """The same folder with the fixed split even for evaluation: for stages that calibrate or train on
        its training part and must measure on its evaluation part only."""
        return DataSource(self.root, explicit=False)


def build_sources(given: DataSource) -> tuple[DataSource, DataSource]:
    """(training, evaluation) sources of a stage that calibrates or trains and then measures (compress): a
    folder holding training-split images keeps the fixed split for both; any other given folder is
    evaluation data as a whole, so the training part comes from the default data (`resolve()`)."""
    if given.evaluated_whole:
        return resolve(), given
    fixed = given.with_fixed_split()
    return fixed, fixed


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
    """Whether `split` is everything in the source: "all", or evaluating a given folder without training images."""
    return split == "all" or (split == "eval" and source.evaluated_whole)


def training_split_images(root: Path) -> tuple[Path, ...]:
    """The files under `root` that the fixed split trains on, found by their place and name: FiveK
    inputs of the TRAIN_FIVEK pairs, Kodak photos in photos/kodak24 other than the evaluation ones,
    photos/cbsd68 photos before its last EVAL_CBSD68_LAST, the first VIDEO_TRAIN_FRAMES frames of a
    clip longer than that (a shorter clip has no evaluation part, so it is not the split's clip)."""
    found: list[Path] = []
    fivek = root / "fivek" / "input"
    if fivek.is_dir():
        found += [p for p in list_photos(fivek) if p.stem in TRAIN_FIVEK]
    for group in ("kodak24", "cbsd68"):
        if (root / "photos" / group).is_dir():
            members = list_photos(root / "photos" / group)
            found += [p for p in members if not _is_eval_photo(group, p, members)]
    for clip in clip_dirs(DataSource(root, explicit=False)):
        frames = list_photos(clip)
        if len(frames) > VIDEO_TRAIN_FRAMES:
            found += frames[:VIDEO_TRAIN_FRAMES]
    return tuple(found)


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
