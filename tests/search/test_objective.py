"""One trial, piece by piece, with a fake build (a real one takes seconds to minutes): the trial record's
round trip through Optuna, the constraints, the promotion rule, a full trial's candidate folder, a
failure's reason, and a repeated candidate reusing its earlier trial's results."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import optuna
import pytest
import torch

from aicam_opt.compress.build import Built
from aicam_opt.compress.candidate import Candidate
from aicam_opt.compress.evaluation import References
from aicam_opt.compress.metrics import BaseFigures, CandidateMetrics, CandidateQuality
from aicam_opt.errors import AicamError
from aicam_opt.latency.target import load_target
from aicam_opt.models.student import StudentConfig, StudentNet
from aicam_opt.search import objective as objective_module
from aicam_opt.search.objective import (Objective, SearchContext, constraint_values, objective_values, promoted)
from aicam_opt.search.records import CostFigures, ScreenResult, TrialRecord
from aicam_opt.search.space import SearchSpace, load_space

TINY_SPACE = Path(__file__).with_name("tiny_space.yaml")
TARGET = load_target("sd865")  # budgets: latency_ms.preview 33 ms, video8k 500 ms, ...; peak memory 1500 MB
CANDIDATE = {"guide": "ccm_curve", "grid_depth": 4, "low_res": "cpu:fp16", "full_res": "cpu:fp16"}


def quality(drop: float, flicker: float | None = None, flicker_student: float | None = None) -> CandidateQuality:
    fields = dict(psnr=20.0 - drop, student_psnr=20.0, psnr_drop_vs_student=drop, psnr_vs_student=38.0,
                  deltae_vs_student=0.5 + drop, psnr_vs_teacher=30.0, deltae_vs_teacher=2.0, pairs=1, images=1)
    if flicker is not None:
        fields.update(flicker=flicker, flicker_student=flicker_student, flicker_frames=4)
    return CandidateQuality.model_validate(fields)


def figures(preview_ms: float, peak_mb: float = 100.0) -> CostFigures:
    workloads = list(TARGET.budgets.latency_ms)
    return CostFigures(latency_ms={w: preview_ms * (i + 1) for i, w in enumerate(workloads)},
                       macs={w: 10**8 * (i + 1) for i, w in enumerate(workloads)},
                       peak_memory_mb={w: peak_mb * (i + 1) for i, w in enumerate(workloads)})


# ------------------------------------------------------------------------------------------- the record

def test_a_record_round_trips_through_optuna():
    study = optuna.create_study(directions=["minimize", "minimize"])
    trial = study.ask()
    candidate = Candidate(name="t", quantization={"low_res": "fp16", "full_res": "fp16"})
    record = TrialRecord(candidate=candidate, candidate_key="abc", fidelity="full",
                         screen=ScreenResult(quality=quality(0.4), seconds=1.5), params_count=123,
                         quality=quality(0.2, flicker=2.5, flicker_student=2.4), figures=figures(20.0),
                         constraints={"latency_ms.preview": -13.0}, dir="trials/0000", full_seconds=3.0)
    record.store(trial)
    study.tell(trial, [0.2, 20.0])
    frozen = study.trials[0]
    assert TrialRecord.from_trial(frozen) == record
    # stored under the attribute names studies always used, the candidate whole (defaults included)
    assert frozen.user_attrs["candidate"] == candidate.model_dump(mode="json")
    assert set(frozen.user_attrs) == {"candidate", "candidate_key", "fidelity", "screen", "params_count", "quality",
                                      "figures", "constraints", "dir", "full_seconds"}
    assert "flicker" not in frozen.user_attrs["screen"]["quality"]  # not measured at the screen: left out


def test_a_record_of_a_failed_trial_holds_only_what_was_found():
    study = optuna.create_study()
    trial = study.ask()
    TrialRecord(candidate_key="abc", fail_reason="RuntimeError: boom").store(trial)
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    record = TrialRecord.from_trial(study.trials[0])
    assert record.fail_reason == "RuntimeError: boom" and record.quality is None and not record.feasible
    with pytest.raises(AicamError, match="without predicted figures"):
        record.latency("preview")


def test_user_attributes_of_another_version_are_a_clear_error():
    trial = optuna.trial.create_trial(values=[1.0], user_attrs={"quality": {"psnr": "high"}})
    with pytest.raises(AicamError, match="user attributes of trial .* do not match") as err:
        TrialRecord.from_trial(trial)
    assert "quality.psnr" in str(err.value) and "another --out" in str(err.value)


def test_reused_records_point_at_the_trial_that_computed_them():
    computed = TrialRecord(candidate_key="k", fidelity="full", quality=quality(0.1))
    assert computed.reused(3).reused_from == 3
    assert computed.reused(3).reused(5).reused_from == 3  # a copy of a copy names the original


# -------------------------------------------------------------------------------------------- constraints

def test_constraints_are_the_distance_to_each_budget():
    space = SearchSpace(name="c", constraints={"latency_budgets": ["preview"], "peak_memory": True})
    values = constraint_values(space, TARGET, figures(20.0, peak_mb=100.0), quality(0.1))
    preview_budget = TARGET.budgets.latency_ms["preview"].value
    # peak memory: the largest workload's (3 x 100 MB here) against the memory budget
    assert values == pytest.approx({"latency_ms.preview": 20.0 - preview_budget,
                                    "peak_memory_mb": 300.0 - TARGET.budgets.peak_memory_mb.value})


def test_every_budgeted_workload_is_a_constraint_unless_the_space_names_some():
    space = SearchSpace(name="c", constraints={"latency_budgets": None, "peak_memory": False})
    values = constraint_values(space, TARGET, figures(10.0), quality(0.1))
    assert set(values) == {f"latency_ms.{w}" for w in TARGET.budgets.latency_ms}


def test_the_flicker_constraint_needs_a_measured_flicker():
    space = SearchSpace(name="c", constraints={"latency_budgets": [], "peak_memory": False,
                                               "max_flicker_increase": 0.05})
    assert constraint_values(space, TARGET, figures(10.0), quality(0.1)) == {}  # no clip: not applied
    values = constraint_values(space, TARGET, figures(10.0), quality(0.1, flicker=2.5, flicker_student=2.4))
    assert values == pytest.approx({"flicker": 2.5 - (2.4 + 0.05)})


def test_objective_values_come_from_the_quality_and_the_predicted_latency():
    space = SearchSpace(name="o", objectives=["psnr_drop_vs_student", "deltae_vs_student", "latency_ms.preview"])
    assert objective_values(space, figures(12.5), quality(0.25)) == pytest.approx([0.25, 0.75, 12.5])
    with pytest.raises(AicamError, match="flicker needs evaluation frames"):
        objective_values(SearchSpace(name="o", objectives=["flicker"]), figures(12.5), quality(0.25))
    broken = quality(0.25).model_copy(update={"psnr_drop_vs_student": math.nan})
    with pytest.raises(AicamError, match="not finite"):
        objective_values(space, figures(12.5), broken)


# -------------------------------------------------------------------------------------------- promotion

@pytest.mark.parametrize("within_budgets, constraints, drop, expected", [
    (True, {"latency_ms.preview": -1.0, "peak_memory_mb": -5.0}, 0.5, True),
    (True, {"latency_ms.preview": 2.0}, 0.5, False),        # over a budget
    (False, {"latency_ms.preview": 2.0}, 0.5, True),        # budgets not required to promote
    (True, {"latency_ms.preview": -1.0, "flicker": 0.3}, 0.5, True),  # flicker is judged at full fidelity
    (True, {"latency_ms.preview": -1.0}, 1.5, False),       # lost too much at the screen
])
def test_promotion_to_the_full_evaluation(within_budgets, constraints, drop, expected):
    space = SearchSpace(name="p", fidelity={"promote": {"max_psnr_drop": 1.0, "within_budgets": within_budgets}})
    assert promoted(space, constraints, quality(drop)) is expected


# ------------------------------------------------------------------------------------- a trial, end to end

TINY_NET = StudentConfig(lowres_size=64, grid_size=8, width=8, grid_depth=4)


class FakeBuild:
    """build_candidate's stand-in: a small real student (its folder and sample are written for real) and
    given screen/full PSNR drops instead of a measurement."""

    def __init__(self, screen_drop: float = 0.5, full_drop: float = 0.2, fail: bool = False):
        self.drops = {"screen": screen_drop, "full": full_drop}
        self.fail = fail
        self.calls: list[tuple[str, str]] = []
        self.screen_refs: References | None = None  # the context's: a build with them is the screen

    def __call__(self, candidate, source, recover_steps, student, teacher, refs):
        stage = "screen" if refs is self.screen_refs else "full"
        self.calls.append((candidate.name, stage))
        if self.fail:
            raise RuntimeError("the transform exploded")
        torch.manual_seed(0)
        net = StudentNet(TINY_NET).eval()
        metrics = CandidateMetrics(
            candidate=candidate.name, quality=quality(self.drops[stage]), params=1000, macs=10**6, macs_low_res=10**5,
            macs_full_res=9 * 10**5, workload="preview", predicted_latency_ms={"preview": 5.0},
            base=BaseFigures(params=2000, macs=2 * 10**6), architecture={}, channel_multiple=1, inheritance=None,
            recovery={"steps": recover_steps}, seconds={"evaluate_s": 0.1})
        return Built(candidate, net, net, metrics)


def _references() -> References:
    x = np.random.default_rng(0).random((48, 64, 3), dtype=np.float32)
    return References(pairs={"pair": (x, x)}, photos={"pair": x}, student={}, teacher={}, student_psnr=20.0)


@pytest.fixture
def run_trials(tmp_path, monkeypatch):
    """Run `n` trials of the tiny space with `build`, every trial proposing the same candidate; the
    predicted cost is a given one (the latency model has its own tests)."""
    monkeypatch.setattr(objective_module, "cost_figures", lambda *args: figures(20.0))

    def run(build: FakeBuild, n: int, space: SearchSpace | None = None) -> optuna.Study:
        space = space or load_space(TINY_SPACE)
        ctx = SearchContext(space, TARGET, None, None, StudentNet(TINY_NET), None, _references(), _references(),
                            tmp_path)
        build.screen_refs = ctx.refs_screen
        study = optuna.create_study(directions=["minimize"] * len(space.objectives))
        for _ in range(n):
            study.enqueue_trial(CANDIDATE)
        study.optimize(Objective(ctx, build=build), n_trials=n, catch=(Exception,))
        return study
    return run


def test_a_promoted_trial_writes_its_candidate_folder(run_trials, tmp_path):
    from aicam_opt.search.folder import ReportFolder

    build = FakeBuild(screen_drop=0.5, full_drop=0.2)
    study = run_trials(build, 1)
    trial = study.trials[0]
    record = TrialRecord.from_trial(trial)
    assert [stage for _, stage in build.calls] == ["screen", "full"]
    assert record.fidelity == "full" and record.dir == "trials/0000"
    assert record.screen.quality.psnr_drop_vs_student == 0.5 and record.quality.psnr_drop_vs_student == 0.2
    assert trial.values == pytest.approx([0.2, 20.0])  # psnr_drop_vs_student, latency_ms.preview
    assert trial.constraints == pytest.approx({"latency_ms.preview": 20.0 - TARGET.budgets.latency_ms["preview"].value,
                                               "peak_memory_mb": 300.0 - TARGET.budgets.peak_memory_mb.value})
    folder = ReportFolder(tmp_path).trial(0)
    metrics = folder.load_metrics()
    assert folder.load_candidate() == record.candidate and folder.weights.is_file() and folder.sample.is_file()
    assert metrics.macs == figures(20.0).macs and metrics.latency_ms == figures(20.0).latency_ms  # the trial's figures


def test_a_trial_that_loses_too_much_at_the_screen_stays_screened(run_trials, tmp_path):
    study = run_trials(FakeBuild(screen_drop=6.0), 1)  # the tiny space promotes up to 5 dB
    record = TrialRecord.from_trial(study.trials[0])
    assert record.fidelity == "screen" and record.dir is None and record.quality.psnr_drop_vs_student == 6.0
    assert not (tmp_path / "trials").exists()


def test_a_failing_build_records_its_reason(run_trials):
    study = run_trials(FakeBuild(fail=True), 1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.FAIL
    record = TrialRecord.from_trial(trial)
    assert record.fail_reason == "RuntimeError: the transform exploded" and record.candidate_key is not None


def test_a_repeated_candidate_reuses_the_earlier_results(run_trials):
    build = FakeBuild()
    study = run_trials(build, 3)
    first, second, _ = study.trials
    records = [TrialRecord.from_trial(t) for t in study.trials]
    assert build.calls == [(records[0].candidate.name, "screen"), (records[0].candidate.name, "full")]  # built once
    assert records[1].reused_from == 0 and records[2].reused_from == 0
    assert second.values == first.values and second.constraints == first.constraints
    assert records[1].candidate.name != records[0].candidate.name  # its own candidate, the same key
    assert records[1].candidate_key == records[0].candidate_key
    same = {"candidate", "candidate_key", "reused_from"}
    assert records[1].model_dump(exclude=same) == records[0].model_dump(exclude=same)
