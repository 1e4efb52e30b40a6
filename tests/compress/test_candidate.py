"""Candidates load, round-trip, and impossible ones are rejected before any compute."""
from pathlib import Path

import pytest

from aicam_opt.compress import Candidate, build_candidate, check_feasible
from aicam_opt.config import load_yaml, save_yaml, validate
from aicam_opt.errors import AicamError
from aicam_opt.models.student import StudentConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "search_spaces" / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_examples_are_feasible_and_round_trip(path, tmp_path):
    candidate = load_yaml(path, Candidate)
    target, cfg = check_feasible(candidate, StudentConfig())
    assert target.name == "sd865" and isinstance(cfg, StudentConfig)
    save_yaml(candidate, tmp_path / "c.yaml")
    assert load_yaml(tmp_path / "c.yaml", Candidate) == candidate


def test_required_examples_exist():
    names = {p.stem for p in EXAMPLES.glob("*.yaml")}
    assert {"int8_lowres", "pruned50", "hard_switch_k1"} <= names
    int8 = load_yaml(EXAMPLES / "int8_lowres.yaml", Candidate)
    assert (int8.quantization.low_res, int8.quantization.full_res) == ("int8", "fp16")
    assert load_yaml(EXAMPLES / "hard_switch_k1.yaml", Candidate).architecture.num_branches == 1


@pytest.mark.parametrize("raw, words", [
    ({"pruning": {"ratios": {"trunk": 1.0}}}, ["pruning.ratios.trunk", "less than 1"]),
    ({"pruning": {"ratios": {"trunk": -0.1}}}, ["pruning.ratios.trunk"]),
    ({"pruning": {"ratios": {"head": 0.5}}}, ["pruning.ratios.head"]),
    ({"architecture": {"num_branches": 0}}, ["architecture.num_branches", "greater than or equal to 1"]),
    ({"quantization": {"low_res": "int4"}}, ["quantization.low_res"]),
    ({"placement": {"low_res": "npu"}}, ["placement.low_res"]),
])
def test_invalid_fields_are_named(raw, words):
    with pytest.raises(AicamError) as err:
        validate(Candidate, {"name": "bad", **raw}, "bad.yaml")
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize("raw, words", [
    ({"quantization": {"full_res": "int8"}, "placement": {"full_res": "gpu"}}, ["full_res", "int8", "gpu", "fp32, fp16"]),
    ({"quantization": {"low_res": "fp16"}, "placement": {"low_res": "dsp"}}, ["low_res", "fp16", "dsp", "int8"]),
    ({"architecture": {"grid_size": 2}}, ["grid_size 2", "minimum 4"]),
    ({"architecture": {"grid_depth": 1}}, ["grid_depth 1", "minimum 2"]),
    ({"architecture": {"grid_size": 12}}, ["grid_size", "power"]),
    ({"target": "nokia3310"}, ["nokia3310", "sd865"]),
])
def test_impossible_candidates_are_rejected(raw, words):
    candidate = validate(Candidate, {"name": "impossible", **raw}, "impossible.yaml")
    with pytest.raises(AicamError) as err:
        check_feasible(candidate, StudentConfig())
    for word in words:
        assert word in str(err.value)


def test_rejected_before_any_compute(monkeypatch, student, data_source):
    """build_candidate checks first: no teacher is loaded, no image read, nothing trained."""
    def forbidden(*args, **kwargs):
        raise AssertionError("compute started before the candidate was checked")

    monkeypatch.setattr("aicam_opt.compress.build.resolve_model", forbidden)
    monkeypatch.setattr("aicam_opt.compress.build.calibration_images", forbidden)
    candidate = validate(Candidate, {"name": "x", "quantization": {"low_res": "fp16"}, "placement": {"low_res": "dsp"}}, "x")
    with pytest.raises(AicamError, match="dsp"):
        build_candidate(candidate, data_source, student=student)
