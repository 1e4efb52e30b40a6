"""Engines and unit kinds are plug-ins: the compile dispatches through their registries, and a name no
module handles is a clear error (a failed part with its reason, not a crash)."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from aicam_opt.compile import engines, unit_kinds
from aicam_opt.compile.backend import Compiled
from aicam_opt.compile.candidate import compile_part
from aicam_opt.compile.failures import CompileFailure
from aicam_opt.compile.parts import Part
from aicam_opt.compile.verify import HostPipeline
from aicam_opt.errors import AicamError

from .conftest import add_one_prim_func

LOADED = SimpleNamespace(source_info=lambda: {"candidate": "toy"})




class ToyEngine:
    """A third engine: builds a fixed TIR function through the unit kind, runs on the host as numpy."""

    name = "toy"

    def __init__(self):
        self.calls: list[str] = []

    def compile(self, part, target):
        import tvm

        self.calls.append(f"compile {part.name} {target['kind']}")
        module = tvm.IRModule({"add_one": add_one_prim_func()})
        executable, objects = unit_kinds.for_target(target).compile_scheduled(module, target)
        return Compiled(target, self.name, executable, objects)

    def graph(self, part):
        return {"kind": "toy", "function": "add_one"}

    def host_runner(self, part, loaded, host, workdir):
        self.calls.append(f"host {part.name}")
        return _ToyRunner(part.name)

    def audit(self, part, loaded):
        return {"part": part.name, "engine": self.name}


class _ToyRunner:
    def __init__(self, name: str):
        self.seconds, self.notes = {name: 0.5}, [f"toy {name}"]

    def __call__(self, *inputs: np.ndarray) -> np.ndarray:
        return inputs[0] + 1


def _part(engine: str, unit: str = "cpu", name: str = "low_res") -> Part:
    return Part(name, unit, "fp32", engine, "float32", inputs=[], outputs=[])


@pytest.fixture
def toy(monkeypatch):
    engine = ToyEngine()
    monkeypatch.setitem(engines._ENGINES, engine.name, engine)
    return engine


def test_a_registered_engine_builds_a_part_through_the_unit_kind(toy, tmp_path, aarch64_suffix):
    report, used = compile_part(_part("toy"), LOADED, "sd865", tmp_path)
    assert toy.calls == ["compile low_res llvm"]
    assert report.status == "compiled" and report.engine == "toy" and used.engine == "toy"
    manifest = json.loads((tmp_path / "low_res-cpu.json").read_text())
    assert manifest["graph"] == {"kind": "toy", "function": "add_one"}
    assert manifest["artifact"]["isa"] == ["aarch64"] == [manifest["artifact"]["expected_isa"]]
    artifact = f"low_res-cpu{aarch64_suffix}"
    assert manifest["artifact"]["file"] == artifact and (tmp_path / artifact).is_file()


def test_the_host_pipeline_runs_each_part_with_its_engine(toy, tmp_path):
    loaded = SimpleNamespace(net=SimpleNamespace(cfg=SimpleNamespace(lowres_size=8)))
    pipeline = HostPipeline(loaded, {"low_res": _part("toy"), "full_res": _part("toy", name="full_res")}, tmp_path)
    assert toy.calls == ["host low_res", "host full_res"]
    assert pipeline.grid(torch.zeros(1, 3, 8, 8)).max() == 1
    assert pipeline.full(np.zeros((4, 4, 3), np.float32), np.zeros((1, 12, 2, 2, 2))).max() == 1
    assert pipeline.seconds == {"low_res": 0.5, "full_res": 0.5}
    assert pipeline.notes == ["toy low_res", "toy full_res"]


def test_an_unknown_engine_is_a_clear_error_and_a_failed_part(tmp_path):
    with pytest.raises(AicamError, match=r"compile engine 'nope' is not registered; known engines: relax_onnx, "
                                         r"fused_kernel"):
        engines.get("nope")
    report, _ = compile_part(_part("nope"), LOADED, "sd865", tmp_path)
    assert report.status == "failed" and "compile engine 'nope' is not registered" in report.failure["reason"]
    manifest = json.loads((tmp_path / "low_res-cpu.json").read_text())
    assert manifest["status"] == "failed" and manifest["graph"] is None


def test_an_unknown_unit_kind_fails_at_the_target_stage_naming_the_known_ones():
    with pytest.raises(CompileFailure) as err:
        unit_kinds.for_target({"kind": "vulkan"})
    assert err.value.stage == "target"
    assert "'vulkan'" in err.value.reason and "llvm, opencl, hexagon" in err.value.reason


def test_each_unit_kind_names_the_processor_its_objects_are_for():
    assert unit_kinds.isa_name(183) == "aarch64" and unit_kinds.isa_name(164) == "hexagon"
    assert unit_kinds.isa_name(62) == "x86_64" and unit_kinds.isa_name(999) == "e_machine 999"
    dsp = {"kind": "hexagon", "mcpu": "hexagonv66", "host": {"kind": "llvm", "mtriple": "aarch64-linux-android"}}
    hexagon = unit_kinds.for_target(dsp)
    assert hexagon.expected_isa(dsp) == "hexagon"
    assert hexagon.built_target(dsp)["host"] == {"kind": "hexagon", "mcpu": "hexagonv66"}
    gpu = {"kind": "opencl", "device": "adreno", "host": {"kind": "llvm", "mtriple": "aarch64-linux-android"}}
    assert unit_kinds.for_target(gpu).expected_isa(gpu) == "aarch64"
    assert unit_kinds.for_target(gpu).built_target(gpu) == gpu


def test_no_engine_or_unit_kind_name_is_switched_on_outside_its_module():
    """The callers dispatch through the registries: a condition on a kind's or engine's name elsewhere in
    compile/ would be a special case the plug-ins were meant to replace."""
    import re

    root = Path(__file__).resolve().parents[2] / "aicam_opt" / "compile"
    condition = re.compile(r"(==|!=|\bin)\s*\(?\s*[\"'](hexagon|opencl|llvm|fused_kernel|relax_onnx)[\"']")
    found = []
    for path in root.rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            match = condition.search(line)
            if match and path != root / "unit_kinds" / f"{match.group(2)}.py":  # a kind's own module may
                found.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert found == []
