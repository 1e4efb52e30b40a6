import json
import shutil

import pytest
import torch

from aicam_opt.cli import main
from aicam_opt.data import EVAL_FIVEK
from aicam_opt.evaluate.eval_set import fivek_set
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


def test_a_folder_without_evaluation_images_is_refused_before_any_compute(tmp_path, small_data, capsys, monkeypatch):
    clip_only = tmp_path / "clip_only"
    shutil.copytree(small_data / "video", clip_only / "video")
    monkeypatch.setattr("aicam_opt.evaluate.report.resolve_model", lambda spec: pytest.fail("loaded a model"))
    for json_flag in ([], ["--json"]):  # it used to crash (KeyError) or print NaN and exit 0
        assert main(["evaluate", "--data", str(clip_only), *json_flag]) == 2
        captured = capsys.readouterr()
        assert f"data folder {clip_only}: no evaluation images: found no FiveK pair and no photo" in captured.err
        assert "NaN" not in captured.out


def test_the_shared_folder_is_measured_on_its_evaluation_split(shared_data, monkeypatch, capsys):
    """`evaluate --data ../shared/data` measures what the default does, and says so."""
    seen = {}

    def evaluate_stub(source, enhancers, *args, **kwargs):
        seen["pairs"] = sorted(fivek_set(source))
        return {"split_reason": source.split_description()}

    monkeypatch.setattr("aicam_opt.evaluate.report.evaluate", evaluate_stub)
    monkeypatch.setattr("aicam_opt.evaluate.report.EvaluationReport.checked", lambda report: _Raw(report))
    monkeypatch.setattr("aicam_opt.evaluate.report.resolve_model", lambda spec: torch.nn.Identity())
    assert main(["evaluate", "--data", str(shared_data.root), "--json"]) == 0
    assert seen["pairs"] == sorted(EVAL_FIVEK)
    assert "only its evaluation split is used" in json.loads(capsys.readouterr().out)["split_reason"]


class _Raw:
    def __init__(self, report):
        self.report = report

    def to_json(self):
        return self.report


def test_evaluate_rejects_a_tiny_clip_size(small_data, capsys):
    assert main(["evaluate", "--data", str(small_data), "--clip-long-side", "8"]) == 2
    assert "--clip-long-side 8: too small" in capsys.readouterr().err
