"""Switch / guide / grid configurations: the new student inherits the old one's weights where they fit."""
import copy

import torch
import torch.nn.functional as F

from aicam_opt.compress.build import cost_metrics
from aicam_opt.compress.candidate import Candidate
from aicam_opt.compress.configure import configure
from aicam_opt.compress.quantize import LowResGraph
from aicam_opt.models.student import downsample

from .conftest import perturbed_student


def lowres_batch(n=4, size=256):
    return [downsample(torch.rand(1, 3, 300, 400), size) for _ in range(n)]


def favour_branch(net, branch: int):
    with torch.no_grad():
        net.low_res.switch.fc2.bias[branch] += 3.0


def test_fewer_branches_keep_the_most_used(student):
    favour_branch(student, 2)
    k1, report = configure(student, student.cfg.model_copy(update={"num_branches": 1}), lowres_batch())
    assert report.branch_sources == [2]
    low = lowres_batch(1)[0]
    with torch.no_grad():
        fused, _ = student.low_res.features(low)
        assert torch.allclose(k1.low_res(low), student.low_res.branches[2](fused), atol=1e-6)


def test_more_branches_keep_the_soft_mixture_exactly(student):
    k5, report = configure(student, student.cfg.model_copy(update={"num_branches": 5}), lowres_batch())
    assert sorted(report.branch_sources) != list(range(5)) and set(report.branch_sources) == {0, 1, 2}
    x = torch.rand(1, 3, 96, 128)
    with torch.no_grad():
        assert torch.allclose(k5(x), student(x), atol=1e-5)


def test_grid_depth_resamples_the_grid(student):
    shallow, report = configure(student, student.cfg.model_copy(update={"grid_depth": 4}), lowres_batch())
    low = lowres_batch(1)[0]
    with torch.no_grad():
        old, new = student.low_res(low), shallow.low_res(low)
    b, c, d, g, _ = old.shape
    expected = F.interpolate(old.permute(0, 1, 3, 4, 2).reshape(-1, 1, d), size=4, mode="linear", align_corners=True)
    expected = expected.reshape(b, c, g, g, 4).permute(0, 1, 4, 2, 3)
    assert torch.allclose(new, expected, atol=1e-5)
    assert any("head" in name for name in report.adapted) and not report.fresh


def test_smaller_grid_keeps_every_conv_and_adds_one_stage(student):
    coarse, report = configure(student, student.cfg.model_copy(update={"grid_size": 8}), lowres_batch())
    assert len(coarse.low_res.splat) == len(student.low_res.splat) + 1
    assert all(name.startswith("low_res.splat.4.") for name in report.fresh)
    with torch.no_grad():
        assert coarse.low_res(lowres_batch(1)[0]).shape[-2:] == (8, 8)


def test_guide_and_similarity_changes_build_and_run(student):
    cfg = student.cfg.model_copy(update={"guide": "luma_curve", "self_similarity": False})
    changed, report = configure(student, cfg, lowres_batch())
    assert changed.low_res.similarity is None and changed.full_res.guide.variant == "luma_curve"
    assert "full_res.guide.slopes" in report.adapted
    with torch.no_grad():
        assert torch.isfinite(changed(torch.rand(1, 3, 64, 64))).all()


def test_hard_switch_runs_one_branch(student):
    favour_branch(student, 1)
    hard, _ = configure(student, student.cfg.model_copy(update={"switch": "hard"}), lowres_batch())
    calls = []
    for k, branch in enumerate(hard.low_res.branches):
        branch.register_forward_hook(lambda module, inputs, output, k=k: calls.append(k))
    low = lowres_batch(1)[0]
    with torch.no_grad():
        grid = hard.low_res(low)
    assert calls == [1]
    with torch.no_grad():
        assert torch.equal(LowResGraph(hard.low_res)(low), grid)  # the static (exported) form agrees


def test_hard_switch_and_fewer_branches_cost_less(student):
    soft = cost_metrics(student, Candidate(name="soft"))
    k1, _ = configure(student, student.cfg.model_copy(update={"num_branches": 1, "switch": "hard"}), lowres_batch())
    hard = cost_metrics(k1, Candidate(name="k1"))
    g = student.cfg.grid_size
    branch_conv_macs = sum(m.weight.numel() * g * g for m in student.low_res.branches[0].modules()
                           if isinstance(m, torch.nn.Conv2d))
    # two of the three branches are gone (their convs; the mixing arithmetic goes too)
    assert soft["macs_low_res"] - hard["macs_low_res"] >= 2 * branch_conv_macs
    branch_params = sum(p.numel() for p in student.low_res.branches[0].parameters())
    assert soft["params"] - hard["params"] >= 2 * branch_params


def _curve(slopes: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    knots = slopes.shape[2]
    thresholds = torch.linspace(0, 1, knots + 1)[:-1]
    return (slopes[0, :, :, 0, 0, None] * F.relu(x[None, None, :] - thresholds[None, :, None])).sum(dim=1)


def test_fewer_curve_knots_refit_the_trained_curve(student):
    student = copy.deepcopy(student)  # its curves are rewritten below
    with torch.no_grad():  # a trained-looking tone curve: an S on the first curve, a lift on the others
        student.full_res.guide.slopes.copy_(torch.randn_like(student.full_res.guide.slopes) * 0.3)
        student.full_res.guide.slopes[:, :, 0] += 1.0
    fewer, report = configure(student, student.cfg.model_copy(update={"curve_knots": 8}), lowres_batch())
    assert "full_res.guide.slopes" in report.adapted and fewer.full_res.guide.slopes.shape[2] == 8
    x = torch.linspace(0, 1, 513)
    old, new = _curve(student.full_res.guide.slopes.detach(), x), _curve(fewer.full_res.guide.slopes.detach(), x)
    naive = _curve(student.full_res.guide.slopes.detach()[:, :, ::2], x)  # every other slope kept as it is
    assert (new - old).pow(2).mean() < 0.2 * (naive - old).pow(2).mean()  # far closer than a naive cut
    # a curve that bends only at the 8-knot positions is reproduced exactly
    even = torch.zeros_like(student.full_res.guide.slopes)
    even[:, :, ::2] = torch.rand_like(even[:, :, ::2])
    with torch.no_grad():
        student.full_res.guide.slopes.copy_(even)
    exact, _ = configure(student, student.cfg.model_copy(update={"curve_knots": 8}), lowres_batch())
    assert torch.allclose(_curve(exact.full_res.guide.slopes.detach(), x), _curve(even, x), atol=1e-5)
