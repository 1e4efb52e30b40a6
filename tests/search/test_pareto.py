"""Front, knee and winner selection on hand-made trials with known answers."""
import optuna
import pytest
from optuna.distributions import CategoricalDistribution

from aicam_opt.compress.metrics import CandidateQuality
from aicam_opt.search.pareto import dominates, hypervolume, knee, pareto_front, pick_winners
from aicam_opt.search.records import CostFigures, TrialRecord
from aicam_opt.search.space import SearchSpace


def make_trial(number, drop, deltae, latency, fidelity="full", constraints=None, key=None):
    quality = CandidateQuality(psnr=22.0 - drop, student_psnr=22.0, psnr_drop_vs_student=drop, psnr_vs_student=40.0,
                               deltae_vs_student=deltae, psnr_vs_teacher=30.0, deltae_vs_teacher=2.0, pairs=3,
                               images=3, flicker=2.0)
    record = TrialRecord(fidelity=fidelity, candidate_key=key or str(number), quality=quality,
                         figures=CostFigures(latency_ms={"preview": latency}, macs={"preview": 10**8},
                                             peak_memory_mb={"preview": 50.0}),
                         constraints=constraints if constraints is not None else {"latency_ms.preview": latency - 33.0})
    return optuna.trial.create_trial(
        values=[drop, deltae, latency], params={"k": key or str(number)},
        distributions={"k": CategoricalDistribution([key or str(number)])}, user_attrs=record.to_json())


@pytest.fixture
def study():
    s = optuna.create_study(directions=["minimize"] * 3)
    trials = [
        make_trial(0, 0.05, 0.5, 30.0),              # close to the student, just within budget
        make_trial(1, 0.25, 0.9, 20.0),              # fastest within 0.3 dB
        make_trial(2, 0.80, 2.0, 12.0),              # fast but lossy
        make_trial(3, 0.02, 0.4, 45.0),              # best quality, over budget: infeasible
        make_trial(4, 0.15, 0.35, 22.0, "screen"),   # screened only: never a winner
        make_trial(5, 0.30, 1.0, 25.0),              # dominated by 1
        make_trial(6, 0.20, 1.5, 15.0, constraints={"latency_ms.preview": -18.0, "flicker": 0.4}),  # flickers
    ]
    for t in trials:
        t.number  # noqa: B018 (create_trial numbers are assigned on add)
        s.add_trial(t)
    return s


def test_dominance_and_front(study):
    assert dominates([1, 1], [1, 2]) and not dominates([1, 2], [2, 1]) and not dominates([1, 1], [1, 1])
    front = {t.number for t in pareto_front(study.trials)}
    assert 5 not in front and {0, 1, 2, 3, 4} <= front


def test_winners(study):
    space = SearchSpace(name="t", objectives=["psnr_drop_vs_student", "deltae_vs_student", "latency_ms.preview"])
    winners = pick_winners(study, space)
    assert winners["fastest_within_0.3db"].number == 1  # 4 is screen-only, 6 breaks the flicker limit
    assert winners["best_quality_within_budgets"].number == 0  # 3 is better but over budget
    assert winners["knee"].number in {0, 1, 2}


def test_no_winner_when_nothing_qualifies():
    s = optuna.create_study(directions=["minimize"] * 3)
    s.add_trial(make_trial(0, 1.0, 3.0, 50.0))
    winners = pick_winners(s, SearchSpace(name="t"))
    assert all(w is None for w in winners.values())


def test_knee_is_the_balanced_point():
    s = optuna.create_study(directions=["minimize"] * 3)
    for i, (d, l) in enumerate([(0.0, 100.0), (0.1, 20.0), (1.0, 10.0)]):
        s.add_trial(make_trial(i, d, d, l))
    assert knee(s.trials).number == 1


def test_hypervolume():
    assert hypervolume([[0.5, 0.5]], [1.0, 1.0]) == pytest.approx(0.25)
    assert hypervolume([[0.5, 0.5], [0.25, 0.75]], [1.0, 1.0]) == pytest.approx(0.25 + 0.25 * 0.25)
    assert hypervolume([[2.0, 0.0]], [1.0, 1.0]) == 0.0


def test_compare_fronts_scales_and_counts_dominance():
    from aicam_opt.search.bench import compare_fronts

    fronts = {"tpe": [[0.0, 1.0], [1.0, 0.0]], "random": [[1.0, 1.0]]}
    result = compare_fronts(fronts, [p for f in fronts.values() for p in f])
    assert result["hypervolume"]["tpe"] == pytest.approx(0.21)
    assert result["hypervolume"]["random"] == pytest.approx(0.01)
    assert result["random_points_dominated_by_tpe"] == 1 and result["tpe_points_dominated_by_random"] == 0


def _measured(study, number, ms):
    from aicam_opt.search.records import DeviceLatency, store_device_measurement

    store_device_measurement(study, number, DeviceLatency(
        workload="preview", measured_ms=ms, measured_from="end_to_end", predicted_ms=None, parts_ms={},
        device="a test device", threads=1, measured_at_utc="2026-01-01T00:00:00Z"))


def test_a_measured_candidate_is_ranked_by_its_measured_latency(study):
    space = SearchSpace(name="t", objectives=["psnr_drop_vs_student", "deltae_vs_student", "latency_ms.preview"])
    # 1 is predicted fastest within 0.3 dB (20 ms) but measures 40 ms; 0 (predicted 30 ms) measures 28 ms
    _measured(study, 1, 40.0)
    _measured(study, 0, 28.0)
    winners = pick_winners(study, space)
    assert winners["fastest_within_0.3db"].number == 0
    # 1's budget constraint is re-checked with its measurement: 40 ms is over the 33 ms budget
    assert winners["best_quality_within_budgets"].number == 0


def test_measured_candidates_beat_unmeasured_predictions_for_fastest(study):
    space = SearchSpace(name="t", objectives=["psnr_drop_vs_student", "deltae_vs_student", "latency_ms.preview"])
    _measured(study, 0, 31.0)  # slower than 1's prediction (20 ms): measured truth still wins, 1 was not measured
    assert pick_winners(study, space)["fastest_within_0.3db"].number == 0


def test_a_measurement_over_budget_makes_the_candidate_infeasible(study):
    space = SearchSpace(name="t", objectives=["psnr_drop_vs_student", "deltae_vs_student", "latency_ms.preview"])
    _measured(study, 0, 50.0)  # predicted 30 ms (within 33), measured 50 ms
    winners = pick_winners(study, space)
    assert winners["best_quality_within_budgets"].number == 1
