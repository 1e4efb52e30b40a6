"""Run a model on one float HxWx3 image in PyTorch (the reference path; the compiled runtime is faster)."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from ..errors import AicamError
from .student import StudentNet


def _batch(image: np.ndarray) -> torch.Tensor:
    """HxWx3 float image -> (1, 3, H, W) tensor."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))[None]


def _image(y: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) tensor -> HxWx3 array (a view)."""
    return y[0].numpy().transpose(1, 2, 0)


@torch.no_grad()
def enhance_array(model: nn.Module, image: np.ndarray) -> np.ndarray:
    y = _image(model(_batch(image)))
    if not np.all(np.isfinite(y)):
        raise AicamError(f"{type(model).__name__} produced NaN/inf output; its weights are broken "
                         "(re-create the checkpoint or the compressed candidate)")
    return np.ascontiguousarray(y)


def enhance_with_grid_every(model: nn.Module, grid_every: int) -> Callable[[np.ndarray], np.ndarray]:
    """An enhancer for the frames of one clip, in order: the grid is predicted on frames 0, N, 2N, ...
    and used as it is on the frames between: the runtime's grid reuse (runtime/grid_reuse.py) without
    its smoothing and scene-cut test, as the search measures flicker (one scene, no smoothing). With N 1
    it equals `enhance_array` frame by frame. `model`: a student with `grid(x)` and `with_grid(x, grid)`."""
    held: list[torch.Tensor] = []
    frames = 0

    @torch.no_grad()
    def enhance(image: np.ndarray) -> np.ndarray:
        nonlocal frames
        x = _batch(image)
        if frames % grid_every == 0:
            held[:] = [model.grid(x)]
        frames += 1
        y = _image(model.with_grid(x, held[0]))
        if not np.all(np.isfinite(y)):
            raise AicamError(f"{type(model).__name__} produced NaN/inf output; its weights are broken "
                             "(re-create the checkpoint or the compressed candidate)")
        return np.ascontiguousarray(y)
    return enhance


def enhance_with_held_grid(student: StudentNet) -> Callable[[np.ndarray], np.ndarray]:
    """An enhancer for the frames of one clip, in order: the grid is predicted on the first frame and
    kept. The student with no grid change between frames: the least flicker any temporal smoothing of
    the grid (runtime.smoothing) can reach, so the rest is the per-pixel path's response."""
    held: list[torch.Tensor] = []

    @torch.no_grad()
    def enhance(image: np.ndarray) -> np.ndarray:
        x = _batch(image)
        if not held:
            held.append(student.grid(x))
        return np.ascontiguousarray(_image(student.full_res(x, held[0])))
    return enhance
