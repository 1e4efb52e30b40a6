"""Output documents (config.Document): a bad file is an AicamError naming the file, the field and the fix;
a writer cannot write what its schema does not describe. Each writer's own output is validated in
its package's tests (report: winners/summary, compile: compile.json/manifests, measured.json, compress:
metrics.json, latency: the cost document, evaluate: the quality report)."""
from __future__ import annotations

import copy
import json

import pytest

from aicam_opt.compile.documents import CompileDocument, MeasuredTimings
from aicam_opt.errors import AicamError

FIX = "Compile the winners again."


def part(name: str, unit: str, failed: bool = False) -> dict:
    failure = {"stage": "tir_codegen", "op": "exp", "reason": "no intrinsic", "ops": []} if failed else None
    return {"part": name, "unit": unit, "role": "placed", "precision": "fp16",
            "status": "failed" if failed else "compiled", "engine": "relax_onnx",
            "artifact": None if failed else f"{name}-{unit}.tar", "artifact_sha256": None if failed else "ab12",
            "manifest": f"{name}-{unit}.json", "compile_seconds": 1.5,
            "failure_stage": failure and failure["stage"], "failure_op": failure and failure["op"],
            "failure_reason": failure and failure["reason"], "failure": failure,
            "attempts": [{"engine": "relax_onnx", "status": "failed" if failed else "compiled",
                          "compile_seconds": 1.5}]}


def compile_json() -> dict:
    """compile.json as compile_winners writes it: a partly compiled role, a null role and a role that failed."""
    role = {"trial": 1, "candidate_dir": "trials/0001", "artifacts_dir": "artifacts/fastest",
            "schema": "aicam_opt.compile.report/1", "candidate": "t-0001", "target": "sd865", "out_dir": "/r/a/fastest",
            "status": "partial", "parts": [part("low_res", "dsp", failed=True), part("full_res", "gpu")],
            "verify": {"error": "no photos"}, "op_audit": [], "op_audit_detail": None, "seconds": 12.5, "notes": [],
            "tools": {"python": "3.11", "tvm": "0.27"}, "candidate_path": "/r/trials/0001"}
    failed = {"trial": 9, "candidate_dir": "trials/0009", "artifacts_dir": "artifacts/knee",
              "schema": "aicam_opt.compile.report/1", "status": "failed", "error": "not found", "parts": []}
    return {"schema": "aicam_opt.compile.winners/1", "target": "sd865", "winners_file": "winners.json",
            "created": "2026-01-01T00:00:00+00:00", "tools": {"python": "3.11"}, "all_units": False,
            "winners": {"fastest": role, "best_quality": None, "knee": failed}, "seconds": 20.0}


def write(tmp_path, doc, name: str = "compile.json"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_a_document_reads_back_exactly_as_written(tmp_path):
    doc = CompileDocument.load(write(tmp_path, compile_json()), FIX)
    assert doc.winners["fastest"].parts[1].artifact == "full_res-gpu.tar" and doc.winners["best_quality"] is None
    assert doc.winners["knee"].error == "not found" and doc.winners["knee"].verify is None
    assert doc.to_json() == compile_json() and list(doc.to_json()) == list(compile_json())  # same keys, same order
    doc.save(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == json.dumps(compile_json(), indent=2) + "\n"


def test_a_missing_document_names_the_file_and_what_to_do(tmp_path):
    with pytest.raises(AicamError, match="file not found. Run the search first") as err:
        CompileDocument.load(tmp_path / "compile.json", FIX, missing="Run the search first.")
    assert str(tmp_path / "compile.json") in str(err.value)
    assert CompileDocument.load_optional(tmp_path / "compile.json") is None  # the winners are not compiled yet


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object at the top level, got list"),
    ({**compile_json(), "schema": "aicam_opt.summary/1"}, "not a aicam_opt.compile.winners document"),
    ({k: v for k, v in compile_json().items() if k != "schema"}, "schema None"),
    ({**compile_json(), "schema": "aicam_opt.compile.winners/2"}, "different major version"),
])
def test_a_bad_document_is_a_clear_error_naming_the_file(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(AicamError, match=message) as err:
        CompileDocument.load(path, FIX)
    assert str(path) in str(err.value) and FIX in str(err.value)


def test_a_newer_minor_version_and_unknown_keys_are_read():
    newer = {**compile_json(), "schema": "aicam_opt.compile.winners/1.3", "added_later": {"x": 1}}
    assert CompileDocument.from_json(newer, "compile.json", FIX).target == "sd865"


def test_a_wrong_field_is_named_with_its_path(tmp_path):
    doc = copy.deepcopy(compile_json())
    doc["winners"]["fastest"]["parts"][0]["compile_seconds"] = "slow"
    del doc["winners"]["knee"]["status"]
    with pytest.raises(AicamError, match="2 problem") as err:
        CompileDocument.load(write(tmp_path, doc), FIX)
    text = str(err.value)
    assert "winners.fastest.parts.0.compile_seconds" in text and "winners.knee.status" in text


def test_a_writer_cannot_write_what_its_schema_does_not_describe():
    doc = compile_json()
    assert CompileDocument.checked(doc).to_json() == doc
    with pytest.raises(ValueError, match="the schema and the writer differ"):
        CompileDocument.checked({**doc, "unknown_key": 1})  # would be dropped silently
    timings = {"workload": "w", "reference": "r", "reference_ms": 10, "host_ms": {"knee": 5.5}, "ratio": {"knee": 0.5},
               "trials": {"knee": 3}}
    assert MeasuredTimings.checked(timings).reference_ms == 10.0  # an int where a float is due is the same number
    with pytest.raises(ValueError, match="the schema and the writer differ"):
        MeasuredTimings.checked({**timings, "reference_ms": "10"})  # text the schema would turn into a number
