"""Train the teacher: a two-path GAN on unpaired domains plus paired FiveK supervision.

X (unretouched): FiveK training inputs + the training photos degraded by `degrade`.
Y (retouched / high quality): FiveK Expert C training retouches + the undegraded training photos.
Per step: G: X->Y and F: Y->X with adversarial (PatchGAN discriminators D_Y, D_X), cycle
consistency, similarity (content preservation) and total-variation losses, a reconstruction loss on
the FiveK training pairs (the reference teacher learned from designer-retouched pairs too) and one on
degraded training photos -> their originals (restoration pairs: under- and over-exposed, with really
clipped highlights). The look must also leave a good photo alone (identity: G(y) = y on Y) and keep
a photographer's detail: on X no highlight blown that the input had not, no shadow darkened
(`losses.highlight_excess`, `losses.shadow_loss`).
"""
from __future__ import annotations

import itertools
import time
from typing import Literal, Optional

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field, model_validator

from ..config import Config
from ..data import DataSource, clip_frames, load_pairs, load_photos
from ..images import read_photo
from ..images import resize_long_side
from ..models.teacher import Discriminator, Generator, TeacherConfig
from . import losses
from .batches import CropSampler, progress
from ..degrade import degrade, overexpose


class TeacherLossWeights(Config):
    adversarial: float = Field(0.02, ge=0)
    cycle: float = Field(1.0, ge=0)
    similarity: float = Field(0.5, ge=0)
    total_variation: float = Field(0.2, ge=0)
    paired: float = Field(10.0, ge=0, description="L1 to Expert C on FiveK training pairs")
    restoration: float = Field(5.0, ge=0, description="L1 to the original on degraded training photos")
    identity: float = Field(2.0, ge=0, description=(
        "L1 of G(y) to y on Y (Expert C retouches, good photos): a finished photo is left alone"))
    highlights: float = Field(20.0, ge=0, description="losses.highlight_excess of G on X")
    shadows: float = Field(20.0, ge=0, description="losses.shadow_loss of G on X")


class TeacherTrainConfig(Config):
    model: TeacherConfig = TeacherConfig()
    weights: TeacherLossWeights = TeacherLossWeights()
    gan: Literal["lsgan", "wgan-gp"] = "lsgan"
    steps: int = Field(400, ge=1)
    batch: int = Field(4, ge=1)
    crop: int = Field(112, ge=32)
    long_side: int = Field(256, ge=64, description="training images are area-downscaled to this long side")
    paired_long_side: int = Field(192, ge=32, description=(
        "FiveK pairs are used whole, downscaled to this long side, so the global branch learns from "
        "whole-image statistics as it sees them at inference (a crop's mean/max are not the photo's)"))
    paired_per_step: int = Field(2, ge=1, description="FiveK pairs per step")
    restoration_per_step: int = Field(1, ge=0, description=(
        "degraded training photo -> original pairs per step: 80 more photos, so the global branch learns a "
        "mapping from image statistics to a correction instead of memorising seven FiveK pairs"))
    # Multi-scale: a CNN's receptive field is fixed in pixels, so a teacher trained only at 192-256 px
    # would extrapolate at the 512-px eval pairs and the 960-px clip.
    max_long_side: Optional[int] = Field(768, ge=64, description=(
        "images are kept up to this long side and every GAN crop and pair is drawn at a random resolution "
        "between long_side (paired_long_side for pairs) and it; null: single-scale (long_side only)"))
    # A preview's content must keep its highlights too: the clip's training frames join X (unpaired,
    # so only the GAN and tone terms see them).
    video_stride: int = Field(10, ge=0, description="every n-th training frame of each clip joins X; 0: none")
    lr: float = Field(2e-4, gt=0)
    seed: int = 0

    @model_validator(mode="after")
    def _scales_ordered(self):
        if self.max_long_side is not None and self.max_long_side < max(self.long_side, self.paired_long_side):
            raise ValueError(f"max_long_side {self.max_long_side} is below long_side {self.long_side} / "
                             f"paired_long_side {self.paired_long_side}; raise it or leave it unset")
        return self

    def crop_long_sides(self) -> tuple[int, int] | None:
        return (self.long_side, self.max_long_side) if self.max_long_side else None

    def pair_long_sides(self) -> tuple[int, int] | None:
        return (self.paired_long_side, self.max_long_side) if self.max_long_side else None


def build_domains(source: DataSource, cfg: TeacherTrainConfig):
    """X pool, Y pool (crops for the GAN), expert pairs and restoration pairs (whole, small), training split only."""
    rng = np.random.default_rng(cfg.seed)
    crop_side = cfg.max_long_side or cfg.long_side
    pair_side = cfg.max_long_side or cfg.paired_long_side
    photos = load_photos(source, "train", crop_side)
    pairs = load_pairs(source, "train", crop_side)
    frames = [resize_long_side(read_photo(f).pixels, crop_side) for clip in clip_frames(source, "train")
              for f in clip[::cfg.video_stride]] if cfg.video_stride else []
    x_pool = ([x for x, _ in pairs.values()] + [degrade(p, rng) for p in photos.values()]
              + [overexpose(p, rng) for p in photos.values()] + frames)
    y_pool = [y for _, y in pairs.values()] + list(photos.values())
    expert = list(load_pairs(source, "train", pair_side).values())
    originals = list(load_photos(source, "train", pair_side).values())
    restoration = [(degrade(p, rng), p) for p in originals] + [(overexpose(p, rng), p) for p in originals]
    return x_pool, y_pool, expert, restoration


def paired_loss(g: Generator, f: Generator | None, pool: list, count: int, rng: np.random.Generator,
                long_sides: tuple[int, int] | None = None) -> torch.Tensor:
    """L1 of both paths (G alone when `f` is None) on `count` random pairs from `pool`, one at a time
    (their sizes differ).

    Each pair is randomly cropped to 60-100 % of its height and width and flipped: the global
    branch then sees many versions of each photo's statistics, not one to memorise. With
    `long_sides` each pair is first area-downscaled to a random long side in that range."""
    total = torch.zeros(())
    for i in rng.integers(0, len(pool), size=count):
        x, y = pool[i]
        if long_sides:
            side = round(rng.uniform(*long_sides))
            x, y = resize_long_side(x, side), resize_long_side(y, side)
        h, w = x.shape[:2]
        ch, cw = (max(32, int(n * rng.uniform(0.6, 1.0))) for n in (h, w))
        top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        x, y = (torch.from_numpy(np.ascontiguousarray(a[top:top + ch, left:left + cw].transpose(2, 0, 1)))[None] for a in (x, y))
        if rng.random() < 0.5:
            x, y = x.flip(-1), y.flip(-1)
        total = total + F.l1_loss(g(x), y) + (F.l1_loss(f(y), x) if f is not None else 0.0)
    return total / count


def train_teacher(source: DataSource, cfg: TeacherTrainConfig, show_progress: bool = True) -> tuple[Generator, dict]:
    """Train G and F; returns G."""
    torch.manual_seed(cfg.seed)
    x_pool, y_pool, expert, restoration = build_domains(source, cfg)
    if not expert:  # embedded set: no expert retouches, the restoration pairs take their place
        expert, restoration = restoration, []
    # Whole finished photos (Expert C, or the originals without FiveK) for the identity term beside the Y
    # crops: the global branch must see a whole image's statistics to learn to leave it alone.
    finished = [(y, y) for _, y in expert]
    sample_x = CropSampler(x_pool, cfg.crop, cfg.seed + 1, cfg.crop_long_sides())
    sample_y = CropSampler(y_pool, cfg.crop, cfg.seed + 2, cfg.crop_long_sides())
    pair_rng = np.random.default_rng(cfg.seed + 3)
    g, f = Generator(cfg.model), Generator(cfg.model)
    d_y, d_x = Discriminator(cfg.model), Discriminator(cfg.model)
    opt_gen = torch.optim.Adam(itertools.chain(g.parameters(), f.parameters()), cfg.lr, betas=(0.5, 0.999))
    opt_disc = torch.optim.Adam(itertools.chain(d_y.parameters(), d_x.parameters()), cfg.lr, betas=(0.5, 0.999))
    # Cosine decay to zero: with seven pairs a constant rate keeps the generator wandering from
    # checkpoint to checkpoint; decaying it settles the end state.
    schedules = [torch.optim.lr_scheduler.CosineAnnealingLR(o, cfg.steps) for o in (opt_gen, opt_disc)]
    w = cfg.weights
    adv_g = losses.lsgan_generator if cfg.gan == "lsgan" else losses.wgan_generator
    history: list[dict] = []
    start = time.time()
    with progress(show_progress) as bar:
        task = bar.add_task("teacher (two-path GAN)", total=cfg.steps)
        for step in range(cfg.steps):
            x, y = sample_x(cfg.batch), sample_y(cfg.batch)
            raw_y = g(x, clamp=False)
            fake_y, fake_x = raw_y.clamp(0.0, 1.0), f(y)
            terms = {
                "adversarial": adv_g(d_y(fake_y)) + adv_g(d_x(fake_x)),
                "cycle": losses.cycle_loss(f(fake_y), x) + losses.cycle_loss(g(fake_x), y),
                "similarity": losses.similarity_loss(fake_y, x) + losses.similarity_loss(fake_x, y),
                "total_variation": losses.total_variation(fake_y - x) + losses.total_variation(fake_x - y),
                "paired": paired_loss(g, f, expert, cfg.paired_per_step, pair_rng, cfg.pair_long_sides()),
                "identity": F.l1_loss(g(y), y) + paired_loss(g, None, finished, 1, pair_rng, cfg.pair_long_sides()),
                "highlights": losses.highlight_excess(raw_y, x),
                "shadows": losses.shadow_loss(raw_y, x),
            }
            if restoration and cfg.restoration_per_step:
                terms["restoration"] = paired_loss(g, f, restoration, cfg.restoration_per_step, pair_rng,
                                                     cfg.pair_long_sides())
            gen_loss = sum(getattr(w, k) * v for k, v in terms.items())
            opt_gen.zero_grad()
            gen_loss.backward()
            opt_gen.step()

            fy, fx = fake_y.detach(), fake_x.detach()
            if cfg.gan == "lsgan":
                disc_loss = losses.lsgan_discriminator(d_y(y), d_y(fy)) + losses.lsgan_discriminator(d_x(x), d_x(fx))
            else:
                disc_loss = losses.wgan_gp_discriminator(d_y, y, fy) + losses.wgan_gp_discriminator(d_x, x, fx)
            opt_disc.zero_grad()
            disc_loss.backward()
            opt_disc.step()
            for schedule in schedules:
                schedule.step()
            if step % 50 == 0 or step == cfg.steps - 1:
                history.append({"step": step, "generator": gen_loss.item(), "discriminator": disc_loss.item(),
                                **{k: v.item() for k, v in terms.items()}})
                if not show_progress:
                    print(f"step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in history[-1].items() if k != "step"), flush=True)
            bar.update(task, advance=1, description=f"teacher  paired L1 {terms['paired'].item() / 2:.4f}")
    info = {"seconds": round(time.time() - start, 1), "history": history,
            "data": {"x_pool": len(x_pool), "y_pool": len(y_pool), "pairs": len(expert), "restoration_pairs": len(restoration)}}
    return g.eval(), info
