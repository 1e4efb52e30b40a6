"""Target files: they load, their peaks follow from their figures, and a wrong field is named."""
from pathlib import Path

import pytest
import yaml

from aicam_opt.errors import AicamError
from aicam_opt.latency.target import TARGETS_DIR, load_target


def test_sd865_peaks_follow_from_the_published_figures():
    t = load_target("sd865")
    cpu = t.unit("cpu")
    # One prime A77: 2.84 GHz x 16 fp32 FLOP/cycle; int8 SDOT is 4x that.
    assert cpu.peak_ops_per_s("fp32", 1) == pytest.approx(2.84e9 * 16)
    assert cpu.peak_ops_per_s("int8", 1) == pytest.approx(2.84e9 * 64)
    # All eight cores: 1 prime + 3 gold A77 + 4 A55 at half the throughput per cycle.
    assert cpu.peak_ops_per_s("fp32", 8) == pytest.approx((2.84 + 3 * 2.42 + 4 * 1.8 * 0.5) * 1e9 * 16)
    assert t.unit("gpu").peak_ops_per_s("fp16") == pytest.approx(0.587e9 * 2048)
    assert t.bandwidth_gbps("gpu") == 44.0
    assert t.budgets.latency_ms["preview"].value == 33
    assert t.unit("dsp").precision_spec("int8").channel_multiple.value == 32
    assert t.unit("cpu").precision_spec("fp16").channel_multiple.value == 8


def test_every_figure_has_a_source():
    for name in ("sd865", "host"):
        raw = yaml.safe_load((TARGETS_DIR / f"{name}.yaml").read_text())

        def walk(node, path):
            if isinstance(node, dict):
                if "value" in node:
                    assert isinstance(node.get("source"), str) and len(node["source"]) > 3, f"{name}: {path} has no source"
                for k, v in node.items():
                    walk(v, f"{path}.{k}")
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, f"{path}[{i}]")

        walk(raw, name)


def _write_variant(tmp_path: Path, edit) -> Path:
    raw = yaml.safe_load((TARGETS_DIR / "sd865.yaml").read_text())
    edit(raw)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_misspelt_field_names_file_and_field(tmp_path):
    path = _write_variant(tmp_path, lambda r: r["memory"].update(bandwith_gbps=r["memory"].pop("bandwidth_gbps")))
    with pytest.raises(AicamError) as err:
        load_target(path)
    text = str(err.value)
    assert str(path) in text and "memory.bandwith_gbps" in text and "memory.bandwidth_gbps" in text


def test_figure_without_source_is_rejected(tmp_path):
    path = _write_variant(tmp_path, lambda r: r["units"]["gpu"]["clock_ghz"].pop("source"))
    with pytest.raises(AicamError, match=r"units\.gpu\.clock_ghz\.source"):
        load_target(path)


def test_unknown_precision_key_lists_the_allowed_ones(tmp_path):
    path = _write_variant(tmp_path, lambda r: r["units"]["gpu"]["precisions"].update(bf16=r["units"]["gpu"]["precisions"]["fp16"]))
    with pytest.raises(AicamError) as err:
        load_target(path)
    assert "units.gpu.precisions.bf16" in str(err.value) and "'fp32', 'fp16' or 'int8'" in str(err.value)


def test_unknown_target_unit_and_precision_are_clear_errors():
    with pytest.raises(AicamError, match="unknown target 'sd999'.*sd865"):
        load_target("sd999")
    t = load_target("sd865")
    with pytest.raises(AicamError, match="unit 'npu'"):
        t.unit("npu")
    with pytest.raises(AicamError, match="precision 'fp32' is not supported on the dsp"):
        t.unit("dsp").precision_spec("fp32")
    with pytest.raises(AicamError, match="has 8 cores"):
        t.unit("cpu").peak_ops_per_s("fp32", 9)


def test_calibration_recipes_are_typed_and_expand_per_unit():
    sd865, host = load_target("sd865").calibration_recipe(), load_target("host").calibration_recipe()
    assert [s.kind for s in sd865.sources] == ["published_rows"] * 2 and [s.kind for s in host.sources] == ["host_bench", "part_rows"]
    assert (sd865.validation.method, host.validation.method) == ("leave_one_model_out", "held_out")
    t = load_target("sd865")
    cpu = [name for name, *_ in sd865.parameters_for(t.unit("cpu"), "cpu")]
    assert cpu[:3] == ["dense@fp32", "dense@fp16", "dense@int8"] and "dense" not in cpu
    (gpu_dense,) = [p for p in sd865.parameters_for(t.unit("gpu"), "gpu") if p[0] == "dense"]
    assert gpu_dense == ("dense", 0.4, 1.0, 3.0)
    per_call = {u: next(p[1] for p in sd865.parameters_for(t.unit(u), u) if p[0] == "per_call_us") for u in t.units}
    assert per_call == {u: t.unit(u).per_call_overhead_us.value for u in t.units}  # the unit's figure is the prior
    # Per-precision parameters expand over the precisions a (unit, runtime) was measured at.
    onnxruntime = [name for name, *_ in sd865.parameters_for(t.unit("cpu"), "cpu", "onnxruntime", ["int8"])]
    assert onnxruntime[0] == "dense@int8" and "dense@fp32" not in onnxruntime


def test_units_list_their_runtimes_and_a_default():
    t = load_target("sd865")
    assert {u: set(x.runtimes) for u, x in t.units.items()} == {
        "cpu": {"tvm", "paddle-lite", "onnxruntime"}, "gpu": {"tvm", "paddle-lite", "tflite-gpu"},
        "dsp": {"tvm", "nnapi", "tflite-npu"}}
    # compile ships TVM; without a TVM timing on the phone it is priced as the runtimes calibrated before.
    assert {u: (x.default_runtime, x.figures_runtime(None)) for u, x in t.units.items()} == {
        "cpu": ("tvm", "paddle-lite"), "gpu": ("tvm", "paddle-lite"), "dsp": ("tvm", "nnapi")}
    assert t.unit("dsp").figures_runtime("tflite-npu") == "tflite-npu"
    with pytest.raises(AicamError, match=r"runtime 'tflite-gpu' is not one the dsp .* ships through; choose one of "
                                         r"tvm, nnapi, tflite-npu \(default tvm\)"):
        t.unit("dsp").runtime("tflite-gpu")


@pytest.mark.parametrize("edit, message", [
    (lambda r: r["units"]["gpu"]["runtimes"].update(opencl={"source": "x" * 5}),
     r"units\.gpu.*runtimes\.opencl: unknown runtime; registered runtimes: tvm, paddle-lite"),
    (lambda r: r["units"]["cpu"]["runtimes"].update({"tflite-npu": {"source": "x" * 5}}),
     r"runtimes\.tflite-npu: runtime 'tflite-npu' does not drive a cpu \(it drives dsp\)"),
    (lambda r: r["units"]["dsp"].update(default_runtime="paddle-lite"),
     r"default_runtime 'paddle-lite' is not one of the unit's runtimes \(.*nnapi.*\)"),
    (lambda r: r["units"]["dsp"]["runtimes"]["tvm"].update(figures_from="tflite-gpu"),
     r"runtimes\.tvm\.figures_from: 'tflite-gpu' must be another runtime of this unit"),
    (lambda r: r["units"]["cpu"].pop("runtimes"), r"units\.cpu\.runtimes"),
    (lambda r: r["calibration"]["sources"][0]["runtimes"].update(A="paddle"),
     r"runtimes\.A 'paddle' is not a registered runtime"),
])
def test_a_wrong_runtime_names_the_field_and_what_is_allowed(tmp_path, edit, message):
    path = _write_variant(tmp_path, edit)
    with pytest.raises(AicamError, match=message) as err:
        load_target(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["groups"]["vector"].remove("reduce"), r"op classes reduce are in no group"),
    (lambda c: c["groups"]["dense"].append("convolution"), r"groups\.dense: 'convolution' is not an op class"),
    (lambda c: c["parameters"][2].pop("prior"), r"parameter 'depthwise' needs a `prior`"),
    (lambda c: c["parameters"].pop(1), r"calibration: unit '(gpu|dsp)' through '[a-z-]+' has no parameter dense"),
    (lambda c: c["parameters"][1].update(units=["gpu", "npu"]), r"calibration\.parameters\.1\.units\.1"),
    (lambda c: c["validation"].update(method="k_fold"), r"'leave_one_model_out' or 'held_out'"),
    (lambda c: c["sources"][0].update(kind="csv"), r"calibration\.sources\.0"),
])
def test_a_wrong_calibration_block_names_the_field(tmp_path, edit, message):
    path = _write_variant(tmp_path, lambda r: edit(r["calibration"]))
    with pytest.raises(AicamError, match=message) as err:
        load_target(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("field,edit", [
    ("memory.bandwidth_gbps", lambda r: r["memory"]["bandwidth_gbps"].update(value=0)),
    ("units.gpu.precisions.fp16.ops_per_cycle", lambda r: r["units"]["gpu"]["precisions"]["fp16"]["ops_per_cycle"].update(value=0)),
    ("transfers.0.bandwidth_gbps", lambda r: r["transfers"][0]["bandwidth_gbps"].update(value=0)),
    ("units.cpu.clusters.0.clock_ghz", lambda r: r["units"]["cpu"]["clusters"][0]["clock_ghz"].update(value=0)),
    ("units.gpu.clock_ghz", lambda r: r["units"]["gpu"]["clock_ghz"].update(value=0)),
    ("memory.bandwidth_gbps", lambda r: r["memory"]["bandwidth_gbps"].update(value=None)),
])
def test_a_figure_the_model_divides_by_must_be_above_zero(tmp_path, field, edit):
    """Such a target used to load and then fail with ZeroDivisionError inside the latency model."""
    path = _write_variant(tmp_path, edit)
    with pytest.raises(AicamError) as err:
        load_target(path)
    text = str(err.value)
    assert str(path) in text and f"field '{field}'" in text and "above 0" in text


def test_negative_figures_and_an_unpublished_dsp_clock(tmp_path):
    path = _write_variant(tmp_path, lambda r: r["units"]["cpu"]["precisions"]["fp32"]["ops_per_cycle"].update(value=-16))
    with pytest.raises(AicamError, match=r"units\.cpu\.precisions\.fp32\.ops_per_cycle\.value.*greater than or equal to 0"):
        load_target(path)
    assert load_target("sd865").unit("dsp").clock_ghz.value is None  # `value: null` stays allowed for a clock
