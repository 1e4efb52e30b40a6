"""Recovery: a short distillation from the teacher after configuration/pruning, continuing from the
candidate's own weights (`train_student(..., student=net)`: L1 + SSIM to the teacher's output plus
the inter-frame and camera-motion consistency losses). The budget (`steps`) is the knob: small for
the search, larger for the final winners.
"""
from __future__ import annotations

import copy
import io
from contextlib import redirect_stdout

import torch

from ..data import DataSource
from ..models.student import StudentNet
from ..train.student import DistillationData, SteadinessConfig, StudentTrainConfig, distillation_data, train_student

# A fine-tune, not a training from scratch: a tenth of the student's own peak learning rate, so
# that the inherited weights are adjusted rather than overwritten.
RECOVERY_LR = 2e-4

# The distillation data of the last (source, teacher, sizes, seed): a search recovers many candidates
# against the same teacher on the same photos, and preparing the data costs more than the recovery.
_DATA_CACHE: dict[tuple, DistillationData] = {}
MAX_RECOVERY_VIDEO_PAIRS = 40


def recover(net: StudentNet, source: DataSource, steps: int, teacher: torch.nn.Module,
            lr: float = RECOVERY_LR, seed: int = 0, batch: int = 4, crop: int = 128) -> tuple[StudentNet, dict]:
    """A recovered copy of `net` after `steps` distillation steps (steps 0: an unchanged copy)."""
    net = copy.deepcopy(net)
    if steps <= 0:
        return net.eval(), {"steps": 0}
    # Crops only: the steadiness stage's whole-frame steps cost about 20x a crop step (the student's own training).
    cfg = StudentTrainConfig(model=net.cfg, steps=steps, lr=lr, seed=seed, batch=batch, crop=crop,
                             freeze_batchnorm=True, steadiness=SteadinessConfig(steps=0))
    key = (source.root, source.explicit, cfg.long_side, cfg.video_long_side, cfg.seed, id(teacher))
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()
        # A recovery of a few steps samples few frame pairs: no need for the flow of every one.
        _DATA_CACHE[key] = distillation_data(source, cfg, teacher, max_video_pairs=MAX_RECOVERY_VIDEO_PAIRS)
    with redirect_stdout(io.StringIO()):  # train_student prints a line every 50 steps without a progress bar
        recovered, info = train_student(source, cfg, show_progress=False, teacher=teacher, student=net,
                                        data=_DATA_CACHE[key])
    history = info.get("history", [])
    return recovered.eval(), {"steps": steps, "lr": lr, "seconds": info.get("seconds"),
                              "first_loss": history[0]["loss"] if history else None,
                              "last_loss": history[-1]["loss"] if history else None, "data": info.get("data")}
