"""The CPU pipeline's schedule rule (compile/cpu_schedule.py): which reductions it reorders, and that the
build it gives computes exactly what TVM's unscheduled build computes."""
import numpy as np
import pytest
import torch
from torch import nn

from aicam_opt.compile.cpu_schedule import cpu_pipeline
from aicam_opt.compile.engines.relax_graph import import_onnx
from aicam_opt.compile.unit_kinds import for_target


class Reductions(nn.Module):
    """One of each: unit-stride 3x3 and 1x1 convolutions, a depthwise one, a stride-2 one, a matmul, a mean."""

    def __init__(self):
        super().__init__()
        self.first = nn.Conv2d(3, 8, 3, stride=2, padding=1)    # strided: left in TVM's order
        self.same = nn.Conv2d(8, 24, 3, padding=1)              # unit stride: scheduled
        self.pointwise = nn.Conv2d(24, 12, 1)                   # unit stride, odd channel counts: scheduled
        self.depthwise = nn.Conv2d(12, 12, 3, padding=1, groups=12)

    def forward(self, x):
        y = self.depthwise(self.pointwise(torch.relu(self.same(torch.relu(self.first(x))))))
        flat = y.flatten(2)                                      # (1, 12, 60): a matmul of the positions' features
        similarity = torch.matmul(flat.transpose(1, 2), flat)   # (1, 60, 60)
        return y.mean(dim=(2, 3)), similarity


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("schedule") / "reductions.onnx"
    torch.manual_seed(0)
    # 12 x 20 input -> 6 x 10 maps: rows of 10 (vectorized 2 lanes at a time) and a 60-wide matmul row (4 lanes)
    torch.onnx.export(Reductions().eval(), (torch.rand(1, 3, 12, 20),), str(path), input_names=["x"], dynamo=False)
    return path


def _lowered(onnx_path, pipeline):
    import tvm

    target = tvm.target.Target({"kind": "llvm"})
    with target:
        return pipeline(target)(import_onnx(onnx_path))


def _reductions(mod) -> dict[str, str]:
    """name -> script of each function that holds a conv or matmul block."""
    import tvm

    found = {}
    for gv, func in mod.functions.items():
        if isinstance(func, tvm.tirx.PrimFunc):
            script = func.script()
            if any(block in script for block in ('sblock("conv2d_nchw', 'sblock("group_conv2d_nchw', 'sblock("matmul')):
                found[gv.name_hint] = script
    return found


def test_only_unit_stride_reductions_are_reordered_and_vectorized(onnx_model):
    functions = _reductions(_lowered(onnx_model, cpu_pipeline))
    vectorized = {name for name, script in functions.items() if "T.vectorized" in script}
    assert len(functions) == 5, sorted(functions)
    # the stride-2 first layer keeps TVM's loop nest; the other convolutions and the matmul are vectorized
    strided = [name for name, script in functions.items() if "v_xx * T.int64(2)" in script]
    assert len(strided) == 1 and strided[0] not in vectorized
    assert vectorized == set(functions) - set(strided)


def test_the_scheduled_build_computes_exactly_what_the_unscheduled_one_does(onnx_model):
    import tvm
    from tvm import relax

    x = np.random.default_rng(1).random((1, 3, 12, 20), dtype=np.float32)
    outputs = []
    for pipeline in (cpu_pipeline, lambda target: relax.get_pipeline("default")):
        target = tvm.target.Target({"kind": "llvm"})
        executable = tvm.compile(import_onnx(onnx_model), target, relax_pipeline=pipeline(target))
        vm = relax.VirtualMachine(executable, tvm.cpu())
        result = vm["main"](tvm.runtime.tensor(x, tvm.cpu()))
        outputs.append([result[i].numpy() for i in range(len(result))])
    for scheduled, unscheduled in zip(*outputs):
        assert np.array_equal(scheduled, unscheduled)  # same terms summed in the same order


def test_cpu_units_lower_with_the_schedule_and_the_dsp_without(onnx_model):
    cpu = for_target({"kind": "llvm", "mtriple": "aarch64-linux-android"})
    dsp = for_target({"kind": "hexagon", "mcpu": "hexagonv66"})
    scheduled = _reductions(_lowered(onnx_model, cpu.relax_pipeline))
    generic = _reductions(_lowered(onnx_model, dsp.relax_pipeline))
    assert any("T.vectorized" in script for script in scheduled.values())
    assert generic and not any("T.vectorized" in script for script in generic.values())
