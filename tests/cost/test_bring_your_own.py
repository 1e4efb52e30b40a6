"""Bring your own model: a fixed-size ONNX export is costed at its own size, and a super-resolution
network's PReLU is counted (not UNCOUNTED)."""
from __future__ import annotations

import json

import torch
from torch import nn

from aicam_opt.cli import main
from aicam_opt.cost import model_cost


class TinySR(nn.Module):
    """ESPCN-like: conv + PReLU, conv + PReLU, conv to 4x the channels, pixel shuffle (DepthToSpace)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 16, 5, padding=2), nn.PReLU(16), nn.Conv2d(16, 8, 3, padding=1),
                                  nn.PReLU(8), nn.Conv2d(8, 12, 3, padding=1), nn.PixelShuffle(2))

    def forward(self, x):
        return self.body(x)


def _export(path, size=(96, 128)):
    torch.onnx.export(TinySR().eval(), (torch.rand(1, 3, *size),), str(path), input_names=["image"],
                      opset_version=17, dynamo=False)
    return path


def test_prelu_is_counted(tmp_path):
    cost = model_cost(_export(tmp_path / "sr.onnx"))
    prelu = [op for op in cost.ops if op.op == "prelu"]
    assert len(prelu) == 2 and all(op.counted for op in prelu)
    assert prelu[0].compares == prelu[0].muls == 16 * 96 * 128  # select and multiply per element
    assert not [op for op in cost.ops if not op.counted]


def test_fixed_size_onnx_is_costed_at_its_own_size_by_default(tmp_path, capsys):
    path = _export(tmp_path / "sr.onnx", (120, 160))
    assert main(["cost", str(path), "--target", "sd865", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["workload"]["height"], doc["workload"]["width"]) == (120, 160)
    assert doc["total"]["uncounted_ops"] == 0
    # a named workload of another size is still refused, with the fix
    assert main(["cost", str(path), "--target", "sd865", "--workload", "preview"]) == 2
    assert "fixed input size 120x160" in capsys.readouterr().err
