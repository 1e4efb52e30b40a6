"""Workloads, the fixed / per-pixel split of the student, size extrapolation and `model_cost`."""
from __future__ import annotations

import pytest
import torch

from aicam_opt.cost import WORKLOADS, model_cost, parse_workload, student_cost, teacher_cost
from aicam_opt.cost.aten_counter import count_torch
from aicam_opt.cost.size_scaling import COUNT_FIELDS, BilinearCostModel
from aicam_opt.errors import AicamError
from aicam_opt.models.student import StudentConfig, StudentNet
from aicam_opt.models.teacher import Generator


def counts(ops):
    return [(o.name, o.op, *(getattr(o, f) for f in COUNT_FIELDS)) for o in ops]


@pytest.fixture(scope="module")
def student():
    torch.manual_seed(0)
    return StudentNet(StudentConfig()).eval()


@pytest.fixture(scope="module")
def preview(student):
    return student_cost(student, "preview")


def test_workload_registry_and_hxw():
    assert parse_workload("preview") == (1080, 1920)
    assert parse_workload("photo100mp") == (8160, 12240)
    assert parse_workload("video8k") == (4320, 7680)
    assert parse_workload(" 720X1280 ") == (720, 1280)
    assert parse_workload((480, 640)) == (480, 640)
    assert set(WORKLOADS) == {"preview", "photo100mp", "video8k"}


@pytest.mark.parametrize("bad", ["1080by1920", "1080x", "x1920", "0x100", "4k", "", "100x1000000"])
def test_malformed_workload_is_a_clear_error(bad):
    with pytest.raises(AicamError, match=r"workload .*(HxW|height x width)"):
        parse_workload(bad)


def test_student_full_res_extrapolation_equals_a_real_trace(student):
    grid = torch.zeros(1, 12, 8, 16, 16)

    def trace(h, w):
        return count_torch(student.full_res, (torch.zeros(1, 3, h, w), grid), part="full_res")

    model = BilinearCostModel(trace, heights=(32, 64), widths=(48, 96))
    for height, width in [(80, 120), (37, 53)]:
        assert counts(model.at(height, width)) == counts(trace(height, width))
    # Per-pixel ops are linear in the pixels: doubling the pixels doubles their MACs exactly.
    macs = lambda ops: sum(o.macs for o in ops)  # noqa: E731
    assert macs(trace(64, 96)) == 2 * macs(trace(32, 96))


def test_student_splits_fixed_low_res_from_per_pixel_full_res(student, preview):
    photo = student_cost(student, "photo100mp")
    assert set(preview.parts) == {"low_res", "full_res"}
    assert preview.total("low_res") == photo.total("low_res")  # fixed: independent of the photo size
    assert all(not o.scales_with_pixels for o in preview.ops if o.part == "low_res")
    assert all(o.scales_with_pixels for o in preview.ops if o.part == "full_res" and o.macs)
    # Full-res MACs per pixel, by hand: colour matrix 3x3 = 9, curve mix 3, trilinear slice
    # 12 channels x 7 MACs = 84; 96 in all.
    for cost, (h, w) in [(preview, (1080, 1920)), (photo, (8160, 12240))]:
        assert cost.total("full_res")["macs"] == 96 * h * w
        assert (cost.height, cost.width) == (h, w)
    # The downsample (box average, then bilinear to 256x256) is costed at the real size: a 4x4 box for preview.
    pool = next(o for o in preview.ops if o.op == "avg_pool2d")
    assert pool.part == "full_res" and pool.divs == 3 * 270 * 480 and pool.adds == 15 * 3 * 270 * 480
    assert preview.workload == "preview" and photo.workload == "photo100mp"


def test_teacher_at_an_odd_size_equals_a_real_trace():
    torch.manual_seed(0)
    teacher = Generator().eval()
    cost = teacher_cost(teacher, "101x77")  # padded to 104x80 inside the network
    assert counts(cost.ops) == counts(count_torch(teacher, (torch.zeros(1, 3, 101, 77),)))
    fixed = {o.scope for o in cost.ops if not o.scales_with_pixels and o.macs}
    # only the global MLP and the colour head (statistics -> colour transform) do not grow with the image
    assert fixed == {"global_mlp.0", "global_mlp.2", "colour_head.0", "colour_head.2"}


def test_model_cost_of_a_module_and_its_json_shape(student):
    cost = model_cost(student, "64x96")
    data = cost.to_dict()
    assert data["workload"] == {"name": "64x96", "height": 64, "width": 96}
    assert data["total"]["macs"] == cost.macs == sum(o["macs"] for o in data["ops"])
    assert data["total"]["flops"] == sum(o["flops"] for o in data["ops"])
    assert data["total"]["bytes"] == sum(o["bytes_read"] + o["bytes_written"] for o in data["ops"])
    assert set(data["parts"]) == {"low_res", "full_res"} and data["uncounted"] == []


def test_model_cost_errors_name_the_problem(tmp_path):
    with pytest.raises(AicamError, match="not found"):
        model_cost(tmp_path / "missing.onnx")
    with pytest.raises(AicamError, match="not found"):
        model_cost(tmp_path / "missing.safetensors", "preview")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all")
    with pytest.raises(AicamError, match="not a readable ONNX model"):
        model_cost(bad)
    with pytest.raises(AicamError, match="workload"):
        model_cost("student", "huge")


def test_hard_switch_costs_one_branch(preview):
    soft = preview
    hard = student_cost(StudentNet(StudentConfig(switch="hard")).eval(), "preview")
    branch = [o for o in soft.ops if o.scope.startswith("low_res.branches.0")]
    # One branch (depthwise 3x3 + pointwise + head over the 16x16 grid of 64 channels) instead of three.
    branch_macs = 16 * 16 * 64 * 9 + 16 * 16 * 64 * 64 + 16 * 16 * 96 * 64
    assert sum(o.macs for o in branch) == branch_macs
    assert soft.total("low_res")["macs"] - hard.total("low_res")["macs"] == 2 * branch_macs
    assert hard.total("full_res") == soft.total("full_res")
