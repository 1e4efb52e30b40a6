"""Quality of a built candidate against the uncompressed student and the teacher (evaluation split).

The student's and teacher's outputs are computed once (`References`) and reused for every
candidate of a search. Metrics:
- psnr_drop_vs_student: mean PSNR (vs the FiveK Expert C reference, or the undegraded photo for the
  embedded set) of the student minus that of the candidate: how much quality the compression lost;
- deltae_vs_student / psnr_vs_student: CIEDE2000 and PSNR between candidate and student outputs;
- psnr_vs_teacher / deltae_vs_teacher: fidelity to the teacher's outputs;
- flicker (8-bit levels, see evaluate.flicker) of the student and the candidate on the evaluation clip
  (the candidate with its video grid reuse, `video.grid_every`).
Images: the evaluation FiveK pairs plus the evaluation photos (Kodak/CBSD) at 768 pixels long side.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

from ..data import DataSource, clip_frames
from ..evaluate import flicker as flicker_metric
from ..evaluate.eval_set import evaluation_photos, evaluation_split, fivek_set
from ..evaluate.quality import mean_psnr, require_images
from ..images import read_photo

Enhancer = Callable[[np.ndarray], np.ndarray]


@dataclass
class References:
    pairs: dict[str, tuple[np.ndarray, np.ndarray]]
    photos: dict[str, np.ndarray]
    student: dict[str, np.ndarray]
    teacher: dict[str, np.ndarray]
    student_psnr: float
    student_lab: dict[str, np.ndarray] = field(default_factory=dict)  # CIELAB of the outputs, converted once
    teacher_lab: dict[str, np.ndarray] = field(default_factory=dict)
    frames: list[np.ndarray] = field(default_factory=list)
    motion: list = field(default_factory=list)
    student_flicker: float | None = None
    clip: str | None = None  # the clip the frames come from

    def evaluation_set(self) -> dict:
        """What the quality figures are measured on (summaries record it; the gate compares only like
        with like): pair and photo names, the clip and how many of its frames."""
        return {"pairs": sorted(self.pairs), "photos": sorted(self.photos),
                "clip": self.clip if self.frames else None, "frames": len(self.frames)}


def references(source: DataSource, student: Enhancer, teacher: Enhancer, max_frames: int = 8) -> References:
    pairs = fivek_set(source)
    photos = evaluation_photos(source, pairs)
    student_out = {name: student(x) for name, x in photos.items()}
    refs = References(pairs=pairs, photos=photos, student=student_out,
                      teacher={name: teacher(x) for name, x in photos.items()},
                      student_psnr=mean_psnr(student_out, _experts(pairs)))
    refs.student_lab = {n: rgb2lab(img) for n, img in refs.student.items()}
    refs.teacher_lab = {n: rgb2lab(img) for n, img in refs.teacher.items()}
    clips = clip_frames(source, evaluation_split(source))
    if clips and max_frames > 1:
        refs.frames = [read_photo(p).pixels for p in clips[0][:max_frames]]
        refs.clip = clips[0][0].parent.name
        refs.motion = flicker_metric.clip_motion(refs.frames)
        refs.student_flicker = flicker_metric.flicker([student(f) for f in refs.frames], refs.motion)
    return refs


def _experts(pairs: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: y for name, (_, y) in pairs.items()}


def _mean_delta_e(reference_lab: dict[str, np.ndarray], output_lab: dict[str, np.ndarray]) -> float:
    """evaluate.quality.delta_e's mean over the images, all already in CIELAB (each converted once)."""
    require_images(len(output_lab), "mean ΔE2000")
    return float(np.mean([deltaE_ciede2000(reference_lab[n], output_lab[n]).mean() for n in output_lab]))


def candidate_quality(refs: References, candidate: Enhancer,
                      clip: Callable[[], Enhancer] | None = None) -> dict[str, float | int | None]:
    """`candidate` on the photos; the clip's frames, in order, through a fresh `clip()` enhancer (one that
    may carry state from frame to frame, e.g. a grid reused over frames), else `candidate` too."""
    out = {name: candidate(x) for name, x in refs.photos.items()}
    lab = {name: rgb2lab(np.clip(img, 0, 1)) for name, img in out.items()}
    candidate_psnr = mean_psnr(out, _experts(refs.pairs))
    quality: dict[str, float | int | None] = {
        "psnr": candidate_psnr,
        "student_psnr": refs.student_psnr,
        "psnr_drop_vs_student": refs.student_psnr - candidate_psnr,
        "psnr_vs_student": mean_psnr(out, {n: refs.student[n] for n in out}),
        "deltae_vs_student": _mean_delta_e(refs.student_lab, lab),
        "psnr_vs_teacher": mean_psnr(out, {n: refs.teacher[n] for n in out}),
        "deltae_vs_teacher": _mean_delta_e(refs.teacher_lab, lab),
        "pairs": len(refs.pairs),
        "images": len(out),
    }
    if refs.frames:
        frame_enhancer = clip() if clip is not None else candidate
        quality["flicker"] = flicker_metric.flicker([frame_enhancer(f) for f in refs.frames], refs.motion)
        quality["flicker_student"] = refs.student_flicker
        quality["flicker_frames"] = len(refs.frames)
    return quality
