"""Search spaces load, are checked against the target, and turn trials into valid candidates."""
from pathlib import Path

import optuna
import pytest

from aicam_opt.compress import check_feasible
from aicam_opt.errors import AicamError
from aicam_opt.latency import load_model as load_latency_model
from aicam_opt.latency.target import load_target
from aicam_opt.models.student import StudentConfig
from aicam_opt.search.objective import calibrated_pairs
from aicam_opt.search.space import SEARCH_SPACES_DIR, candidate_key, load_space, sampler_for, suggest_candidate


@pytest.fixture(scope="module")
def sd865():
    return load_target("sd865")


def test_default_space_is_valid_for_sd865(sd865):
    space = load_space("default")
    space.check_against(sd865, calibrated_pairs(load_latency_model("sd865")))
    assert space.latency_objective == "preview"
    assert space.constraints.latency_budgets == ["preview", "photo100mp", "video8k"]


def test_every_sampled_candidate_is_feasible(sd865):
    space = load_space("default")
    study = optuna.create_study(directions=["minimize"] * 3, sampler=sampler_for(space))
    for _ in range(25):
        trial = study.ask()
        candidate = suggest_candidate(trial, space, sd865)
        check_feasible(candidate, StudentConfig())  # raises if the sampler proposed something impossible
        study.tell(trial, [0.0, 0.0, 0.0])


def test_candidate_key_ignores_name_but_not_content(sd865):
    space = load_space("default")
    params = {"num_branches": 2, "switch": "hard", "guide": "luma_curve", "self_similarity": False, "grid_depth": 4, "curve_knots": 8,
              "grid_size": 8, "prune_splat": 0.0, "prune_trunk": 0.5, "prune_branches": 0.25,
              "importance": "magnitude", "low_res": "dsp:int8", "full_res": "cpu:int8", "grid_every": 1}
    a = suggest_candidate(optuna.trial.FixedTrial(params, number=1), space, sd865)
    b = suggest_candidate(optuna.trial.FixedTrial(params, number=2), space, sd865)
    assert a.name != b.name and candidate_key(a) == candidate_key(b)
    assert a.pruning.ratios == {"trunk": 0.5, "branches": 0.25}  # zero ratios are left out
    assert (a.placement.low_res, a.quantization.low_res, a.placement.full_res) == ("dsp", "int8", "cpu")
    c = suggest_candidate(optuna.trial.FixedTrial({**params, "grid_depth": 8}, number=3), space, sd865)
    assert candidate_key(c) != candidate_key(a)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, message", [
    ("name: s\nknobs: {pruning: {ratios: [0.0, 1.0]}}\n", "knobs.pruning.ratios"),
    ("name: s\nknobs: {low_res: [dsp-int8]}\n", "knobs.low_res"),
    ("name: s\nobjectives: [psnr_drop_vs_student, speed]\n", "objective 'speed' is unknown"),
    ("name: s\nsampler: {kind: cmaes}\n", "sampler.kind"),
    ("name: s\nknobz: {}\n", "knobz"),
    ("name: s\nknobs: [1, 2\n", "YAML"),
])
def test_malformed_space_names_the_field(tmp_path, text, message):
    with pytest.raises(AicamError) as err:
        load_space(_write(tmp_path, text))
    assert message in str(err.value) and "space.yaml" in str(err.value)


@pytest.mark.parametrize("text, message", [
    ("name: s\nknobs: {full_res: ['npu:int8']}\n", "has no unit 'npu'"),
    ("name: s\nknobs: {full_res: ['gpu:int8']}\n", "runs only"),
    ("name: s\nknobs: {full_res: ['gpu:fp32']}\n", "no figures for it"),
    ("name: s\nobjectives: [latency_ms.video4k]\n", "no latency budget"),
    ("name: s\nconstraints: {latency_budgets: [photo12mp]}\n", "constraints.latency_budgets"),
])
def test_space_checked_against_target(tmp_path, sd865, text, message):
    space = load_space(_write(tmp_path, text))
    with pytest.raises(AicamError, match=message):
        space.check_against(sd865, calibrated_pairs(load_latency_model("sd865")))


def test_unknown_space_lists_the_known_ones():
    with pytest.raises(AicamError, match="default"):
        load_space("no_such_space")
    assert (SEARCH_SPACES_DIR / "default.yaml").exists()
