"""Distil the student (guidance-map switch network) from the trained teacher.

Targets: the teacher's output on the training photos (FiveK training inputs, Kodak/CBSD training
photos and degraded copies of them), computed once. Losses: L1 + SSIM reconstruction of the
teacher's output, plus the inter-frame similarity loss on (a) real consecutive frames of the
training part of the video clip (flow-aligned, occlusion-masked; the student's frame-to-frame
change must match the teacher's on the same frames) and (b) simulated camera motion: two
overlapping crops of a photo, whose shared pixels must be enhanced identically.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import time

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field

from ..config import Config
from ..data import DataSource, clip_frames, load_pairs, load_photos
from ..images import read_photo, resize_long_side
from ..models.checkpoints import load_model
from ..models.student import StudentConfig, StudentNet
from ..motion import frame_motion
from . import losses
from .batches import CropSampler, progress
from .degrade import degrade


class StudentLossWeights(Config):
    l1: float = Field(1.0, ge=0)
    ssim: float = Field(0.2, ge=0)
    # 3, not 1: with the teacher as the inter-frame reference, flicker falls from weight 1 to 3 and
    # plateaus above it (README, "Measured quality").
    inter_frame: float = Field(3.0, ge=0, description="real consecutive frames")
    camera_motion: float = Field(0.5, ge=0, description="simulated camera motion on photos")


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
    # Distilling the clip's frames at their own size instead was measured (with the single-scale teacher)
    # within seed noise of the photos' scale; kept as an option (README, "Measured quality").
    video_distill_scale: Literal["photo", "native"] = Field(
        "photo", description="distilled clip frames: short side resized to long_side, or at the clip's own size")
    # The student's output should change between frames as the teacher's does, not as the input does:
    # where the teacher clips a highlight its output stays put however much the input moves, and an
    # input reference would train the student to pass that change on (measured: more flicker there).
    inter_frame_reference: Literal["input", "teacher"] = Field(
        "teacher", description="whose frame-to-frame change the student's must match on real frames")
    lr: float = Field(2e-3, gt=0)
    seed: int = 0


@torch.no_grad()
def teacher_targets(teacher: torch.nn.Module, images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    pairs = []
    for img in images:
        out = teacher(torch.from_numpy(img.transpose(2, 0, 1).copy())[None])[0].numpy().transpose(1, 2, 0)
        pairs.append((img, np.ascontiguousarray(out)))
    return pairs


def video_pairs(source: DataSource, long_side: int,
                limit: int | None = None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(frame_t, frame_t+1, flow, valid) for the training frames of every clip; with `limit`, that many
    pairs spread evenly over all of them (the optical flow is what costs)."""
    starts = [(frames, i) for frames in clip_frames(source, "train") for i in range(len(frames) - 1)]
    if limit is not None and len(starts) > limit:
        starts = [starts[int(k)] for k in np.linspace(0, len(starts) - 1, limit)]
    out = []
    for frames, i in starts:
        a, b = (resize_long_side(read_photo(f).pixels, long_side) for f in frames[i:i + 2])
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
    fivek_inputs = [x for x, _ in load_pairs(source, "train", long_side).values()]
    frames = []
    for clip in clip_frames(source, "train"):
        for f in clip[::video_stride]:
            pixels = read_photo(f).pixels
            if video_scale == "photo":  # short side to `long_side`: wide frames must still fit the crops
                pixels = resize_long_side(pixels, round(long_side * max(pixels.shape[:2]) / min(pixels.shape[:2])))
            frames.append(pixels)
    return fivek_inputs + photos + [degrade(p, rng) for p in photos] + frames


@dataclass
class DistillationData:
    """What distillation trains on: (photo, teacher output) pairs and training-clip frame pairs with flow.
    Preparing it (the teacher over every training photo, optical flow over the clip) costs far more
    than a short recovery, so a search prepares it once and passes it to every trial."""

    targets: list[tuple[np.ndarray, np.ndarray]]
    # (frame_t, frame_t+1, flow, valid, reference_t, reference_t+1): the reference pair is what the
    # student's frame-to-frame change must follow (the teacher's outputs, or the frames themselves).
    frames: list[tuple[np.ndarray, ...]]


def distillation_data(source: DataSource, cfg: StudentTrainConfig, teacher: torch.nn.Module,
                      max_video_pairs: int | None = None) -> DistillationData:
    with torch.no_grad():
        targets = teacher_targets(teacher, build_training_images(source, cfg.long_side, cfg.seed,
                                                                 cfg.video_distill_stride, cfg.video_distill_scale))
    use_video = cfg.video_pairs_per_step and cfg.weights.inter_frame
    frames = video_pairs(source, cfg.video_long_side, max_video_pairs) if use_video else []
    if cfg.inter_frame_reference == "teacher":
        frames = [(a, b, fl, valid, *(out for _, out in teacher_targets(teacher, [a, b]))) for a, b, fl, valid in frames]
    else:
        frames = [(a, b, fl, valid, a, b) for a, b, fl, valid in frames]
    return DistillationData(targets, frames)


def train_student(source: DataSource, cfg: StudentTrainConfig, show_progress: bool = True,
                  teacher: torch.nn.Module | None = None, student: StudentNet | None = None,
                  data: DistillationData | None = None) -> tuple[StudentNet, dict]:
    """Distil `student` (a fresh StudentNet(cfg.model) by default) from `teacher` (the committed one by default).

    Passing an existing student continues from its weights: the compression stage uses this as
    its recovery step (a short distillation after pruning or a configuration change)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    teacher = teacher or load_model(kind="teacher")
    data = data or distillation_data(source, cfg, teacher)
    sampler = CropSampler(data.targets, cfg.crop, cfg.seed + 1)
    frames = data.frames
    student = student if student is not None else StudentNet(cfg.model)
    student.train()
    opt = torch.optim.Adam(student.parameters(), cfg.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    w = cfg.weights
    history: list[dict] = []
    start = time.time()
    with progress(show_progress) as bar:
        task = bar.add_task("student (distillation)", total=cfg.steps)
        for step in range(cfg.steps):
            x, target = sampler(cfg.batch)
            out = student(x)
            terms = {"l1": F.l1_loss(out, target), "ssim": 1.0 - losses.ssim(out, target)}
            if w.camera_motion:
                terms["camera_motion"] = camera_motion_loss(student, x, rng)
            if frames:
                a, b, fl, valid, ref_a, ref_b = sample_video_batch(frames, cfg.video_pairs_per_step, cfg.crop, rng)
                terms["inter_frame"] = losses.inter_frame_loss(student(a), student(b), ref_a, ref_b, fl, valid)
            loss = sum(getattr(w, k) * v for k, v in terms.items())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if step % 50 == 0 or step == cfg.steps - 1:
                history.append({"step": step, "loss": loss.item(), **{k: v.item() for k, v in terms.items()}})
                if not show_progress:
                    print(f"step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in history[-1].items() if k != "step"), flush=True)
            bar.update(task, advance=1, description=f"student  L1 {terms['l1'].item():.4f}")
    info = {"seconds": round(time.time() - start, 1), "history": history,
            "data": {"images": len(data.targets), "video_frame_pairs": len(frames)}}
    return student.eval(), info
