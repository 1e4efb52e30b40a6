"""The student: a guidance-map switch network (HDRNet-like bilateral grid with a content switch).

Two parts with very different cost profiles, kept as separate modules so that they can be costed,
compressed, placed on different units and compiled separately:

- `LowResPath` (fixed cost, whatever the photo size): the photo downsampled to `lowres_size`
  squared -> a small depthwise-separable CNN -> local features (grid_size x grid_size) and a global
  feature vector -> self-similarity aggregation -> the switch's branch weights -> K effect
  branches, each a bilateral grid of 3x4 affine colour transforms, shape (12, D, G, G).
- `FullResPath` (cost per pixel): a cheap guidance map g(x) in [0, 1] (learned 3x3 colour matrix,
  per-channel piecewise-linear curves, channel mix), a trilinear slice of the grid at (x, y, g(x)),
  and the per-pixel affine apply.
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import nn

from ..config import Config


class LowResWidths(Config):
    """Per-layer channel counts of a structurally pruned low-res path (None in StudentConfig: the
    default widths derived from `width`). Written by `aicam_opt.compress.prune`; stored with the
    checkpoint's config so a pruned student loads and saves like any other."""

    splat: list[int] = Field(..., min_length=1, description="output channels of each stride-2 stage")
    features: int = Field(..., ge=1, description="width of the fused local+global features the switch and branches read")
    local_hidden: int = Field(..., ge=1, description="channels between the two local-feature blocks")
    global_hidden: list[int] = Field(..., min_length=2, max_length=2, description="outputs of the two global-feature blocks")
    switch_hidden: int = Field(..., ge=1, description="hidden units of the switch classifier")
    branch_hidden: list[int] = Field(..., min_length=1, description="refine channels of each effect branch")


class StudentConfig(Config):
    lowres_size: int = Field(256, ge=32, le=1024, description="side of the square low-res input")
    width: int = Field(16, ge=4, le=128, description="channels of the first low-res conv; later stages double it")
    num_branches: int = Field(3, ge=1, le=16, description="K effect branches chosen by the switch")
    switch: Literal["soft", "hard"] = "soft"
    grid_depth: int = Field(8, ge=2, le=32, description="D: luminance bins of the bilateral grid")
    grid_size: int = Field(16, ge=4, le=64, description="G: spatial cells of the grid per side")
    guide: Literal["ccm_curve", "luma_curve"] = Field(
        "ccm_curve", description="guidance map: learned colour matrix + 3 curves, or fixed luma + 1 curve")
    curve_knots: int = Field(16, ge=2, le=64)
    self_similarity: bool = True
    similarity_dim: int = Field(16, ge=4, le=128)
    widths: LowResWidths | None = Field(None, description="pruned per-layer widths; None: derived from `width`")

    @model_validator(mode="after")
    def _grid_fits_lowres(self) -> "StudentConfig":
        if self.lowres_size % self.grid_size or (self.lowres_size // self.grid_size) & (self.lowres_size // self.grid_size - 1):
            raise ValueError(f"lowres_size ({self.lowres_size}) / grid_size ({self.grid_size}) must be a power of two")
        if self.lowres_size // self.grid_size < 2:
            raise ValueError("grid_size must be at most lowres_size / 2")
        if self.widths is not None:
            if len(self.widths.splat) != self.downsampling_stages:
                raise ValueError(f"widths.splat has {len(self.widths.splat)} stages; lowres_size / grid_size needs "
                                 f"{self.downsampling_stages}")
            if len(self.widths.branch_hidden) != self.num_branches:
                raise ValueError(f"widths.branch_hidden has {len(self.widths.branch_hidden)} entries for "
                                 f"{self.num_branches} branches")
        return self

    @property
    def downsampling_stages(self) -> int:
        """Stride-2 stages from lowres_size down to grid_size."""
        return (self.lowres_size // self.grid_size).bit_length() - 1

    def resolved_widths(self) -> LowResWidths:
        """`widths`, or the unpruned widths: `width` doubling per stage up to 4x, trunk width everywhere after."""
        if self.widths is not None:
            return self.widths
        splat = [self.width * min(2 ** i, 4) for i in range(self.downsampling_stages)]
        c = splat[-1]
        return LowResWidths(splat=splat, features=c, local_hidden=c, global_hidden=[c, c], switch_hidden=c,
                            branch_hidden=[c] * self.num_branches)


def conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class DepthwiseSeparable(nn.Module):
    """3x3 depthwise + 1x1 pointwise: ~8x fewer MACs than a full 3x3 conv at these widths."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False)
        self.bn1 = nn.BatchNorm2d(cin)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.depthwise(x)))
        return F.relu(self.bn2(self.pointwise(x)))


class SelfSimilarity(nn.Module):
    """Non-local aggregation over the G x G cells: cells with similar features share transforms.

    The branch heads that follow end in a linear 1x1 conv, so aggregating their input features with
    the affinity matrix A is the same as aggregating the grid coefficients they produce; doing it on
    the features is cheaper (C channels instead of 12*D) and benefits all K branches at once.
    """

    def __init__(self, channels: int, dim: int):
        super().__init__()
        self.query = nn.Conv2d(channels, dim, 1)
        self.key = nn.Conv2d(channels, dim, 1)
        self.mix_logit = nn.Parameter(torch.tensor(-2.0))  # starts as a light touch: sigmoid(-2) = 0.12
        self.scale = dim ** -0.5

    def affinity(self, feats: torch.Tensor) -> torch.Tensor:
        """The self-similarity map: (B, N, N) row-stochastic, N = G*G cells."""
        q = self.query(feats).flatten(2).transpose(1, 2)  # B, N, dim
        k = self.key(feats).flatten(2)  # B, dim, N
        return torch.softmax(torch.bmm(q, k) * self.scale, dim=-1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        b, c, h, w = feats.shape
        aggregated = torch.bmm(feats.flatten(2), self.affinity(feats).transpose(1, 2)).view(b, c, h, w)
        mix = torch.sigmoid(self.mix_logit)
        return feats + mix * (aggregated - feats)


class EffectBranch(nn.Module):
    """One effect: features -> bilateral grid of 3x4 affine transforms, initialised to identity."""

    def __init__(self, channels: int, depth: int, hidden: int | None = None):
        super().__init__()
        hidden = hidden or channels
        self.refine = DepthwiseSeparable(channels, hidden)
        self.head = nn.Conv2d(hidden, 12 * depth, 1)
        self.depth = depth
        nn.init.normal_(self.head.weight, std=1e-3)
        identity = torch.tensor([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], dtype=torch.float32)
        with torch.no_grad():
            self.head.bias.copy_(identity.repeat_interleave(depth))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        coeffs = self.head(self.refine(feats))  # B, 12*D, G, G
        b, _, g1, g2 = coeffs.shape
        return coeffs.view(b, 12, self.depth, g1, g2)


class Switch(nn.Module):
    """Content classifier over global features: weights of the K effect branches."""

    def __init__(self, channels: int, num_branches: int, hidden: int | None = None):
        super().__init__()
        hidden = hidden or channels
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, num_branches)

    def forward(self, global_feats: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.fc2(F.relu(self.fc1(global_feats))), dim=-1)


def downsample(x: torch.Tensor, size: int) -> torch.Tensor:
    """Integer box-average then bilinear to size x size: cheap, export-friendly, little aliasing."""
    h, w = x.shape[-2:]
    k = max(1, min(h // size, w // size))
    if k > 1:
        x = F.avg_pool2d(x, k, k)
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


class LowResPath(nn.Module):
    """Low-res image (B, 3, S, S) -> bilateral grid (B, 12, D, G, G). Fixed cost."""

    def __init__(self, cfg: StudentConfig):
        super().__init__()
        self.cfg = cfg
        widths = cfg.resolved_widths()
        chans = widths.splat  # one stride-2 stage per entry, to reach G
        layers: list[nn.Module] = [conv_bn_relu(3, chans[0], stride=2)]
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers.append(DepthwiseSeparable(cin, cout, stride=2))
        self.splat = nn.Sequential(*layers)
        c_splat, c = chans[-1], widths.features
        g0, g1 = widths.global_hidden
        self.local = nn.Sequential(DepthwiseSeparable(c_splat, widths.local_hidden), DepthwiseSeparable(widths.local_hidden, c))
        self.global_conv = nn.Sequential(DepthwiseSeparable(c_splat, g0, stride=2), DepthwiseSeparable(g0, g1, stride=2))
        self.global_fc = nn.Linear(g1, c)
        self.similarity = SelfSimilarity(c, cfg.similarity_dim) if cfg.self_similarity else None
        self.switch = Switch(c, cfg.num_branches, widths.switch_hidden)
        self.branches = nn.ModuleList(EffectBranch(c, cfg.grid_depth, h) for h in widths.branch_hidden)
        self.channels = c

    def features(self, low: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.splat(low)
        global_feats = self.global_fc(F.adaptive_avg_pool2d(self.global_conv(x), 1).flatten(1))
        fused = F.relu(self.local(x) + global_feats[:, :, None, None])
        if self.similarity is not None:
            fused = self.similarity(fused)
        return fused, global_feats

    def branch_weights(self, low: torch.Tensor) -> torch.Tensor:
        return self.switch(self.features(low)[1])

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        fused, global_feats = self.features(low)
        weights = self.switch(global_feats)  # B, K
        if self.cfg.num_branches == 1:
            return self.branches[0](fused)
        if self.cfg.switch == "hard" and not self.training:
            # Top-1: only the chosen branch runs (per image).
            choice = weights.argmax(dim=1)
            return torch.cat([self.branches[int(k)](fused[i:i + 1]) for i, k in enumerate(choice)])
        grids = torch.stack([branch(fused) for branch in self.branches], dim=1)  # B, K, 12, D, G, G
        return (grids * weights[:, :, None, None, None, None]).sum(dim=1)


class GuidanceMap(nn.Module):
    """Per-pixel guide g(x) in [0, 1]: the grid's depth coordinate."""

    def __init__(self, cfg: StudentConfig):
        super().__init__()
        self.variant = cfg.guide
        n_curves = 3 if cfg.guide == "ccm_curve" else 1
        knots = cfg.curve_knots
        if cfg.guide == "ccm_curve":
            self.ccm = nn.Conv2d(3, 3, 1)
            with torch.no_grad():
                self.ccm.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
                self.ccm.bias.zero_()
        else:
            self.register_buffer("luma", torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1))
        # Piecewise-linear curve per channel: sum_k slope_k * relu(x - t_k), starting as the identity.
        self.register_buffer("thresholds", torch.linspace(0, 1, knots + 1)[:-1].view(1, 1, knots, 1, 1).repeat(1, n_curves, 1, 1, 1))
        slopes = torch.zeros(1, n_curves, knots, 1, 1)
        slopes[:, :, 0] = 1.0
        self.slopes = nn.Parameter(slopes)
        self.mix = nn.Conv2d(n_curves, 1, 1)
        with torch.no_grad():
            self.mix.weight.fill_(1.0 / n_curves)
            self.mix.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.variant == "ccm_curve":
            x = self.ccm(x)
        else:
            x = (x * self.luma).sum(dim=1, keepdim=True)
        curves = (self.slopes * F.relu(x.unsqueeze(2) - self.thresholds)).sum(dim=2)
        return self.mix(curves).clamp(0.0, 1.0)  # B, 1, H, W


def slice_grid(grid: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """Trilinear lookup of grid (B, 12, D, G, G) at every pixel (x, y, guide): (B, 12, H, W).

    Coordinates use align_corners=True: pixel column 0 and W-1 land on the first and last grid
    cells, depth 0 and 1 on the first and last bins; outside values clamp (padding 'border').
    """
    b, _, h, w = guide.shape
    xs = torch.linspace(-1.0, 1.0, w, dtype=guide.dtype, device=guide.device).view(1, 1, w).expand(b, h, w)
    ys = torch.linspace(-1.0, 1.0, h, dtype=guide.dtype, device=guide.device).view(1, h, 1).expand(b, h, w)
    zs = guide[:, 0] * 2.0 - 1.0
    coords = torch.stack([xs, ys, zs], dim=-1).unsqueeze(1)  # B, 1, H, W, 3
    out = F.grid_sample(grid, coords, mode="bilinear", padding_mode="border", align_corners=True)
    return out[:, :, 0]


def apply_affine(coeffs: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """out_c = sum_j A[c, j] * x_j + A[c, 3] per pixel; coeffs (B, 12, H, W), x (B, 3, H, W)."""
    b, _, h, w = coeffs.shape
    a = coeffs.view(b, 3, 4, h, w)
    return (a[:, :, :3] * x.unsqueeze(1)).sum(dim=2) + a[:, :, 3]


class FullResPath(nn.Module):
    """(image (B, 3, H, W), grid) -> enhanced image. Cost per pixel; what runs at 100 MP."""

    def __init__(self, cfg: StudentConfig):
        super().__init__()
        self.guide = GuidanceMap(cfg)

    def forward(self, x: torch.Tensor, grid: torch.Tensor, clamp: bool = True) -> torch.Tensor:
        out = apply_affine(slice_grid(grid, self.guide(x)), x)
        return out.clamp(0.0, 1.0) if clamp else out


class StudentNet(nn.Module):
    """The whole student: enhanced = full_res(x, low_res(downsample(x)))."""

    def __init__(self, cfg: StudentConfig | None = None):
        super().__init__()
        self.cfg = cfg or StudentConfig()
        self.low_res = LowResPath(self.cfg)
        self.full_res = FullResPath(self.cfg)

    def grid(self, x: torch.Tensor) -> torch.Tensor:
        return self.low_res(downsample(x, self.cfg.lowres_size))

    def with_grid(self, x: torch.Tensor, grid: torch.Tensor, clamp: bool = True) -> torch.Tensor:
        """The full-res path with a given grid (a video frame may use another frame's)."""
        return self.full_res(x, grid, clamp)

    def forward(self, x: torch.Tensor, clamp: bool = True) -> torch.Tensor:
        """Enhanced x in [0, 1]; `clamp=False`: before the clamp, for training's tone losses."""
        return self.with_grid(x, self.grid(x), clamp)
