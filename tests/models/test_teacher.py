import pytest
import torch

from aicam_opt.models.teacher import CURVE_KNOTS, Discriminator, Generator, TeacherConfig, global_colour


@pytest.mark.parametrize("h,w", [(8, 8), (37, 53), (341, 512), (100, 7)])
def test_generator_any_resolution(h, w):
    g = Generator()
    out = g(torch.rand(1, 3, h, w))
    assert out.shape == (1, 3, h, w)


def test_untrained_generator_is_identity_and_residual():
    x = torch.rand(2, 3, 40, 56)
    assert torch.allclose(Generator()(x), x)


def test_global_branch_reacts_to_far_content():
    """A change in one corner changes the output in the opposite corner: the global branch."""
    g = Generator()
    with torch.no_grad():
        for p in g.parameters():
            p.add_(0.05 * torch.randn_like(p))
        x = torch.rand(1, 3, 64, 64)
        y = x.clone()
        y[..., :8, :8] = 1.0
        assert (g(x)[..., -8:, -8:] - g(y)[..., -8:, -8:]).abs().max() > 1e-4


def test_discriminator_is_patchwise():
    scores = Discriminator()(torch.rand(2, 3, 64, 64))
    assert scores.shape[0] == 2 and scores.shape[1] == 1 and scores.shape[-1] > 1


def test_global_colour_zero_params_is_identity():
    x = torch.rand(2, 3, 9, 11)
    assert torch.allclose(global_colour(x, torch.zeros(2, 12 + 3 * CURVE_KNOTS)), x, atol=1e-6)


def test_global_colour_affine_and_curve_stay_monotone():
    """Random params: the affine acts as a 3x4 matrix, and the tone curve never inverts tones."""
    torch.manual_seed(0)
    params = torch.randn(1, 12 + 3 * CURVE_KNOTS) * 2
    params[:, :12] = 0  # curve only
    ramp = torch.linspace(-0.2, 1.2, 200).view(1, 1, 1, -1).expand(1, 3, 1, 200).contiguous()
    out = global_colour(ramp, params)
    assert (out[..., 1:] - out[..., :-1] > 0).all()
    assert not torch.allclose(out, ramp, atol=1e-3)
    affine = torch.zeros(1, 12 + 3 * CURVE_KNOTS)
    affine[0, :12] = torch.tensor([[0.1, 0.0, 0.0, 0.05], [0.0, -0.2, 0.0, 0.0], [0.0, 0.3, 0.0, -0.1]]).flatten()
    x = torch.rand(1, 3, 4, 5)
    expected = x.clone()
    expected[:, 0] = 1.1 * x[:, 0] + 0.05
    expected[:, 1] = 0.8 * x[:, 1]
    expected[:, 2] = x[:, 2] + 0.3 * x[:, 1] - 0.1
    assert torch.allclose(global_colour(x, affine), expected, atol=1e-6)


def test_unclamped_output_is_the_output_before_its_clamp():
    g = Generator(TeacherConfig(width=8))
    torch.nn.init.constant_(g.out.bias, 0.7)  # push the residual past 1 where the input is bright
    x = torch.rand(1, 3, 24, 40)
    raw = g(x, clamp=False)
    assert raw.max() > 1 and torch.equal(g(x), raw.clamp(0, 1))
