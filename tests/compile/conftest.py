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
The candidates are small students (64 px low-res input, 8x8x4 grid) built as `aicam-opt compress
--recover-steps 0` builds them (build_candidate and write_outputs: checkpoint, candidate.yaml and
metrics.json), their quality measured on the FiveK evaluation pairs only (not on every evaluation photo:
the teacher's outputs on them would be the slow part). winners.json is a WinnersDocument naming them:
each winner's quality from its metrics.json, the student block from the committed baseline summary,
the per-workload figures left empty (the compile step does not read them).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from skimage.color import rgb2lab

from aicam_opt.compress.build import build_candidate, write_outputs
from aicam_opt.compress.candidate import Candidate
from aicam_opt.compress.evaluation import References
from aicam_opt.compress.folder import CandidateFolder
from aicam_opt.data import resolve
from aicam_opt.evaluate.eval_set import fivek_set
from aicam_opt.evaluate.quality import psnr
from aicam_opt.models.checkpoints import resolve_model
from aicam_opt.models.inference import enhance_array
from aicam_opt.models.student import StudentConfig, StudentNet
from aicam_opt.report.summary import Summary
from aicam_opt.search.winners import WinnerEntry, WinnersDocument

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


BASELINE = Path(__file__).resolve().parents[2] / "reports" / "baseline" / "sd865.json"


def pair_references(source) -> References:
    """The committed student's and teacher's outputs on the FiveK evaluation pairs (compress.evaluation.references
    restricted to the pairs)."""
    pairs = fivek_set(source)
    photos = {name: x for name, (x, _) in pairs.items()}
    student, teacher = resolve_model("student"), resolve_model("teacher")
    with torch.no_grad():
        outputs = {name: {n: enhance_array(m, x) for n, x in photos.items()}
                   for name, m in (("student", student), ("teacher", teacher))}
    student_psnr = float(np.mean([psnr(outputs["student"][n], y) for n, (_, y) in pairs.items()]))
    return References(pairs=pairs, photos=photos, student=outputs["student"], teacher=outputs["teacher"],
                      student_psnr=student_psnr,
                      student_lab={n: rgb2lab(img) for n, img in outputs["student"].items()},
                      teacher_lab={n: rgb2lab(img) for n, img in outputs["teacher"].items()})


def write_candidate(folder: Path, candidate: Candidate, net: StudentNet, source, refs: References) -> Path:
    """A candidate folder as write_outputs makes it (no model.onnx: compile does not read it)."""
    built = build_candidate(candidate, source, recover_steps=0, student=net, teacher=resolve_model("teacher"),
                            refs=refs)
    return write_outputs(built, folder, onnx=False).path


def write_winners(base: Path, roles: dict[str, tuple[int, str] | None]) -> None:
    """base/winners.json naming the candidate folders base/<dir> ({role: (trial, dir) | None}); a role whose
    folder does not exist takes the description and quality of the first one that does."""
    existing = [CandidateFolder(base / d) for _, d in filter(None, roles.values()) if (base / d).is_dir()]
    winners = {}
    for role, spec in roles.items():
        if spec is None:
            winners[role] = None
            continue
        trial, folder = spec
        source = CandidateFolder(base / folder) if (base / folder).is_dir() else existing[0]
        winners[role] = WinnerEntry(trial=trial, dir=folder, candidate=source.load_candidate(), fidelity="full",
                                    quality=source.load_metrics().quality.to_json(), predicted_latency_ms={}, macs={},
                                    peak_memory_mb={}, speedup_vs_student={}, constraints={})
    WinnersDocument(target="sd865", search_space="compile-tests", roles={role: "a test fixture" for role in roles},
                    student=Summary.load(BASELINE, "").student, winners=winners).save(base / "winners.json")


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
    refs = pair_references(source)
    return {"tiny_fp32": write_candidate(root / "tiny_fp32", fp32, tiny_student(0), source, refs),
            "tiny_int8": write_candidate(root / "tiny_int8", int8, tiny_student(1), source, refs)}


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory, candidates) -> Path:
    base = tmp_path_factory.mktemp("reports") / "sd865"
    (base / "trials").mkdir(parents=True)
    shutil.copytree(candidates["tiny_fp32"], base / "trials" / "0001")
    shutil.copytree(candidates["tiny_int8"], base / "trials" / "0002")
    write_winners(base, {"fastest": (1, "trials/0001"), "best_quality": (2, "trials/0002"),
                         "balanced": (1, "trials/0001"), "no_winner": None, "broken": (9, "trials/0009")})
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
    write_winners(base, {"best_quality": (2, "trials/0002")})
    result = compile_winners(base, str(target), source, all_units=True, verify=False, audit=False)
    return {"result": result, "base": base, "target": target}


@pytest.fixture(scope="session")
def aarch64_suffix() -> str:
    """The file suffix of an sd865 CPU or GPU artifact: a linked .so when the Android NDK is here
    (compile/link.py), else a tar of the object files."""
    from aicam_opt.compile.link import find_linker

    return ".so" if find_linker("android-aarch64") else ".tar"  # sd865's units run Android


@pytest.fixture(scope="session")
def part_of():
    """part_of(role_entry, "low_res") -> that part's entry of the role's `parts` list."""
    return lambda role_entry, part: next(p for p in role_entry["parts"] if p["part"] == part)


def add_one_prim_func():
    """A one-line TIR function (b = a + 1): the smallest thing a unit kind can build."""
    from tvm.script import tirx as T

    @T.prim_func(s_tir=True)
    def add_one(a: T.Buffer((64,), "float32"), b: T.Buffer((64,), "float32")):
        for i in range(64):
            with T.sblock("b"):
                vi = T.axis.remap("S", [i])
                b[vi] = a[vi] + T.float32(1)

    return add_one
