"""The committed teacher and student meet the foundation issue's quality bars on the eval split."""
import pytest

from aicam_opt.evaluate.report import evaluate
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


def test_student_flickers_no_more_than_teacher(report):
    """Measured on bedroom frames 140-199 (960x540): student 2.595, teacher 2.622, input 3.133. Before the
    steadiness stage the committed student measured 2.638 and students of other seeds 2.60-2.68; after it, the
    committed student and a seed-1 student both measured within 0.01 of 2.595 (README, "Measured quality")."""
    assert report["flicker"]["student"] <= report["flicker"]["teacher"]


def test_student_per_pixel_path_is_as_steady_as_the_teacher(report):
    """With its low-res grid held from the clip's first frame (what temporal smoothing of the grid tends to) the
    committed student measures 2.594, per frame 2.595: the steadiness stage trained the grid's frame-to-frame
    change away (before it: 2.621 held, 2.638 per frame). Both at most the teacher's 2.622."""
    flicker = report["flicker"]
    assert flicker["student_grid_held"] <= flicker["teacher"]
    assert flicker["student_grid_held"] <= flicker["student"] + 0.005


def test_student_keeps_its_look_across_sizes(report):
    """The preview (half size) looks like the capture downscaled: the grid-sliced student more so than the
    teacher, whose fixed pixel receptive field sees different context at each size (47.61 vs 44.87 dB)."""
    scale = report["scale_consistency"]
    assert scale["student"]["psnr"] > scale["teacher"]["psnr"] + 1.0
    assert scale["student"]["deltae"] < 0.5


def test_student_as_steady_as_teacher_in_shadows_and_midtones(report):
    """Below input luma 0.6 outputs are rarely pushed to white, so this compares how each model passes the
    same noise and motion on, without clipping hiding it. The student is trained to change from frame to
    frame no more than the teacher does: measured 6.37 vs 6.48 levels (before the steadiness stage 6.57, +1.4 %;
    most of the excess over the teacher was here), held at most the teacher's."""
    by_luma = report["flicker_by_luma"]
    below = [i for i, (_, hi) in enumerate(by_luma["bands"]) if hi <= 0.6]
    pooled = {name: sum(by_luma["share"][i] * by_luma[name][i] for i in below) / sum(by_luma["share"][i] for i in below)
              for name in ("teacher", "student")}
    assert pooled["student"] <= pooled["teacher"]


def test_student_follows_teachers_clipping_in_highlights(report):
    """Above input luma 0.8 the teacher pushes most pixels to white and its output barely changes (0.33 levels vs
    the input's 2.29). A student that passed the input's frame change on there flickered 0.40; trained to follow
    the teacher's change it stays within 0.05 levels of it (measured 0.329 vs 0.327)."""
    by_luma = report["flicker_by_luma"]
    top = [i for i, (lo, _) in enumerate(by_luma["bands"]) if lo >= 0.8]
    assert top and all(by_luma["student"][i] <= by_luma["teacher"][i] + 0.05 for i in top)
