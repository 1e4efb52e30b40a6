"""Run a model on one float HxWx3 image in PyTorch (the reference path; the compiled runtime is faster)."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..errors import AicamError


@torch.no_grad()
def enhance_array(model: nn.Module, image: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))[None]
    y = model(x)[0].numpy().transpose(1, 2, 0)
    if not np.all(np.isfinite(y)):
        raise AicamError(f"{type(model).__name__} produced NaN/inf output; its weights are broken "
                         "(re-create the checkpoint or the compressed candidate)")
    return np.ascontiguousarray(y)
