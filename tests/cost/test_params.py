"""One definition of "params" (cost.records.PARAMS): the learnable weights, as `Module.parameters()` counts
them. `aicam-opt cost student`, its JSON, the search's student record and the report agree."""
from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from aicam_opt.cli import main
from aicam_opt.cost import count_onnx, model_cost
from aicam_opt.cost.records import PARAMS
from aicam_opt.cost.shipped import shipped_student_cost
from aicam_opt.models.checkpoints import load_model


def learnable(net) -> int:
    return sum(p.numel() for p in net.parameters())


def test_the_student_costs_as_many_params_as_it_has_learnable_weights():
    student = load_model(kind="student")
    buffers = sum(b.numel() for name, b in student.named_buffers() if not name.endswith("num_batches_tracked"))
    assert buffers > 0  # BatchNorm statistics and the guide's thresholds: what the count used to add
    assert model_cost(student, "preview").params == learnable(student) == 72548
    for precision in ("fp32", "fp16", "int8"):  # the fused kernel carries the guide's weights it replaces
        assert shipped_student_cost(student, "preview", precision, "cpu").params == learnable(student), precision


def test_cost_cli_states_the_definition_and_the_count(capsys):
    assert main(["cost", "student", "--target", "sd865"]) == 0
    assert f"72,548 params: {PARAMS}" in capsys.readouterr().out
    assert main(["cost", "student", "--target", "sd865", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["params"] == 72548


def test_onnx_batch_norm_statistics_are_not_params():
    c = 3
    init = [numpy_helper.from_array(np.ones(c, np.float32), name) for name in ("scale", "bias", "mean", "var")]
    graph = helper.make_graph([helper.make_node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"])],
                              "bn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, 4, 4])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    onnx.checker.check_model(model)
    (op,) = count_onnx(model)
    assert op.params == 2 * c
