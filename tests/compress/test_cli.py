"""`aicam-opt compress` end to end on a tiny data folder: every stage runs, the three outputs are written."""
import json

import imageio.v3 as iio
import numpy as np
import onnx
import pytest

from aicam_opt.cli import main
from aicam_opt.compress import Candidate
from aicam_opt.compress.folder import CandidateFolder
from aicam_opt.config import load_yaml, save_yaml
from aicam_opt.models.checkpoints import load_model
from aicam_opt.models.student import StudentConfig
from aicam_opt.models.teacher import Generator, TeacherConfig

from .conftest import perturbed_student


def _photo(path, rng, size=(192, 256)):
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, (rng.random((*size, 3)) * 255).astype(np.uint8))


@pytest.fixture
def tiny_data(tmp_path):
    """Laid out like ../shared/data, with one training and one evaluation item of each kind."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    for name in ("a0001", "a4521"):  # a4521 is an evaluation pair (data.EVAL_FIVEK)
        _photo(root / "fivek" / "input" / f"{name}.png", rng)
        _photo(root / "fivek" / "expert_c" / f"{name}.png", rng)
    for name in ("kodim01", "kodim21"):  # kodim21: evaluation
        _photo(root / "photos" / "kodak24" / f"{name}.png", rng)
    return root


@pytest.fixture
def tiny_models(monkeypatch):
    student = perturbed_student(StudentConfig(lowres_size=64, grid_size=8, width=8, grid_depth=4))
    teacher = Generator(TeacherConfig(width=4, depth=2)).eval()
    models = {"student": student, "teacher": teacher}
    monkeypatch.setattr("aicam_opt.compress.build.resolve_model", lambda spec: models[str(spec)])
    return models


def test_compress_writes_model_candidate_and_metrics(tmp_path, tiny_data, tiny_models):
    candidate = Candidate(name="tiny_int8_pruned", pruning={"ratios": {"trunk": 0.5, "branches": 0.5}},
                          quantization={"low_res": "int8", "full_res": "fp16"}, placement={"low_res": "cpu", "full_res": "cpu"})
    save_yaml(candidate, tmp_path / "candidate.yaml")
    out = tmp_path / "out"
    assert main(["compress", str(tmp_path / "candidate.yaml"), "--out", str(out), "--data", str(tiny_data),
                 "--recover-steps", "2", "--eval-frames", "0"]) == 0
    assert load_yaml(out / "candidate.yaml", Candidate) == candidate
    metrics = json.loads((out / "metrics.json").read_text())
    assert CandidateFolder(out).load_metrics().to_json() == metrics  # the schema the compile step reads it with
    q = metrics["quality"]
    for key in ("psnr_drop_vs_student", "deltae_vs_student", "psnr_vs_teacher", "psnr_vs_student"):
        assert np.isfinite(q[key])
    assert q["pairs"] == 1 and q["images"] == 2  # only the evaluation pair and photo
    assert metrics["params"] < metrics["base"]["params"] and metrics["macs"] < metrics["base"]["macs"]
    assert metrics["predicted_latency_ms"]["preview"] > 0
    assert metrics["recovery"]["steps"] == 2
    ops = [n.op_type for n in onnx.load(str(out / "model.onnx")).graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    widths = load_model(out / "student.safetensors").cfg.widths  # trunk and branches: 32 -> 16 (int8 CPU multiple 16)
    assert widths.features == 16 and widths.branch_hidden == [16, 16, 16] and widths.splat == [8, 16, 32]


def test_compress_rejects_impossible_candidate(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("name: bad\nquantization: {full_res: int8}\nplacement: {full_res: gpu}\n")
    assert main(["compress", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "full_res" in err and "gpu" in err and not (tmp_path / "o").exists()


def _tiny_candidate(tmp_path):
    candidate = Candidate(name="tiny_int8", quantization={"low_res": "int8", "full_res": "fp16"},
                          placement={"low_res": "cpu", "full_res": "cpu"})
    save_yaml(candidate, tmp_path / "candidate.yaml")
    return tmp_path / "candidate.yaml"


def test_a_folder_without_the_splits_names_is_all_evaluation_data(tmp_path, tiny_data, tiny_models, monkeypatch):
    """It used to be split as the shared folder is: everything 'training', nothing measured, NaN quality, exit 0."""
    rng = np.random.default_rng(1)
    holiday = tmp_path / "holiday"
    for name in ("beach", "dinner"):
        _photo(holiday / "photos" / "mine" / f"{name}.png", rng)
    monkeypatch.setenv("AICAM_DATA", str(tiny_data))  # the default data: calibration and recovery take its training split
    out = tmp_path / "out"
    assert main(["compress", str(_tiny_candidate(tmp_path)), "--out", str(out), "--data", str(holiday),
                 "--recover-steps", "1", "--eval-frames", "0"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert "everything in it is evaluation data" in metrics["evaluated_on"]
    q = metrics["quality"]
    assert q["pairs"] == 2 and q["images"] == 4  # a degraded copy of each photo as a pair, and the photos
    assert all(np.isfinite(v) for v in q.values() if isinstance(v, float))


def test_a_folder_with_only_training_images_is_refused_before_the_build(tmp_path, tiny_models, capsys, monkeypatch):
    only_training = tmp_path / "data"
    _photo(only_training / "photos" / "kodak24" / "kodim01.png", np.random.default_rng(2))
    monkeypatch.setattr("aicam_opt.compress.build.configure", lambda *a: pytest.fail("built before checking the data"))
    out = tmp_path / "out"
    assert main(["compress", str(_tiny_candidate(tmp_path)), "--out", str(out), "--data", str(only_training)]) == 2
    err = capsys.readouterr().err
    assert f"data folder {only_training}: no evaluation images" in err and "training part" in err
    assert not out.exists()
