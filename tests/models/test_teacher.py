import pytest
import torch

from aicam_opt.models.teacher import Discriminator, Generator


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
