"""Switch / guidance-map / grid configuration: build the new StudentNet and inherit the trained
student's weights wherever they still fit, so that recovery starts close to the student.

What each change inherits (everything else is copied tensor by tensor where name and shape agree):
- Fewer branches (K' < K): the K' branches the switch uses most on training images are kept, with
  their rows of the switch's last layer (the softmax renormalises over the survivors).
- More branches (K' > K): every branch is kept and the most used ones are duplicated; each copy's
  switch logit is lowered by log(copies), so the soft mixture is exactly the student's at the start.
- Hard switch: no weight change (the trained switch's argmax picks the branch); recovery trains the
  soft mixture, as the student's own training does.
- Grid depth D -> D': each head's 12 x D output channels are a linear function of the features, so
  resampling its weights and biases along D (linear, align_corners as the slice uses) resamples the
  grid it predicts.
- Grid size G or low-res size S: the convolutions do not depend on the spatial size, so they are all
  kept; only the number of stride-2 stages changes (S / G = 2^n): a removed last stage is dropped
  (the widths after it are unchanged), an added stage starts freshly initialised.
- Guide ccm_curve -> luma_curve: the single curve is the mean of the three, the mix keeps its total
  weight; luma_curve -> ccm_curve: identity colour matrix, the curve copied to the three channels,
  the mix split evenly. Self-similarity switched on: a fresh block with its default light mix.
- Curve knots K -> K': each curve is refitted by least squares on [0, 1] with the new knots (fixed,
  evenly spaced), so the guide starts as the closest K'-knot curve to the trained one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..models.student import StudentConfig, StudentNet


@dataclass
class Inheritance:
    """What the configured student took from the source: tensor names by how they were obtained."""

    copied: list[str] = field(default_factory=list)
    adapted: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)
    branch_sources: list[int] = field(default_factory=list)
    branch_usage: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        return {"copied": len(self.copied), "adapted": len(self.adapted), "fresh": len(self.fresh),
                "fresh_tensors": self.fresh, "branch_sources": self.branch_sources,
                "branch_usage": [round(u, 4) for u in self.branch_usage]}


@torch.no_grad()
def branch_usage(net: StudentNet, lowres_images: list[torch.Tensor]) -> torch.Tensor:
    """Mean switch weight of each branch over the (training) images: (K,)."""
    weights = torch.cat([net.low_res.branch_weights(img) for img in lowres_images])
    return weights.mean(dim=0)


def branch_sources(usage: torch.Tensor, new_k: int) -> list[int]:
    """Source branch of each new branch: the most used first; beyond K, the most used again."""
    order = torch.argsort(usage, descending=True).tolist()
    return [order[i % len(order)] for i in range(new_k)]


def resample_depth(tensor: torch.Tensor, old_depth: int, new_depth: int) -> torch.Tensor:
    """Head weight (12*D, C, 1, 1) or bias (12*D,) -> 12*D' channels, linear along D."""
    rest = tensor.shape[1:]
    per_coeff = tensor.reshape(12, old_depth, -1).permute(0, 2, 1)  # 12, C', D
    resampled = F.interpolate(per_coeff, size=new_depth, mode="linear", align_corners=True)
    return resampled.permute(0, 2, 1).reshape(12 * new_depth, *rest)


@torch.no_grad()
def configure(source: StudentNet, cfg: StudentConfig, lowres_images: list[torch.Tensor]) -> tuple[StudentNet, Inheritance]:
    """A StudentNet of `cfg` carrying `source`'s weights wherever they fit (see the module doc).

    `lowres_images`: training photos at the source's low-res input size, used only to rank branches."""
    target = StudentNet(cfg).eval()
    old = source.state_dict()
    new = target.state_dict()
    report = Inheritance()
    k_old, k_new = source.cfg.num_branches, cfg.num_branches
    if k_old != k_new:
        usage = branch_usage(source, lowres_images)
        report.branch_usage = usage.tolist()
        report.branch_sources = branch_sources(usage, k_new)
    else:
        report.branch_sources = list(range(k_new))
    copies = {b: report.branch_sources.count(b) for b in report.branch_sources}

    for name, tensor in new.items():
        source_name = _source_name(name, report.branch_sources)
        value = old.get(source_name)
        if name.startswith("low_res.switch.fc2."):
            rows = old[name][report.branch_sources].clone()
            if name.endswith("bias"):
                rows -= torch.tensor([math.log(copies[b]) for b in report.branch_sources])
            if rows.shape == tensor.shape:
                tensor.copy_(rows)
                report.adapted.append(name)
                continue
        elif value is not None and name.endswith(("head.weight", "head.bias")) and value.shape != tensor.shape \
                and value.shape[1:] == tensor.shape[1:]:
            tensor.copy_(resample_depth(value, source.cfg.grid_depth, cfg.grid_depth))
            report.adapted.append(name)
            continue
        elif name.startswith("full_res.guide.") and value is not None and value.shape != tensor.shape:
            if _adapt_guide(name, value, tensor):
                report.adapted.append(name)
                continue
        if value is not None and value.shape == tensor.shape:
            tensor.copy_(value)
            report.copied.append(name)
        elif not name.endswith("num_batches_tracked"):
            report.fresh.append(name)
    target.load_state_dict(new)
    return target.eval(), report


def _source_name(name: str, sources: list[int]) -> str:
    prefix = "low_res.branches."
    if name.startswith(prefix):
        index, rest = name[len(prefix):].split(".", 1)
        return f"{prefix}{sources[int(index)]}.{rest}"
    return name


CURVE_FIT_SAMPLES = 1025


def refit_curve_knots(slopes: torch.Tensor, knots: int) -> torch.Tensor:
    """Slopes (1, n, K, 1, 1) of curves sum_k s_k relu(x - k/K) -> the least-squares closest curves with
    `knots` evenly spaced knots, on x sampled evenly over [0, 1]."""
    x = torch.linspace(0.0, 1.0, CURVE_FIT_SAMPLES, dtype=torch.float64)

    def basis(k: int) -> torch.Tensor:
        return F.relu(x[:, None] - torch.linspace(0.0, 1.0, k + 1, dtype=torch.float64)[None, :-1])

    curves = basis(slopes.shape[2]) @ slopes[0, :, :, 0, 0].double().T  # samples x n
    fitted = torch.linalg.lstsq(basis(knots), curves).solution  # knots x n
    return fitted.T.to(slopes.dtype).reshape(1, -1, knots, 1, 1)


def _adapt_guide(name: str, value: torch.Tensor, tensor: torch.Tensor) -> bool:
    """Guide variant change (3 curves <-> 1 curve) and knot count change: see the module doc."""
    if name.endswith("thresholds"):
        return False  # fixed, evenly spaced knots: the new student's own are right (counted as fresh)
    if name.endswith("slopes"):
        if value.shape[2] != tensor.shape[2]:
            value = refit_curve_knots(value, tensor.shape[2])
        tensor.copy_(value.mean(dim=1, keepdim=True) if tensor.shape[1] == 1 else value.expand_as(tensor))
        return True
    if name.endswith("mix.weight"):
        total = value.sum(dim=1, keepdim=True)
        tensor.copy_(total if tensor.shape[1] == 1 else (total / tensor.shape[1]).expand_as(tensor))
        return True
    return False
