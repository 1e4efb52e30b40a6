"""compile_winners: every role, null roles kept, a broken role recorded, duplicates compiled once;
all_units: each part also built for the target's other units (role "alternative")."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aicam_opt.compile import compile_winners
from aicam_opt.compile.documents import CompileDocument, Manifest
from aicam_opt.errors import AicamError


@pytest.mark.slow
def test_compile_json_holds_every_role(compiled, report_dir):
    on_disk = json.loads((report_dir / "compile.json").read_text())
    assert on_disk == json.loads(json.dumps(compiled))
    assert CompileDocument.load(report_dir / "compile.json", "").to_json() == on_disk  # what the report reads
    assert on_disk["schema"] == "aicam_opt.compile.winners/1" and on_disk["target"] == "sd865"
    winners = on_disk["winners"]
    assert set(winners) == {"fastest", "best_quality", "balanced", "no_winner", "broken"}
    assert winners["no_winner"] is None
    assert winners["broken"]["status"] == "failed" and "not found" in winners["broken"]["error"]
    assert winners["fastest"]["trial"] == 1 and winners["fastest"]["candidate_dir"] == "trials/0001"
    assert winners["fastest"]["artifacts_dir"] == "artifacts/fastest"


@pytest.mark.slow
def test_a_role_naming_the_same_candidate_gets_a_copy(compiled, report_dir, part_of):
    balanced = compiled["winners"]["balanced"]
    assert any("same candidate as role 'fastest'" in n for n in balanced["notes"])
    for part in ("low_res", "full_res"):
        artifact = report_dir / "artifacts" / "balanced" / part_of(balanced, part)["artifact"]
        assert artifact.is_file()
    assert Path(balanced["out_dir"]) == (report_dir / "artifacts" / "balanced").resolve()


def test_missing_winners_file_is_a_clear_error(tmp_path):
    with pytest.raises(AicamError, match="no winners.json"):
        compile_winners(tmp_path, "sd865")


@pytest.mark.slow
def test_all_units_adds_alternative_builds_beside_the_placed_ones(bad_dsp, aarch64_suffix):
    """tiny_int8 (int8 low-res on the DSP, fp16 full-res on the GPU) also built for the other units at the
    precision each runs closest to the candidate's; the placed parts' report and status are unchanged."""
    result, base = bad_dsp["result"], bad_dsp["base"]
    assert result["all_units"] is True
    entry = result["winners"]["best_quality"]
    assert entry["status"] == "partial"  # of the placed parts only: the DSP low-res failed, the GPU full-res compiled
    placed = [(p["part"], p["unit"]) for p in entry["parts"] if p["role"] == "placed"]
    assert placed == [("low_res", "dsp"), ("full_res", "gpu")]
    alternatives = {(p["part"], p["unit"]): p for p in entry["parts"] if p["role"] == "alternative"}
    assert set(alternatives) == {("low_res", "cpu"), ("low_res", "gpu"), ("full_res", "cpu"), ("full_res", "dsp")}
    out = base / "artifacts" / "best_quality"
    expected = {("low_res", "cpu"): ("int8", "relax_onnx", "low_res.onnx"),     # the same graph as the placed part
                ("low_res", "gpu"): ("fp16", "relax_onnx", "low_res-fp16.onnx"),  # the GPU has no int8: redeployed
                ("full_res", "cpu"): ("fp16", "fused_kernel", None)}
    for key, (precision, engine, graph) in expected.items():
        alt = alternatives[key]
        assert (alt["precision"], alt["engine"], alt["status"]) == (precision, engine, "compiled"), alt
        assert alt["artifact"] == f"{key[0]}-{key[1]}{aarch64_suffix}" and (out / alt["artifact"]).is_file()
        manifest = Manifest.load(out / alt["manifest"], "").to_json()
        assert manifest["role"] == "alternative" and manifest["artifact"]["isa"] == ["aarch64"]
        assert manifest["precision"] == precision and manifest["notes"][0].startswith("alternative build")
        if graph:
            assert manifest["graph"]["file"] == graph and (out / graph).is_file()
    # The DSP's int8 full-res alternative stops at its (broken) target, before any deploy.
    dsp = alternatives[("full_res", "dsp")]
    assert dsp["precision"] == "int8" and dsp["status"] == "failed" and dsp["failure_stage"] == "target"
    assert json.loads((out / "full_res-dsp.json").read_text())["role"] == "alternative"
    assert not (out / "full_res-int8.onnx").exists()


@pytest.mark.slow
def test_without_all_units_earlier_alternatives_are_removed(bad_dsp, tmp_path, aarch64_suffix):
    from types import SimpleNamespace

    from aicam_opt.compile.candidate import _clear_alternatives
    from aicam_opt.compress.candidate import Candidate
    from aicam_opt.config import load_yaml

    out = tmp_path / "out"
    shutil.copytree(bad_dsp["base"] / "artifacts" / "best_quality", out)
    candidate = load_yaml(bad_dsp["base"] / "trials" / "0002" / "candidate.yaml", Candidate)
    _clear_alternatives(SimpleNamespace(candidate=candidate), str(bad_dsp["target"]), out)
    assert not list(out.glob("low_res-cpu.*")) and not list(out.glob("low_res-gpu.*"))
    assert not list(out.glob("full_res-cpu.*")) and not list(out.glob("low_res-fp16.onnx"))
    assert (out / f"full_res-gpu{aarch64_suffix}").is_file() and (out / "low_res-dsp.json").is_file()  # placed: kept
