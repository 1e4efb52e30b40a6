"""A candidate builds the same network whatever the process drew from torch's random generator before
(a search's earlier trials, a worker's history): searches, and the CI gate's baseline, replay exactly."""
import numpy as np
import torch
from skimage.color import rgb2lab

from aicam_opt.compress import Candidate, build_candidate
from aicam_opt.compress.evaluation import References
from aicam_opt.config import validate
from aicam_opt.models.inference import enhance_array

from .conftest import perturbed_student


def _refs(student, photo: np.ndarray) -> References:
    out = enhance_array(student, photo)
    lab = {"p": rgb2lab(out)}
    return References(pairs={"p": (photo, out)}, photos={"p": photo}, student={"p": out}, teacher={"p": out},
                      student_psnr=40.0, student_lab=lab, teacher_lab=lab)


def test_a_build_does_not_depend_on_what_was_drawn_before(data_source):
    student = perturbed_student()
    # a new guide, grid and switch (layers the student does not have start from random draws), pruning, int8
    candidate = validate(Candidate, {"name": "c", "architecture": {"guide": "luma_curve", "grid_depth": 4, "grid_size": 8,
                                                                      "num_branches": 2, "switch": "hard"},
                                     "pruning": {"ratios": {"splat": 0.5, "trunk": 0.5}},
                                     "quantization": {"low_res": "int8", "calibration_images": 4}}, "c")
    photo = np.random.default_rng(0).random((64, 96, 3), dtype=np.float32)
    refs = _refs(student, photo)
    nets = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        torch.rand(1000)
        before = torch.get_rng_state()
        built = build_candidate(candidate, data_source, recover_steps=0, student=student, teacher=student, refs=refs)
        assert torch.equal(torch.get_rng_state(), before)  # the caller's generator is left as it was
        nets.append({"output": torch.from_numpy(enhance_array(built.deployed, photo)), **built.deployed.state_dict()})
    assert nets[0].keys() == nets[1].keys()
    assert all(torch.equal(nets[0][k], nets[1][k]) for k in nets[0])
