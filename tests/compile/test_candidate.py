"""Manifests: every field, artifact sha256 matching the file, the right ISA (Hexagon object code for the
DSP); a failed part recorded with its stage and reason while the other part compiles."""
from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from aicam_opt.compile.candidate import alternative_precision
from aicam_opt.latency.target import load_target
from aicam_opt.models.checkpoints import sha256_of

FIELDS = {"schema", "part", "unit", "role", "unit_name", "target", "status", "engine", "tvm_target", "tvm_target_built",
          "precision", "compute", "inputs", "outputs", "artifact", "params", "graph", "source", "tools",
          "compile_seconds", "failure", "attempts", "notes"}


def _manifest(role_entry: dict, part_entry: dict) -> dict:
    return json.loads((Path(role_entry["out_dir"]) / part_entry["manifest"]).read_text())


@pytest.mark.slow
def test_compiled_parts_have_complete_manifests_and_matching_sha256(compiled, report_dir, part_of, aarch64_suffix):
    fastest = compiled["winners"]["fastest"]
    assert fastest["status"] == "compiled"
    assert Path(fastest["out_dir"]) == (report_dir / "artifacts" / "fastest").resolve()
    for part, engine in (("low_res", "relax_onnx"), ("full_res", "fused_kernel")):
        entry = part_of(fastest, part)
        assert entry["status"] == "compiled" and entry["engine"] == engine and entry["unit"] == "cpu"
        manifest = _manifest(fastest, entry)
        assert set(manifest) == FIELDS and manifest["status"] == "compiled" and manifest["role"] == entry["role"] == "placed"
        artifact = Path(fastest["out_dir"]) / manifest["artifact"]["file"]
        assert artifact.name == f"{part}-cpu{aarch64_suffix}"
        assert hashlib.sha256(artifact.read_bytes()).hexdigest() == manifest["artifact"]["sha256"] == entry["artifact_sha256"]
        assert manifest["artifact"]["isa"] == ["aarch64"] == [manifest["artifact"]["expected_isa"]]
        assert manifest["tvm_target"]["mtriple"] == "aarch64-linux-android"
        assert manifest["source"]["student_safetensors_sha256"] == sha256_of(report_dir / "trials/0001/student.safetensors")
        assert manifest["source"]["candidate"] == "tiny_fp32"
        assert {"tvm", "torch", "onnx", "nncf"} <= set(manifest["tools"]) and manifest["tools"]["tvm"].startswith("0.27")
        assert all({"name", "shape", "dtype"} == set(t) for t in manifest["inputs"] + manifest["outputs"])
        assert manifest["compile_seconds"] > 0 and manifest["precision"] == "fp32"
    low = _manifest(fastest, part_of(fastest, "low_res"))
    assert low["inputs"] == [{"name": "lowres", "shape": [1, 3, 64, 64], "dtype": "float32"}]
    assert low["outputs"] == [{"name": "grid", "shape": [1, 12, 4, 8, 8], "dtype": "float32"}]
    onnx_file = Path(fastest["out_dir"]) / low["graph"]["file"]
    assert hashlib.sha256(onnx_file.read_bytes()).hexdigest() == low["graph"]["sha256"]
    full = _manifest(fastest, part_of(fastest, "full_res"))
    params = Path(fastest["out_dir"]) / full["params"]["file"]
    assert hashlib.sha256(params.read_bytes()).hexdigest() == full["params"]["sha256"]
    assert [t["name"] for t in full["inputs"]][:2] == ["image", "ccm"]


@pytest.mark.slow
def test_an_int8_low_res_part_with_softmax_compiles_for_the_dsp(compiled, part_of):
    """The int8 graph's softmax (self-similarity, switch) needs exp: lowered to expf on Hexagon."""
    entry = compiled["winners"]["best_quality"]
    assert entry["status"] == "compiled"
    low, full = part_of(entry, "low_res"), part_of(entry, "full_res")
    assert low["unit"] == "dsp" and low["role"] == "placed" and low["status"] == "compiled"
    assert low["artifact"] == "low_res-dsp.tar" and low["failure"] is None
    manifest = _manifest(entry, low)
    assert set(manifest) == FIELDS and manifest["precision"] == "int8"
    assert manifest["artifact"]["isa"] == ["hexagon"] == [manifest["artifact"]["expected_isa"]]
    assert {"expf", "nearbyintf"} <= set(manifest["artifact"]["undefined_symbols"])
    assert any("C library" in n and "expf" in n for n in manifest["notes"])
    assert manifest["tvm_target_built"]["host"]["kind"] == "hexagon"
    artifact = Path(entry["out_dir"]) / "low_res-dsp.tar"
    assert hashlib.sha256(artifact.read_bytes()).hexdigest() == manifest["artifact"]["sha256"]
    with tarfile.open(artifact) as tar:
        objects = [tar.extractfile(m).read() for m in tar.getmembers() if m.name.endswith(".o")]
    assert objects and all(int.from_bytes(o[18:20], "little") == 164 for o in objects)  # EM_QDSP6
    # The full-res part, for the GPU: aarch64 host code plus the OpenCL kernel.
    assert full["unit"] == "gpu" and full["status"] == "compiled" and full["engine"] == "fused_kernel"
    gpu = _manifest(entry, full)
    assert gpu["artifact"]["isa"] == ["aarch64"] and gpu["artifact"]["opencl_source"] == "full_res-gpu.cl"
    assert "__kernel" in (Path(entry["out_dir"]) / "full_res-gpu.cl").read_text()
    assert gpu["precision"] == "fp16" and gpu["compute"] == "float16 arithmetic, taps slice"  # the variant priced


@pytest.mark.slow
def test_a_part_that_cannot_compile_is_reported_while_the_other_compiles(bad_dsp, part_of):
    """A real failure, injected through the target file: the DSP's TVM target names a backend TVM lacks."""
    entry = bad_dsp["result"]["winners"]["best_quality"]
    assert entry["status"] == "partial"
    low, full = part_of(entry, "low_res"), part_of(entry, "full_res")
    assert low["role"] == "placed" and low["unit"] == "dsp" and low["status"] == "failed" and low["artifact"] is None
    assert low["failure_stage"] == "target" and "no_such_backend" in low["failure_reason"]
    manifest = _manifest(entry, low)
    assert set(manifest) == FIELDS and manifest["status"] == "failed" and manifest["artifact"] is None
    assert manifest["failure"]["stage"] == "target"
    assert not list(Path(entry["out_dir"]).glob("low_res-dsp.tar"))
    assert full["role"] == "placed" and full["unit"] == "gpu" and full["status"] == "compiled"
    assert (Path(entry["out_dir"]) / full["artifact"]).is_file()


def test_alternative_precision_prefers_the_candidates_then_the_units_own():
    target = load_target("sd865")
    assert alternative_precision(target.unit("gpu"), "fp32") == "fp32"
    assert alternative_precision(target.unit("cpu"), "int8") == "int8"
    assert alternative_precision(target.unit("dsp"), "fp32") == "int8"
    assert alternative_precision(target.unit("dsp"), "fp16") == "int8"
    assert alternative_precision(target.unit("gpu"), "int8") == "fp16"
