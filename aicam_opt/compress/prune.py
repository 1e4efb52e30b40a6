"""Structured channel pruning of the student's low-res path with torch-pruning.

torch-pruning's dependency graph finds the coupled layers of each channel group (a pointwise conv's
outputs, the batch norm after it, the depthwise conv and pointwise inputs that consume them, and
across the add of local and global features every layer sharing the fused width); `tp.pruner.MetaPruner` ranks the
channels of each group with the candidate's importance criterion and removes the weakest.

Widths are decided here, not by torch-pruning's `round_to` (which rounds down, and so would empty a
layer narrower than the multiple): each group keeps round(c * (1 - ratio) / m) * m channels, at
least m and at most c, with m the channel multiple of the unit and precision the low-res path runs
at (targets/<target>.yaml); a group of at most m channels is left whole.

Never pruned: the switch classifier, the self-similarity query/key, the grid heads (their outputs
are the model's interface: K weights, 12 x D grid channels) and the full-res path (only `low_res`
is given to the pruner). The pruned widths are written into `StudentConfig.widths`, so the pruned
student saves and loads like any other checkpoint.
"""
from __future__ import annotations

import copy
import re
import warnings
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F
import torch_pruning as tp
from torch import nn

from ..errors import AicamError
from ..models.student import LowResPath, LowResWidths, StudentNet
from .candidate import PruningSpec

# Output-channel producers (not depthwise) -> the layer group they belong to (candidate.LAYER_GROUPS).
_PRODUCER_GROUP = [
    (re.compile(r"^global_fc$|^local\.1\.pointwise$"), "trunk"),
    (re.compile(r"^splat\.\d+\.(pointwise|0)$"), "splat"),
    (re.compile(r"^local\.0\.pointwise$"), "local"),
    (re.compile(r"^global_conv\.[01]\.pointwise$"), "global"),
    (re.compile(r"^branches\.\d+\.refine\.pointwise$"), "branches"),
]


def trace_forward(low_res: LowResPath, low: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """LowResPath's channel wiring, for torch-pruning's tracer: every branch runs (soft mixture,
    whatever the switch mode), and the self-similarity's query/key convs are extra outputs instead
    of feeding the cell-to-cell bmm, which the tracer cannot follow (with it, building the graph did not finish in 8 minutes). Aggregating
    over cells maps channel i to channel i, so the channel dependencies are the same."""
    x = low_res.splat(low)
    global_feats = low_res.global_fc(F.adaptive_avg_pool2d(low_res.global_conv(x), 1).flatten(1))
    fused = F.relu(low_res.local(x) + global_feats[:, :, None, None])
    weights = low_res.switch(global_feats)
    grids = torch.stack([branch(fused) for branch in low_res.branches], dim=1)
    grid = (grids * weights[:, :, None, None, None, None]).sum(dim=1)
    if low_res.similarity is None:
        return (grid,)
    return grid, low_res.similarity.query(fused), low_res.similarity.key(fused)


def make_importance(name: str) -> tp.importance.Importance:
    if name == "magnitude":
        return tp.importance.GroupMagnitudeImportance(p=2)
    if name == "l1":
        return tp.importance.GroupMagnitudeImportance(p=1)
    if name == "taylor":
        return tp.importance.GroupTaylorImportance()
    if name == "bn_scale":
        return tp.importance.BNScaleImportance()
    raise AicamError(f"pruning importance '{name}': choose magnitude, l1, taylor or bn_scale")


def kept_channels(channels: int, ratio: float, multiple: int) -> int:
    """Channels left after removing `ratio` of `channels`, rounded to the hardware multiple."""
    if ratio <= 0 or channels <= multiple:
        return channels
    rounded = int(round(channels * (1.0 - ratio) / multiple)) * multiple
    return min(channels, max(multiple, rounded))


def _protected_layers(low_res: LowResPath) -> list[nn.Module]:
    layers: list[nn.Module] = [low_res.switch] + [branch.head for branch in low_res.branches]
    if low_res.similarity is not None:
        layers += [low_res.similarity.query, low_res.similarity.key]
    return layers


def prune_student(net: StudentNet, spec: PruningSpec, multiple: int,
                  taylor_batch: tuple[torch.Tensor, torch.Tensor] | None = None) -> StudentNet:
    """A pruned copy of `net` (a fresh StudentNet whose config carries the pruned widths)."""
    if not spec.active:
        return net
    if spec.importance == "taylor" and taylor_batch is None:
        raise AicamError("pruning importance 'taylor' needs a batch of training images and teacher outputs")
    work = copy.deepcopy(net).eval()
    low_res = work.low_res
    example = torch.rand(1, 3, work.cfg.lowres_size, work.cfg.lowres_size)
    ignored = _protected_layers(low_res)
    with _quiet_about_scalar_parameters():
        graph = tp.DependencyGraph().build_dependency(low_res, example, forward_fn=trace_forward)
    names = {m: n for n, m in low_res.named_modules()}

    ratios: dict[nn.Module, float] = {}
    for group in graph.get_all_groups(ignored_layers=ignored, root_module_types=[nn.Conv2d, nn.Linear]):
        producers = _producers(group, names, graph)
        layer_group = _layer_group(producers)
        if layer_group is None:
            continue
        channels = graph.get_out_channels(group[0].dep.target.module)
        keep = kept_channels(channels, spec.ratio(layer_group), multiple)
        # torch-pruning keeps int(c * (1 - ratio)) channels: half a channel of margin so that float
        # rounding never drops one more than asked.
        exact = 1.0 - (keep + 0.5) / channels if keep < channels else 0.0
        # Keyed by every layer whose outputs this group prunes (torch-pruning looks the ratio up on
        # the group's root, one of them); not by the consumers, which belong to other groups' roots.
        for item in group:
            module = item.dep.target.module
            if isinstance(module, (nn.Conv2d, nn.Linear)) and graph.is_out_channel_pruning_fn(item.dep.handler):
                ratios[module] = exact

    if spec.importance == "taylor":
        # first-order Taylor importance |w * dL/dw| of the distillation loss (eval mode: the batch
        # norms' running statistics stay those of the trained student)
        x, target = taylor_batch
        F.l1_loss(work(x), target).backward()
    with _quiet_about_scalar_parameters():
        pruner = tp.pruner.MetaPruner(low_res, example, importance=make_importance(spec.importance),
                                      pruning_ratio=0.0, pruning_ratio_dict=ratios, ignored_layers=ignored,
                                      forward_fn=trace_forward)
    pruner.step()
    low_res.zero_grad(set_to_none=True)
    return _rebuilt(work)


@contextmanager
def _quiet_about_scalar_parameters() -> Iterator[None]:
    """torch-pruning warns about the self-similarity's scalar mix parameter ("unwrapped parameter"):
    it has no channel dimension, so there is nothing to prune in it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unwrapped parameters detected")
        yield


def _producers(group, names: dict[nn.Module, str], graph: tp.DependencyGraph) -> list[str]:
    """Names of the non-depthwise convs/linears whose output channels the group removes."""
    out = []
    for item in group:
        module = item.dep.target.module
        if module not in names or not isinstance(module, (nn.Conv2d, nn.Linear)):
            continue
        if isinstance(module, nn.Conv2d) and module.groups > 1:
            continue
        if graph.is_out_channel_pruning_fn(item.dep.handler):
            out.append(names[module])
    return out


def _layer_group(producers: list[str]) -> str | None:
    for name in producers:
        for pattern, layer_group in _PRODUCER_GROUP:
            if pattern.match(name):
                return layer_group
    return None


def measured_widths(low_res: LowResPath) -> LowResWidths:
    """The channel counts a (pruned) LowResPath actually has."""
    splat = [stage[0].out_channels if isinstance(stage, nn.Sequential) else stage.pointwise.out_channels
             for stage in low_res.splat]
    return LowResWidths(
        splat=splat,
        features=low_res.global_fc.out_features,
        local_hidden=low_res.local[0].pointwise.out_channels,
        global_hidden=[low_res.global_conv[0].pointwise.out_channels, low_res.global_conv[1].pointwise.out_channels],
        switch_hidden=low_res.switch.fc1.out_features,
        branch_hidden=[branch.refine.pointwise.out_channels for branch in low_res.branches],
    )


def _rebuilt(pruned: StudentNet) -> StudentNet:
    """A fresh StudentNet of the pruned widths holding the pruned weights: proves the result is
    representable by its config (what a checkpoint stores), and drops torch-pruning's bookkeeping."""
    cfg = pruned.cfg.model_copy(update={"widths": measured_widths(pruned.low_res)})
    fresh = StudentNet(type(pruned.cfg).model_validate(cfg.model_dump()))
    try:
        fresh.load_state_dict(pruned.state_dict())
    except RuntimeError as err:
        raise AicamError(f"the pruned low-res path is not representable by StudentConfig.widths: {err}") from None
    return fresh.eval()
