import pytest
import torch

from aicam_opt.train import losses


def test_ssim_identity_and_noise():
    x = torch.rand(1, 3, 48, 48)
    assert losses.ssim(x, x).item() > 0.9999
    assert losses.ssim(x, (x + 0.2 * torch.randn_like(x)).clamp(0, 1)).item() < 0.9


def test_similarity_ignores_tone_but_not_structure():
    x = torch.rand(1, 3, 48, 48)
    brighter = (x * 0.5 + 0.3)
    assert losses.similarity_loss(brighter, x).item() < 0.03  # only the zero-padded borders differ
    shuffled = x[..., torch.randperm(48)]
    assert losses.similarity_loss(shuffled, x).item() > 0.5


def test_similarity_has_finite_gradient_on_flat_patches():
    x = torch.full((1, 3, 32, 32), 0.5, requires_grad=True)
    losses.similarity_loss(x, torch.rand(1, 3, 32, 32)).backward()
    assert torch.isfinite(x.grad).all()


def test_cycle_and_tv():
    x = torch.rand(1, 3, 16, 16)
    assert losses.cycle_loss(x, x).item() == 0
    assert losses.total_variation(torch.ones(1, 3, 8, 8)).item() == 0
    step = torch.zeros(1, 1, 4, 4)
    step[..., 2:] = 1.0
    assert losses.total_variation(step).item() == torch.tensor(1 / 3).item()


def test_gan_losses():
    real, fake = torch.ones(2, 1, 4, 4), torch.zeros(2, 1, 4, 4)
    assert losses.lsgan_discriminator(real, fake).item() == 0
    assert losses.lsgan_generator(real).item() == 0 and losses.lsgan_generator(fake).item() == 1
    disc = torch.nn.Conv2d(3, 1, 3)
    gp = losses.wgan_gp_discriminator(disc, torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8))
    assert torch.isfinite(gp)


def test_inter_frame_loss_zero_for_consistent_output_and_positive_for_flicker():
    frame = torch.rand(1, 3, 24, 32)
    shifted = torch.roll(frame, shifts=2, dims=3)  # the scene moved 2 px right
    flow = torch.zeros(1, 24, 32, 2)
    flow[..., 0] = 2.0  # frame_t(p) = frame_t+1(p + 2)
    valid = torch.zeros(1, 24, 32, dtype=torch.bool)
    valid[:, :, :28] = True
    enhance = lambda t: t * 0.8 + 0.1  # noqa: E731  a consistent tone change
    assert losses.inter_frame_loss(enhance(frame), enhance(shifted), frame, shifted, flow, valid).item() < 1e-6
    flicker = losses.inter_frame_loss(enhance(frame), enhance(shifted) + 0.05, frame, shifted, flow, valid)
    assert abs(flicker.item() - 0.05) < 1e-5


def test_frame_change_excess_counts_only_change_beyond_the_reference():
    """One-sided: an output steadier than the reference costs nothing, one that changes more pays the excess."""
    frame = torch.rand(1, 3, 24, 32)
    brighter = frame + 0.04  # the reference (teacher) changes by 0.04 between the two frames
    still, valid = torch.zeros(1, 24, 32, 2), torch.ones(1, 24, 32, dtype=torch.bool)
    excess = lambda out_next: losses.frame_change_excess(frame, out_next, frame, brighter, still, valid).item()  # noqa: E731
    assert excess(frame) == 0.0 and excess(frame + 0.03) == 0.0 and excess(frame - 0.04) < 1e-6
    assert abs(excess(frame + 0.1) - 0.06) < 1e-6 and abs(excess(frame - 0.1) - 0.06) < 1e-6
    # matching the change instead charges the steadier output as much as a flickering one
    assert abs(losses.inter_frame_loss(frame, frame, frame, brighter, still, valid).item() - 0.04) < 1e-6
    valid[:, :, 16:] = False  # masked pixels do not count
    assert excess(torch.cat([frame[..., :16], frame[..., 16:] + 0.5], dim=3)) == 0.0


def test_highlight_excess_counts_only_new_blown_highlights():
    source = torch.tensor([0.5, 1.0, 0.2, 0.9]).view(1, 1, 2, 2).expand(1, 3, 2, 2)
    # an already-clipped input may stay clipped; a pixel below the headroom is free; a raw value past 1
    # (what the clamp would hide) counts in full: (1.2 - 0.95) + (0.97 - 0.95) over 4 pixels
    out = torch.tensor([0.9, 1.0, 1.2, 0.97]).view(1, 1, 2, 2).expand(1, 3, 2, 2)
    assert losses.highlight_excess(out, source).item() == pytest.approx((0.25 + 0.02) / 4)
    assert losses.highlight_excess(source * 0.5, source).item() == 0


def test_shadow_loss_counts_only_darkened_shadows():
    source = torch.tensor([0.05, 0.05, 0.5, 0.08]).view(1, 1, 2, 2).expand(1, 3, 2, 2)
    # a darkened shadow counts (0.05 - (-0.1) raw), a lifted one and a darkened mid-tone do not
    out = torch.tensor([-0.1, 0.2, 0.1, 0.06]).view(1, 1, 2, 2).expand(1, 3, 2, 2)
    assert losses.shadow_loss(out, source).item() == pytest.approx((0.15 + 0.02) / 4)
    assert losses.shadow_loss(source + 0.1, source).item() == 0


def test_tone_losses_pass_gradient_where_the_clamp_would_not():
    raw = torch.full((1, 3, 4, 4), 1.3, requires_grad=True)
    losses.highlight_excess(raw, torch.full((1, 3, 4, 4), 0.5)).backward()
    assert (raw.grad > 0).all()
