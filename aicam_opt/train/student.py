"""Distil the student (guidance-map switch network) from the trained teacher.

Targets: the teacher's output on the training photos (FiveK training inputs and Expert C retouches,
Kodak/CBSD training photos and under- and over-exposed copies of them), computed once: on a finished
photo the teacher's output is the photo, and the student must learn that too. The student's own
output may not blow a highlight or crush a shadow the input did not (`losses.highlight_excess`,
`losses.shadow_loss`), wherever the teacher falls short of that. Losses: L1 + SSIM reconstruction of the
teacher's output, plus the inter-frame similarity loss on (a) real consecutive frames of the
training part of the video clip (flow-aligned, occlusion-masked; the student's frame-to-frame
change must match the teacher's on the same frames) and (b) simulated camera motion: two
overlapping crops of a photo, whose shared pixels must be enhanced identically.

Two stages. (1) Distillation on crops (`steps`). (2) Steadiness (`steadiness.steps`): a fine-tune on
whole training frames of each clip at the clip's own size, as preview frames reach the student, where
the student's frame-to-frame change may not exceed the teacher's (`losses.frame_change_excess`) on top
of the stage-1 losses. Matching the teacher's change on crops alone leaves the student's flicker on
either side of the teacher's by its approximation error (docs/models.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from pydantic import Field

from ..config import Config
from ..data import DataSource, clip_frames, load_pairs, load_photos
from ..images import read_photo, resize_long_side
from ..models.checkpoints import load_model
from ..models.student import StudentConfig, StudentNet
from ..motion import frame_motion
from . import losses
from .batches import CropSampler, progress
from ..degrade import degrade, overexpose


class StudentLossWeights(Config):
    l1: float = Field(1.0, ge=0)
    ssim: float = Field(0.2, ge=0)
    # 3, not 1: with the teacher as the inter-frame reference, flicker falls from weight 1 to 3 and
    # plateaus above it.
    inter_frame: float = Field(3.0, ge=0, description="real consecutive frames")
    camera_motion: float = Field(0.5, ge=0, description="simulated camera motion on photos")
    highlights: float = Field(10.0, ge=0, description="losses.highlight_excess of the student on its photo crops")
    shadows: float = Field(10.0, ge=0, description="losses.shadow_loss of the student on its photo crops")


class SteadinessConfig(Config):
    """Stage 2 (module doc). Its batch statistics are those of whole frames, not of the photo crops the
    running statistics were learnt on, so BatchNorm stays frozen in this stage."""

    steps: int = Field(300, ge=0, description="fine-tune steps; 0: no steadiness stage (the search's short recoveries)")
    lr: float = Field(3e-4, gt=0, description="starting learning rate, cosine-decayed to 0: a fine-tune, not a restart")
    weight: float = Field(10.0, ge=0, description="of the frame-change excess on whole frames")
    pair_stride: int = Field(2, ge=1, description="use every n-th consecutive pair of each clip's training frames")


class StudentTrainConfig(Config):
    model: StudentConfig = StudentConfig()
    weights: StudentLossWeights = StudentLossWeights()
    steps: int = Field(800, ge=1)
    batch: int = Field(4, ge=1)
    crop: int = Field(160, ge=32)
    long_side: int = Field(256, ge=64)
    video_long_side: int = Field(320, ge=64)
    video_pairs_per_step: int = Field(2, ge=0)
    # The preview's content (here a bright indoor clip) must get the teacher's look, or the student's
    # different tone on it shows up as a different (where the teacher clips highlights, larger)
    # frame-to-frame change: so training frames of each clip are distilled too, not only photos.
    video_distill_stride: int = Field(10, ge=1, description="distil every n-th training frame of each clip")
    # "native" (the clip's own size) is an option: it did not beat the photos' scale beyond seed noise.
    video_distill_scale: Literal["photo", "native"] = Field(
        "photo", description="distilled clip frames: short side resized to long_side, or at the clip's own size")
    # The student's output should change between frames as the teacher's does, not as the input does:
    # where the teacher clips a highlight its output stays put however much the input moves, and an
    # input reference would train the student to pass that change on.
    inter_frame_reference: Literal["input", "teacher"] = Field(
        "teacher", description="whose frame-to-frame change the student's must match on real frames")
    lr: float = Field(2e-3, gt=0)
    # A recovery's few batches of a few crops would overwrite the running statistics the inherited
    # weights were trained with, and the candidate's look with them; a fine-tune keeps them.
    freeze_batchnorm: bool = Field(False, description="keep BatchNorm's running statistics in stage 1 too")
    seed: int = 0
    steadiness: SteadinessConfig = SteadinessConfig()


@torch.no_grad()
def teacher_targets(teacher: torch.nn.Module, images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    pairs = []
    for img in images:
        out = teacher(torch.from_numpy(img.transpose(2, 0, 1).copy())[None])[0].numpy().transpose(1, 2, 0)
        pairs.append((img, np.ascontiguousarray(out)))
    return pairs


def video_pairs(source: DataSource, long_side: int | None, limit: int | None = None,
                stride: int = 1) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(frame_t, frame_t+1, flow, valid) for the training frames of every clip (long side `long_side`,
    None: as stored), every `stride`-th pair; with `limit`, that many pairs spread evenly over all of
    them (the optical flow is what costs)."""
    starts = [(frames, i) for frames in clip_frames(source, "train") for i in range(0, len(frames) - 1, stride)]
    if limit is not None and len(starts) > limit:
        starts = [starts[int(k)] for k in np.linspace(0, len(starts) - 1, limit)]
    out = []
    for frames, i in starts:
        a, b = (read_photo(f).pixels for f in frames[i:i + 2])
        if long_side is not None:
            a, b = resize_long_side(a, long_side), resize_long_side(b, long_side)
        motion = frame_motion(a, b)
        out.append((a, b, motion.flow.astype(np.float32), motion.valid))
    return out


def _to_tensor(arr: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))[None]


def sample_video_batch(pairs, n: int, crop: int, rng: np.random.Generator):
    picks = [pairs[i] for i in rng.integers(0, len(pairs), size=n)]
    items = []
    for a, b, fl, valid, ref_a, ref_b in picks:
        h, w = a.shape[:2]
        c = min(crop, h, w)
        top, left = rng.integers(0, h - c + 1), rng.integers(0, w - c + 1)
        sl = (slice(top, top + c), slice(left, left + c))
        items.append((_to_tensor(a[sl]), _to_tensor(b[sl]), torch.from_numpy(fl[sl])[None], torch.from_numpy(valid[sl])[None],
                      _to_tensor(ref_a[sl]), _to_tensor(ref_b[sl])))
    return [torch.cat(t) for t in zip(*items)]


def camera_motion_loss(student: StudentNet, frames: torch.Tensor, rng: np.random.Generator, max_shift: int = 12) -> torch.Tensor:
    """Two crops of the same photo shifted by (dy, dx): their overlap must be enhanced identically."""
    b, _, h, w = frames.shape
    dy, dx = (int(v) for v in rng.integers(-max_shift, max_shift + 1, size=2))
    ch, cw = h - abs(dy), w - abs(dx)
    y0, x0 = max(0, -dy), max(0, -dx)
    first = frames[:, :, y0:y0 + ch, x0:x0 + cw]
    second = frames[:, :, y0 + dy:y0 + dy + ch, x0 + dx:x0 + dx + cw]
    out1, out2 = student(first), student(second)
    # pixel (i, j) of `second` is pixel (i + dy, j + dx) of `first`; compare where both exist
    oy, ox = max(0, dy), max(0, dx)
    ih, iw = ch - abs(dy), cw - abs(dx)
    return F.l1_loss(out1[:, :, oy:oy + ih, ox:ox + iw], out2[:, :, oy - dy:oy - dy + ih, ox - dx:ox - dx + iw])


def build_training_images(source: DataSource, long_side: int, seed: int, video_stride: int,
                          video_scale: Literal["photo", "native"] = "photo") -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    photos = list(load_photos(source, "train", long_side).values())
    fivek = list(load_pairs(source, "train", long_side).values())
    frames = []
    for clip in clip_frames(source, "train"):
        for f in clip[::video_stride]:
            pixels = read_photo(f).pixels
            if video_scale == "photo":  # short side to `long_side`: wide frames must still fit the crops
                pixels = resize_long_side(pixels, round(long_side * max(pixels.shape[:2]) / min(pixels.shape[:2])))
            frames.append(pixels)
    return ([x for x, _ in fivek] + [y for _, y in fivek] + photos + [degrade(p, rng) for p in photos]
            + [overexpose(p, rng) for p in photos] + frames)


@dataclass
class DistillationData:
    """What distillation trains on: (photo, teacher output) pairs and training-clip frame pairs with flow.
    Preparing it (the teacher over every training photo, optical flow over the clip) costs far more
    than a short recovery, so a search prepares it once and passes it to every trial."""

    targets: list[tuple[np.ndarray, np.ndarray]]
    # (frame_t, frame_t+1, flow, valid, reference_t, reference_t+1): the reference pair is what the
    # student's frame-to-frame change must follow (the teacher's outputs, or the frames themselves).
    frames: list[tuple[np.ndarray, ...]]
    # The same for whole frames at the clip's own size, always with the teacher's outputs as reference:
    # the steadiness stage's data (empty without it).
    whole_frames: list[tuple[np.ndarray, ...]] = field(default_factory=list)


def _with_reference(pairs, teacher: torch.nn.Module | None) -> list[tuple[np.ndarray, ...]]:
    """Append each frame pair's reference: the teacher's outputs on both frames, or (None) the frames."""
    if teacher is None:
        return [(a, b, fl, valid, a, b) for a, b, fl, valid in pairs]
    return [(a, b, fl, valid, *(out for _, out in teacher_targets(teacher, [a, b]))) for a, b, fl, valid in pairs]


def distillation_data(source: DataSource, cfg: StudentTrainConfig, teacher: torch.nn.Module,
                      max_video_pairs: int | None = None) -> DistillationData:
    with torch.no_grad():
        targets = teacher_targets(teacher, build_training_images(source, cfg.long_side, cfg.seed,
                                                                 cfg.video_distill_stride, cfg.video_distill_scale))
    use_video = cfg.video_pairs_per_step and cfg.weights.inter_frame
    frames = video_pairs(source, cfg.video_long_side, max_video_pairs) if use_video else []
    frames = _with_reference(frames, teacher if cfg.inter_frame_reference == "teacher" else None)
    steady = cfg.steadiness
    whole = video_pairs(source, None, stride=steady.pair_stride) if steady.steps and steady.weight else []
    return DistillationData(targets, frames, _with_reference(whole, teacher))


def _crop_terms(student: StudentNet, sampler: CropSampler, frames, cfg: StudentTrainConfig,
                rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """The stage-1 loss terms on one batch: photo crops, their camera-motion pair, clip-frame crops."""
    x, target = sampler(cfg.batch)
    raw = student(x, clamp=False)
    out = raw.clamp(0.0, 1.0)
    terms = {"l1": F.l1_loss(out, target), "ssim": 1.0 - losses.ssim(out, target),
             "highlights": losses.highlight_excess(raw, x), "shadows": losses.shadow_loss(raw, x)}
    if cfg.weights.camera_motion:
        terms["camera_motion"] = camera_motion_loss(student, x, rng)
    if frames:
        a, b, fl, valid, ref_a, ref_b = sample_video_batch(frames, cfg.video_pairs_per_step, cfg.crop, rng)
        terms["inter_frame"] = losses.inter_frame_loss(student(a), student(b), ref_a, ref_b, fl, valid)
    return terms


def _whole_frame_excess(student: StudentNet, pairs, rng: np.random.Generator) -> torch.Tensor:
    """Stage 2's term on one whole training-frame pair: the student sees the frame as a preview does."""
    a, b, fl, valid, ref_a, ref_b = pairs[int(rng.integers(len(pairs)))]
    return losses.frame_change_excess(student(_to_tensor(a)), student(_to_tensor(b)), _to_tensor(ref_a), _to_tensor(ref_b),
                                      torch.from_numpy(fl)[None], torch.from_numpy(valid)[None])


def _optimise(opt: torch.optim.Optimizer, sched, steps: int, terms_of: Callable[[], dict],
              weights: dict[str, float], name: str, bar, history: list[dict], first_step: int, verbose: bool) -> None:
    task = bar.add_task(f"student ({name})", total=steps)
    for step in range(steps):
        terms = terms_of()
        loss = sum(weights[k] * v for k, v in terms.items())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == steps - 1:
            history.append({"step": first_step + step, "loss": loss.item(), **{k: v.item() for k, v in terms.items()}})
            if verbose:
                print(f"{name} step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in history[-1].items() if k != "step"),
                      flush=True)
        bar.update(task, advance=1, description=f"student ({name})  L1 {terms['l1'].item():.4f}")


def _freeze_batchnorm(net: nn.Module) -> None:
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


def train_student(source: DataSource, cfg: StudentTrainConfig, show_progress: bool = True,
                  teacher: torch.nn.Module | None = None, student: StudentNet | None = None,
                  data: DistillationData | None = None) -> tuple[StudentNet, dict]:
    """Distil `student` (a fresh StudentNet(cfg.model) by default) from `teacher` (the committed one by default):
    stage 1, then the steadiness stage when `cfg.steadiness.steps` and a clip with training frames (module doc).

    Passing an existing student continues from its weights: the compression stage uses this as
    its recovery step (a short distillation after pruning or a configuration change)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    teacher = teacher or load_model(kind="teacher")
    data = data or distillation_data(source, cfg, teacher)
    sampler = CropSampler(data.targets, cfg.crop, cfg.seed + 1)
    student = student if student is not None else StudentNet(cfg.model)
    student.train()
    if cfg.freeze_batchnorm:
        _freeze_batchnorm(student)
    weights = cfg.weights.model_dump()
    history: list[dict] = []
    start = time.time()
    with progress(show_progress) as bar:
        crop_terms = lambda: _crop_terms(student, sampler, data.frames, cfg, rng)  # noqa: E731
        opt = torch.optim.Adam(student.parameters(), cfg.lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.steps, pct_start=0.1)
        _optimise(opt, sched, cfg.steps, crop_terms, weights, "distillation", bar, history, 0, not show_progress)
        distilled = time.time()
        steady = cfg.steadiness
        if steady.steps and data.whole_frames:
            _freeze_batchnorm(student)
            opt = torch.optim.Adam(student.parameters(), steady.lr)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steady.steps)
            _optimise(opt, sched, steady.steps,
                      lambda: {**crop_terms(), "frame_excess": _whole_frame_excess(student, data.whole_frames, rng)},
                      {**weights, "frame_excess": steady.weight}, "steadiness", bar, history, cfg.steps, not show_progress)
    info = {"seconds": round(time.time() - start, 1), "history": history,
            "stage_seconds": {"distillation": round(distilled - start, 1), "steadiness": round(time.time() - distilled, 1)},
            "data": {"images": len(data.targets), "video_frame_pairs": len(data.frames),
                     "whole_frame_pairs": len(data.whole_frames) if steady.steps else 0}}
    return student.eval(), info
