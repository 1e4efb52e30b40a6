"""Shared fixtures: the data source, a student with a visible effect, real evaluation photos and frames.

Tests that need the real data (../shared/data, ../shared/calibration) skip without it, through
`missing_data`: with AICAM_REQUIRE_DATA set (CI, .ci/run) they fail instead, so a CI machine that
lost its data does not pass on the embedded photos alone.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from aicam_opt.data import embedded_photo, resolve
from aicam_opt.models.checkpoints import save_checkpoint
from aicam_opt.models.student import StudentConfig, StudentNet


REQUIRE_DATA = "AICAM_REQUIRE_DATA"


@pytest.fixture(scope="session")
def missing_data():
    """missing_data(what): skip the test for lack of `what`; with AICAM_REQUIRE_DATA set, fail it."""
    def missing(what: str):
        if os.environ.get(REQUIRE_DATA):
            pytest.fail(f"{REQUIRE_DATA} is set but {what} is missing (provide it, or unset {REQUIRE_DATA} "
                        "to skip the tests that need it)", pytrace=False)
        pytest.skip(f"{what} is missing")
    return missing


@pytest.fixture(scope="session")
def data_source():
    """The real data (../shared/data) when present, else the embedded scikit-image photos."""
    return resolve()


@pytest.fixture(scope="session")
def shared_data(data_source, missing_data):
    """The real data folder, for tests defined on it (FiveK Expert C pairs, the video clip)."""
    if data_source.root is None:
        missing_data("the data folder (../shared/data, or $AICAM_DATA naming a copy)")
    return data_source


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    np.random.seed(0)


def perturbed_student(cfg: StudentConfig | None = None, seed: int = 0, lowres_sigma: float = 0.05) -> StudentNet:
    """A student whose guide, switch and grids are far from identity, so errors would show.

    A larger `lowres_sigma` makes the predicted grid react strongly to content (as a trained
    student's does), so frame-to-frame changes of the effect become visible.
    """
    torch.manual_seed(seed)
    net = StudentNet(cfg or StudentConfig()).eval()
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.add_(torch.randn_like(p) * (0.3 if "full_res" in name else lowres_sigma))
    return net


@pytest.fixture(scope="session")
def make_student():
    """perturbed_student itself, for tests that need other configs."""
    return perturbed_student


@pytest.fixture(scope="session")
def student() -> StudentNet:
    return perturbed_student()


@pytest.fixture(scope="session")
def student_path(student, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "student.safetensors"
    save_checkpoint(student, "student", path)
    return path


@pytest.fixture(scope="session")
def real_photos() -> dict[str, np.ndarray]:
    """Evaluation photos as uint8: Kodak kodim21..24 from the data folder, else embedded 'rocket'."""
    from aicam_opt.data import photo_paths
    from aicam_opt.images import read_native

    source = resolve()
    paths = [p for p in photo_paths(source, "eval") if p.parent.name == "kodak24"] if source.root else []
    if paths:
        return {p.stem: read_native(p) for p in paths}
    return {"rocket": (embedded_photo("rocket") * 255).round().astype(np.uint8)}


@pytest.fixture(scope="session")
def photo_file(real_photos, tmp_path_factory) -> Path:
    """One real photo as an 8-bit PNG file."""
    from aicam_opt.images import write_native

    name, pixels = sorted(real_photos.items())[0]
    path = tmp_path_factory.mktemp("photos") / f"{name}.png"
    write_native(path, pixels)
    return path


@pytest.fixture(scope="session")
def eval_frames(missing_data) -> list[Path]:
    """Evaluation frames (140..) of the real clip, if the data folder has it."""
    from aicam_opt.data import clip_frames

    source = resolve()
    clips = clip_frames(source, "eval") if source.root else []
    if not clips:
        missing_data("a video clip in the data folder (../shared/data/video)")
    return clips[0]
