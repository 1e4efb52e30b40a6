"""Structured pruning with torch-pruning really shrinks the low-res network, by the requested amount."""
import pytest
import torch

from aicam_opt.compress.candidate import PruningSpec
from aicam_opt.compress.prune import kept_channels, prune_student
from aicam_opt.cost import model_cost
from aicam_opt.models.checkpoints import load_model, save_checkpoint
from aicam_opt.models.student import LowResWidths, StudentNet

ALL_GROUPS = ("splat", "trunk", "local", "global", "branches")


def params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def low_res_macs(net) -> int:
    return model_cost(net, "64x64").total("low_res")["macs"]


def test_half_of_every_group(student):
    pruned = prune_student(student, PruningSpec(ratios={g: 0.5 for g in ALL_GROUPS}), multiple=8)
    # default student: splat 16-32-64-64, fused features and hidden widths 64; switch hidden is protected
    expected = LowResWidths(splat=[8, 16, 32, 32], features=32, local_hidden=32, global_hidden=[32, 32], switch_hidden=64,
                            branch_hidden=[32, 32, 32])
    assert pruned.cfg.widths == expected
    reference = StudentNet(student.cfg.model_copy(update={"widths": expected}))
    assert params(pruned) == params(reference)
    assert low_res_macs(pruned) == low_res_macs(reference)
    # pointwise convs lose inputs and outputs: well over half the low-res parameters and MACs go
    assert params(pruned.low_res) < 0.45 * params(student.low_res)
    assert low_res_macs(pruned) < 0.45 * low_res_macs(student)
    assert params(pruned.full_res) == params(student.full_res)  # protected
    assert pruned.low_res.switch.fc2.out_features == 3 and pruned.low_res.branches[0].head.out_channels == 12 * 8


def test_channels_round_to_the_hardware_multiple(student):
    pruned = prune_student(student, PruningSpec(ratios={g: 0.6 for g in ALL_GROUPS}), multiple=16)
    w = pruned.cfg.widths
    # 16 channels is one int8 SDOT vector: left whole; 64 * 0.4 = 25.6 -> 32
    assert w.splat == [16, 16, 32, 32]
    assert all(c % 16 == 0 for c in [*w.splat, w.local_hidden, *w.global_hidden, *w.branch_hidden])
    assert kept_channels(64, 0.5, 32) == 32 and kept_channels(64, 0.9, 32) == 32 and kept_channels(24, 0.5, 32) == 24


def test_only_the_named_group_shrinks(student):
    pruned = prune_student(student, PruningSpec(ratios={"branches": 0.5}), multiple=8)
    assert pruned.cfg.widths.branch_hidden == [32, 32, 32]
    assert pruned.cfg.widths.splat == [16, 32, 64, 64] and pruned.cfg.widths.local_hidden == 64
    assert pruned.cfg.widths.features == 64


def test_protected_group_is_not_pruned(student):
    spec = PruningSpec(ratios={"trunk": 0.5}, protected=["trunk"])
    assert not spec.active
    assert prune_student(student, spec, multiple=8) is student


def test_pruned_student_runs_saves_and_loads(student, tmp_path):
    pruned = prune_student(student, PruningSpec(ratios={g: 0.5 for g in ALL_GROUPS}), multiple=8)
    x = torch.rand(1, 3, 80, 120)
    with torch.no_grad():
        out = pruned(x)
    save_checkpoint(pruned, "student", tmp_path / "p.safetensors")
    loaded = load_model(tmp_path / "p.safetensors", kind="student")
    assert loaded.cfg.widths == pruned.cfg.widths
    with torch.no_grad():
        assert torch.equal(loaded(x), out)


def test_magnitude_keeps_the_strongest_channels(student):
    """The branch refine channels with the largest weights survive (the importance is really used)."""
    pointwise = student.low_res.branches[0].refine.pointwise
    strong = [3, 17, 40, 41, 60]
    with torch.no_grad():
        pointwise.weight[strong] *= 50.0
    pruned = prune_student(student, PruningSpec(ratios={"branches": 0.5}, importance="l1"), multiple=8)
    kept = pruned.low_res.branches[0].refine.pointwise.weight
    norms = kept.abs().flatten(1).sum(1)
    assert (norms > 20 * norms.median()).sum() == len(strong)


@pytest.mark.parametrize("importance", ["magnitude", "l1", "taylor", "bn_scale"])
def test_every_importance_criterion_prunes(student, importance):
    batch = (torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))
    pruned = prune_student(student, PruningSpec(ratios={"trunk": 0.5}, importance=importance), multiple=8, taylor_batch=batch)
    assert pruned.cfg.widths.features == 32 and pruned.low_res.global_fc.out_features == 32
    assert pruned.cfg.widths.splat == [16, 32, 64, 64]
    assert all(p.grad is None for p in pruned.parameters())
