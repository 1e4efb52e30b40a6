"""Running a model on one image, and the held-grid enhancer the flicker report uses."""
import numpy as np
import torch

from aicam_opt.data import embedded_photo
from aicam_opt.images import resize_long_side
from aicam_opt.models.checkpoints import load_model
from aicam_opt.models.inference import enhance_array, enhance_with_held_grid


def test_held_grid_keeps_the_first_frames_grid():
    student = load_model(kind="student")
    first, second = (resize_long_side(embedded_photo(name), 256) for name in ("chelsea", "coffee"))
    enhance = enhance_with_held_grid(student)
    assert np.allclose(enhance(first), enhance_array(student, first), atol=1e-6)
    held = enhance(second)
    with torch.no_grad():
        x1, x2 = (torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1)))[None] for f in (first, second))
        expected = student.full_res(x2, student.grid(x1))[0].numpy().transpose(1, 2, 0)
    assert np.allclose(held, expected, atol=1e-6)
    # a different picture gets a different grid when the student runs normally
    assert np.abs(held - enhance_array(student, second)).mean() > 1e-3
