"""Shared fixtures: two small real candidate folders and ONE compile of the winners that uses them.

Compiling is the slow part (TVM builds for the host, aarch64, OpenCL and Hexagon), so every test file
of this folder reads the same session-scoped `compiled` result: compile_winners over a report folder
whose winners.json names
- fastest      -> tiny_fp32: fp32 low-res and full-res, both on the CPU;
- best_quality -> tiny_int8: NNCF int8 low-res on the DSP (Hexagon object code; its softmax's exp
                  goes through the Hexagon unit kind's expf), fp16 full-res on the GPU (the fused kernel);
- balanced     -> tiny_fp32 again (compiled once, artifacts copied);
- no_winner    -> null;  broken -> a folder that does not exist.
`bad_dsp`: a second, cheaper compile (all_units, no verification) against a target file whose DSP
target is broken on purpose, for the failure reporting and the alternative builds.
The candidates are small students (64 px low-res input, 8x8x4 grid) built like `aicam-opt compress
--recover-steps 0` would (deploy at the candidate's precisions, checkpoint, candidate.yaml, metrics.json
with the measured PSNR drop), without the slow evaluation.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from aicam_opt.compress.build import deploy
from aicam_opt.compress.candidate import Candidate
from aicam_opt.config import save_json, save_yaml
from aicam_opt.data import resolve
from aicam_opt.evaluate.eval_set import fivek_set
from aicam_opt.evaluate.quality import psnr
from aicam_opt.models.checkpoints import resolve_model, save_checkpoint
from aicam_opt.models.inference import enhance_array
from aicam_opt.models.student import StudentConfig, StudentNet

TINY = StudentConfig(lowres_size=64, grid_size=8, width=8, grid_depth=4)
VERIFY = dict(verify_photos=2, verify_long_side=256)


def tiny_student(seed: int = 0) -> StudentNet:
    """A small student whose guide, switch and grids are far from identity, so errors would show."""
    torch.manual_seed(seed)
    net = StudentNet(TINY).eval()
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.add_(torch.randn_like(p) * (0.3 if "full_res" in name else 0.05))
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return net


def write_candidate(folder: Path, candidate: Candidate, net: StudentNet, source) -> Path:
    """A candidate folder as write_outputs makes it (no model.onnx: compile does not read it)."""
    folder.mkdir(parents=True, exist_ok=True)
    deployed = deploy(net, candidate, source)
    pairs = fivek_set(source)
    base = resolve_model(candidate.base)
    student = np.mean([psnr(enhance_array(base, x), y) for x, y in pairs.values()])
    with torch.no_grad():
        compressed = np.mean([psnr(enhance_array(deployed, x), y) for x, y in pairs.values()])
    save_checkpoint(net, "student", folder / "student.safetensors")
    save_yaml(candidate, folder / "candidate.yaml")
    save_json({"candidate": candidate.name, "quality": {"psnr_drop_vs_student": float(student - compressed),
                                                         "student_psnr": float(student), "psnr": float(compressed)}},
              folder / "metrics.json")
    return folder


@pytest.fixture(scope="session")
def source():
    found = resolve(None)
    return type(found)(found.root, explicit=False)


@pytest.fixture(scope="session")
def candidates(tmp_path_factory, source) -> dict[str, Path]:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("candidates")
    fp32 = Candidate(name="tiny_fp32", quantization={"low_res": "fp32", "full_res": "fp32"},
                     placement={"low_res": "cpu", "full_res": "cpu"})
    int8 = Candidate(name="tiny_int8", quantization={"low_res": "int8", "full_res": "fp16", "calibration_images": 4},
                     placement={"low_res": "dsp", "full_res": "gpu"})
    return {"tiny_fp32": write_candidate(root / "tiny_fp32", fp32, tiny_student(0), source),
            "tiny_int8": write_candidate(root / "tiny_int8", int8, tiny_student(1), source)}


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory, candidates) -> Path:
    base = tmp_path_factory.mktemp("reports") / "sd865"
    (base / "trials").mkdir(parents=True)
    shutil.copytree(candidates["tiny_fp32"], base / "trials" / "0001")
    shutil.copytree(candidates["tiny_int8"], base / "trials" / "0002")
    winners = {"fastest": {"trial": 1, "dir": "trials/0001", "predicted_latency_ms": {"preview": 1.0}},
               "best_quality": {"trial": 2, "dir": "trials/0002"},
               "balanced": {"trial": 1, "dir": "trials/0001"},
               "no_winner": None,
               "broken": {"trial": 9, "dir": "trials/0009"}}
    (base / "winners.json").write_text(json.dumps({"winners": winners}))
    return base


@pytest.fixture(scope="session")
def compiled(report_dir, source) -> dict:
    """compile_winners' result (the same as reports/sd865/compile.json)."""
    from aicam_opt.compile import compile_winners

    torch.set_num_threads(1)
    return compile_winners(report_dir, "sd865", source, **VERIFY)


@pytest.fixture(scope="session")
def bad_dsp(tmp_path_factory, candidates, source) -> dict:
    """compile_winners with all_units over one winner (tiny_int8) for a copy of sd865 whose DSP names a TVM
    backend that does not exist: the placed low-res part really fails (stage "target") while the rest
    compiles, and the alternatives (low-res on the CPU in int8 and the GPU in fp16, full-res on the CPU;
    the DSP's int8 full-res fails at its target) are built beside them. No verification, no audit.
    Returns {"result": compile.json, "base": reports/<target>, "target": the target file}."""
    from aicam_opt.compile import compile_winners
    from aicam_opt.latency.target import TARGETS_DIR

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("bad_dsp")
    raw = yaml.safe_load((TARGETS_DIR / "sd865.yaml").read_text())
    raw["units"]["dsp"]["tvm"]["target"] = {"kind": "no_such_backend"}
    target = root / "sd865_bad_dsp.yaml"
    target.write_text(yaml.safe_dump(raw))
    base = root / "reports" / "sd865"
    (base / "trials").mkdir(parents=True)
    shutil.copytree(candidates["tiny_int8"], base / "trials" / "0002")
    (base / "winners.json").write_text(json.dumps({"winners": {"best_quality": {"trial": 2, "dir": "trials/0002"}}}))
    result = compile_winners(base, str(target), source, all_units=True, verify=False, audit=False)
    return {"result": result, "base": base, "target": target}


@pytest.fixture(scope="session")
def aarch64_suffix() -> str:
    """The file suffix of a CPU or GPU artifact: a linked .so when an aarch64 cross linker is installed
    (unit_kinds/llvm.py cross_compiler), else a tar of the object files."""
    from aicam_opt.compile.unit_kinds.llvm import cross_compiler

    return ".so" if cross_compiler("aarch64") else ".tar"


@pytest.fixture(scope="session")
def part_of():
    """part_of(role_entry, "low_res") -> that part's entry of the role's `parts` list."""
    return lambda role_entry, part: next(p for p in role_entry["parts"] if p["part"] == part)
