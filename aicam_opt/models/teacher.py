"""The teacher: a two-path (CycleGAN-like) enhancement GAN.

`Generator` is used for both paths: G enhances (X -> Y, unretouched -> retouched) and F reverses
(Y -> X). It is a U-Net with skip connections plus a global branch (image-wide statistics, as in
DPE) that modulates the bottleneck and predicts a global colour transform (3x4 affine + per-channel
tone curve) applied to the input; the U-Net adds a local residual on top. An untrained generator is
the identity. Any resolution works: the input is padded to the encoder's stride and the output
cropped back. `Discriminator` is a PatchGAN.
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


CURVE_KNOTS = 8


def global_colour(x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Apply per-image colour params (B, 12 + 3K): identity + 3x4 affine, then a monotone curve per channel.

    All zeros is the identity. The curve is piecewise linear with K segments over [0, 1], each
    slope in (0, 2) (1 at zero), so it stays increasing: a retouch never inverts tones."""
    b = x.shape[0]
    affine = params[:, :12].view(b, 3, 4)
    y = x + (affine[:, :, :3, None, None] * x[:, None]).sum(dim=2) + affine[:, :, 3, None, None]
    slopes = 2 * torch.sigmoid(params[:, 12:].view(b, 3, CURVE_KNOTS, 1, 1))
    # One knot at a time: a (B, 3, K, H, W) intermediate would need K times the image's memory.
    out = y
    for k in range(CURVE_KNOTS):
        out = out + (slopes[:, :, k] - 1) * (y - k / CURVE_KNOTS).clamp(0.0, 1.0 / CURVE_KNOTS)
    return out


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
        # Global colour head: a 3x4 affine and a per-channel monotone tone curve from the same
        # statistics, applied to the input pixels. Most of a retoucher's edit is global; this gives it
        # a path that generalises from few pairs, and the U-Net only adds the local residual.
        self.colour_head = nn.Sequential(
            nn.Linear(bottleneck * 2, bottleneck), nn.LeakyReLU(0.2, inplace=True), nn.Linear(bottleneck, 12 + 3 * CURVE_KNOTS))
        nn.init.zeros_(self.colour_head[-1].weight)
        nn.init.zeros_(self.colour_head[-1].bias)
        self.up = nn.ModuleList(_block(chans[i + 1] + chans[i], chans[i]) for i in reversed(range(d)))
        self.out = nn.Conv2d(chans[0], 3, 3, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.stride = 2 ** d

    def forward(self, x: torch.Tensor, clamp: bool = True) -> torch.Tensor:
        """Enhanced x in [0, 1]; `clamp=False`: before the clamp (training's tone losses need the gradient
        of pixels the clamp would hold at 0 or 1)."""
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
        base = global_colour(xp, self.colour_head(stats))
        for up in self.up:
            skip = skips.pop()
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = up(torch.cat([y, skip], dim=1))
        out = base + self.out(y)
        out = out[..., :h, :w]
        return out.clamp(0.0, 1.0) if clamp else out


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
