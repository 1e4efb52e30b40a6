"""The committed teacher and student meet the foundation issue's quality bars on the eval split."""
import pytest

from aicam_opt.evaluate.cli import evaluate
from aicam_opt.models.checkpoints import load_model
from aicam_opt.models.inference import enhance_array, enhance_with_held_grid


@pytest.fixture(scope="module")
def report(data_source):
    if data_source.root is None:
        pytest.skip("the quality bars are defined on ../shared/data (FiveK Expert C)")
    models = {k: load_model(kind=k) for k in ("teacher", "student")}
    return evaluate(data_source, {k: (lambda img, m=m: enhance_array(m, img)) for k, m in models.items()}, max_frames=None,
                    clip_only={"student_grid_held": enhance_with_held_grid(models["student"])})


def test_teacher_beats_identity(report):
    """Measured: 22.34 dB vs the identity's 20.22 (+2.13; the single-scale teacher reached +1.37), ΔE2000
    8.73 vs 10.34. Trained at one resolution it extrapolated to the 512-px pairs; multi-scale it does not."""
    fivek = report["fivek"]
    assert fivek["teacher"]["psnr"] >= fivek["identity"]["psnr"] + 2.0
    assert fivek["teacher"]["deltae"] < fivek["identity"]["deltae"]


def test_student_close_to_teacher(report):
    assert report["fivek"]["student"]["psnr"] >= report["fivek"]["teacher"]["psnr"] - 1.0
    assert report["fidelity"]["student_vs_teacher"]["psnr"] > 25.0


def test_both_steadier_than_the_input(report):
    assert report["flicker"]["teacher"] < report["flicker"]["input"]
    assert report["flicker"]["student"] < report["flicker"]["input"]


@pytest.mark.xfail(strict=True, reason=(
    "issue 2 open: on bedroom frames 140-199 the committed student flickers 2.638 8-bit levels vs the teacher's 2.622 "
    "(+0.6 %; input 3.133; with the single-scale teacher it was +2.1 %). The excess now sits below input luma 0.6 "
    "(+1.4 %); in the highlights the student is steadier. Student seeds spread by 0.05 (README), more than the gap. "
    "With its grid held the student measures 2.621: the excess is the grid changing between frames."))
def test_student_flickers_no_more_than_teacher(report):
    assert report["flicker"]["student"] <= report["flicker"]["teacher"]


def test_student_per_pixel_path_is_as_steady_as_the_teacher(report):
    """Where the student's excess comes from: with its low-res grid held from the clip's first frame (what
    temporal smoothing of the grid tends to), the committed student measures 2.621 vs the teacher's 2.622,
    while the per-frame student measures 2.638. Held within 0.2 % of the teacher (the per-frame gap is 0.6 %)."""
    flicker = report["flicker"]
    assert flicker["student_grid_held"] <= flicker["teacher"] * 1.002
    assert flicker["student_grid_held"] < flicker["student"]


def test_student_keeps_its_look_across_sizes(report):
    """The preview (half size) looks like the capture downscaled: the grid-sliced student more so than the
    teacher, whose fixed pixel receptive field sees different context at each size (47.61 vs 44.87 dB)."""
    scale = report["scale_consistency"]
    assert scale["student"]["psnr"] > scale["teacher"]["psnr"] + 1.0
    assert scale["student"]["deltae"] < 0.5


def test_student_as_steady_as_teacher_in_shadows_and_midtones(report):
    """Below input luma 0.6 outputs are rarely pushed to white, so this compares how each model passes the
    same noise and motion on, without clipping hiding it. The student is trained to change from frame to
    frame as the teacher does: measured 6.57 vs 6.48 levels (+1.4 %; most of the committed student's excess
    over the teacher is here), held within 2 %."""
    by_luma = report["flicker_by_luma"]
    below = [i for i, (_, hi) in enumerate(by_luma["bands"]) if hi <= 0.6]
    pooled = {name: sum(by_luma["share"][i] * by_luma[name][i] for i in below) / sum(by_luma["share"][i] for i in below)
              for name in ("teacher", "student")}
    assert pooled["student"] <= 1.02 * pooled["teacher"]


def test_student_follows_teachers_clipping_in_highlights(report):
    """Above input luma 0.8 the teacher pushes most pixels to white and its output barely changes (0.33 levels vs
    the input's 2.29). A student that passed the input's frame change on there flickered 0.40; trained to follow
    the teacher's change it stays within 0.05 levels of it (measured 0.29)."""
    by_luma = report["flicker_by_luma"]
    top = [i for i, (lo, _) in enumerate(by_luma["bands"]) if lo >= 0.8]
    assert top and all(by_luma["student"][i] <= by_luma["teacher"][i] + 0.05 for i in top)
