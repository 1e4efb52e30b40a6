"""NNCF int8 of the low-res network: really quantized, exported as standard ONNX QDQ, and onnxruntime
computes what the PyTorch fake-quant model computes."""
import copy

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from aicam_opt.compress.quantize import (CompressedStudent, LowResGraph, NativeFakeQuantize, calibration_images,
                                         export_onnx, quantize_low_res, to_native_fake_quant)
from aicam_opt.data import EVAL_FIVEK, EVAL_KODAK, DataSource
from aicam_opt.models.student import downsample

IMAGE = (48, 72)


@pytest.fixture(scope="module")
def calibration(data_source):
    return calibration_images(data_source, 64, 4)


@pytest.fixture(scope="module")
def quantized(calibration):
    from .conftest import perturbed_student
    from aicam_opt.models.student import StudentConfig

    net = perturbed_student(StudentConfig(lowres_size=64, grid_size=8, width=8, grid_depth=4))
    return net, quantize_low_res(net, calibration)


def test_calibration_uses_only_training_photos(monkeypatch, data_source):
    seen = []
    import aicam_opt.compress.quantize as q

    real_photos, real_pairs = q.load_photos, q.load_pairs
    monkeypatch.setattr(q, "load_photos", lambda src, split, **kw: seen.append(split) or real_photos(src, split, **kw))
    monkeypatch.setattr(q, "load_pairs", lambda src, split, **kw: seen.append(split) or real_pairs(src, split, **kw))
    images = calibration_images(data_source, 64, 3)
    assert seen and set(seen) == {"train"} and len(images) == 3 and images[0].shape == (1, 3, 64, 64)
    assert not set(EVAL_FIVEK) & set(real_pairs(data_source, "train")) and "kodak24/" + EVAL_KODAK[0] not in real_photos(data_source, "train")


def test_low_res_is_really_quantized(quantized, calibration):
    net, q = quantized
    fakes = [m for m in q.modules() if isinstance(m, NativeFakeQuantize)]
    weight_fakes = [m for m in fakes if m.axis == 0]
    convs = [m for m in net.low_res.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(weight_fakes) == len(convs)  # every conv/linear weight, per output channel
    assert all(m.scale.numel() > 1 for m in weight_fakes)
    assert all((m.quant_min, m.quant_max) in ((-128, 127), (0, 255)) for m in fakes)
    with torch.no_grad():
        float_grid, int8_grid = LowResGraph(net.low_res)(calibration[0]), q(calibration[0])
    error = (float_grid - int8_grid).abs()
    assert 0 < error.mean() < 0.05 * float_grid.abs().mean()


def test_native_fake_quant_matches_nncf(quantized, calibration):
    """Replacing NNCF's quantizers by torch's fake-quant ops does not change the numbers."""
    import nncf

    net, _ = quantized
    nncf_model = nncf.quantize(LowResGraph(copy.deepcopy(net.low_res)).eval(), nncf.Dataset(calibration),
                               subset_size=len(calibration), fast_bias_correction=True)
    with torch.no_grad():
        before = nncf_model(calibration[1])
        after = to_native_fake_quant(nncf_model, calibration[0])(calibration[1])
    diff = (before - after).abs()
    # the same levels, except for values that sit on a rounding boundary (NNCF's kernel computes
    # (x - low) / step, torch x / step + zero point: the last float bit can flip a level there)
    step = before.abs().max() / 127
    assert diff.max() <= 1.01 * step and (diff > 1e-5).float().mean() < 0.01, (diff.max(), (diff > 1e-5).float().mean())


def test_onnx_is_qdq_and_matches_pytorch(quantized, tmp_path):
    net, q = quantized
    student = CompressedStudent(q, net.full_res, 64).eval()
    path = export_onnx(student, tmp_path / "model.onnx", 64, IMAGE)
    model = onnx.load(str(path))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("QuantizeLinear") >= 20 and ops.count("DequantizeLinear") >= 20
    assert not any("FakeQuantize" in op for op in ops)
    per_channel = [n for n in model.graph.node if n.op_type == "QuantizeLinear" and any(a.name == "axis" and a.i == 0 for a in n.attribute)]
    assert per_channel
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    torch.manual_seed(1)
    for _ in range(2):
        image = torch.rand(1, 3, *IMAGE)
        lowres = downsample(image, 64)
        with torch.no_grad():
            expected = student(image).numpy()
        got = session.run(None, {"lowres": lowres.numpy(), "image": image.numpy()})[0]
        diff = np.abs(got - expected)
        # identical but for rare level flips of grid coefficients where the float accumulation order
        # differs (onnxruntime's conv vs PyTorch's) on a rounding boundary; a flipped coefficient
        # moves the pixels of its cells by less than one 8-bit output level
        assert diff.max() < 1 / 255 and diff.mean() < 1e-4, (diff.max(), diff.mean())


def test_tvm_imports_and_runs_the_qdq_onnx(quantized, tmp_path):
    """The QDQ export is standard: Apache TVM's ONNX frontend reads it and computes the same picture."""
    import tvm
    from tvm import relax
    from tvm.relax.frontend.onnx import from_onnx

    net, q = quantized
    student = CompressedStudent(q, net.full_res, 64).eval()
    path = export_onnx(student, tmp_path / "model.onnx", 64, IMAGE)
    mod = relax.transform.LegalizeOps()(from_onnx(onnx.load(str(path)), keep_params_in_input=False))
    vm = relax.VirtualMachine(tvm.compile(mod, target=tvm.target.Target({"kind": "llvm"})), tvm.cpu())
    torch.manual_seed(2)
    image = torch.rand(1, 3, *IMAGE)
    lowres = downsample(image, 64)
    got = vm["main"](tvm.runtime.tensor(lowres.numpy()), tvm.runtime.tensor(image.numpy()))
    got = (got if hasattr(got, "numpy") else got[0]).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"lowres": lowres.numpy(), "image": image.numpy()})[0]
    diff = np.abs(got - expected)
    # same int8 graph; rare rounding-boundary level flips of grid coefficients only
    assert diff.mean() < 1e-3 and (diff > 1 / 255).mean() < 0.01, (diff.max(), diff.mean())
