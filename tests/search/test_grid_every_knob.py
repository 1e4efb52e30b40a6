"""The search's `knobs.video.grid_every`: a candidate predicts its grid on one video frame in N; its video
workloads are priced with the low-res part amortised and its flicker is measured with the reuse."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import optuna
import pytest
import skimage.data
import torch

from aicam_opt.compress.candidate import Candidate
from aicam_opt.compress.evaluation import References, candidate_quality
from aicam_opt.errors import AicamError
from aicam_opt.evaluate.flicker import clip_motion, flicker
from aicam_opt.latency import Assignment, Placement
from aicam_opt.latency import load_model as load_latency_model
from aicam_opt.latency.target import load_target
from aicam_opt.models.checkpoints import load_model
from aicam_opt.models.inference import enhance_array, enhance_with_grid_every
from aicam_opt.search.objective import cost_figures
from aicam_opt.search.space import candidate_key, load_space, suggest_candidate

PARAMS = {"num_branches": 2, "switch": "hard", "guide": "luma_curve", "self_similarity": False, "grid_depth": 4,
          "curve_knots": 8, "grid_size": 8, "prune_splat": 0.0, "prune_trunk": 0.5, "prune_branches": 0.25,
          "importance": "magnitude", "low_res": "cpu:fp16", "full_res": "gpu:fp16"}


def _space_with(tmp_path: Path, choices: str) -> Path:
    text = (Path(__file__).parents[2] / "search_spaces" / "default.yaml").read_text()
    path = tmp_path / "video.yaml"
    knob = re.compile(r"^    grid_every: \[[^\]]*\]", re.M)
    assert len(knob.findall(text)) == 1, "default.yaml's knobs.video.grid_every line"
    path.write_text(knob.sub(f"    grid_every: {choices}", text))
    return path


@pytest.fixture(scope="module")
def student():
    return load_model(kind="student")


def frames() -> list[np.ndarray]:
    photo = skimage.data.astronaut().astype(np.float32) / 255
    return [np.ascontiguousarray(photo[40:136, 60 + 4 * t:220 + 4 * t]) for t in range(5)]


def test_the_knob_reaches_the_candidate_and_its_key(tmp_path):
    sd865 = load_target("sd865")
    space = load_space(_space_with(tmp_path, "[1, 4]"))
    every, fourth = (suggest_candidate(optuna.trial.FixedTrial({**PARAMS, "grid_every": n}, number=1), space, sd865)
                     for n in (1, 4))
    assert (every.video.grid_every, fourth.video.grid_every) == (1, 4)
    assert candidate_key(every) != candidate_key(fourth)


def test_the_default_space_searches_the_reuse():
    """default.yaml samples N in {1, 2, 4}: the 8K budget it constrains is met only with the grid reused."""
    space = load_space("default")
    assert space.knobs.video.grid_every == [1, 2, 4]
    candidate = suggest_candidate(optuna.trial.FixedTrial({**PARAMS, "grid_every": 4}, number=1), space, load_target("sd865"))
    assert candidate.video.grid_every == 4


def test_a_single_choice_is_no_parameter_and_keeps_the_key(tmp_path):
    """With one choice (N = 1) every candidate predicts the grid on every frame, the study has no grid_every
    parameter, and a candidate's key is what it was before the knob existed."""
    sd865 = load_target("sd865")
    space = load_space(_space_with(tmp_path, "[1]"))
    assert space.knobs.video.grid_every == [1]
    trial = optuna.trial.FixedTrial(PARAMS, number=1)
    candidate = suggest_candidate(trial, space, sd865)
    assert candidate.video.grid_every == 1 and "grid_every" not in trial.params
    body = candidate.model_dump(mode="json", exclude={"name", "description", "video"})
    assert candidate_key(candidate) == hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


@pytest.mark.parametrize("choices", ["[0, 2]", "[]", "[1, 65]"])
def test_bad_choices_are_refused_when_the_space_loads(tmp_path, choices):
    with pytest.raises(AicamError, match="knobs.video.grid_every"):
        load_space(_space_with(tmp_path, choices))


def test_a_candidate_with_grid_every_0_is_refused(tmp_path):
    from aicam_opt.config import load_yaml

    path = tmp_path / "c.yaml"
    path.write_text("name: c\nvideo: {grid_every: 0}\n")
    with pytest.raises(AicamError, match=r"video.grid_every.*greater than or equal to 1"):
        load_yaml(path, Candidate)


def test_video_workloads_are_priced_per_frame_and_stills_whole(student):
    target = load_target("sd865")
    latency = load_latency_model("sd865")
    placement = Placement(parts={"low_res": Assignment("cpu", "fp16"), "full_res": Assignment("gpu", "fp16")})
    every = cost_figures(student, placement, target, latency)
    fourth = cost_figures(student, placement, target, latency, grid_every=4)
    from aicam_opt.cost.shipped import shipped_student_cost

    for workload in ("preview", "video8k"):
        low_res = latency.predict(shipped_student_cost(student, workload, "fp16", "gpu").ops, placement).parts_ms["low_res"]
        assert fourth.latency_ms[workload] == pytest.approx(every.latency_ms[workload] - low_res * 3 / 4)
    assert fourth.latency_ms["photo100mp"] == every.latency_ms["photo100mp"]
    assert fourth.macs == every.macs and fourth.peak_memory_mb == every.peak_memory_mb


def test_frames_between_key_frames_reuse_the_key_frames_grid(student):
    clip = frames()
    enhance = enhance_with_grid_every(student, 2)
    outputs = [enhance(f) for f in clip]
    with torch.no_grad():
        x = [torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1)))[None] for f in clip]
        for t in range(len(clip)):
            expected = student.full_res(x[t], student.grid(x[t - t % 2]))[0].numpy().transpose(1, 2, 0)
            assert np.allclose(outputs[t], expected, atol=1e-6), t
    every = enhance_with_grid_every(student, 1)
    assert all(np.array_equal(every(f), enhance_array(student, f)) for f in clip)


def test_the_candidates_flicker_is_measured_with_its_reuse(student):
    clip = frames()
    photo = clip[0]
    refs = References(pairs={"p": (photo, photo)}, photos={"p": photo}, student={"p": photo}, teacher={"p": photo},
                      student_psnr=30.0, frames=clip, motion=clip_motion(clip), student_flicker=1.0)
    from skimage.color import rgb2lab

    refs.student_lab = refs.teacher_lab = {"p": rgb2lab(photo)}
    per_frame = candidate_quality(refs, lambda img: enhance_array(student, img))
    reused = candidate_quality(refs, lambda img: enhance_array(student, img),
                               clip=lambda: enhance_with_grid_every(student, 4))
    held = enhance_with_grid_every(student, 4)
    assert reused["flicker"] == pytest.approx(flicker([held(f) for f in clip], refs.motion))
    assert reused["flicker"] != per_frame["flicker"] and reused["psnr"] == per_frame["psnr"]
