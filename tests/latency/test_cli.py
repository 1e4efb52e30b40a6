"""`aicam-opt cost` and `aicam-opt calibrate` argument handling and the JSON document's shape."""
import argparse
import json
import warnings

import pytest
import torch
from torch import nn

from aicam_opt.errors import AicamError
from aicam_opt.latency import cli


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aicam-opt")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 1)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter is deprecated but fast and enough for a 3-op model
        torch.onnx.export(model, (torch.rand(1, 3, 64, 64),), str(path), dynamo=False, opset_version=17,
                          input_names=["image"], dynamic_axes={"image": {2: "height", 3: "width"}})
    return path


def test_cost_json_has_the_documented_shape(tiny_onnx, capsys):
    args = parse("cost", str(tiny_onnx), "--target", "sd865", "--unit", "gpu", "--precision", "fp16",
                 "--workload", "128x256", "--json")
    assert args.func(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "aicam_opt.cost/1"
    assert doc["workload"]["height"] == 128 and doc["workload"]["width"] == 256
    total = doc["total"]
    for key in ("macs", "flops", "bytes", "latency_ms", "bytes_moved", "call_overhead_ms", "transfer_ms", "uncounted_ops"):
        assert key in total
    # 3x3 conv 3->8 and 1x1 conv 8->3 at 128x256: exact MACs.
    assert total["macs"] == 128 * 256 * (8 * 3 * 9 + 3 * 8)
    assert total["latency_ms"] == pytest.approx(total["ops_ms"] + total["call_overhead_ms"] + total["transfer_ms"])
    assert total["latency_ms"] > 0
    assert sum(o["latency_ms"] for o in doc["ops"]) == pytest.approx(total["ops_ms"])
    op = doc["ops"][0]
    for key in ("name", "op", "op_class", "part", "unit", "precision", "macs", "flops", "bytes", "latency_ms", "bound", "fused_into"):
        assert key in op
    assert {o["unit"] for o in doc["ops"]} == {"gpu"}
    assert doc["placement"]["whole"] == {"unit": "gpu", "precision": "fp16", "cores": None, "runtime": "tvm"}


def test_cost_table_prints_ops_and_totals(tiny_onnx, capsys):
    args = parse("cost", str(tiny_onnx), "--target", "sd865", "--workload", "preview")
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "total" in out and "latency" in out and "conv" in out
    assert "budget for preview: 33" in out


@pytest.mark.parametrize("argv, message", [
    (("--target", "nowhere"), "unknown target 'nowhere'"),
    (("--target", "sd865", "--unit", "dsp", "--precision", "fp32"), "not supported on the dsp"),
    (("--target", "sd865", "--cores", "12"), "has 8 cores"),
    (("--target", "sd865", "--place", "middle=gpu"), "PART=UNIT"),
    (("--target", "sd865", "--unit", "gpu", "--runtime", "tflite-npu"),
     r"runtime 'tflite-npu' is not one the gpu .* ships through; choose one of tvm, paddle-lite, tflite-gpu"),
    (("--target", "sd865", "--place", "whole=dsp:int8@onnxruntime"), r"runtime 'onnxruntime' is not one the dsp"),
    (("--target", "sd865", "--place", "whole=dsp:int8@"), r"'@' must be followed by a runtime"),
])
def test_bad_target_unit_precision_or_cores_is_a_clear_error(tiny_onnx, argv, message):
    args = parse("cost", str(tiny_onnx), *argv)
    with pytest.raises(AicamError, match=message):
        args.func(args)


def test_unreadable_model_is_a_clear_error(tmp_path):
    args = parse("cost", str(tmp_path / "missing.onnx"), "--target", "sd865")
    with pytest.raises(AicamError, match="missing.onnx"):
        args.func(args)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a protobuf")
    args = parse("cost", str(garbage), "--target", "sd865")
    with pytest.raises(AicamError, match="garbage.onnx"):
        args.func(args)


def test_cost_prices_each_part_for_its_runtime_and_says_which(tiny_onnx, capsys):
    """The unit's default runtime unless --runtime or @RUNTIME names one; the table and JSON say which."""
    def run(*argv):
        args = parse("cost", str(tiny_onnx), "--target", "sd865", "--workload", "128x256", "--json", *argv)
        assert args.func(args) == 0
        return json.loads(capsys.readouterr().out)

    default = run("--unit", "dsp", "--precision", "int8")
    nnapi = run("--unit", "dsp", "--precision", "int8", "--runtime", "nnapi")
    npu = run("--place", "whole=dsp:int8@tflite-npu")
    assert default["parts"]["whole"]["runtime"] == "tvm" and default["parts"]["whole"]["figures_from"] == "nnapi"
    assert nnapi["parts"]["whole"]["runtime"] == "nnapi" and nnapi["parts"]["whole"]["figures_from"] is None
    assert npu["placement"]["whole"]["runtime"] == "tflite-npu"
    # TVM on the DSP is priced with NNAPI's figures; the NPU delegate has its own (a smaller per-call overhead).
    assert default["total"]["latency_ms"] == pytest.approx(nnapi["total"]["latency_ms"])
    assert npu["total"]["latency_ms"] < nnapi["total"]["latency_ms"]
    args = parse("cost", str(tiny_onnx), "--target", "sd865", "--workload", "128x256", "--place", "whole=gpu:fp16@tflite-gpu")
    assert args.func(args) == 0
    assert "priced for runtime tflite-gpu" in " ".join(capsys.readouterr().out.split())
