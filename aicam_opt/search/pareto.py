"""The Pareto front of a study and the winners picked from it.

Winners (chosen among full-fidelity trials only, see objective.py):
- fastest_within_<tol>db: the lowest latency objective among candidates whose PSNR drop vs the
  uncompressed student is at most `quality_tolerance_db` (0.3 dB) and whose flicker constraint holds
  (latency budgets are not required: this is "how fast can we go without visible loss");
- best_quality_within_budgets: the lowest PSNR drop (then ΔE2000) among candidates meeting every
  constraint (all latency budgets, memory, flicker);
- knee: on the feasible full-fidelity front, the point closest to the ideal point after each
  objective is scaled to [0, 1] over the front: the balanced trade-off.

Trials measured on the device after the search (`optimize --measure-top K`, TrialRecord.device) are
judged by their measured latency at the workload measured (TrialRecord.with_measured_latency): it
replaces the prediction in their budget constraint and in the knee's latency objective, and
fastest_within ranks the qualifying candidates that were measured by measured latency, falling back
to predictions only when none of them was measured (a measured time and a prediction are not
compared: the model may be off by a factor on the device, which is why it was measured).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from .records import TrialRecord, trial_records
from .space import SearchSpace


def complete_trials(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def is_feasible(trial: FrozenTrial) -> bool:
    return TrialRecord.from_trial(trial).feasible


def dominates(a: list[float], b: list[float]) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def pareto_front(trials: list[FrozenTrial], values: Callable[[FrozenTrial], list[float]] | None = None
                 ) -> list[FrozenTrial]:
    """Non-dominated trials (all objectives minimised; `values`: a trial's objectives, default its own);
    duplicates of one candidate appear once."""
    of = values or (lambda t: t.values)
    unique = {TrialRecord.from_trial(t).candidate_key or t.number: t for t in sorted(trials, key=lambda t: -t.number)}
    pool = sorted(unique.values(), key=lambda t: t.number)
    return [t for t in pool if not any(dominates(of(o), of(t)) for o in pool if o is not t)]


def judged_values(trial: FrozenTrial, record: TrialRecord, space: SearchSpace) -> list[float]:
    """The trial's objectives with its measured latency in place of the predicted one (where measured)."""
    values = list(trial.values)
    for i, name in enumerate(space.objectives):
        if name.startswith("latency_ms."):
            measured = record.measured_latency(name.split(".", 1)[1])
            values[i] = measured if measured is not None else values[i]
    return values


def feasible_front(study: optuna.Study) -> list[FrozenTrial]:
    """The front of the feasible trials (Optuna's rule: a feasible trial beats any infeasible one)."""
    return pareto_front([t for t in complete_trials(study) if is_feasible(t)])




def winner_roles(space: SearchSpace) -> tuple[str, str, str]:
    return (f"fastest_within_{space.quality_tolerance_db:g}db", "best_quality_within_budgets", "knee")


def pick_winners(study: optuna.Study, space: SearchSpace) -> dict[str, FrozenTrial | None]:
    records = {n: r.with_measured_latency() for n, r in trial_records(study, complete_trials(study)).items()}
    full = [t for t in complete_trials(study) if records[t.number].is_full and records[t.number].reused_from is None]
    fastest_role, best_role, knee_role = winner_roles(space)
    close = [t for t in full if records[t.number].quality.psnr_drop_vs_student <= space.quality_tolerance_db
             and records[t.number].within_flicker_limit]
    feasible = [t for t in full if records[t.number].feasible]
    measured_close = [t for t in close if records[t.number].measured_latency(space.latency_objective) is not None]

    # Ties are broken by what the candidate is, never by its trial number: workers sharing a study
    # number trials in another order, and must pick the same winners as one worker.
    def fastest(t: FrozenTrial) -> tuple:
        quality = records[t.number].quality
        return (records[t.number].latency(space.latency_objective), quality.psnr_drop_vs_student,
                t.user_attrs.get("candidate_key", ""))

    def best_quality(t: FrozenTrial) -> tuple:
        quality = records[t.number].quality
        return (quality.psnr_drop_vs_student, quality.deltae_vs_student,
                records[t.number].latency(space.latency_objective), t.user_attrs.get("candidate_key", ""))

    def judged(t: FrozenTrial) -> list[float]:
        return judged_values(t, records[t.number], space)

    return {
        fastest_role: min(measured_close or close, key=fastest, default=None),
        best_role: min(feasible, key=best_quality, default=None),
        knee_role: knee(sorted(pareto_front(feasible, judged), key=lambda t: t.user_attrs.get("candidate_key", "")),
                        judged),
    }


def knee(front: list[FrozenTrial], values: Callable[[FrozenTrial], list[float]] | None = None) -> FrozenTrial | None:
    if not front:
        return None
    of = values or (lambda t: t.values)
    points = np.array([of(t) for t in front], dtype=float)
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    distance = np.linalg.norm((points - low) / span, axis=1)
    return front[int(np.argmin(distance))]


def hypervolume(points: list[list[float]], reference: list[float]) -> float:
    """Hypervolume (minimisation) of `points` below `reference`; points beyond it contribute nothing."""
    from optuna._hypervolume import compute_hypervolume  # Optuna's WFG implementation (no public alias)

    inside = np.array([p for p in points if all(x < r for x, r in zip(p, reference))], dtype=float)
    if inside.size == 0:
        return 0.0
    return float(compute_hypervolume(inside, np.asarray(reference, dtype=float)))


def finite(values: list[float] | None) -> bool:
    return values is not None and all(math.isfinite(v) for v in values)
