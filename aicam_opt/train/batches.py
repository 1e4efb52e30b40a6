"""Random training crops from in-memory photo pools, and the training progress display."""
from __future__ import annotations

import contextlib
from typing import Iterator, Sequence, Union

import cv2
import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

Item = Union[np.ndarray, tuple]


class CropSampler:
    """Draws batches of random `crop` x `crop` patches (with random horizontal flips) from a pool.

    Pool items are HxWx3 arrays or tuples of same-sized arrays (pairs): the members of a tuple
    get the same crop, so pairs stay aligned. Returns (B,3,crop,crop) tensors, one per member.

    With `long_sides=(low, high)` each crop is taken as if its image had been area-downscaled to a
    random long side in that range (a larger window, area-resized to `crop`): the model sees the
    same content at many resolutions. Pool images then carry the highest resolution.
    """

    def __init__(self, pool: Sequence[Item], crop: int, seed: int, long_sides: tuple[int, int] | None = None):
        if not pool:
            raise ValueError("empty training pool")
        self.pool, self.crop, self.long_sides = pool, crop, long_sides
        self.rng = np.random.default_rng(seed)

    def _one(self, item: Item) -> tuple[np.ndarray, ...]:
        members = item if isinstance(item, tuple) else (item,)
        h, w = members[0].shape[:2]
        c = self.crop
        if h < c or w < c:
            raise ValueError(f"training image {h}x{w} is smaller than the crop {c}")
        window = c
        if self.long_sides:
            # image downscaled to long side L: a crop there covers c * (max(h, w) / L) source pixels
            long_side = self.rng.uniform(*self.long_sides)
            window = min(h, w, max(c, round(c * max(h, w) / long_side)))
        top, left = self.rng.integers(0, h - window + 1), self.rng.integers(0, w - window + 1)
        flip = self.rng.random() < 0.5
        out = tuple(m[top:top + window, left:left + window] for m in members)
        if window != c:
            out = tuple(cv2.resize(o, (c, c), interpolation=cv2.INTER_AREA) for o in out)
        return tuple(o[:, ::-1] for o in out) if flip else out

    def __call__(self, batch: int):
        picks = [self._one(self.pool[i]) for i in self.rng.integers(0, len(self.pool), size=batch)]
        stacked = [torch.from_numpy(np.stack([p[k] for p in picks]).transpose(0, 3, 1, 2).copy()) for k in range(len(picks[0]))]
        return stacked[0] if len(stacked) == 1 else tuple(stacked)


@contextlib.contextmanager
def progress(enabled: bool = True) -> Iterator[Progress]:
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("eta"), TimeRemainingColumn(), disable=not enabled)
    with bar:
        yield bar
