"""The committed teacher and student meet the foundation issue's quality bars on the eval split."""
import pytest

from aicam_opt.evaluate.cli import evaluate
from aicam_opt.models.checkpoints import load_model
from aicam_opt.models.inference import enhance_array


@pytest.fixture(scope="module")
def report(data_source):
    if data_source.root is None:
        pytest.skip("the quality bars are defined on ../shared/data (FiveK Expert C)")
    models = {k: load_model(kind=k) for k in ("teacher", "student")}
    return evaluate(data_source, {k: (lambda img, m=m: enhance_array(m, img)) for k, m in models.items()}, max_frames=16)


def test_teacher_beats_identity(report):
    fivek = report["fivek"]
    assert fivek["teacher"]["psnr"] >= fivek["identity"]["psnr"] + 2.0
    assert fivek["teacher"]["deltae"] < fivek["identity"]["deltae"]


def test_student_close_to_teacher(report):
    assert report["fivek"]["student"]["psnr"] >= report["fivek"]["teacher"]["psnr"] - 1.0


def test_student_flickers_no_more_than_teacher(report):
    assert report["flicker"]["student"] <= report["flicker"]["teacher"]
