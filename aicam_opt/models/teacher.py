"""The teacher: a two-path (CycleGAN-like) enhancement GAN.

`Generator` is used for both paths: G enhances (X -> Y, unretouched -> retouched) and F reverses
(Y -> X). It is a U-Net with skip connections plus a global branch (image-wide statistics, as in
DPE) that modulates the bottleneck, and a residual output: it predicts a correction of the input,
so an untrained generator is close to the identity. Any resolution works: the input is padded to
the encoder's stride and the output cropped back. `Discriminator` is a PatchGAN.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from ..config import Config


class TeacherConfig(Config):
    width: int = Field(16, ge=4, le=128, description="channels of the first encoder stage")
    depth: int = Field(3, ge=2, le=5, description="number of stride-2 encoder stages")
    disc_width: int = Field(32, ge=4, le=256)


def _block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    # InstanceNorm would erase the global exposure/colour the teacher must learn to correct, so no norm here.
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(cout, cout, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True),
    )


class Generator(nn.Module):
    def __init__(self, cfg: TeacherConfig | None = None):
        super().__init__()
        self.cfg = cfg or TeacherConfig()
        w, d = self.cfg.width, self.cfg.depth
        chans = [w * min(2 ** i, 4) for i in range(d + 1)]
        self.stem = _block(3, chans[0])
        self.down = nn.ModuleList(_block(chans[i], chans[i + 1], stride=2) for i in range(d))
        bottleneck = chans[-1]
        self.global_mlp = nn.Sequential(
            nn.Linear(bottleneck * 2, bottleneck), nn.LeakyReLU(0.2, inplace=True), nn.Linear(bottleneck, bottleneck))
        self.up = nn.ModuleList(_block(chans[i + 1] + chans[i], chans[i]) for i in reversed(range(d)))
        self.out = nn.Conv2d(chans[0], 3, 3, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.stride = 2 ** d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pad_h, pad_w = (-h) % self.stride, (-w) % self.stride
        xp = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else x
        skips = [self.stem(xp)]
        for down in self.down:
            skips.append(down(skips[-1]))
        bottom = skips.pop()
        # Global branch: mean and max over the whole image, so the correction is content-aware
        # image-wide (exposure, white balance), not only local.
        stats = torch.cat([bottom.mean(dim=(2, 3)), bottom.amax(dim=(2, 3))], dim=1)
        y = bottom + self.global_mlp(stats)[:, :, None, None]
        for up in self.up:
            skip = skips.pop()
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = up(torch.cat([y, skip], dim=1))
        out = xp + self.out(y)
        return out[..., :h, :w].clamp(0.0, 1.0)


class Discriminator(nn.Module):
    """PatchGAN: a map of real/fake scores, one per ~35x35 receptive field."""

    def __init__(self, cfg: TeacherConfig | None = None):
        super().__init__()
        w = (cfg or TeacherConfig()).disc_width
        self.net = nn.Sequential(
            nn.Conv2d(3, w, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(w, w * 2, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(w * 2, w * 4, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(w * 4, 1, 4, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
