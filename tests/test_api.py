"""The public Python API (aicam_opt.api, re-exported lazily from aicam_opt) and the README's example."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import aicam_opt
from aicam_opt.errors import AicamError
from aicam_opt.latency.document import CostReport
from aicam_opt.models.student import StudentNet
from aicam_opt.models.teacher import Generator

REPO = Path(__file__).resolve().parents[1]


def _python(code: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_importing_the_package_and_reaching_the_api_loads_neither_torch_nor_tvm():
    done = _python("import sys, aicam_opt\n"
                   "functions = [getattr(aicam_opt, name) for name in aicam_opt.API]\n"
                   "assert all(callable(f) for f in functions)\n"
                   "print(sorted(m for m in ('torch', 'tvm', 'optuna', 'onnx') if m in sys.modules))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_package_exports_the_api_and_nothing_by_accident():
    assert set(aicam_opt.API) <= set(dir(aicam_opt)) and set(aicam_opt.API) <= set(aicam_opt.__all__)
    from aicam_opt import api

    assert aicam_opt.load_student is api.load_student
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        aicam_opt.nonexistent  # noqa: B018


@pytest.fixture(scope="module")
def committed_student() -> StudentNet:
    return aicam_opt.load_student()


def test_load_the_committed_networks(committed_student, tmp_path):
    assert isinstance(committed_student, StudentNet) and not committed_student.training
    teacher = aicam_opt.load_teacher()
    assert isinstance(teacher, Generator) and not teacher.training
    from aicam_opt.models.checkpoints import save_checkpoint

    save_checkpoint(teacher, "teacher", tmp_path / "teacher.safetensors")
    with pytest.raises(AicamError, match="holds a teacher, but a student was asked for"):
        aicam_opt.load_student(tmp_path / "teacher.safetensors")


def test_predict_cost_of_the_student_on_sd865_at_preview(committed_student, capsys):
    report = aicam_opt.predict_cost(committed_student, target="sd865", workload="preview",
                                    place=["low_res=dsp:int8", "full_res=gpu:fp16"])
    assert isinstance(report, CostReport)
    assert (report.cost.height, report.cost.width) == (1080, 1920)
    assert {p: (a.unit, a.precision) for p, a in report.placement.parts.items()} == {
        "low_res": ("dsp", "int8"), "full_res": ("gpu", "fp16")}
    p = report.prediction
    assert report.latency_ms == pytest.approx(sum(p.parts_ms.values()) + p.call_overhead_ms + p.transfer_ms)
    assert p.parts_ms["full_res"] > p.parts_ms["low_res"] > 0  # the per-pixel path dominates at 2 MP
    assert report.budget_ms == 33 and report.within_budget == (report.latency_ms <= 33)
    doc = report.document()
    assert doc["schema"] == "aicam_opt.cost/1" and doc["total"]["latency_ms"] == report.latency_ms
    assert doc["total"]["macs"] == report.cost.macs > 100e6

    # the command line is a layer over the same function: same document for the committed student
    from aicam_opt.cli import main

    assert main(["cost", "student", "--target", "sd865", "--place", "low_res=dsp:int8",
                 "--place", "full_res=gpu:fp16", "--json"]) == 0
    cli_doc = json.loads(capsys.readouterr().out)
    assert cli_doc["model"] == "student"
    assert {k: v for k, v in cli_doc.items() if k != "model"} == {k: v for k, v in doc.items() if k != "model"}


def test_predict_cost_bad_input_is_a_clear_error(committed_student):
    with pytest.raises(AicamError, match="not supported on the dsp"):
        aicam_opt.predict_cost(committed_student, target="sd865", unit="dsp", precision="fp32")
    with pytest.raises(AicamError, match="unknown target 'nowhere'"):
        aicam_opt.predict_cost(committed_student, target="nowhere")
    with pytest.raises(AicamError, match="missing.onnx"):
        aicam_opt.predict_cost("missing.onnx", target="sd865")


def test_enhance_a_real_photo_as_an_array_and_as_files(committed_student, real_photos, photo_file, tmp_path):
    name, photo = sorted(real_photos.items())[0]
    enhanced = aicam_opt.enhance(photo, model=committed_student)
    assert enhanced.shape == photo.shape and enhanced.dtype == np.uint8
    change = np.abs(enhanced.astype(np.int16) - photo.astype(np.int16)).mean()
    assert 2 < change < 60, f"{name}: mean change {change:.1f} levels (a trained student visibly edits a photo)"
    # the compiled full-res path and PyTorch agree (8-bit rounding apart)
    reference = aicam_opt.enhance(photo, model=committed_student, compiled=False)
    assert np.abs(enhanced.astype(np.int16) - reference.astype(np.int16)).max() <= 1

    # float input gives float output in [0, 1]; the committed student by name gives the same picture
    as_float = aicam_opt.enhance(photo.astype(np.float32) / 255, model="student")
    assert as_float.dtype == np.float32 and 0 <= as_float.min() and as_float.max() <= 1
    assert np.abs(as_float * 255 - enhanced).max() <= 1.01

    dst = aicam_opt.enhance(photo_file, tmp_path / "out.png", model=committed_student)
    assert dst == tmp_path / "out.png"
    from aicam_opt.images import read_native

    assert np.array_equal(read_native(dst), aicam_opt.enhance(photo_file, model=committed_student))
    with pytest.raises(AicamError, match="unsupported image layout"):
        aicam_opt.enhance(np.zeros((4, 4, 2), np.uint8), model=committed_student)


def _realistic_summary() -> dict:
    """tests/gate/conftest.py's summary as the search writes it (loaded by path: conftests are not importable)."""
    spec = importlib.util.spec_from_file_location("gate_conftest", REPO / "tests" / "gate" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.realistic_summary()


def test_compare_to_baseline(tmp_path):
    baseline = _realistic_summary()
    (tmp_path / "baseline.json").write_text(json.dumps(baseline))
    (tmp_path / "same.json").write_text(json.dumps(baseline))
    result = aicam_opt.compare_to_baseline(tmp_path / "baseline.json", tmp_path / "same.json")
    assert result.passed and result.target == "sd865" and len(result.rows) > 20

    slower = json.loads(json.dumps(baseline))
    slower["winners"]["fastest_within_0.3db"]["predicted_latency_ms"]["preview"] *= 1.5
    (tmp_path / "slower.json").write_text(json.dumps(slower))
    result = aicam_opt.compare_to_baseline(tmp_path / "baseline.json", tmp_path / "slower.json")
    assert not result.passed
    assert [r.name for r in result.failures] == ["winners.fastest_within_0.3db.predicted_latency_ms.preview"]

    with pytest.raises(AicamError, match="file not found"):
        aicam_opt.compare_to_baseline(tmp_path / "baseline.json", tmp_path / "missing.json")


def test_optimize_defaults_are_the_commands():
    """`optimize_for` and `aicam-opt optimize` fill the same options (one default, in OptimizeOptions)."""
    from aicam_opt.cli import build_parser
    from aicam_opt.optimize import OptimizeOptions

    args = build_parser("optimize").parse_args(["optimize", "--target", "sd865"])
    assert args.trials == OptimizeOptions(target="sd865").trials
    assert args.space == OptimizeOptions(target="sd865").space


def readme_example() -> tuple[str, str]:
    """The first ```python block under README.md's "## Python API", else docs/api.md's first one."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Python API\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    if section:
        source, text = "README.md", section.group(1)
    else:
        source, text = "docs/api.md", (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    block = re.search(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert block, f"{source}: no ```python block"
    return source, block.group(1)


def test_the_readme_python_example_runs_as_written(tmp_path):
    source, code = readme_example()
    done = _python(code, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, f"{source}'s example failed:\n{done.stderr[-3000:]}"
    assert done.stdout.strip(), f"{source}'s example printed nothing"
