"""Timing a varied set of ops and models on this machine through onnxruntime, for the host target
(the `host_bench` measurement source of a target's `calibration:` block, targets/host.yaml).

Each case is a small torch module with its inputs, exported to ONNX and timed in onnxruntime
(CPUExecutionProvider, 1 intra-op thread: the host target's `cores: 1`, and the least disturbed by
other jobs on this shared machine). Each case is timed in several interleaved rounds of repeated
runs after warm-up; see `measure` for how the rounds are combined. Cases are split: `calibration`
cases fit the host efficiencies, `validation` cases (whole models never seen by the fit) measure how
well the fitted model predicts.
"""
from __future__ import annotations

import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import AicamError


@dataclass(frozen=True)
class Case:
    name: str
    split: str  # "calibration" or "validation"
    build: Callable[[], tuple[nn.Module, tuple[torch.Tensor, ...]]]
    dynamo: bool = False  # the TorchScript exporter is faster; ops it cannot export for onnxruntime need dynamo


class Fn(nn.Module):
    """A module around a function, so that single ops export like models."""

    def __init__(self, fn: Callable[..., torch.Tensor]):
        super().__init__()
        self.fn = fn

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.fn(*xs)


def _x(*shape: int) -> torch.Tensor:
    return torch.rand(*shape)


def _conv(cin: int, cout: int, k: int, hw: int, stride: int = 1, groups: int = 1) -> Callable:
    return lambda: (nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups), (_x(1, cin, hw, hw),))


def _slice_grid(hw: int) -> Callable:
    def build():
        coords = torch.rand(1, 1, hw, hw, 3) * 2 - 1
        return Fn(lambda g, c: F.grid_sample(g, c, mode="bilinear", padding_mode="border", align_corners=True)), (_x(1, 12, 8, 16, 16), coords)
    return build


def _student(part: str, h: int, w: int) -> Callable:
    def build():
        from ..models.student import StudentNet, downsample

        torch.manual_seed(0)
        net = StudentNet().eval()
        x = _x(1, 3, h, w)
        if part == "low_res":
            return net.low_res, (downsample(x, net.cfg.lowres_size),)
        if part == "full_res":
            return net.full_res, (x, net.low_res(downsample(x, net.cfg.lowres_size)).detach())
        return net, (x,)
    return build


def _teacher(hw: int) -> Callable:
    def build():
        from ..models.teacher import Generator, TeacherConfig

        torch.manual_seed(0)
        return Generator(TeacherConfig()).eval(), (_x(1, 3, hw, hw),)
    return build


def _reference(name: str, size: int) -> Callable:
    def build():
        from . import reference_models

        return reference_models.build(name), (reference_models.example_input(size=size),)
    return build


def _plain_cnn() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    layers: list[nn.Module] = []
    cin = 3
    for cout in (32, 64, 64, 128):
        layers += [nn.Conv2d(cin, cout, 3, 2 if cout != cin else 1, 1), nn.BatchNorm2d(cout), nn.ReLU()]
        cin = cout
    return nn.Sequential(*layers).eval(), (_x(1, 3, 256, 256),)


CASES: list[Case] = [
    # Dense convolutions across shapes (channels, sizes, kernels, strides).
    Case("conv3x3_16to16_256", "calibration", _conv(16, 16, 3, 256)),
    Case("conv3x3_32to64_128", "calibration", _conv(32, 64, 3, 128)),
    Case("conv3x3_64to64_56", "calibration", _conv(64, 64, 3, 56)),
    Case("conv3x3_128to128_28", "calibration", _conv(128, 128, 3, 28)),
    Case("conv3x3_256to256_14", "calibration", _conv(256, 256, 3, 14)),
    Case("conv3x3s2_3to32_224", "calibration", _conv(3, 32, 3, 224, stride=2)),
    Case("conv1x1_64to128_56", "calibration", _conv(64, 128, 1, 56)),
    Case("conv1x1_256to64_56", "calibration", _conv(256, 64, 1, 56)),
    Case("conv1x1_512to512_14", "calibration", _conv(512, 512, 1, 14)),
    Case("conv7x7s2_3to64_224", "calibration", _conv(3, 64, 7, 224, stride=2)),
    # Depthwise.
    Case("dw3x3_32_112", "calibration", _conv(32, 32, 3, 112, groups=32)),
    Case("dw3x3_128_56", "calibration", _conv(128, 128, 3, 56, groups=128)),
    Case("dw3x3_512_14", "calibration", _conv(512, 512, 3, 14, groups=512)),
    Case("dw5x5_96_28", "calibration", _conv(96, 96, 5, 28, groups=96)),
    # Matmuls.
    Case("linear_256x512to512", "calibration", lambda: (nn.Linear(512, 512), (_x(256, 512),))),
    Case("linear_1x1024to1000", "calibration", lambda: (nn.Linear(1024, 1000), (_x(1, 1024),))),
    Case("bmm_256x16x256", "calibration", lambda: (Fn(torch.bmm), (_x(1, 256, 16), _x(1, 16, 256)))),
    # Element-wise, transcendental, pooling, resize, grid_sample.
    Case("add_64x256x256", "calibration", lambda: (Fn(torch.add), (_x(1, 64, 256, 256), _x(1, 64, 256, 256)))),
    Case("relu_64x256x256", "calibration", lambda: (nn.ReLU(), (_x(1, 64, 256, 256) - 0.5,))),
    Case("mul_bcast_64x128x128", "calibration", lambda: (Fn(torch.mul), (_x(1, 64, 128, 128), _x(1, 64, 1, 1)))),
    Case("sigmoid_32x256x256", "calibration", lambda: (nn.Sigmoid(), (_x(1, 32, 256, 256),))),
    Case("tanh_16x256x256", "calibration", lambda: (nn.Tanh(), (_x(1, 16, 256, 256),))),
    Case("avgpool2_32x256x256", "calibration", lambda: (nn.AvgPool2d(2), (_x(1, 32, 256, 256),))),
    Case("maxpool3s2_64x112x112", "calibration", lambda: (nn.MaxPool2d(3, 2, 1), (_x(1, 64, 112, 112),))),
    Case("mean_64x128x128", "calibration", lambda: (nn.AdaptiveAvgPool2d(1), (_x(1, 64, 128, 128),))),
    Case("resize_bilinear_16x128to256", "calibration",
         lambda: (Fn(lambda x: F.interpolate(x, size=(256, 256), mode="bilinear", align_corners=False)), (_x(1, 16, 128, 128),))),
    Case("grid_sample3d_12x8x16x16_at_256", "calibration", _slice_grid(256), dynamo=True),
    Case("grid_sample3d_12x8x16x16_at_512", "calibration", _slice_grid(512), dynamo=True),
    # Whole models used by the fit.
    Case("mobilenet_v1_224", "calibration", _reference("mobilenet_v1", 224)),
    Case("student_low_res", "calibration", _student("low_res", 512, 512), dynamo=True),
    Case("student_full_res_256", "calibration", _student("full_res", 256, 256), dynamo=True),
    # Held out: models the fit never sees.
    Case("mobilenet_v3_small_224", "validation", _reference("mobilenet_v3_small", 224)),
    Case("resnet50_160", "validation", _reference("resnet50", 160)),
    Case("plain_cnn_256", "validation", _plain_cnn),
    Case("teacher_256", "validation", _teacher(256), dynamo=True),
    Case("student_whole_512", "validation", _student("whole", 512, 512), dynamo=True),
    Case("student_whole_480x640", "validation", _student("whole", 480, 640), dynamo=True),
    Case("student_full_res_720x1280", "validation", _student("full_res", 720, 1280), dynamo=True),
    Case("mobilenet_v1_128", "validation", _reference("mobilenet_v1", 128)),
]


def export_onnx(module: nn.Module, inputs: tuple[torch.Tensor, ...], path: Path, dynamo: bool) -> None:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        if dynamo:
            torch.onnx.export(module, inputs, str(path), dynamo=True, opset_version=20, verbose=False)
        else:
            torch.onnx.export(module, inputs, str(path), dynamo=False, opset_version=17)


def open_session(path: Path, threads: int = 1):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def time_session(session, inputs: tuple[torch.Tensor, ...], min_repeats: int = 3, budget_s: float = 0.5) -> float:
    """Median milliseconds of one onnxruntime run, after warm-up."""
    feeds = {i.name: x.numpy() for i, x in zip(session.get_inputs(), inputs)}
    for _ in range(2):
        session.run(None, feeds)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_repeats or (time.perf_counter() - start < budget_s and len(times) < 100):
        t0 = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def measure(cases: list[Case] | None = None, threads: int = 1, rounds: int = 5,
            log: Callable[[str], None] = print) -> list[dict]:
    """Time every case: [{name, split, ms, threads, rounds, measured_at_utc}].

    The cases are timed in `rounds` interleaved passes (the median of repeats in each) and each
    case keeps its least-disturbed round, the smallest round median: on a machine shared with other
    jobs the load comes and goes (round medians of one case differ up to 3x here while a training
    job runs at a higher priority), and what the model predicts is the undisturbed latency.
    """
    cases = cases or CASES
    per_case: dict[str, list[float]] = {c.name: [] for c in cases}
    with tempfile.TemporaryDirectory() as tmp:
        sessions = {}
        for case in cases:
            module, inputs = case_inputs(case)
            path = Path(tmp) / f"{case.name}.onnx"
            try:
                export_onnx(module, inputs, path, case.dynamo)
                sessions[case.name] = (open_session(path, threads), inputs)
            except Exception as err:  # name the case: exporter and runtime errors are otherwise opaque
                raise AicamError(f"host case '{case.name}': could not export or load it in onnxruntime: {err}") from err
        for r in range(rounds):
            for case in cases:
                session, inputs = sessions[case.name]
                per_case[case.name].append(time_session(session, inputs))
            log(f"  round {r + 1}/{rounds} done")
    stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    results = []
    for case in cases:
        ms = min(per_case[case.name])
        results.append({"name": case.name, "split": case.split, "ms": round(ms, 4), "threads": threads, "rounds": rounds,
                        "round_ms": [round(v, 4) for v in per_case[case.name]], "measured_at_utc": stamp})
        log(f"  {case.name:36s} {ms:10.3f} ms")
    return results


def case_inputs(case: Case) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    module, inputs = case.build()
    return module.eval(), inputs


CASES_BY_NAME = {c.name: c for c in CASES}
assert len(CASES_BY_NAME) == len(CASES), "case names must be unique"
