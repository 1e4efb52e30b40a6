"""Training losses. Each is a plain function of tensors; the weights live in the train configs.

Teacher (two-path GAN): consistency (cycle), similarity (content preservation), total variation,
adversarial (LSGAN or WGAN-GP), paired reconstruction, identity, and the tone terms that keep a look from
blowing highlights or crushing shadows. Student: reconstruction + structural
(SSIM) distillation and the inter-frame similarity loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _gaussian_window(size: int = 11, sigma: float = 1.5, channels: int = 3) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-coords ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def _local_stats(a: torch.Tensor, b: torch.Tensor):
    window = _gaussian_window(channels=a.shape[1]).to(a)
    # 'same' zero padding (the committed checkpoints were trained with it): border windows are
    # slightly biased, which only matters for images a few windows wide.
    blur = lambda t: F.conv2d(t, window, padding=window.shape[-1] // 2, groups=a.shape[1])  # noqa: E731
    mu_a, mu_b = blur(a), blur(b)
    var_a = (blur(a * a) - mu_a ** 2).clamp_min(0)
    var_b = (blur(b * b) - mu_b ** 2).clamp_min(0)
    cov = blur(a * b) - mu_a * mu_b
    return mu_a, mu_b, var_a, var_b, cov


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Differentiable SSIM (Gaussian 11x11, sigma 1.5, data range 1), as in Wang et al. 2004."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mu_a, mu_b, var_a, var_b, cov = _local_stats(a, b)
    return (((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))).mean()


def luma(x: torch.Tensor) -> torch.Tensor:
    return (x * torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)


def similarity_loss(enhanced: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """Content preservation: 1 - the *structure* term of SSIM on luma (cov / (sigma_a sigma_b)).

    Unlike L1 or full SSIM it ignores brightness and contrast, which the enhancement is meant to
    change, and penalises only lost or invented structure.
    """
    c3 = 0.03 ** 2 / 2
    _, _, var_a, var_b, cov = _local_stats(luma(enhanced), luma(source))
    # sqrt of the product (+eps) keeps the gradient finite where a patch is perfectly flat.
    return 1.0 - ((cov + c3) / ((var_a * var_b + 1e-12).sqrt() + c3)).mean()


def cycle_loss(reconstructed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(reconstructed, original)


def total_variation(correction: torch.Tensor) -> torch.Tensor:
    """Mean absolute neighbour difference. Applied to the *correction* (G(x) - x), not the photo,
    so texture is kept while the correction is kept smooth."""
    return (correction[..., 1:, :] - correction[..., :-1, :]).abs().mean() + \
        (correction[..., :, 1:] - correction[..., :, :-1]).abs().mean()


def lsgan_generator(fake_scores: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(fake_scores, torch.ones_like(fake_scores))


def lsgan_discriminator(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    return 0.5 * (F.mse_loss(real_scores, torch.ones_like(real_scores)) + F.mse_loss(fake_scores, torch.zeros_like(fake_scores)))


def wgan_generator(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()


def wgan_gp_discriminator(disc, real: torch.Tensor, fake: torch.Tensor, gp_weight: float = 10.0) -> torch.Tensor:
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    grad = torch.autograd.grad(disc(mixed).sum(), mixed, create_graph=True)[0]
    penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
    return disc(fake).mean() - disc(real).mean() + gp_weight * penalty


def distillation_loss(student_out: torch.Tensor, teacher_out: torch.Tensor, ssim_weight: float) -> torch.Tensor:
    return F.l1_loss(student_out, teacher_out) + ssim_weight * (1.0 - ssim(student_out, teacher_out))


def warp_tensor(img: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """img (B,C,H,W) sampled at p + flow(p); flow (B,H,W,2) in pixels. Differentiable (torch)."""
    b, _, h, w = img.shape
    gy, gx = torch.meshgrid(torch.arange(h, dtype=img.dtype), torch.arange(w, dtype=img.dtype), indexing="ij")
    x = (gx + flow[..., 0]) / (w - 1) * 2 - 1
    y = (gy + flow[..., 1]) / (h - 1) * 2 - 1
    return F.grid_sample(img, torch.stack([x, y], dim=-1), mode="bilinear", padding_mode="border", align_corners=True)


def _frame_changes(out_t: torch.Tensor, out_next: torch.Tensor, ref_t: torch.Tensor, ref_next: torch.Tensor,
                   flow: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(output's frame-to-frame change, reference's change, mask): both frames aligned by the input's
    optical flow, the mask (B, 1, H, W) zero where the flow failed its occlusion check."""
    d_out = out_t - warp_tensor(out_next, flow)
    d_ref = ref_t - warp_tensor(ref_next, flow)
    return d_out, d_ref, valid.unsqueeze(1).to(out_t.dtype)


def _masked_mean(per_pixel: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (per_pixel * mask).sum() / (mask.sum() * per_pixel.shape[1]).clamp_min(1.0)


def inter_frame_loss(out_t: torch.Tensor, out_next: torch.Tensor, ref_t: torch.Tensor, ref_next: torch.Tensor,
                     flow: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Inter-frame similarity: between consecutive frames the output may change only as much as a
    reference does: the teacher's outputs on the same two frames in distillation (where the teacher
    clips a highlight, its output does not change at all), or the input frames themselves. Both
    frames are aligned by the input's optical flow; occluded pixels are masked. Without it, per-frame
    grid predictions jitter and the preview flickers."""
    d_out, d_ref, mask = _frame_changes(out_t, out_next, ref_t, ref_next, flow, valid)
    return _masked_mean((d_out - d_ref).abs(), mask)


def frame_change_excess(out_t: torch.Tensor, out_next: torch.Tensor, ref_t: torch.Tensor, ref_next: torch.Tensor,
                        flow: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Steadiness: how much more the output changes between two consecutive frames than the reference
    (the teacher) does, per pixel and channel; zero wherever it changes no more. Matching the change
    (`inter_frame_loss`) leaves the student's flicker on either side of the teacher's by its
    approximation error; this one-sided term is what pushes it to the steady side."""
    d_out, d_ref, mask = _frame_changes(out_t, out_next, ref_t, ref_next, flow, valid)
    return _masked_mean(F.relu(d_out.abs() - d_ref.abs()), mask)


def highlight_excess(raw_out: torch.Tensor, source: torch.Tensor, headroom: float = 0.95) -> torch.Tensor:
    """Blown highlights: how far the output rises above `headroom` where the source did not, per pixel and
    channel (mean over all of them); zero wherever the output stays below max(source, headroom), so an
    already-clipped input may stay clipped. `raw_out` is the model's output before its clamp to [0, 1]:
    a clamped pixel would pass no gradient, and clamped pixels are exactly the blown ones."""
    return F.relu(raw_out - torch.maximum(source, torch.full_like(source, headroom))).mean()


def shadow_loss(raw_out: torch.Tensor, source: torch.Tensor, shadow: float = 0.1) -> torch.Tensor:
    """Crushed shadows: how far the output falls below the source where the source's luma is below
    `shadow` (per pixel and channel, mean over all pixels); brightening them is free. `raw_out` as in
    `highlight_excess`."""
    dark = (luma(source) < shadow).to(source.dtype)
    return (F.relu(source - raw_out) * dark).mean()
