"""Calibration: reference networks, sd865 leave-one-model-out bars, committed figures are current, and
the recipe lives in the target file (a new target calibrates through the same path)."""
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from aicam_opt.cli import main
from aicam_opt.errors import AicamError
from aicam_opt.latency import calibrate
from aicam_opt.latency.fitting import predict_rows
from aicam_opt.latency.model import calibration_path, load_calibration
from aicam_opt.latency.reference_models import PUBLISHED_MACS
from aicam_opt.latency.target import TARGETS_DIR, load_target

SD865 = load_target("sd865")
PUBLISHED = calibrate.source_path(SD865.calibration_recipe().sources[0].file)


@pytest.fixture(scope="module")
def published(missing_data):
    """The published Snapdragon 865 measurements: beside the repo (shared/calibration/), not in it."""
    if not PUBLISHED.is_file():
        missing_data(f"{PUBLISHED} (the sd865 reference measurements)")


@pytest.mark.parametrize("name", sorted(PUBLISHED_MACS))
def test_reference_networks_have_their_published_mac_counts(name):
    from aicam_opt.cost import count_torch
    from aicam_opt.latency import reference_models

    published, size, rel = PUBLISHED_MACS[name]
    ops = calibrate.reference_ops(name) if size == 224 else \
        count_torch(reference_models.build(name), (reference_models.example_input(size=size),))
    assert sum(op.macs for op in ops) == pytest.approx(published, rel=rel)
    assert all(op.counted for op in ops)


@pytest.fixture(scope="module")
def loo_report(published):
    return calibrate.validate(SD865)


def test_sd865_leave_one_model_out_meets_the_bars_for_every_unit_and_runtime_with_three_rows(loo_report):
    bars = SD865.calibration_recipe().validation.bars
    assert loo_report["bars"] == {"median_abs_error": 0.25, "max_ratio": 2.0} and loo_report["min_rows"] == 3
    groups = loo_report["per_runtime"]
    assert {g: f["rows"] for g, f in groups.items()} == {
        "cpu/onnxruntime": 6, "cpu/paddle-lite": 9, "dsp/nnapi": 2, "dsp/tflite-npu": 5, "gpu/paddle-lite": 3,
        "gpu/tflite-gpu": 7}
    for group, figures in groups.items():
        if figures["rows"] < 3:
            assert figures["passes"] is None, group  # reported, not judged
            continue
        assert figures["median_abs_error"] <= bars.median_abs_error, (group, figures)
        assert figures["max_ratio"] <= bars.max_ratio, (group, figures)
        assert figures["passes"] is True
    # Every published row is predicted once, by a fit that did not see its model, and names its runtime.
    assert len(loo_report["rows"]) == len(calibrate.measurements(SD865).rows) == 32
    assert {r["runtime"] for r in loo_report["rows"]} == {"paddle-lite", "nnapi", "onnxruntime", "tflite-gpu",
                                                           "tflite-npu"}
    assert loo_report["method"] == "leave-one-model-out over the published rows, per unit and runtime"


@pytest.mark.usefixtures("published")
def test_committed_sd865_calibration_reproduces_the_published_rows():
    """In-sample, every unit (the DSP included, whose two rows cannot validate it out of sample)."""
    cal = load_calibration("sd865")
    rows = calibrate.measurements(SD865).rows
    for group in {(m.row.assignment.unit, m.row.assignment.runtime) for m in rows}:
        group_rows = [m.row for m in rows if (m.row.assignment.unit, m.row.assignment.runtime) == group]
        measured = np.array([r.ms for r in group_rows])
        errors = np.abs(predict_rows(SD865, cal, group_rows) - measured) / measured
        assert np.median(errors) <= 0.25 and errors.max() < 1.0, (group, errors)


@pytest.mark.usefixtures("published")
def test_committed_sd865_calibration_is_what_the_command_produces():
    fresh = calibrate.calibrate(SD865)
    committed = json.loads(calibration_path("sd865").read_text())
    assert fresh.command == committed["command"] == "aicam-opt calibrate --target sd865"
    assert fresh.notes == committed["notes"]
    for unit, values in fresh.fit["parameters"].items():
        for name, value in values.items():
            assert committed["fit"]["parameters"][unit][name] == pytest.approx(value, rel=1e-3), (unit, name)


def test_committed_host_calibration_predicts_its_own_cases():
    """The host fit, checked on its calibration rows without timing anything (the timing check is a bench)."""
    committed = json.loads(calibration_path("host").read_text())
    rows = committed["fit"]["rows"]
    errors = [abs(r["predicted_ms"] - r["measured_ms"]) / r["measured_ms"] for r in rows]
    assert np.median(errors) <= 0.25


def test_committed_host_calibration_is_what_the_committed_timings_give():
    """Refitted from the committed timings (nothing re-timed): the committed figures, and the held-out
    cases (never seen by the fit) predicted as the committed calibration predicts them."""
    host = load_target("host")
    fresh = calibrate.calibrate(host)
    committed = load_calibration("host")
    assert fresh.command == committed.command and fresh.notes == committed.notes
    # onnxruntime from the host benchmark, TVM from its own builds of the low-res network (part_rows)
    assert set(committed.units) == {"cpu"} and set(committed.units["cpu"]) == {"onnxruntime", "tvm"}
    for unit, runtimes in committed.units.items():
        for runtime, precisions in runtimes.items():
            for precision, figures in precisions.items():
                mine = fresh.units[unit][runtime][precision]
                assert mine.memory_efficiency == pytest.approx(figures.memory_efficiency, rel=1e-6)
                for cls, eff in figures.compute_efficiency.items():
                    assert mine.compute_efficiency[cls] == pytest.approx(eff, rel=1e-6), (runtime, cls)
    report = calibrate.validate(host, fresh)
    assert report["method"] == "fit on the calibration cases, predict the held-out validation models"
    held_out = [m for m in calibrate.measurements(host).rows if m.split == "validation"]
    assert [r.get("case", r.get("model")) for r in report["rows"]] == [m.columns.get("case", m.columns.get("model"))
                                                                      for m in held_out]
    for group in ("cpu/onnxruntime", "cpu/tvm"):
        assert report["per_runtime"][group]["rows"] == sum(
            f"{m.row.assignment.unit}/{m.row.assignment.runtime}" == group for m in held_out)
        assert set(report["per_runtime"][group]) == {"rows", "median_abs_error", "spearman", "passes"}


def _target_file(tmp_path: Path, base: str, edit, name: str) -> Path:
    raw = yaml.safe_load((TARGETS_DIR / f"{base}.yaml").read_text())
    edit(raw)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_a_target_without_a_calibration_block_is_named_with_the_file(tmp_path, capsys):
    path = _target_file(tmp_path, "sd865", lambda r: (r.pop("calibration"), r.update(name="phone")), "phone")
    target = load_target(path)
    with pytest.raises(AicamError, match=rf"{path}: no `calibration:` block, so target 'phone' cannot be calibrated"):
        calibrate.calibrate(target)
    assert main(["calibrate", "--target", str(path)]) == 2
    assert f"{path}: no `calibration:` block" in capsys.readouterr().err


@pytest.mark.usefixtures("published")
def test_a_new_target_file_with_its_own_measurements_calibrates_through_the_generic_path(tmp_path):
    """Another phone: a target file (a renamed sd865 whose recipe fits the CPU only) and its own rows file."""
    rows = yaml.safe_load(PUBLISHED.read_text())
    rows["measurements"] = [r for r in rows["measurements"] if r["unit"] == "cpu"]
    (tmp_path / "phone2_published.yaml").write_text(yaml.safe_dump(rows))

    def edit(raw):
        raw["name"] = "phone2"
        del raw["calibration"]["sources"][1:]  # its own rows only
        source = raw["calibration"]["sources"][0]
        source.update(file=str(tmp_path / "phone2_published.yaml"), about="CPU rows only")
        raw["calibration"]["parameters"][0]["prior"] = 0.9  # the CPU's dense@ priors

    target = load_target(_target_file(tmp_path, "sd865", edit, "phone2"))
    cal = calibrate.calibrate(target)
    assert cal.target == "phone2" and cal.command == "aicam-opt calibrate --target phone2"
    assert set(cal.units) == {"cpu"} and set(cal.units["cpu"]["paddle-lite"]) == {"fp32", "fp16", "int8"}
    assert cal.notes[0] == f"Fitted to {tmp_path / 'phone2_published.yaml'} (CPU rows only) with the reference networks " \
                           "of aicam_opt/latency/reference_models.py counted by the op counter."
    assert len(cal.fit["rows"]) == 9
    # Its own priors, not sd865's: the same rows fitted from another starting point give other figures.
    sd865_cpu = calibrate.fit_units(SD865, [m for m in calibrate.measurements(SD865).rows
                                            if m.row.assignment.unit == "cpu"])[1]["cpu/paddle-lite"]
    assert cal.fit["parameters"]["cpu/paddle-lite"]["dense@fp32"] != pytest.approx(sd865_cpu["dense@fp32"], rel=1e-6)
    report = calibrate.validate(target)
    assert report["target"] == "phone2" and set(report["per_runtime"]) == {"cpu/paddle-lite"} and len(report["rows"]) == 9


def test_a_row_the_recipe_does_not_know_is_named_with_its_file_and_index(tmp_path):
    (tmp_path / "rows.yaml").write_text(yaml.safe_dump({"device": "x", "measurements": [
        {"model": "mobilenet_v1", "unit": "cpu", "precision": "fp32", "ms": 28.0, "source": "A"},
        {"model": "vgg16", "unit": "cpu", "precision": "fp32", "ms": 90.0, "source": "A"}]}))
    path = _target_file(tmp_path, "sd865", lambda r: r["calibration"]["sources"][0].update(
        file=str(tmp_path / "rows.yaml")), "withvgg")
    with pytest.raises(AicamError, match=r"rows\.yaml: measurements\[1\] \(vgg16, cpu, fp32\): model 'vgg16' is not in "
                                         r"the source's `models`"):
        calibrate.measurements(load_target(path))


@pytest.mark.parametrize("row, message", [
    ({"source": "C"}, r"measurements\[0\] \(mobilenet_v1, dsp, int8\): no `runtime` field and source 'C' has no entry "
                      r"in the source's `runtimes`"),
    ({"runtime": "tflite-gpu"}, r"measurements\[0\] \(mobilenet_v1, dsp, int8\): runtime 'tflite-gpu' is not one the "
                                r"dsp of target 'rt' ships through \(tvm, nnapi, tflite-npu\)"),
    ({"runtime": "tvm"}, r"runtime 'tvm' on the dsp takes its figures from 'nnapi' .*: drop its `figures_from`"),
])
def test_a_row_whose_runtime_cannot_be_told_or_fitted_is_named_with_its_file_and_index(tmp_path, row, message):
    (tmp_path / "rows.yaml").write_text(yaml.safe_dump({"device": "x", "measurements": [
        {"model": "mobilenet_v1", "unit": "dsp", "precision": "int8", "ms": 10.0, "source": "B", **row}]}))

    def edit(raw):
        raw["name"] = "rt"
        del raw["calibration"]["sources"][1:]
        raw["calibration"]["sources"][0]["file"] = str(tmp_path / "rows.yaml")

    with pytest.raises(AicamError, match=message):
        calibrate.measurements(load_target(_target_file(tmp_path, "sd865", edit, "rt")))


@pytest.mark.usefixtures("published")
def test_every_published_row_is_attributed_to_its_runtime():
    rows = calibrate.measurements(SD865).rows
    runtime_of = {(m.columns["model"], m.columns["unit"], m.columns["precision"]): m.columns["runtime"] for m in rows}
    assert runtime_of[("resnet50", "dsp", "int8")] == "nnapi"              # source B of sd865_published.yaml
    assert runtime_of[("resnet50", "gpu", "fp16")] == "paddle-lite"        # source A
    assert runtime_of[("resnet101", "dsp", "int8")] == "tflite-npu"        # the AI Hub row's own field
    assert runtime_of[("googlenet", "cpu", "int8")] == "onnxruntime"
    assert all(m.row.assignment.runtime == m.columns["runtime"] for m in rows)


def test_measure_on_a_target_whose_rows_cannot_be_re_timed_is_an_error():
    with pytest.raises(AicamError, match="none of the sources of target 'sd865' \\(published_rows, published_rows\\) can be"):
        calibrate.measurements(SD865, remeasure=True)


@pytest.mark.bench
def test_host_calibration_redone_now_predicts_held_out_models():
    """Re-time every host case on this machine now, fit on the calibration cases, predict the held-out models.

    Fitting and validating on timings of the same session keeps the comparison fair on a shared
    machine, whose load moves every timing together by tens of percent from one hour to the next.
    """
    from aicam_opt.latency.host_bench import measure

    host = load_target("host")
    measured = calibrate.host_bench_rows(measure(log=lambda _: None), host.calibration_recipe().sources[0], host)
    report = calibrate.validate(host, calibrate.fit_target(host, measured), measured)
    for r in report["rows"]:
        print(f"  {r['case']:32s} measured {r['measured_ms']:9.2f} ms  predicted {r['predicted_ms']:9.2f} ms")
    figures, bars = report["per_runtime"]["cpu/onnxruntime"], host.calibration_recipe().validation.bars
    print(f"host held-out: median |error| {figures['median_abs_error']:.3f}, Spearman {figures['spearman']:.3f}")
    assert figures["spearman"] >= bars.spearman
    assert figures["median_abs_error"] <= bars.median_abs_error
