import numpy as np
import onnxruntime as ort
import pytest
import torch

from aicam_opt.models.student import StudentConfig, StudentNet, apply_affine, downsample, slice_grid


def _perturbed(cfg=None):
    net = StudentNet(cfg or StudentConfig()).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.02 * torch.randn_like(p))
    return net


@pytest.mark.parametrize("h,w", [(1, 1), (37, 53), (341, 512), (255, 17)])
def test_any_resolution(h, w):
    net = _perturbed()
    out = net(torch.rand(1, 3, h, w))
    assert out.shape == (1, 3, h, w) and torch.isfinite(out).all()
    assert 0 <= out.min() and out.max() <= 1


def test_untrained_student_is_identity():
    x = torch.rand(1, 3, 64, 80)
    assert torch.allclose(StudentNet().eval()(x), x, atol=1e-3)


def test_slice_hits_grid_corners_exactly():
    grid = torch.zeros(1, 12, 4, 3, 5)
    grid[0, 0, -1, 0, -1] = 7.0  # last depth bin, top row, last column
    guide = torch.ones(1, 1, 6, 9)  # guide 1 -> last depth bin
    coeffs = slice_grid(grid, guide)
    assert coeffs[0, 0, 0, -1] == pytest.approx(7.0) and coeffs[0, 0, -1, 0] == 0.0


def test_affine_apply():
    x = torch.rand(1, 3, 2, 2)
    coeffs = torch.zeros(1, 12, 2, 2)
    coeffs[:, 1] = 1.0   # out_r = g
    coeffs[:, 7] = 0.5   # out_g = 0.5
    coeffs[:, 8] = 2.0   # out_b = 2 r
    out = apply_affine(coeffs, x)
    assert torch.allclose(out[:, 0], x[:, 1]) and torch.allclose(out[:, 1], torch.full_like(out[:, 1], 0.5))
    assert torch.allclose(out[:, 2], 2 * x[:, 0])


def test_hard_switch_runs_only_one_branch():
    net = _perturbed(StudentConfig(num_branches=3, switch="hard"))
    calls = []
    for i, branch in enumerate(net.low_res.branches):
        branch.register_forward_hook(lambda *_, i=i: calls.append(i))
    x = torch.rand(1, 3, 96, 128)
    net(x)
    assert len(calls) == 1
    chosen = net.low_res.branch_weights(downsample(x, 256)).argmax()
    assert calls[0] == int(chosen)


def test_soft_switch_mixes_all_branches():
    net = _perturbed(StudentConfig(num_branches=3))
    calls = []
    for branch in net.low_res.branches:
        branch.register_forward_hook(lambda *_: calls.append(1))
    net(torch.rand(1, 3, 64, 64))
    assert len(calls) == 3


def test_self_similarity_makes_similar_cells_consistent():
    """Cells whose features are alike get closer grids with the self-similarity aggregation on."""
    net = _perturbed(StudentConfig())
    sim = net.low_res.similarity
    with torch.no_grad():
        sim.mix_logit.fill_(4.0)
        feats = torch.randn(1, net.low_res.channels, 16, 16)
        out = sim(feats)
    assert out.std(dim=(2, 3)).mean() < feats.std(dim=(2, 3)).mean()
    affinity = sim.affinity(feats)
    assert torch.allclose(affinity.sum(-1), torch.ones(1, 256))


@pytest.mark.parametrize("guide", ["ccm_curve", "luma_curve"])
def test_onnx_export_matches_pytorch(tmp_path, guide):
    net = _perturbed(StudentConfig(guide=guide))
    x = torch.rand(1, 3, 75, 101)
    path = tmp_path / "student.onnx"
    torch.onnx.export(net, (x,), str(path), opset_version=20, dynamo=True, verbose=False)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        ref = net(x).numpy()
    assert np.abs(out - ref).max() < 1e-5


def test_invalid_config_rejected():
    with pytest.raises(ValueError, match="power of two"):
        StudentConfig(lowres_size=256, grid_size=12)


def test_unclamped_output_is_the_output_before_its_clamp():
    net = StudentNet(StudentConfig()).eval()
    x = torch.rand(1, 3, 40, 56) * 2  # out of range: the untrained (identity) student passes it through
    raw = net(x, clamp=False)
    assert raw.max() > 1 and torch.equal(net(x), raw.clamp(0, 1))
