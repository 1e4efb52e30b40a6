import json
import shutil

import pytest
import torch

from aicam_opt.cli import main
from aicam_opt.models import checkpoints
from aicam_opt.models.student import StudentNet


@pytest.fixture
def small_data(tmp_path, shared_data):
    """A folder with the layout of ../shared/data: 2 FiveK pairs and a 4-frame clip."""
    root = tmp_path / "data"
    for sub in ("input", "expert_c"):
        (root / "fivek" / sub).mkdir(parents=True)
        for name in ("a4521.png", "a4576.png"):
            shutil.copy(shared_data.root / "fivek" / sub / name, root / "fivek" / sub / name)
    (root / "video" / "clip").mkdir(parents=True)
    for i in range(140, 144):
        shutil.copy(shared_data.root / "video" / "bedroom" / f"{i:05d}.jpg", root / "video" / "clip" / f"{i:05d}.jpg")
    return root


@pytest.mark.slow
def test_evaluate_json_shape(small_data, tmp_path, capsys):
    other = tmp_path / "candidate.safetensors"
    checkpoints.save_checkpoint(StudentNet().eval(), "student", other)  # an untrained (identity) student
    out = tmp_path / "report.json"
    assert main(["evaluate", "--data", str(small_data), "--model", str(other), "--json", "--out", str(out),
                 "--clip-long-side", "480"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == json.loads(out.read_text())
    assert report["split"] == "all" and report["fivek"]["pairs"] == ["a4521", "a4576"]
    for name in ("identity", "teacher", "student", "model"):
        assert set(report["fivek"][name]) >= {"psnr", "ssim", "deltae", "per_pair"}
    # The identity-initialised candidate is the identity: same numbers.
    assert report["fivek"]["model"]["psnr"] == pytest.approx(report["fivek"]["identity"]["psnr"], abs=0.05)
    assert set(report["fidelity"]) == {"student_vs_teacher", "model_vs_teacher"}
    assert set(report["scale_consistency"]) == {"teacher", "student", "model"}
    assert all(m["images"] == 2 and m["psnr"] > 20 for m in report["scale_consistency"].values())
    assert report["flicker"]["size"] == [270, 480]  # the 960x540 clip measured as a smaller preview
    assert report["flicker"]["frames"] == 4 and set(report["flicker"]) >= {"input", "teacher", "student", "model"}
    assert {"student_grid_held", "model_grid_held"} <= set(report["flicker"])  # students only, not the teacher
    by_luma = report["flicker_by_luma"]
    assert set(by_luma) == {"bands", "share", "input", "teacher", "student", "model", "student_grid_held",
                            "model_grid_held"}
    assert all(len(by_luma[k]) == len(by_luma["bands"]) for k in by_luma)
    # the look's figures (issue #22): tone on photos, dark photos and the clip; a retouch; unclipped flicker
    assert set(report["tone"]) == {"photos", "dark", "clip"} and report["tone"]["clip"]["images"] == 4
    assert {"input", "teacher", "student", "model"} <= set(report["tone"]["photos"])
    assert set(report["retouched"]) == {"teacher", "student", "model"}
    assert set(report["flicker_unclipped"]) == set(report["flicker"]) - {"clip", "frames", "size"}


def test_evaluate_bad_model_is_a_clear_error(small_data, tmp_path, capsys):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"not a checkpoint")
    assert main(["evaluate", "--data", str(small_data), "--model", str(bad)]) == 2
    assert "broken.safetensors: not a readable safetensors checkpoint" in capsys.readouterr().err


def test_evaluate_rejects_a_tiny_clip_size(small_data, capsys):
    assert main(["evaluate", "--data", str(small_data), "--clip-long-side", "8"]) == 2
    assert "--clip-long-side 8: too small" in capsys.readouterr().err
